//! The decoded event a mapping reads: a JSON tree whose strings and object keys borrow from the
//! message bytes wherever the JSON has no escapes. Routing reads a handful of fields per event;
//! building a `serde_json::Value` (an owned string per key and value, a `BTreeMap` per object)
//! cost more than the routing itself (`route_512b` in `benches/route.rs`).
//!
//! Objects are a list of pairs in document order, which for the few keys an event has is
//! faster to search than a map; a duplicated key reads as its last value, as in `serde_json`.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};
use std::borrow::Cow;
use std::fmt;

/// A JSON document borrowed from the bytes it was read from (or from a `serde_json::Value`).
#[derive(Debug, Clone, PartialEq)]
pub enum Doc<'a> {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, exactly as `serde_json` reads it.
    Number(Number),
    /// A string, borrowed unless it had escapes.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Doc<'a>>),
    /// An object's members in document order.
    Object(Vec<(Cow<'a, str>, Doc<'a>)>),
}

impl<'a> Doc<'a> {
    /// Member `key` of an object (its last occurrence), or `None`.
    pub fn member(&self, key: &str) -> Option<&Doc<'a>> {
        match self {
            Doc::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Doc::Null)
    }

    /// The same document as an owned `serde_json::Value` (for `jsonb` columns and reasons).
    pub fn to_value(&self) -> Value {
        match self {
            Doc::Null => Value::Null,
            Doc::Bool(b) => Value::Bool(*b),
            Doc::Number(n) => Value::Number(n.clone()),
            Doc::String(s) => Value::String(s.to_string()),
            Doc::Array(items) => Value::Array(items.iter().map(Doc::to_value).collect()),
            Doc::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

impl<'a> From<&'a Value> for Doc<'a> {
    /// Borrows a `serde_json::Value` (a decoded Avro record, a mapping's constant).
    fn from(value: &'a Value) -> Self {
        match value {
            Value::Null => Doc::Null,
            Value::Bool(b) => Doc::Bool(*b),
            Value::Number(n) => Doc::Number(n.clone()),
            Value::String(s) => Doc::String(Cow::Borrowed(s)),
            Value::Array(items) => Doc::Array(items.iter().map(Doc::from).collect()),
            Value::Object(map) => Doc::Object(
                map.iter()
                    .map(|(k, v)| (Cow::Borrowed(k.as_str()), Doc::from(v)))
                    .collect(),
            ),
        }
    }
}

impl PartialEq<Value> for Doc<'_> {
    /// JSON equality, as between two `serde_json::Value`s.
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Doc::Null, Value::Null) => true,
            (Doc::Bool(a), Value::Bool(b)) => a == b,
            (Doc::Number(a), Value::Number(b)) => a == b,
            (Doc::String(a), Value::String(b)) => a == b,
            (Doc::Array(_) | Doc::Object(_), _) => self.to_value() == *other,
            _ => false,
        }
    }
}

impl fmt::Display for Doc<'_> {
    /// As JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_value().fmt(f)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Doc<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DocVisitor)
    }
}

struct DocVisitor;

impl<'de> Visitor<'de> for DocVisitor {
    type Value = Doc<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Doc::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Doc::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Doc::deserialize(d)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Self::Value, E> {
        Ok(Doc::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Self::Value, E> {
        Ok(Doc::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Self::Value, E> {
        Ok(Doc::Number(n.into()))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Self::Value, E> {
        // JSON text has no NaN or infinity; a non-finite float can only come from elsewhere.
        Ok(Number::from_f64(f).map_or(Doc::Null, Doc::Number))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Doc::String(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Doc::String(Cow::Owned(s.to_string())))
    }

    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Doc::String(Cow::Owned(s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Doc::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
        while let Some(Key(key)) = map.next_key()? {
            members.push((key, map.next_value()?));
        }
        Ok(Doc::Object(members))
    }
}

/// An object key, borrowed when it has no escapes (serde's own `Cow<str>` always copies).
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }

            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(s)))
            }

            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }

            fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_as_serde_json_does_and_borrows_plain_strings() {
        let text = r#"{"a": 1, "b": [true, null, -2, 1.5, "x\ny"], "c": {"d": "e"}, "a": 7,
                       "big": 18446744073709551615, "esc\"key": "v"}"#;
        let doc: Doc<'_> = serde_json::from_str(text).unwrap();
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(doc.to_value(), value);
        assert_eq!(doc, value);
        assert_eq!(doc.member("a"), Some(&Doc::Number(7.into())), "last wins");
        assert!(matches!(
            doc.member("c").and_then(|c| c.member("d")),
            Some(Doc::String(Cow::Borrowed("e")))
        ));
        assert!(matches!(
            doc.member("esc\"key"),
            Some(Doc::String(Cow::Borrowed("v")))
        ));
        assert_eq!(doc.member("missing"), None);
        assert_eq!(Doc::from(&value).to_value(), value);
        assert_eq!(doc.to_string(), value.to_string());
        assert_ne!(Doc::String("1".into()), json!(1));
        assert_ne!(Doc::Array(vec![]), json!({}));
    }

    #[test]
    fn nesting_past_the_parser_limit_is_an_error_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        assert!(serde_json::from_str::<Doc<'_>>(&deep).is_err());
    }
}
