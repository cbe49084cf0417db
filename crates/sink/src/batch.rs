//! What both sinks take and give back: a batch of validated events with their source
//! positions, and the counts of one committed write.

use std::time::Duration;
use streamsre_event::Event;
pub use streamsre_event::{DeadLetter, SourcePos};

/// A decoded, validated event and its position.
#[derive(Debug, Clone)]
pub struct ValidEvent {
    /// The event.
    pub event: Event,
    /// Where it was read.
    pub pos: SourcePos,
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
