//! What both sinks take and give back: a batch of validated events with their source
//! positions, and the counts of one committed write.

use std::time::Duration;
use streamsre_event::Event;
pub use streamsre_event::{DeadLetter, SourcePos};
use streamsre_mapping::{Doc, Fields, Meta, Plan, Rejected, Routed, Rows};

/// A decoded event ready for a sink, and its position.
#[derive(Debug, Clone)]
pub struct ValidEvent {
    /// The id the ledger deduplicates it under (and its DLQ id, should the sink reject it).
    pub id: uuid::Uuid,
    /// What the sink writes.
    pub body: EventBody,
    /// Where it was read.
    pub pos: SourcePos,
}

/// What a sink writes for one event.
#[derive(Debug, Clone)]
pub enum EventBody {
    /// Rows for Postgres, one per route the event matched, coerced to their columns.
    Rows(Rows),
    /// The review event itself, for the HTTP sink, which forwards events as they are.
    Review(Event),
}

impl ValidEvent {
    /// The event whose fields are `fields` (read at `pos`, with `meta`) as `plan` maps it:
    /// `Ok(None)` when no route takes it and the mapping says skip.
    pub fn map(
        plan: &Plan,
        fields: &Fields<'_>,
        meta: &Meta<'_>,
        pos: &SourcePos,
    ) -> Result<Option<Self>, Rejected> {
        Ok(match plan.route_fields(fields, meta)? {
            Routed::Rows { id, rows } => Some(Self {
                id,
                body: EventBody::Rows(rows),
                pos: pos.clone(),
            }),
            Routed::Skipped => None,
        })
    }

    /// A review event mapped as the consumer maps it (its key as the message key): for
    /// benchmarks and tests that write without Kafka.
    pub fn mapped_review(
        plan: &Plan,
        event: &Event,
        pos: SourcePos,
    ) -> Result<Option<Self>, Rejected> {
        let doc = serde_json::to_value(event).expect("Event always serializes to JSON");
        let meta = Meta {
            topic: &pos.topic,
            partition: pos.partition,
            offset: pos.offset,
            key: Some(event.key.as_bytes()),
            timestamp_ms: Some(event.ts.timestamp_millis()),
            headers: &[],
        };
        Self::map(plan, &plan.fields(&Doc::from(&doc)), &meta, &pos)
    }

    /// A review event for the HTTP sink, deduplicated under its own id.
    pub fn review(event: Event, pos: SourcePos) -> Self {
        Self {
            id: event.event_id,
            body: EventBody::Review(event),
            pos,
        }
    }
}

/// Counts from one committed sink transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Events applied for the first time.
    pub applied: usize,
    /// Events already in the ledger (redeliveries); nothing was changed for them.
    pub duplicates: usize,
    /// DLQ rows written (already-present rows of a redelivered poison message are not counted).
    pub dlq_written: usize,
    /// Time spent in the transaction.
    pub elapsed: Duration,
}
