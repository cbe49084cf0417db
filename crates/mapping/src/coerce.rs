//! A JSON value made into a column's type, or the reason it cannot be. The column types come
//! from the database's catalog; the rules are those a user of schemaless JSON expects: numbers
//! from numbers or numeric strings, timestamps from RFC 3339 or epoch milliseconds, uuid from
//! its text, anything into `jsonb`, and arrays element by element.

use crate::doc::Doc;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::ops::Range;

/// The column types a route can write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    /// `text`, `varchar`.
    Text,
    /// `smallint`.
    Int2,
    /// `integer`.
    Int4,
    /// `bigint`.
    Int8,
    /// `numeric` (kept as its exact decimal text).
    Numeric,
    /// `real`, `double precision`.
    Float,
    /// `boolean`.
    Bool,
    /// `uuid`.
    Uuid,
    /// `timestamptz`.
    Timestamptz,
    /// `jsonb`.
    Jsonb,
    /// An array of one of these.
    Array(Box<ColumnType>),
}

/// A value ready for its column.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    /// SQL NULL (a JSON null, or a pointer that found nothing).
    Null,
    /// Text.
    Text(String),
    /// Text that is these bytes of the message the event was read from ([`crate::Meta`]'s
    /// `value`): the message stays with the event until its batch commits, so the sink
    /// writes the string from there rather than from a copy (the review's 400-byte text was
    /// the largest copy routing made).
    Span(Range<usize>),
    /// Any integer type, range-checked for its column.
    Int(i64),
    /// Exact decimal text for `numeric`.
    Numeric(String),
    /// Floating point.
    Float(f64),
    /// Boolean.
    Bool(bool),
    /// UUID.
    Uuid(uuid::Uuid),
    /// Timestamp.
    Timestamp(DateTime<Utc>),
    /// Any JSON, for `jsonb`.
    Json(Value),
    /// Array elements.
    Array(Vec<Typed>),
}

/// Coerces `value` (`None`: the pointer found nothing) to `ty`. The error is the part of a
/// DLQ reason after `route.column from /pointer: `, e.g. `"abc" is not numeric`.
pub fn coerce(value: Option<&Doc<'_>>, ty: &ColumnType) -> Result<Typed, String> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(Typed::Null);
    };
    let mismatch = |what: &str| format!("{} is not {what}", shown(value));
    Ok(match ty {
        ColumnType::Jsonb if has_nul(value) => return Err(mismatch(NUL_IN_JSONB)),
        ColumnType::Jsonb => Typed::Json(value.to_value()),
        ColumnType::Text => match value {
            Doc::String(s) if has_nul_byte(s) => return Err(mismatch(NUL_IN_TEXT)),
            Doc::String(s) => Typed::Text(s.to_string()),
            Doc::Number(n) => Typed::Text(n.to_string()),
            Doc::Bool(b) => Typed::Text(b.to_string()),
            _ => return Err(mismatch("text (an object or array needs a jsonb column)")),
        },
        ColumnType::Int2 | ColumnType::Int4 | ColumnType::Int8 => {
            let n = integer(value).ok_or_else(|| mismatch("an integer"))?;
            let (lo, hi, name) = match ty {
                ColumnType::Int2 => (i64::from(i16::MIN), i64::from(i16::MAX), "smallint"),
                ColumnType::Int4 => (i64::from(i32::MIN), i64::from(i32::MAX), "integer"),
                _ => (i64::MIN, i64::MAX, "bigint"),
            };
            if n < lo || n > hi {
                return Err(format!("{n} is out of range for {name}"));
            }
            Typed::Int(n)
        }
        ColumnType::Numeric => match value {
            Doc::Number(n) => Typed::Numeric(n.to_string()),
            Doc::String(s) if is_decimal(s.trim()) => Typed::Numeric(s.trim().to_string()),
            _ => return Err(mismatch("numeric")),
        },
        ColumnType::Float => match value {
            Doc::Number(n) => Typed::Float(n.as_f64().ok_or_else(|| mismatch("a number"))?),
            Doc::String(s) => Typed::Float(
                s.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| mismatch("a number"))?,
            ),
            _ => return Err(mismatch("a number")),
        },
        ColumnType::Bool => match value {
            Doc::Bool(b) => Typed::Bool(*b),
            Doc::String(s) if s == "true" => Typed::Bool(true),
            Doc::String(s) if s == "false" => Typed::Bool(false),
            _ => return Err(mismatch("a boolean")),
        },
        ColumnType::Uuid => match value {
            Doc::String(s) => {
                Typed::Uuid(uuid::Uuid::parse_str(s).map_err(|_| mismatch("a uuid"))?)
            }
            _ => return Err(mismatch("a uuid")),
        },
        ColumnType::Timestamptz => match value {
            Doc::String(s) => Typed::Timestamp(
                DateTime::parse_from_rfc3339(s)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| mismatch("an RFC 3339 timestamp"))?,
            ),
            Doc::Number(_) => {
                let ms = integer(value).ok_or_else(|| mismatch("epoch milliseconds"))?;
                Typed::Timestamp(
                    DateTime::from_timestamp_millis(ms)
                        .ok_or_else(|| format!("{ms} ms is out of range for timestamptz"))?,
                )
            }
            _ => {
                return Err(mismatch(
                    "a timestamp (RFC 3339 text or epoch milliseconds)",
                ))
            }
        },
        ColumnType::Array(element) => match value {
            Doc::Array(items) => Typed::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| coerce(Some(v), element).map_err(|e| format!("element {i}: {e}")))
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err(mismatch("an array")),
        },
    })
}

/// [`coerce`] for an event read from the JSON text `message`: a string that lies in those
/// bytes becomes a [`Typed::Span`] of them for a text column instead of a copy. It needs no
/// NUL check: JSON text holds no raw control character (a NUL is written `\u0000`, and the
/// string read from such an escape is a copy, checked as usual).
pub(crate) fn coerce_in(
    value: Option<&Doc<'_>>,
    ty: &ColumnType,
    message: Option<&[u8]>,
) -> Result<Typed, String> {
    if let (ColumnType::Text, Some(Doc::String(s)), Some(message)) = (ty, value, message) {
        if let Some(span) = span_in(s, message) {
            return Ok(Typed::Span(span));
        }
    }
    coerce(value, ty)
}

/// Where `s` lies in `message`, if it does. Two live allocations never overlap, so a string
/// found inside the message's bytes is those bytes, whatever it was borrowed from.
fn span_in(s: &str, message: &[u8]) -> Option<Range<usize>> {
    let start = (s.as_ptr() as usize).wrapping_sub(message.as_ptr() as usize);
    (start <= message.len() && s.len() <= message.len() - start).then(|| start..start + s.len())
}

/// Postgres stores no NUL character in `text` or `jsonb`; caught here, the event gets this
/// reason instead of failing its batch in the database.
const NUL_IN_TEXT: &str =
    "text: it contains a NUL character (\\u0000), which Postgres text cannot store";
const NUL_IN_JSONB: &str =
    "jsonb: it contains a NUL character (\\u0000), which Postgres jsonb cannot store";

/// Whether any string or object key in `value` contains a NUL character.
fn has_nul(value: &Doc<'_>) -> bool {
    match value {
        Doc::String(s) => has_nul_byte(s),
        Doc::Array(items) => items.iter().any(has_nul),
        Doc::Object(members) => members.iter().any(|(k, v)| has_nul_byte(k) || has_nul(v)),
        _ => false,
    }
}

/// Whether `s` holds a NUL. Without an early exit the loop compiles to wide compares, which
/// for the short strings events mostly carry costs less than a call into a search routine
/// (`str::contains` or `memchr`): a tenth of routing's instructions in the `route_512b`
/// profile went to that call.
fn has_nul_byte(s: &str) -> bool {
    s.bytes().fold(false, |nul, b| nul | (b == 0))
}

/// An integer from a JSON integer or an integer string (`"42"`); never from `4.2`.
fn integer(value: &Doc<'_>) -> Option<i64> {
    match value {
        Doc::Number(n) => n.as_i64(),
        Doc::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `-12.50`, `3`, `1e3`: what Postgres' numeric input accepts, minus NaN and infinities.
fn is_decimal(s: &str) -> bool {
    !s.is_empty()
        && s.parse::<f64>().is_ok_and(f64::is_finite)
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
}

/// The value as a DLQ reason shows it: JSON, cut to 80 characters.
fn shown(value: &Doc<'_>) -> String {
    let text = value.to_string();
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use ColumnType::*;

    fn ok(v: Value, ty: ColumnType) -> Typed {
        coerce(Some(&Doc::from(&v)), &ty).unwrap()
    }

    fn err(v: Value, ty: ColumnType) -> String {
        coerce(Some(&Doc::from(&v)), &ty).unwrap_err()
    }

    #[test]
    fn every_type_from_what_json_producers_send() {
        assert_eq!(ok(json!("a"), Text), Typed::Text("a".into()));
        assert_eq!(ok(json!(7), Text), Typed::Text("7".into()));
        assert_eq!(ok(json!(42), Int4), Typed::Int(42));
        assert_eq!(ok(json!("42"), Int8), Typed::Int(42));
        assert_eq!(ok(json!(12.5), Numeric), Typed::Numeric("12.5".into()));
        assert_eq!(ok(json!("-0.10"), Numeric), Typed::Numeric("-0.10".into()));
        assert_eq!(ok(json!("2.5"), Float), Typed::Float(2.5));
        assert_eq!(ok(json!(true), Bool), Typed::Bool(true));
        assert_eq!(ok(json!("false"), Bool), Typed::Bool(false));
        let id = "7d1c6f9e-0000-4000-8000-000000000001";
        assert_eq!(
            ok(json!(id), Uuid),
            Typed::Uuid(uuid::Uuid::parse_str(id).unwrap())
        );
        let t = ok(json!("2026-01-02T03:04:05+01:00"), Timestamptz);
        assert_eq!(t, Typed::Timestamp("2026-01-02T02:04:05Z".parse().unwrap()));
        let t = ok(json!(1_767_225_600_123i64), Timestamptz);
        assert_eq!(
            t,
            Typed::Timestamp(DateTime::from_timestamp_millis(1_767_225_600_123).unwrap())
        );
        assert_eq!(ok(json!({"a": [1]}), Jsonb), Typed::Json(json!({"a": [1]})));
        assert_eq!(
            ok(json!([1, "2"]), Array(Box::new(Int4))),
            Typed::Array(vec![Typed::Int(1), Typed::Int(2)])
        );
        assert_eq!(coerce(None, &Int4), Ok(Typed::Null));
        assert_eq!(coerce(Some(&Doc::Null), &Uuid), Ok(Typed::Null));
    }

    #[test]
    fn a_string_inside_the_message_is_a_span_of_it_and_anything_else_a_copy() {
        let message = br#"{"a": "inside", "b": "nul\u0000"}"#;
        let doc: Doc<'_> = serde_json::from_slice(message).unwrap();
        let (a, b) = (doc.member("a"), doc.member("b"));
        let span = coerce_in(a, &Text, Some(message)).unwrap();
        let Typed::Span(range) = span else {
            panic!("{span:?}")
        };
        assert_eq!(&message[range], b"inside");
        // Elsewhere (no message, or a string built from escapes), and for other types: copies.
        assert_eq!(coerce_in(a, &Text, None), Ok(Typed::Text("inside".into())));
        let copy = Doc::String("inside".to_string().into());
        assert_eq!(
            coerce_in(Some(&copy), &Text, Some(message)),
            Ok(Typed::Text("inside".into()))
        );
        // The escape made a copy, which is checked.
        assert!(coerce_in(b, &Text, Some(message))
            .unwrap_err()
            .contains("NUL"));
        assert_eq!(
            coerce_in(a, &Jsonb, Some(message)),
            Ok(Typed::Json(json!("inside")))
        );
        // A slice at the very end, and an empty one, still lie inside.
        let whole = std::str::from_utf8(message).unwrap();
        assert_eq!(
            span_in(&whole[whole.len()..], message),
            Some(message.len()..message.len())
        );
        assert_eq!(span_in(&whole[1..4], message), Some(1..4));
        assert_eq!(span_in("elsewhere", message), None);
    }

    #[test]
    fn every_failure_names_the_value_and_the_type() {
        assert_eq!(
            err(json!("not-a-number"), Numeric),
            r#""not-a-number" is not numeric"#
        );
        assert_eq!(err(json!("NaN"), Numeric), r#""NaN" is not numeric"#);
        assert_eq!(err(json!(4.2), Int4), "4.2 is not an integer");
        assert_eq!(
            err(json!(70000), Int2),
            "70000 is out of range for smallint"
        );
        assert_eq!(
            err(json!(3_000_000_000i64), Int4),
            "3000000000 is out of range for integer"
        );
        assert!(err(json!("yes"), Bool).contains("is not a boolean"));
        assert!(err(json!("zzz"), Uuid).contains("is not a uuid"));
        assert!(err(json!("yesterday"), Timestamptz).contains("RFC 3339"));
        assert!(err(json!({"a": 1}), Text).contains("jsonb"));
        assert_eq!(
            err(json!([1, "x"]), Array(Box::new(Int8))),
            r#"element 1: "x" is not an integer"#
        );
        assert!(err(json!(1), Array(Box::new(Int8))).contains("is not an array"));
        assert!(err(json!("inf"), Float).contains("is not a number"));
        assert_eq!(
            err(json!("a\u{0}b"), Text),
            r#""a\u0000b" is not text: it contains a NUL character (\u0000), which Postgres text cannot store"#
        );
        assert!(err(json!({"k": ["ok", "\u{0}"]}), Jsonb).contains("Postgres jsonb"));
        assert!(err(json!({"\u{0}": 1}), Jsonb).contains("NUL"));
        assert!(err(json!(["\u{0}"]), Array(Box::new(Text))).starts_with("element 0: "));
        let long = "x".repeat(500);
        assert!(
            err(json!(long), Numeric).chars().count() < 120,
            "long values are cut"
        );
    }
}
