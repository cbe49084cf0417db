use crate::model::{Event, EVENT_TYPE_REVIEW_CREATED, SCHEMA_VERSION};
use uuid::Uuid;

/// Why a message is not a valid event. Every variant is permanent: retrying cannot fix it, so
/// the consumer sends the message to the DLQ with [`InvalidEvent::reason`] and moves on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEvent {
    /// A record with no value at all (a tombstone).
    #[error("message has no value (tombstone)")]
    MissingValue,
    /// A zero-length value.
    #[error("message value is empty")]
    EmptyValue,
    /// Larger than the configured limit; rejected before parsing to bound memory.
    #[error("message value is {size} bytes, over the {max}-byte limit")]
    TooLarge {
        /// Size of the value in bytes.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// Not UTF-8, so it cannot be JSON.
    #[error("message value is not UTF-8 (invalid byte at position {valid_up_to})")]
    NotUtf8 {
        /// Length of the valid UTF-8 prefix.
        valid_up_to: usize,
    },
    /// Not well-formed JSON.
    #[error("message value is not valid JSON: {0}")]
    InvalidJson(String),
    /// JSON that stops early, typically a message cut by a buggy producer.
    #[error("message value is truncated JSON: {0}")]
    TruncatedJson(String),
    /// Well-formed JSON lacking a required field.
    #[error("{0}")]
    MissingField(String),
    /// A field with the wrong JSON type, including `null` where an object is required.
    #[error("{0}")]
    WrongType(String),
    /// A field of the right type whose value cannot be parsed (bad UUID, bad timestamp).
    #[error("{0}")]
    InvalidField(String),
    /// A `schema_version` this build does not understand.
    #[error("schema_version {0} is not supported (expected {SCHEMA_VERSION})")]
    UnsupportedSchemaVersion(u32),
    /// An `event_type` the sink cannot apply.
    #[error("event_type {0:?} is not supported (expected {EVENT_TYPE_REVIEW_CREATED:?})")]
    UnsupportedEventType(String),
    /// `payload.rating` outside 1..=5.
    #[error("payload.rating {0} is outside 1..=5")]
    RatingOutOfRange(i32),
    /// A required identifier that is present but empty.
    #[error("{0} is empty")]
    EmptyField(&'static str),
    /// The all-zero UUID, which producers use by mistake as "unset".
    #[error("event_id is the nil UUID")]
    NilEventId,
    /// `--value-format avro`, but the value is not in the Confluent wire format.
    #[error("not Confluent-framed Avro: {0}")]
    NotConfluentAvro(String),
    /// The schema id is not in the registry (it answered 404).
    #[error("{0}")]
    UnknownSchema(String),
    /// The Avro body does not decode with its writer's schema (truncated, corrupt).
    #[error("{0}")]
    CorruptAvro(String),
    /// The writer's schema cannot be read as the event model (a required field is missing,
    /// or has an incompatible type).
    #[error("{0}")]
    UnresolvableSchema(String),
}

impl InvalidEvent {
    /// A short, stable, machine-friendly name for the kind of problem, used as the prefix of
    /// the DLQ reason so operators can group and filter DLQ records by it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MissingValue => "missing_value",
            Self::EmptyValue => "empty_value",
            Self::TooLarge { .. } => "too_large",
            Self::NotUtf8 { .. } => "not_utf8",
            Self::InvalidJson(_) => "invalid_json",
            Self::TruncatedJson(_) => "truncated_json",
            Self::MissingField(_) => "missing_field",
            Self::WrongType(_) => "wrong_type",
            Self::InvalidField(_) => "invalid_field",
            Self::UnsupportedSchemaVersion(_) => "unsupported_schema_version",
            Self::UnsupportedEventType(_) => "unsupported_event_type",
            Self::RatingOutOfRange(_) => "rating_out_of_range",
            Self::EmptyField(_) => "empty_field",
            Self::NilEventId => "nil_event_id",
            Self::NotConfluentAvro(_) => "not_confluent_avro",
            Self::UnknownSchema(_) => "unknown_schema",
            Self::CorruptAvro(_) => "corrupt_avro",
            Self::UnresolvableSchema(_) => "unresolvable_schema",
        }
    }

    /// The full reason stored with a DLQ record: `kind: human explanation`.
    pub fn reason(&self) -> String {
        format!("{}: {}", self.kind(), self)
    }

    pub(crate) fn from_json_error(err: serde_json::Error) -> Self {
        use serde_json::error::Category;
        let msg = err.to_string();
        match err.classify() {
            Category::Eof => Self::TruncatedJson(msg),
            Category::Syntax | Category::Io => Self::InvalidJson(msg),
            Category::Data if msg.starts_with("missing field") => Self::MissingField(msg),
            Category::Data if msg.starts_with("invalid type") => Self::WrongType(msg),
            Category::Data => Self::InvalidField(msg),
        }
    }
}

/// Field rules that the JSON shape alone cannot express.
pub(crate) fn validate(event: &Event) -> Result<(), InvalidEvent> {
    if event.schema_version != SCHEMA_VERSION {
        return Err(InvalidEvent::UnsupportedSchemaVersion(event.schema_version));
    }
    if event.event_type != EVENT_TYPE_REVIEW_CREATED {
        return Err(InvalidEvent::UnsupportedEventType(event.event_type.clone()));
    }
    if event.event_id.is_nil() {
        return Err(InvalidEvent::NilEventId);
    }
    if event.key.trim().is_empty() {
        return Err(InvalidEvent::EmptyField("key"));
    }
    if event.payload.review_id.trim().is_empty() {
        return Err(InvalidEvent::EmptyField("payload.review_id"));
    }
    if !(1..=5).contains(&event.payload.rating) {
        return Err(InvalidEvent::RatingOutOfRange(event.payload.rating));
    }
    Ok(())
}

/// Namespace for ids derived from a message's position; a fixed random UUID so derived ids
/// never collide with ids that producers generate.
const POSITION_NAMESPACE: Uuid = Uuid::from_u128(0x6f1f_9a3e_52c4_4d0b_9a57_1c2e_8b0d_4e11);

/// The id a DLQ record is stored under.
///
/// If the raw value is JSON carrying a parseable, non-nil `event_id`, that id is kept, so a DLQ
/// row can be matched with the producer's records. Otherwise (not JSON, no id, bad id) the id is
/// derived deterministically from the record's position, so redelivery of the same poison
/// message after a crash maps to the same DLQ row instead of creating a second one.
pub fn dlq_event_id(value: Option<&[u8]>, topic: &str, partition: i32, offset: i64) -> Uuid {
    let from_payload = value
        .and_then(|v| serde_json::from_slice::<serde_json::Value>(v).ok())
        .and_then(|json| {
            json.get("event_id")
                .and_then(|id| id.as_str())
                .and_then(|s| Uuid::parse_str(s).ok())
        })
        .filter(|id| !id.is_nil());
    from_payload.unwrap_or_else(|| {
        let name = format!("{topic}/{partition}/{offset}");
        Uuid::new_v5(&POSITION_NAMESPACE, name.as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode;
    use serde_json::json;

    const MAX: usize = 4096;

    fn valid() -> serde_json::Value {
        json!({
            "event_id": "8b7d2c1e-3f4a-4b5c-9d6e-7f8091a2b3c4",
            "event_type": "review_created",
            "key": "user:1",
            "ts": "2026-01-01T00:00:00Z",
            "schema_version": 1,
            "payload": {"review_id": "r-1", "rating": 5, "text": "great"}
        })
    }

    fn with(path: &[&str], value: serde_json::Value) -> Vec<u8> {
        let mut v = valid();
        let mut target = &mut v;
        for p in &path[..path.len() - 1] {
            target = &mut target[*p];
        }
        target[path[path.len() - 1]] = value;
        serde_json::to_vec(&v).unwrap()
    }

    fn without(field: &str) -> Vec<u8> {
        let mut v = valid();
        v.as_object_mut().unwrap().remove(field);
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn valid_event_passes() {
        let bytes = serde_json::to_vec(&valid()).unwrap();
        assert!(decode(Some(&bytes), MAX).is_ok());
    }

    /// Every kind of bad input maps to its own kind and a reason that says what is wrong.
    #[test]
    fn invalid_events_are_rejected_with_specific_reasons() {
        let valid_json = serde_json::to_vec(&valid()).unwrap();
        let cases: Vec<(&str, Option<Vec<u8>>, &str, &str)> = vec![
            ("tombstone", None, "missing_value", "no value"),
            ("empty", Some(vec![]), "empty_value", "empty"),
            (
                "too large",
                Some(vec![b' '; MAX + 1]),
                "too_large",
                "over the 4096-byte limit",
            ),
            (
                "not utf-8",
                Some(vec![b'{', 0xff, 0xfe]),
                "not_utf8",
                "position 1",
            ),
            (
                "not json",
                Some(b"hello".to_vec()),
                "invalid_json",
                "expected value",
            ),
            (
                "truncated",
                Some(valid_json[..40].to_vec()),
                "truncated_json",
                "EOF",
            ),
            (
                "missing key",
                Some(without("key")),
                "missing_field",
                "missing field `key`",
            ),
            (
                "missing payload",
                Some(without("payload")),
                "missing_field",
                "`payload`",
            ),
            (
                "rating is a string",
                Some(with(&["payload", "rating"], json!("five"))),
                "wrong_type",
                "invalid type",
            ),
            (
                "null payload",
                Some(with(&["payload"], json!(null))),
                "wrong_type",
                "null",
            ),
            (
                "bad uuid",
                Some(with(&["event_id"], json!("not-a-uuid"))),
                "invalid_field",
                "UUID",
            ),
            (
                "bad timestamp",
                Some(with(&["ts"], json!("yesterday"))),
                "invalid_field",
                "input",
            ),
            (
                "rating 0",
                Some(with(&["payload", "rating"], json!(0))),
                "rating_out_of_range",
                "rating 0",
            ),
            (
                "rating 6",
                Some(with(&["payload", "rating"], json!(6))),
                "rating_out_of_range",
                "rating 6",
            ),
            (
                "schema v2",
                Some(with(&["schema_version"], json!(2))),
                "unsupported_schema_version",
                "schema_version 2",
            ),
            (
                "other type",
                Some(with(&["event_type"], json!("review_deleted"))),
                "unsupported_event_type",
                "review_deleted",
            ),
            (
                "empty key",
                Some(with(&["key"], json!(""))),
                "empty_field",
                "key is empty",
            ),
            (
                "empty review id",
                Some(with(&["payload", "review_id"], json!(" "))),
                "empty_field",
                "payload.review_id",
            ),
            (
                "nil uuid",
                Some(with(
                    &["event_id"],
                    json!("00000000-0000-0000-0000-000000000000"),
                )),
                "nil_event_id",
                "nil",
            ),
        ];
        for (name, input, kind, needle) in cases {
            let err = decode(input.as_deref(), MAX).expect_err(name);
            assert_eq!(err.kind(), kind, "{name}: {err}");
            let reason = err.reason();
            assert!(reason.starts_with(kind), "{name}: {reason}");
            assert!(
                reason.contains(needle),
                "{name}: reason {reason:?} lacks {needle:?}"
            );
        }
    }

    #[test]
    fn dlq_id_prefers_payload_id_and_is_deterministic_otherwise() {
        let bytes = with(&["payload", "rating"], json!(9));
        let id = dlq_event_id(Some(&bytes), "t", 0, 5);
        assert_eq!(id.to_string(), "8b7d2c1e-3f4a-4b5c-9d6e-7f8091a2b3c4");

        let a = dlq_event_id(Some(b"\xff garbage"), "t", 3, 17);
        let b = dlq_event_id(Some(b"\xff garbage"), "t", 3, 17);
        let c = dlq_event_id(Some(b"\xff garbage"), "t", 3, 18);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(dlq_event_id(None, "t", 0, 0), dlq_event_id(None, "u", 0, 0));
    }
}
