//! Avro values in the Confluent wire format (magic byte 0, a 4-byte big-endian schema id, then
//! one Avro datum written with that schema) into the same validated [`Event`] JSON gives.
//!
//! The writer's schema comes from the registry (fetched by the caller, by id). The event model
//! is the reader: fields are matched by name, so a writer that added fields (ignored) or left
//! out optional ones resolves, and one that lacks a required field or gives it an
//! incompatible type does not, and says which. `event_id` may be a string with or without
//! `logicalType: uuid`; `ts` an RFC 3339 string or a `timestamp-millis`/`timestamp-micros`
//! long.

use crate::codec::present_and_bounded;
use crate::model::Event;
use crate::validate::{validate, InvalidEvent};
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::types::Value;
use apache_avro::Schema;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Number, Value as Json};
use std::io::Read;

/// The magic byte that starts every Confluent-framed value.
pub const MAGIC_BYTE: u8 = 0;

/// Splits a Confluent-framed value into its schema id and Avro body; the cheap checks (absent,
/// empty, too large, no magic byte, no room for an id) come first, as for JSON.
pub fn confluent_frame(
    value: Option<&[u8]>,
    max_bytes: usize,
) -> Result<(u32, &[u8]), InvalidEvent> {
    let bytes = present_and_bounded(value, max_bytes)?;
    if bytes[0] != MAGIC_BYTE {
        return Err(InvalidEvent::NotConfluentAvro(format!(
            "first byte is 0x{:02x}, not the magic byte 0x00{}",
            bytes[0],
            if bytes[0] == b'{' {
                " (this looks like JSON)"
            } else {
                ""
            }
        )));
    }
    if bytes.len() < 5 {
        return Err(InvalidEvent::NotConfluentAvro(format!(
            "{} bytes: too short for the magic byte and a 4-byte schema id",
            bytes.len()
        )));
    }
    let id = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    Ok((id, &bytes[5..]))
}

/// The record as a JSON document, for a mapping to read with the same pointers as JSON.
pub fn decode_avro_json(id: u32, writer: &Schema, body: &[u8]) -> Result<Json, InvalidEvent> {
    // The cap is process-wide and set by its first caller; this crate is apache-avro's only one.
    apache_avro::util::max_allocation_bytes(crate::AVRO_MAX_ALLOCATION_BYTES);
    let mut reader = Body {
        rest: body,
        ran_out: false,
    };
    let value = GenericDatumReader::builder(writer)
        .build()
        .and_then(|datum| datum.read_value(&mut reader))
        .map_err(|e| {
            InvalidEvent::CorruptAvro(format!(
                "schema id {id}: the body does not decode with its schema (truncated or corrupt): {e}"
            ))
        })?;
    if reader.ran_out {
        return Err(InvalidEvent::CorruptAvro(format!(
            "schema id {id}: the body ends inside a value ({} bytes: truncated)",
            body.len()
        )));
    }
    if !reader.rest.is_empty() {
        return Err(InvalidEvent::CorruptAvro(format!(
            "schema id {id}: {} bytes left after the record",
            reader.rest.len()
        )));
    }
    let json = to_json(value)
        .map_err(|e| InvalidEvent::UnresolvableSchema(format!("schema id {id}: {e}")))?;
    Ok(json)
}

/// The body as apache-avro reads it, remembering whether a read ran past its end: the library
/// decodes a `string`, `boolean` or union index cut off by the end of its input as `null`
/// rather than an error (it reads files a block at a time), so a truncated message would
/// otherwise decode with its last values null (found by `fuzz/avro_event`).
struct Body<'a> {
    rest: &'a [u8],
    ran_out: bool,
}

impl Read for Body<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.rest.read(buf)?;
        self.ran_out |= n < buf.len();
        Ok(n)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        let result = self.rest.read_exact(buf);
        self.ran_out |= result.is_err();
        result
    }
}

/// Decodes the Avro `body` written with `writer` (registry id `id`) and validates the event.
pub fn decode_avro(id: u32, writer: &Schema, body: &[u8]) -> Result<Event, InvalidEvent> {
    let json = decode_avro_json(id, writer, body)?;
    let event: Event = serde_json::from_value(json).map_err(|e| {
        InvalidEvent::UnresolvableSchema(format!(
            "schema id {id} does not resolve to the event model: {e}"
        ))
    })?;
    validate(&event)?;
    Ok(event)
}

/// An Avro value as the JSON the event model reads; logical types become their JSON spelling.
fn to_json(value: Value) -> Result<Json, String> {
    Ok(match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(b),
        Value::Int(i) => Json::from(i),
        Value::Long(l) => Json::from(l),
        Value::Float(f) => Number::from_f64(f64::from(f)).map_or(Json::Null, Json::Number),
        Value::Double(d) => Number::from_f64(d).map_or(Json::Null, Json::Number),
        Value::String(s) | Value::Enum(_, s) => Json::String(s),
        Value::Uuid(u) => Json::String(u.to_string()),
        Value::TimestampMillis(ms) => {
            Json::String(rfc3339(DateTime::from_timestamp_millis(ms), ms)?)
        }
        Value::TimestampMicros(us) => {
            Json::String(rfc3339(DateTime::from_timestamp_micros(us), us)?)
        }
        Value::Union(_, inner) => to_json(*inner)?,
        Value::Array(items) => {
            Json::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Value::Map(map) => Json::Object(
            map.into_iter()
                .map(|(k, v)| Ok((k, to_json(v)?)))
                .collect::<Result<Map<_, _>, String>>()?,
        ),
        Value::Record(fields) => Json::Object(
            fields
                .into_iter()
                .map(|(k, v)| Ok((k, to_json(v)?)))
                .collect::<Result<Map<_, _>, String>>()?,
        ),
        other => {
            return Err(format!(
                "Avro type {other:?} has no place in the event model"
            ))
        }
    })
}

fn rfc3339(ts: Option<DateTime<Utc>>, raw: i64) -> Result<String, String> {
    ts.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .ok_or_else(|| format!("timestamp {raw} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use apache_avro::types::Record;

    const V1: &str = r#"{"type":"record","name":"Event","fields":[
        {"name":"event_id","type":{"type":"string","logicalType":"uuid"}},
        {"name":"event_type","type":"string"},
        {"name":"key","type":"string"},
        {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
        {"name":"schema_version","type":"int"},
        {"name":"payload","type":{"type":"record","name":"Review","fields":[
            {"name":"review_id","type":"string"},{"name":"rating","type":"int"},
            {"name":"text","type":"string"}]}},
        {"name":"added","type":"string","default":"x"}]}"#;

    fn datum(schema: &Schema, value: impl Into<Value>) -> Vec<u8> {
        let mut bytes = Vec::new();
        apache_avro::writer::datum::GenericDatumWriter::builder(schema)
            .build()
            .unwrap()
            .write_value(&mut bytes, value)
            .unwrap();
        bytes
    }

    fn body(schema: &Schema, rating: i32, drop_payload: bool) -> Vec<u8> {
        let mut r = Record::new(schema).unwrap();
        r.put("event_id", Value::Uuid(uuid::Uuid::from_u128(7)));
        r.put("event_type", "review_created");
        r.put("key", "user:1");
        r.put("ts", Value::TimestampMillis(1_767_225_600_123));
        r.put("schema_version", 1);
        if !drop_payload {
            let Schema::Record(rs) = schema else {
                unreachable!()
            };
            let payload_schema = &rs.fields[5].schema;
            let mut p = Record::new(payload_schema).unwrap();
            p.put("review_id", "r-1");
            p.put("rating", rating);
            p.put("text", "ok");
            r.put("payload", p);
        }
        r.put("added", "new");
        datum(schema, r)
    }

    #[test]
    fn a_framed_value_decodes_with_logical_types_and_extra_fields() {
        let schema = Schema::parse_str(V1).unwrap();
        let mut framed = vec![0, 0, 0, 0, 42];
        framed.extend(body(&schema, 4, false));
        let (id, avro) = confluent_frame(Some(&framed), 1 << 20).unwrap();
        assert_eq!(id, 42);
        let event = decode_avro(id, &schema, avro).unwrap();
        assert_eq!(event.event_id, uuid::Uuid::from_u128(7));
        assert_eq!(event.ts.timestamp_millis(), 1_767_225_600_123);
        assert_eq!(event.payload.rating, 4);
    }

    #[test]
    fn bad_input_gets_a_reason_naming_what_is_wrong() {
        let schema = Schema::parse_str(V1).unwrap();
        let err = confluent_frame(Some(br#"{"event_id":1}"#), 1 << 20).unwrap_err();
        assert_eq!(err.kind(), "not_confluent_avro");
        assert!(err.to_string().contains("looks like JSON"), "{err}");
        assert_eq!(
            confluent_frame(Some(&[0, 0, 1]), 1 << 20)
                .unwrap_err()
                .kind(),
            "not_confluent_avro"
        );
        let full = body(&schema, 4, false);
        let err = decode_avro(9, &schema, &full[..full.len() / 2]).unwrap_err();
        assert_eq!(err.kind(), "corrupt_avro");
        assert!(err.to_string().contains("schema id 9"), "{err}");
        // Data rules still apply to Avro events.
        let err = decode_avro(9, &schema, &body(&schema, 9, false)).unwrap_err();
        assert_eq!(err.kind(), "rating_out_of_range");
    }

    #[test]
    fn a_writer_without_a_required_field_does_not_resolve() {
        let without_payload = V1.replace(
            r#"{"name":"payload","type":{"type":"record","name":"Review","fields":[
            {"name":"review_id","type":"string"},{"name":"rating","type":"int"},
            {"name":"text","type":"string"}]}},"#,
            "",
        );
        let schema = Schema::parse_str(&without_payload).unwrap();
        let mut r = Record::new(&schema).unwrap();
        r.put("event_id", Value::Uuid(uuid::Uuid::from_u128(7)));
        r.put("event_type", "review_created");
        r.put("key", "user:1");
        r.put("ts", Value::TimestampMillis(1));
        r.put("schema_version", 1);
        r.put("added", "x");
        let bytes = datum(&schema, r);
        let err = decode_avro(3, &schema, &bytes).unwrap_err();
        assert_eq!(err.kind(), "unresolvable_schema");
        assert!(err.to_string().contains("payload"), "{err}");
    }

    /// Found by `fuzz/avro_event`: a body cut inside its last string decoded, with that
    /// string null, because apache-avro reads a string, boolean or union index cut off by the
    /// end of input as null.
    #[test]
    fn a_body_cut_inside_its_last_value_is_corrupt() {
        let schema = Schema::parse_str(V1).unwrap();
        let full = body(&schema, 4, false);
        assert!(decode_avro_json(1, &schema, &full).is_ok());
        for cut in 1..=2 {
            let err = decode_avro_json(1, &schema, &full[..full.len() - cut]).unwrap_err();
            assert_eq!(err.kind(), "corrupt_avro", "cut {cut}: {err}");
            assert!(err.to_string().contains("truncated"), "{err}");
        }
        let flag = Schema::parse_str(
            r#"{"type":"record","name":"F","fields":[
            {"name":"n","type":"int"},{"name":"b","type":"boolean"}]}"#,
        )
        .unwrap();
        assert_eq!(
            decode_avro_json(1, &flag, &[2]).unwrap_err().kind(),
            "corrupt_avro"
        );
    }

    /// Found by `fuzz/avro_event`: apache-avro up to 0.21 panicked (instead of returning an
    /// error) on a registry schema whose record name, alias or type reference is not a valid
    /// Avro name, which would have taken the consumer down. 0.22 returns an error.
    #[test]
    fn a_schema_with_an_invalid_name_is_an_error_not_a_panic() {
        for text in [
            r#"{"type":"record","name":"Orde!","fields":[]}"#,
            r#"{"type":"record","name":"R","aliases":[":"],"fields":[]}"#,
            r#"{"type":"record","name":"R","fields":[{"name":"f","type":"no-such!"}]}"#,
        ] {
            assert!(Schema::parse_str(text).is_err(), "{text}");
        }
    }
}
