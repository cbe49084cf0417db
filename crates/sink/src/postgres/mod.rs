//! The Postgres sink: config, connection pool, migrations, and the write paths.

mod error;
mod migrate;
mod sink;

pub use error::SinkError;
pub use migrate::migrate;
pub use sink::{BatchOutcome, DlqRecord, PgSink, PgSinkConfig, SourcePos, ValidEvent};
