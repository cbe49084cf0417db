//! JSON pointers (RFC 6901), checked once when the mapping is read, so reading an event never
//! meets a malformed one.

use std::fmt;

/// A valid JSON pointer, e.g. `/data/order_id`; `""` is the whole document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pointer(String);

impl Pointer {
    /// Checks `raw`: empty, or `/`-separated tokens where `~` is only `~0` or `~1`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if !raw.is_empty() && !raw.starts_with('/') {
            return Err(format!(
                "{raw:?} is not a JSON pointer: it must start with '/'"
            ));
        }
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
                return Err(format!(
                    "{raw:?} is not a JSON pointer: '~' must be followed by 0 or 1"
                ));
            }
        }
        Ok(Self(raw.to_string()))
    }

    /// The value it points at in `doc`, if any.
    pub fn get<'a>(&self, doc: &'a serde_json::Value) -> Option<&'a serde_json::Value> {
        doc.pointer(&self.0)
    }

    /// The pointer as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn valid_pointers_read_values_and_bad_ones_say_why() {
        let doc = json!({"data": {"a/b": 1, "m~n": 2, "list": [10, 20]}});
        assert_eq!(
            Pointer::parse("/data/a~1b").unwrap().get(&doc),
            Some(&json!(1))
        );
        assert_eq!(
            Pointer::parse("/data/m~0n").unwrap().get(&doc),
            Some(&json!(2))
        );
        assert_eq!(
            Pointer::parse("/data/list/1").unwrap().get(&doc),
            Some(&json!(20))
        );
        assert_eq!(Pointer::parse("").unwrap().get(&doc), Some(&doc));
        assert_eq!(Pointer::parse("/missing").unwrap().get(&doc), None);
        assert!(Pointer::parse("data")
            .unwrap_err()
            .contains("start with '/'"));
        assert!(Pointer::parse("/a~2").unwrap_err().contains("'~'"));
        assert!(Pointer::parse("/a~").unwrap_err().contains("'~'"));
    }
}
