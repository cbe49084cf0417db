use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The only `schema_version` this build understands. A message with another version is
/// rejected rather than guessed at, so a producer upgrade cannot silently corrupt rows.
pub const SCHEMA_VERSION: u32 = 1;

/// The only `event_type` the Postgres sink knows how to apply.
pub const EVENT_TYPE_REVIEW_CREATED: &str = "review_created";

/// One event as it travels on the topic, in the seed's schema.
///
/// Field names are the wire names; unknown extra fields are ignored so that producers may add
/// fields without breaking older consumers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Globally unique id; the dedup ledger (`processed_events`) is keyed by it.
    pub event_id: Uuid,
    /// What happened; only [`EVENT_TYPE_REVIEW_CREATED`] is accepted today.
    pub event_type: String,
    /// Entity key (e.g. `user:123`); also the Kafka message key, so it decides partition and lane.
    pub key: String,
    /// When the event happened, as RFC 3339.
    pub ts: DateTime<Utc>,
    /// Version of this envelope and payload layout.
    pub schema_version: u32,
    /// The review itself.
    pub payload: ReviewPayload,
}

/// The business payload of a `review_created` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewPayload {
    /// Primary key of the `reviews` row.
    pub review_id: String,
    /// Star rating, 1 to 5 inclusive.
    pub rating: i32,
    /// Free text; the load generator pads it to reach a target message size.
    pub text: String,
}
