//! JSON pointers (RFC 6901), checked once when the mapping is read, so reading an event never
//! meets a malformed one.

use crate::doc::Doc;
use std::fmt;

/// A valid JSON pointer, e.g. `/data/order_id`; `""` is the whole document. Its tokens are
/// split and unescaped once, so reading an event allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pointer {
    raw: String,
    tokens: Vec<String>,
}

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
        let tokens = raw
            .split('/')
            .skip(1)
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect();
        Ok(Self {
            raw: raw.to_string(),
            tokens,
        })
    }

    /// The value it points at in `doc`, if any.
    pub fn get<'d, 'a>(&self, doc: &'d Doc<'a>) -> Option<&'d Doc<'a>> {
        self.tokens.iter().try_fold(doc, |at, token| match at {
            Doc::Object(_) => at.member(token),
            Doc::Array(items) => items.get(array_index(token)?),
            _ => None,
        })
    }

    /// Its tokens, unescaped.
    pub(crate) fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// The pointer as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// An array index as RFC 6901 writes it: `0`, or digits without a leading zero or sign.
pub(crate) fn array_index(token: &str) -> Option<usize> {
    let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    (digits && (token == "0" || !token.starts_with('0')))
        .then(|| token.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn valid_pointers_read_values_and_bad_ones_say_why() {
        let value = json!({"data": {"a/b": 1, "m~n": 2, "list": [10, 20]}});
        let doc = Doc::from(&value);
        assert_eq!(
            Pointer::parse("/data/a~1b").unwrap().get(&doc),
            Some(&Doc::Number(1.into()))
        );
        assert_eq!(
            Pointer::parse("/data/m~0n").unwrap().get(&doc),
            Some(&Doc::Number(2.into()))
        );
        assert_eq!(
            Pointer::parse("/data/list/1").unwrap().get(&doc),
            Some(&Doc::Number(20.into()))
        );
        assert_eq!(Pointer::parse("").unwrap().get(&doc), Some(&doc));
        assert_eq!(Pointer::parse("/missing").unwrap().get(&doc), None);
        for index in ["01", "+1", "-1", "1.0", "", "99"] {
            let p = Pointer::parse(&format!("/data/list/{index}")).unwrap();
            assert_eq!(p.get(&doc), None, "{index:?}");
        }
        assert_eq!(Pointer::parse("/data/list/0/x").unwrap().get(&doc), None);
        assert!(Pointer::parse("data")
            .unwrap_err()
            .contains("start with '/'"));
        assert!(Pointer::parse("/a~2").unwrap_err().contains("'~'"));
        assert!(Pointer::parse("/a~").unwrap_err().contains("'~'"));
    }
}
