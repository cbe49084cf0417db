//! A message that will never be applied, and why: the one shape of a DLQ record. The consumer
//! creates it, the Postgres sink writes it to `dlq_events`, the DLQ publisher sends it to the
//! DLQ topic (headers from [`DeadLetter::headers`]), and `streamsre dlq list|show|replay` read
//! it back from the table.

use chrono::{DateTime, Utc};
use std::fmt;
use std::sync::Arc;
use uuid::Uuid;

/// Where a message was read: stored with its rows and its DLQ record for audits and replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePos {
    /// Kafka topic (empty: no single source, e.g. a shed summary). Shared with the fetched
    /// message, so a position costs no allocation per event.
    pub topic: Arc<str>,
    /// Kafka partition (-1: none).
    pub partition: i32,
    /// Kafka offset (-1: none).
    pub offset: i64,
}

impl SourcePos {
    /// No source position: a record about many messages (shed summary), or a table row
    /// written without one.
    pub fn none() -> Self {
        Self {
            topic: Arc::from(""),
            partition: -1,
            offset: -1,
        }
    }

    /// Whether this names a real position.
    pub fn is_known(&self) -> bool {
        !self.topic.is_empty() && self.partition >= 0 && self.offset >= 0
    }
}

impl fmt::Display for SourcePos {
    /// `topic/partition@offset`, or `-` without a position.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_known() {
            write!(f, "{}/{}@{}", self.topic, self.partition, self.offset)
        } else {
            f.write_str("-")
        }
    }
}

/// Header carrying the DLQ record's id on replays, so a replayed message that fails again
/// updates its DLQ record instead of creating a second one.
pub const DLQ_ID_HEADER: &str = "x-streamsre-dlq-id";

/// A message that will never be applied.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// Id of the record (the event's own id when it had a valid one, the replayed record's id
    /// when it came back from a replay; [`crate::dlq_event_id`] otherwise).
    pub id: Uuid,
    /// Stable kind, e.g. `rating_out_of_range`, `sink_rejected`.
    pub kind: String,
    /// `kind: explanation`, e.g. `rating_out_of_range: payload.rating 6 is outside 1..=5`.
    pub reason: String,
    /// The message key, kept so a replay goes to the same partition and lane.
    pub key: Option<Vec<u8>>,
    /// The exact bytes of the message value, if it had one.
    pub value: Option<Vec<u8>>,
    /// Write attempts made before giving up (0 for messages that failed validation).
    pub attempts: u32,
    /// Where it was (last) read.
    pub pos: SourcePos,
    /// When it (last) failed.
    pub failed_at: DateTime<Utc>,
    /// How often it came back after a replay (0 when first recorded; the table counts it).
    pub returns: u32,
    /// When it was last replayed, if ever.
    pub replayed_at: Option<DateTime<Utc>>,
}

impl DeadLetter {
    /// A record failed now, never replayed.
    pub fn new(id: Uuid, kind: &str, reason: String, pos: SourcePos) -> Self {
        Self {
            id,
            kind: kind.to_string(),
            reason,
            key: None,
            value: None,
            attempts: 0,
            pos,
            failed_at: Utc::now(),
            returns: 0,
            replayed_at: None,
        }
    }

    /// The value as JSON when it is JSON that Postgres' `jsonb` can store (no NUL characters);
    /// the raw bytes are kept either way.
    pub fn json(&self) -> Option<serde_json::Value> {
        let raw = self.value.as_deref()?;
        let value: serde_json::Value = serde_json::from_slice(raw).ok()?;
        (!value.to_string().contains("\\u0000")).then_some(value)
    }

    /// The headers of its DLQ topic record, so other tools can consume it too: `error`,
    /// `reason`, `retry_count` (write attempts), `original_topic|partition|offset`,
    /// `failed_at` (RFC 3339) and the id ([`DLQ_ID_HEADER`]).
    pub fn headers(&self) -> [(&'static str, String); 8] {
        [
            ("error", self.kind.clone()),
            ("reason", self.reason.clone()),
            ("retry_count", self.attempts.to_string()),
            ("original_topic", self.pos.topic.to_string()),
            ("original_partition", self.pos.partition.to_string()),
            ("original_offset", self.pos.offset.to_string()),
            ("failed_at", self.failed_at.to_rfc3339()),
            (DLQ_ID_HEADER, self.id.to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(value: Option<&[u8]>) -> DeadLetter {
        let pos = SourcePos {
            topic: "t".into(),
            partition: 2,
            offset: 7,
        };
        let mut d = DeadLetter::new(Uuid::nil(), "kind", "kind: why".into(), pos);
        d.value = value.map(<[u8]>::to_vec);
        d.attempts = 3;
        d
    }

    #[test]
    fn json_only_when_jsonb_can_hold_it() {
        assert_eq!(
            letter(Some(br#"{"a":1}"#)).json(),
            Some(serde_json::json!({"a": 1}))
        );
        assert_eq!(letter(Some(b"not json")).json(), None);
        assert_eq!(letter(Some(br#"{"a":"\u0000"}"#)).json(), None, "NUL");
        assert_eq!(letter(None).json(), None);
    }

    #[test]
    fn headers_carry_kind_reason_attempts_position_and_id() {
        let headers = letter(None).headers();
        let get = |k: &str| headers.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(get("error"), "kind");
        assert_eq!(get("reason"), "kind: why");
        assert_eq!(get("retry_count"), "3");
        assert_eq!(get("original_topic"), "t");
        assert_eq!(get("original_partition"), "2");
        assert_eq!(get("original_offset"), "7");
        assert_eq!(get(DLQ_ID_HEADER), Uuid::nil().to_string());
        assert!(DateTime::parse_from_rfc3339(&get("failed_at")).is_ok());
    }

    #[test]
    fn positions_print_as_topic_partition_offset_or_dash() {
        assert_eq!(letter(None).pos.to_string(), "t/2@7");
        assert_eq!(SourcePos::none().to_string(), "-");
    }
}
