//! The source: a consumer-group poll loop on a dedicated OS thread ([`run_source`]).
//!
//! Why a thread and a `BaseConsumer` rather than a `StreamConsumer` on the async runtime:
//! librdkafka runs rebalance callbacks inside `poll`, and on revoke we must *wait* for the
//! sink workers to finish the revoked partitions' in-flight work and then commit, before the
//! partitions are released. Blocking there is only safe on a thread that no async task needs.
//!
//! Flow control is decided in `streamsre-flow` ([`streamsre_flow::WaitQueue`]); the loop here
//! carries it out against librdkafka: a message is dispatched only with a sink slot
//! ([`streamsre_flow::SinkSlots`]), fetched messages wait in the queue, and when it is full the
//! loop pauses its partitions and keeps calling `poll`, so a slow sink becomes broker-side lag
//! instead of memory and the consumer keeps its group membership.
//!
//! - `client`: the librdkafka consumer settings, sized by the memory budget.
//! - `rebalance`: the callbacks (revoke drains and commits, assign tracks).
//! - `health`: group membership for `/readyz`.
//! - `message`: a message waiting for a slot, and dispatched.
//! - `run`: the loop itself, and the drain on shutdown.

mod client;
mod health;
mod message;
mod rebalance;
mod run;

pub use health::{GroupState, KafkaHealth};
pub use message::{Fetched, Record};
pub use run::run_source;
pub use streamsre_flow::PollMode;

use crate::config::KafkaOpts;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use streamsre_flow::{FlowControl, SharedTracker, ShedLog, SinkSlots};
use streamsre_telemetry::Metrics;

/// Settings of the source.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Brokers and librdkafka passthrough.
    pub kafka: KafkaOpts,
    /// Topic to consume.
    pub topic: String,
    /// Consumer group id.
    pub group: String,
    /// How often durable offsets are committed while running.
    pub commit_interval: Duration,
    /// How long a revoke waits for in-flight work of the revoked partitions before abandoning
    /// it (abandoned work stays uncommitted and is redelivered to the new owner).
    pub revoke_timeout: Duration,
    /// How long shutdown waits for the sink workers to drain.
    pub drain_timeout: Duration,
    /// Queue mode, overload policy and memory budget.
    pub flow: FlowControl,
    /// Whether the poll loop keeps polling while it waits for the sink (the default) or, for
    /// the lab only, blocks, which reproduces `max.poll.interval.ms` evictions.
    pub poll_mode: PollMode,
    /// `max.poll.interval.ms`: a member that does not poll for this long is evicted.
    pub max_poll_interval: Duration,
    /// Whether records keep every header, for a mapping that reads `@header:NAME` (the
    /// pipeline sets it from its mapping). Otherwise only the DLQ id a replayed record carries
    /// is read: copying each header of each record costs allocations the sink never uses.
    pub keep_headers: bool,
    /// Where a partition the group has never committed starts.
    pub start_from: StartFrom,
}

/// Where the consumer starts reading a partition its group has no committed offset for (a
/// committed offset always wins).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StartFrom {
    /// The oldest message still kept, so events produced before the group existed count.
    #[default]
    Earliest,
    /// The log end: only what is produced from now on.
    Latest,
    /// The first message at or after this time (the log end if there is none).
    At(chrono::DateTime<chrono::Utc>),
}

impl std::str::FromStr for StartFrom {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "earliest" => Ok(Self::Earliest),
            "latest" => Ok(Self::Latest),
            _ => chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| Self::At(t.with_timezone(&chrono::Utc)))
                .map_err(|e| {
                    format!("{s:?} is not earliest, latest or an RFC 3339 time ({e}; e.g. 2026-12-03T10:00:00Z)")
                }),
        }
    }
}

/// Handles the source shares with the rest of the pipeline.
#[derive(Clone)]
pub struct SourceShared {
    /// Offset bookkeeping.
    pub tracker: Arc<SharedTracker>,
    /// Room for messages in flight: at most `MAX_INFLIGHT`, costing at most the memory
    /// budget's pipeline share.
    pub slots: SinkSlots,
    /// Group membership state for `/readyz`.
    pub health: Arc<KafkaHealth>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// What dispatched messages not yet finished cost (part of the memory budget).
    pub inflight_bytes: Arc<AtomicUsize>,
    /// Shed messages per key class since the last drain (policy `shed`).
    pub shed: Arc<ShedLog>,
}

impl SourceShared {
    /// Returns the bytes of finished messages to the memory budget.
    pub fn release_bytes(&self, bytes: usize) {
        self.inflight_bytes.fetch_sub(bytes, Ordering::SeqCst);
    }
}
