//! What both sinks take and give back: a batch of validated events with their source
//! positions, and the counts of one committed write.

use std::time::Duration;
use streamsre_event::{encode, Event};
pub use streamsre_event::{DeadLetter, SourcePos};
use streamsre_mapping::{Fields, Meta, Plan, Rejected, Routed, Rows};

/// A decoded event ready for a sink, and its position.
#[derive(Debug, Clone)]
pub struct ValidEvent {
    /// The id the ledger deduplicates it under (and its DLQ id, should the sink reject it).
    pub id: uuid::Uuid,
    /// What the sink writes.
    pub body: EventBody,
    /// Where it was read.
    pub pos: SourcePos,
    /// The message value it was read from, kept until its batch commits: its rows' text
    /// spans ([`streamsre_mapping::Typed::Span`]) are bytes of it, and the DLQ gets it
    /// byte for byte should the sink reject the event.
    pub value: Option<Vec<u8>>,
}

/// What a sink writes for one event.
#[derive(Debug, Clone)]
pub enum EventBody {
    /// Rows for Postgres, one per route the event matched, coerced to their columns.
    Rows(Rows),
    /// The review event itself, for the HTTP sink, which forwards events as they are (boxed:
    /// it is twice the size of rows, and every event is moved through several queues).
    Review(Box<Event>),
}

impl ValidEvent {
    /// The event whose fields are `fields` (read at `pos`, with `meta`) as `plan` maps it:
    /// `Ok(None)` when no route takes it and the mapping says skip. Where `meta` names the
    /// message value, text columns may be spans of it: keep it ([`ValidEvent::with_value`]).
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
                value: None,
            }),
            Routed::Skipped => None,
        })
    }

    /// The same event, keeping the message value it was read from.
    pub fn with_value(self, value: Option<Vec<u8>>) -> Self {
        Self { value, ..self }
    }

    /// A review event mapped as the consumer maps it (from its JSON, its key as the message
    /// key, the message kept): for benchmarks and tests that write without Kafka.
    pub fn mapped_review(
        plan: &Plan,
        event: &Event,
        pos: SourcePos,
    ) -> Result<Option<Self>, Rejected> {
        let value = encode(event);
        let fields = plan
            .read(&mut serde_json::Deserializer::from_slice(&value))
            .expect("an encoded event is JSON");
        let meta = Meta {
            topic: &pos.topic,
            partition: pos.partition,
            offset: pos.offset,
            key: Some(event.key.as_bytes()),
            timestamp_ms: Some(event.ts.timestamp_millis()),
            headers: &[],
            value: Some(&value),
        };
        let mapped = Self::map(plan, &fields, &meta, &pos)?;
        drop(fields);
        Ok(mapped.map(|e| e.with_value(Some(value))))
    }

    /// A review event for the HTTP sink, deduplicated under its own id.
    pub fn review(event: Event, pos: SourcePos) -> Self {
        Self {
            id: event.event_id,
            body: EventBody::Review(Box::new(event)),
            pos,
            value: None,
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
