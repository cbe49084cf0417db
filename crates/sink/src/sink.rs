//! The sink the pipeline writes to: PostgreSQL (effectively once, through the dedup ledger) or
//! an HTTP service (at-least-once). One `match` per operation, so the pipeline's retry, circuit
//! breaker and bisection are the same for both.

use crate::{BatchOutcome, DeadLetter, HttpSink, PgSink, SinkError, ValidEvent};
use std::time::Duration;

/// A connected sink.
#[derive(Clone)]
pub enum Sink {
    /// Events and DLQ rows go to PostgreSQL in one transaction per batch.
    Postgres(PgSink),
    /// Events are POSTed to an HTTP service; dead letters go to the DLQ topic only (there is
    /// no table to write them to).
    Http(HttpSink),
}

impl Sink {
    /// Writes a batch (and, for Postgres, its dead letters in the same transaction).
    pub async fn apply_batch(
        &self,
        valid: &[&ValidEvent],
        dlq: &[DeadLetter],
    ) -> Result<BatchOutcome, SinkError> {
        match self {
            Self::Postgres(pg) => pg.apply_batch(valid, dlq).await,
            Self::Http(http) => http.apply_batch(valid).await,
        }
    }

    /// Writes one event on its own; true if newly applied.
    pub async fn apply_single(&self, event: &ValidEvent) -> Result<bool, SinkError> {
        match self {
            Self::Postgres(pg) => pg.apply_single(event).await,
            Self::Http(http) => http.apply_single(event).await,
        }
    }

    /// Writes dead letters to the DLQ table, where there is one.
    pub async fn write_dlq(&self, records: &[DeadLetter]) -> Result<usize, SinkError> {
        match self {
            Self::Postgres(pg) => pg.write_dlq(records).await,
            Self::Http(_) => Ok(records.len()),
        }
    }

    /// Readiness check.
    pub async fn ping(&self, timeout: Duration) -> Result<(), SinkError> {
        match self {
            Self::Postgres(pg) => pg.ping(timeout).await,
            Self::Http(http) => http.ping(timeout).await,
        }
    }
}
