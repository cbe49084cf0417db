//! Which writer schemas the consumer accepts from a registry. Parsing alone is not enough: two
//! shapes let a message of a few bytes cost far more than its size to decode (found by
//! `fuzz/avro_event`), and the consumer must not let a stranger's message do that.
//! - An array or map whose items encode in zero bytes (`null`, an empty record, `fixed` of
//!   size 0): a 10-byte block count decodes into millions of values.
//! - A recursive type (`Node { next: ["null", "Node"] }`): every level costs one byte to
//!   write and one stack frame to decode, so a 1 MiB message overflows the stack.
//!
//! Such a schema is `Unusable`, so its messages reach the DLQ with this reason rather than
//! take the consumer down. Decoding is also capped at [`AVRO_MAX_ALLOCATION_BYTES`].

use apache_avro::schema::{InnerDecimalSchema, Name, ResolvedSchema};
use apache_avro::Schema;
use std::collections::HashMap;

/// The most one Avro value may allocate while decoding (apache-avro's default is 512 MiB): a
/// 1 MiB message of 1-byte elements needs about 48 MiB.
pub const AVRO_MAX_ALLOCATION_BYTES: usize = 64 << 20;

/// Parses a writer's schema (a registry answer) and refuses the shapes above.
pub fn writer_schema(text: &str) -> Result<Schema, String> {
    let schema = Schema::parse_str(text).map_err(|e| e.to_string())?;
    let resolved = ResolvedSchema::try_from(&schema).map_err(|e| e.to_string())?;
    let mut walk = Walk {
        names: resolved.get_names(),
        state: HashMap::new(),
    };
    walk.zero_width(&schema)?;
    Ok(schema)
}

/// Where the walk stands with a named type.
#[derive(Clone, Copy)]
enum Seen {
    /// On the current path: meeting it again is recursion.
    Open,
    /// Walked; whether it encodes in zero bytes.
    Done(bool),
}

struct Walk<'a> {
    names: &'a HashMap<Name, &'a Schema>,
    state: HashMap<Name, Seen>,
}

impl Walk<'_> {
    /// Whether `schema` encodes in zero bytes; an error for the shapes this module refuses.
    fn zero_width(&mut self, schema: &Schema) -> Result<bool, String> {
        Ok(match schema {
            Schema::Null => true,
            Schema::Array(a) => {
                self.collection("array items", &a.items)?;
                false
            }
            Schema::Map(m) => {
                self.collection("map values", &m.types)?;
                false
            }
            Schema::Union(u) => {
                for variant in u.variants() {
                    self.zero_width(variant)?;
                }
                false
            }
            Schema::Record(r) => self.named(&r.name, |walk| {
                let mut zero = true;
                for field in &r.fields {
                    zero &= walk.zero_width(&field.schema)?;
                }
                Ok(zero)
            })?,
            Schema::Fixed(f) => self.named(&f.name, |_| Ok(f.size == 0))?,
            Schema::Decimal(d) => matches!(&d.inner, InnerDecimalSchema::Fixed(f) if f.size == 0),
            Schema::Ref { name } => match self.state.get(name) {
                Some(Seen::Open) => {
                    return Err(format!(
                        "{name} refers to itself: a recursive schema lets one message nest \
                         deep enough to overflow the decoder's stack"
                    ))
                }
                Some(Seen::Done(zero)) => *zero,
                None => match self.names.get(name) {
                    Some(defined) => self.zero_width(defined)?,
                    None => false,
                },
            },
            _ => false,
        })
    }

    fn collection(&mut self, what: &str, items: &Schema) -> Result<(), String> {
        if self.zero_width(items)? {
            return Err(format!(
                "{what} of type {} encode in zero bytes: a few bytes of count would decode \
                 into millions of values",
                kind(items)
            ));
        }
        Ok(())
    }

    /// Walks a named type once: its verdict is remembered, and meeting it inside itself is
    /// recursion.
    fn named(
        &mut self,
        name: &Name,
        body: impl FnOnce(&mut Self) -> Result<bool, String>,
    ) -> Result<bool, String> {
        match self.state.get(name) {
            Some(Seen::Done(zero)) => return Ok(*zero),
            Some(Seen::Open) => {
                return Err(format!(
                    "{name} refers to itself: a recursive schema is refused"
                ))
            }
            None => {}
        }
        self.state.insert(name.clone(), Seen::Open);
        let zero = body(self)?;
        self.state.insert(name.clone(), Seen::Done(zero));
        Ok(zero)
    }
}

fn kind(schema: &Schema) -> String {
    match schema.name() {
        Some(name) => name.to_string(),
        None => format!("{:?}", apache_avro::schema::SchemaKind::from(schema)).to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_schemas_are_accepted() {
        for text in [
            r#"{"type":"record","name":"E","namespace":"a.b","fields":[
                {"name":"tags","type":{"type":"array","items":"string"}},
                {"name":"m","type":{"type":"map","values":["null","long"]}},
                {"name":"inner","type":{"type":"record","name":"I","fields":[{"name":"x","type":"int"}]}},
                {"name":"again","type":"I"},
                {"name":"list","type":{"type":"array","items":"a.b.I"}}]}"#,
            r#""string""#,
        ] {
            writer_schema(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
    }

    #[test]
    fn zero_width_collections_are_refused() {
        for (text, named) in [
            (r#"{"type":"array","items":"null"}"#, "null"),
            (
                r#"{"type":"map","values":{"type":"record","name":"Empty","fields":[]}}"#,
                "Empty",
            ),
            (
                r#"{"type":"record","name":"R","namespace":"n","fields":[
                    {"name":"z","type":{"type":"fixed","name":"Z","size":0}},
                    {"name":"a","type":{"type":"array","items":"Z"}}]}"#,
                "n.Z",
            ),
        ] {
            let err = writer_schema(text).unwrap_err();
            assert!(
                err.contains("zero bytes") && err.contains(named),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn recursive_schemas_are_refused() {
        for text in [
            r#"{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},
                {"name":"next","type":["null","Node"]}]}"#,
            r#"{"type":"record","name":"A","namespace":"x","fields":[{"name":"b","type":
                {"type":"record","name":"B","fields":[{"name":"a","type":{"type":"array","items":"A"}}]}}]}"#,
        ] {
            let err = writer_schema(text).unwrap_err();
            assert!(err.contains("refers to itself"), "{text}: {err}");
        }
    }
}
