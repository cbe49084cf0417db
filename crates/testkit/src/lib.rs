//! Test harness for streamsre's integration tests. Nothing here is mocked: it creates a
//! dedicated PostgreSQL database and Kafka topic per test (so tests run in parallel without
//! sharing state), spawns the real `streamsre` binary as child processes, and waits on
//! observable conditions (row counts, lag, metrics) with deadlines instead of sleeping.
//!
//! A missing broker or database is a test failure with a message saying how to start it,
//! never a skip.
//!
//! `kafka` (topics, lag, reading back), `db` (a database per test), `proc` (child processes),
//! `wait` (conditions with deadlines), `scrape` (HTTP and `/metrics`), `browser` (headless
//! Chromium), `broker` (a Tansu of the test's own, optionally with TLS, mTLS or SASL), `tls` (throwaway
//! CAs and certificates), `pg_server` (a PostgreSQL of the test's own, serving a test CA's
//! certificate), `registry` (a schema registry stand-in).

#![warn(missing_docs)]

mod broker;
mod browser;
mod db;
mod kafka;
mod pg_server;
mod proc;
mod registry;
mod scrape;
mod tls;
mod wait;

pub use broker::{stock_tansu, Listener, OwnBroker, ScramUser};
pub use browser::Browser;
pub use db::TestDb;
pub use kafka::{
    brokers, committed_offsets, create_named_topic, create_topic, kafka_opts, read_topic, review,
    total_lag, ReadRecord, FAST_GROUP_OPTS,
};
pub use pg_server::PgServer;
pub use proc::{free_addr, Proc};
pub use registry::RegistryStandIn;
pub use scrape::{http_get, metric_value, scrape};
pub use tls::{CertFiles, TestCa};
pub use wait::wait_for;

/// A short unique suffix for names.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}
