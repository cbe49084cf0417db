//! The last stage of the data path: makes a batch of events durable in PostgreSQL exactly once
//! and records messages that can never be applied in the DLQ table.
//!
//! Exactly-once comes from the dedup ledger: one transaction inserts the batch's ids into
//! `processed_events … ON CONFLICT DO NOTHING RETURNING`, then applies the business rows and the
//! `user_stats` aggregate for the newly inserted ids only, then commits. Only after that commit
//! does the caller mark the offsets done, so a crash at any point either loses nothing
//! (uncommitted offsets are redelivered) or replays events the ledger already knows.
//!
//! Errors are classified here, where the driver's SQLSTATE is visible, into retriable and
//! permanent ([`SinkError`]); the pipeline decides what to do with each.

#![warn(missing_docs)]

pub mod http;
pub mod postgres;

pub use http::HttpSink;
pub use postgres::{
    migrate, BatchOutcome, DlqFilter, DlqRecord, DlqRow, PgSink, PgSinkConfig, SinkError,
    SourcePos, ValidEvent, WritePath,
};
