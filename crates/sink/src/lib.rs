//! The last stage of the data path: makes a batch of events durable in the downstream
//! ([`Sink`]: PostgreSQL or an HTTP service, peers in one folder each) and records messages
//! that can never be applied ([`DeadLetter`]s) in the DLQ table.
//!
//! Postgres is exactly-once through the dedup ledger: one transaction inserts the batch's ids
//! into `processed_events … ON CONFLICT DO NOTHING RETURNING`, then writes the rows the
//! mapping made of the newly inserted ids only (every table, one statement), then commits. Only after
//! that commit does the caller mark the offsets done, so a crash at any point either loses
//! nothing (uncommitted offsets are redelivered) or replays events the ledger already knows.
//! HTTP has no ledger and is at-least-once.
//!
//! Each sink classifies its own errors, where the cause is visible (SQLSTATE, HTTP status),
//! into a retry verdict ([`SinkError`]); the pipeline decides what to do with each.

#![warn(missing_docs)]

mod batch;
mod error;
pub mod http;
pub mod postgres;
mod sink;

pub use batch::{BatchOutcome, DeadLetter, EventBody, SourcePos, ValidEvent};
pub use error::SinkError;
pub use http::HttpSink;
pub use postgres::{migrate, DlqFilter, PgSink, PgSinkConfig, WritePath};
pub use sink::Sink;
