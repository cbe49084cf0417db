//! Where lanes write: PostgreSQL (effectively once, through the dedup ledger) or an HTTP
//! service (at-least-once). One `match` per operation; the worker's retry, circuit breaker and
//! bisection logic is the same for both.

use std::time::Duration;
use streamsre_sink::{BatchOutcome, DlqRecord, HttpSink, PgSink, SinkError, ValidEvent};

/// A connected sink.
#[derive(Clone)]
pub(crate) enum Backend {
    /// Events and DLQ rows go to PostgreSQL in one transaction per batch.
    Postgres(PgSink),
    /// Events are POSTed to an HTTP service; DLQ records go to the DLQ topic only (there is
    /// no table to write them to).
    Http(HttpSink),
}

impl Backend {
    /// Writes a batch (and, for Postgres, its DLQ rows in the same transaction).
    pub(crate) async fn apply_batch(
        &self,
        valid: &[&ValidEvent],
        dlq: &[DlqRecord],
    ) -> Result<BatchOutcome, SinkError> {
        match self {
            Self::Postgres(pg) => pg.apply_batch(valid, dlq).await,
            Self::Http(http) => http.apply_batch(valid).await,
        }
    }

    /// Writes one event on its own; true if newly applied.
    pub(crate) async fn apply_single(&self, event: &ValidEvent) -> Result<bool, SinkError> {
        match self {
            Self::Postgres(pg) => pg.apply_single(event).await,
            Self::Http(http) => http.apply_single(event).await,
        }
    }

    /// Writes DLQ records to the DLQ table, where there is one.
    pub(crate) async fn write_dlq(&self, records: &[DlqRecord]) -> Result<usize, SinkError> {
        match self {
            Self::Postgres(pg) => pg.write_dlq(records).await,
            Self::Http(_) => Ok(records.len()),
        }
    }

    /// Readiness check.
    pub(crate) async fn ping(&self, timeout: Duration) -> Result<(), SinkError> {
        match self {
            Self::Postgres(pg) => pg.ping(timeout).await,
            Self::Http(http) => http.ping(timeout).await,
        }
    }
}
