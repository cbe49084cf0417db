//! The Postgres sink: config, connection pool, migrations, and the write paths.

mod apply;
mod dlq_store;
mod error;
mod migrate;
mod sink;

pub use apply::WritePath;
pub use dlq_store::{DlqFilter, DlqRow};
pub use error::SinkError;
pub use migrate::migrate;
pub use sink::{BatchOutcome, DlqRecord, PgSink, PgSinkConfig, SourcePos, ValidEvent};
