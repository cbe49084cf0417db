//! Everything an operator sees of the data path: the Prometheus metrics (every name in
//! [`metrics`], and the text format both ways), the tracing setup ([`logging`]), the ops HTTP
//! endpoints (`/healthz`, `/readyz`, `/metrics`, in [`http`]), end-to-end latency quantiles
//! ([`stats`]) and URL redaction for logs. The pipeline records into these types; it never
//! formats metrics or logs itself, so names and meanings stay in one place.

#![warn(missing_docs)]

pub mod http;
pub mod logging;
pub mod metrics;
mod redact;
pub mod stats;

pub use http::{app, metrics_only_app, serve, DependencyStatus, ReadinessProbe};
pub use metrics::{HeapStats, Metrics};
pub use redact::redact_url;
pub use stats::LatencyStats;
