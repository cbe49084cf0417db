//! The Postgres sink: effectively once through the dedup ledger. Config and pool (`sink`), the
//! batch write paths (`apply`), the DLQ table (`dlq_store`), migrations, how its errors
//! are classified (`classify`), and libpq's `sslmode` over rustls (`tls`).

mod apply;
pub mod catalog;
mod classify;
mod dlq_store;
mod ledger;
mod migrate;
mod sink;
mod tls;

pub use apply::WritePath;
pub use classify::classify_sqlstate;
pub use dlq_store::DlqFilter;
pub use ledger::{PRUNE_BATCH, PRUNE_INDEX_LOCK_KEY};
pub use migrate::migrate;
pub use sink::{PgSink, PgSinkConfig};
pub use tls::{PgConnectOptions, SslMode};
