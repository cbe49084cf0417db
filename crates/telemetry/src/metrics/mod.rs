//! Every metric `streamsre consume` exports, with its name and help text, in one place (the
//! lab's load generator and sink export theirs from `streamsre-lab`, rendered by [`render`]).
//!
//! Names follow the seed (`events_consumed_total`, `events_processed_total{result}`, …).
//! prometheus-client appends `_total` to counters itself, so counters are registered without it.
//! No label carries a key, event id or anything else unbounded: cardinality stays fixed.
//!
//! - this file: the consumer's registry (every family, registered once in [`Metrics::new`]);
//! - `record`: what the pipeline calls to record into it;
//! - `exposition`: the Prometheus text format out ([`render`]) and back in ([`Scrape`], for
//!   `streamsre top`, the lab and the tests);
//! - `process`: what the process and its allocator report (RSS, heap).

mod exposition;
mod process;
mod record;

pub use exposition::{quantile, render, Sample, Scrape};
pub use process::HeapStats;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Outcome of one event, the `result` label of `events_processed_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Newly applied to Postgres.
    Success,
    /// Already in the dedup ledger: a redelivery, skipped without side effects.
    Duplicate,
    /// Invalid or permanently failing; written to the DLQ.
    Dlq,
    /// Could not be made durable (abandoned at shutdown); will be redelivered.
    Fail,
    /// Matched no route of the mapping, which says skip.
    Unrouted,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Duplicate => "duplicate",
            Self::Dlq => "dlq",
            Self::Fail => "fail",
            Self::Unrouted => "unrouted",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueryLabels {
    query: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    git_sha: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KeyClassLabels {
    key_class: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DependencyLabels {
    dependency: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartitionLabels {
    topic: String,
    partition: i32,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~65 s in 18 doublings: covers a fast batch insert and a long retry stall.
    Histogram::new(exponential_buckets(0.0005, 2.0, 18))
}

/// Handles to every metric; cheap to share behind an `Arc`.
pub struct Metrics {
    registry: Registry,
    events_consumed: Counter,
    events_processed: Family<ResultLabels, Counter>,
    processing_duration: Histogram,
    db_query_duration: Family<QueryLabels, Histogram, fn() -> Histogram>,
    e2e_latency: Histogram,
    retries: Counter,
    retries_exhausted: Counter,
    sink_busy: Counter,
    circuit_state: Gauge,
    circuit_opened: Counter,
    inflight: Gauge,
    batch_size: Histogram,
    batch_linger: Histogram,
    commits: Family<ResultLabels, Counter>,
    rebalances: Family<KindLabels, Counter>,
    assigned_partitions: Gauge,
    lag: Family<PartitionLabels, Gauge>,
    committed_offset: Family<PartitionLabels, Gauge>,
    high_watermark: Family<PartitionLabels, Gauge>,
    lag_sum: Gauge,
    stuck_partitions: Gauge,
    unowned_partitions: Gauge,
    group_rejoins: Counter,
    rss_bytes: Gauge,
    dependency_up: Family<DependencyLabels, Gauge>,
    queue_messages: Gauge,
    queue_bytes: Gauge,
    paused_partitions: Gauge,
    shed: Family<KeyClassLabels, Counter>,
    evictions: Counter,
    ordering_violations: Counter,
    heap_bytes: Gauge,
    allocator_resident: Gauge,
    ledger_pruned: Counter,
    ledger_rows: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let m = Self {
            events_consumed: Counter::default(),
            events_processed: Family::default(),
            processing_duration: latency_histogram(),
            db_query_duration: Family::new_with_constructor(latency_histogram),
            e2e_latency: latency_histogram(),
            retries: Counter::default(),
            retries_exhausted: Counter::default(),
            sink_busy: Counter::default(),
            circuit_state: Gauge::default(),
            circuit_opened: Counter::default(),
            inflight: Gauge::default(),
            batch_size: Histogram::new(exponential_buckets(1.0, 2.0, 14)),
            batch_linger: latency_histogram(),
            commits: Family::default(),
            rebalances: Family::default(),
            assigned_partitions: Gauge::default(),
            lag: Family::default(),
            committed_offset: Family::default(),
            high_watermark: Family::default(),
            lag_sum: Gauge::default(),
            stuck_partitions: Gauge::default(),
            unowned_partitions: Gauge::default(),
            group_rejoins: Counter::default(),
            rss_bytes: Gauge::default(),
            dependency_up: Family::default(),
            queue_messages: Gauge::default(),
            queue_bytes: Gauge::default(),
            paused_partitions: Gauge::default(),
            shed: Family::default(),
            evictions: Counter::default(),
            ordering_violations: Counter::default(),
            heap_bytes: Gauge::default(),
            allocator_resident: Gauge::default(),
            ledger_pruned: Counter::default(),
            ledger_rows: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "events_consumed",
            "Messages fetched from Kafka and handed to the pipeline",
            m.events_consumed.clone(),
        );
        registry.register(
            "events_processed",
            "Events whose processing finished, by result (success, duplicate, dlq, fail)",
            m.events_processed.clone(),
        );
        registry.register(
            "processing_duration_seconds",
            "Time from fetching an event to its effects being durable",
            m.processing_duration.clone(),
        );
        registry.register(
            "db_query_duration_seconds",
            "Duration of Postgres transactions and queries, by query",
            m.db_query_duration.clone(),
        );
        registry.register(
            "e2e_latency_seconds",
            "Time from the producer's message timestamp to the sink's durable write",
            m.e2e_latency.clone(),
        );
        registry.register(
            "ledger_pruned_rows",
            "Dedup ledger rows deleted by --ledger-retention (older than it and below the committed offset)",
            m.ledger_pruned.clone(),
        );
        registry.register(
            "ledger_rows",
            "Dedup ledger size (the planner's estimate, refreshed after each pruning pass)",
            m.ledger_rows.clone(),
        );
        registry.register(
            "retries",
            "Sink write attempts retried after a transient error",
            m.retries.clone(),
        );
        registry.register(
            "retries_exhausted",
            "Failed attempts made after --max-attempts was already reached",
            m.retries_exhausted.clone(),
        );
        registry.register(
            "sink_busy_waits",
            "Times the downstream answered busy (HTTP 429) and a lane waited as long as it asked; flow control, not failures",
            m.sink_busy.clone(),
        );
        registry.register(
            "sink_circuit_state",
            "Database circuit breaker: 0 closed (normal), 1 half-open (one probe in flight), 2 open (lanes wait)",
            m.circuit_state.clone(),
        );
        registry.register(
            "sink_circuit_opened",
            "Times the database circuit breaker opened",
            m.circuit_opened.clone(),
        );
        registry.register(
            "inflight_workers",
            "Messages dispatched to sink workers and not yet durable (bounded by MAX_INFLIGHT)",
            m.inflight.clone(),
        );
        registry.register(
            "sink_batch_size",
            "Events per sink transaction",
            m.batch_size.clone(),
        );
        registry.register(
            "sink_batch_linger_seconds",
            "How long each batch gathered after its first message before going to its writer",
            m.batch_linger.clone(),
        );
        registry.register(
            "offset_commits",
            "Kafka offset commits, by result (ok, error)",
            m.commits.clone(),
        );
        registry.register(
            "rebalances",
            "Consumer group rebalance callbacks, by kind (assign, revoke, error)",
            m.rebalances.clone(),
        );
        registry.register(
            "assigned_partitions",
            "Partitions currently assigned to this consumer",
            m.assigned_partitions.clone(),
        );
        registry.register(
            "consumer_lag",
            "Messages not yet committed by the group, per assigned partition (high watermark - committed)",
            m.lag.clone(),
        );
        registry.register(
            "consumer_committed_offset",
            "The group's committed offset (next offset to read), per assigned partition",
            m.committed_offset.clone(),
        );
        registry.register(
            "consumer_high_watermark",
            "Offset the next produced message will get, per assigned partition",
            m.high_watermark.clone(),
        );
        // Named `_all_partitions`, not `_sum`: Prometheus reserves the `_sum` suffix for
        // histograms and summaries, and `promtool check metrics` rejects it on a gauge.
        registry.register(
            "consumer_lag_all_partitions",
            "Sum of consumer_lag over this member's partitions",
            m.lag_sum.clone(),
        );
        registry.register(
            "stuck_partitions",
            "Assigned partitions with lag whose committed offset has not moved for --stuck-after",
            m.stuck_partitions.clone(),
        );
        registry.register(
            "unowned_partitions",
            "Partitions with lag that no live group member has owned, with no committed progress, for --stuck-after",
            m.unowned_partitions.clone(),
        );
        registry.register(
            "group_rejoins",
            "Times this member left the group and joined again because it owned nothing while partitions were unowned",
            m.group_rejoins.clone(),
        );
        registry.register(
            "dependency_up",
            "1 when the dependency passed its last readiness check (the same checks as /readyz), else 0",
            m.dependency_up.clone(),
        );
        registry.register(
            "queue_depth_messages",
            "Fetched messages waiting for a sink worker (the queue between source and sink)",
            m.queue_messages.clone(),
        );
        registry.register(
            "queue_depth_bytes",
            "Bytes of fetched messages waiting for a sink worker",
            m.queue_bytes.clone(),
        );
        registry.register(
            "paused_partitions",
            "Partitions paused because the queue or the memory budget is full",
            m.paused_partitions.clone(),
        );
        registry.register(
            "events_shed",
            "Messages dropped by the shed overload policy, by key class (hash bucket of the key)",
            m.shed.clone(),
        );
        registry.register(
            "evictions",
            "Times this member was evicted for exceeding max.poll.interval.ms",
            m.evictions.clone(),
        );
        registry.register(
            "ordering_violations",
            "Events applied after a later event of the same key (only round-robin dispatch causes them)",
            m.ordering_violations.clone(),
        );
        registry.register(
            "heap_in_use_bytes",
            "Bytes allocated by the application, from the allocator's own statistics (jemalloc)",
            m.heap_bytes.clone(),
        );
        registry.register(
            "allocator_resident_bytes",
            "Bytes of physical memory the allocator (jemalloc) holds: the heap in use plus freed pages it has not returned yet. RSS minus this is memory outside jemalloc (librdkafka's C allocations, stacks, code)",
            m.allocator_resident.clone(),
        );
        registry.register(
            "process_resident_memory_bytes",
            "Resident set size of this process, read from /proc at scrape time",
            m.rss_bytes.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                git_sha: env!("STREAMSRE_GIT_SHA"),
            })
            .set(1);
        registry.register("streamsre_build_info", "Build information; always 1", build);
        // Every known label value exists from the start at 0, so rate() and alerts see the
        // series before the first event of that kind (absent series would read as "no data").
        for outcome in [
            Outcome::Success,
            Outcome::Duplicate,
            Outcome::Dlq,
            Outcome::Fail,
            Outcome::Unrouted,
        ] {
            m.processed_counter(outcome);
        }
        for result in ["ok", "error"] {
            drop(m.commits.get_or_create(&ResultLabels { result }));
        }
        for kind in ["assign", "revoke", "error"] {
            drop(m.rebalances.get_or_create(&KindLabels { kind }));
        }
        Self { registry, ..m }
    }

    /// Renders the registry in the Prometheus text format (version 0.0.4).
    pub fn encode(&self) -> String {
        self.rss_bytes.set(process::resident_bytes());
        render(&self.registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_the_seed_names() {
        let m = Metrics::new();
        m.consumed(3);
        m.processed(Outcome::Success, 2);
        m.processed(Outcome::Dlq, 1);
        m.db_query("apply_batch", 0.01);
        m.inflight_add(5);
        let text = m.encode();
        for needle in [
            "events_consumed_total 3",
            "events_processed_total{result=\"success\"} 2",
            "events_processed_total{result=\"dlq\"} 1",
            "events_processed_total{result=\"fail\"} 0",
            "offset_commits_total{result=\"error\"} 0",
            "processing_duration_seconds_bucket",
            "db_query_duration_seconds_count{query=\"apply_batch\"} 1",
            "retries_total 0",
            "inflight_workers 5",
            "streamsre_build_info{version=",
            "process_resident_memory_bytes",
            "consumer_lag_all_partitions 0",
            "# HELP events_consumed_total Messages fetched",
            "# TYPE events_consumed_total counter",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        assert_eq!(m.processed_total(Outcome::Success), 2);
        assert!(
            !text.contains("process_resident_memory_bytes 0\n"),
            "RSS is read at scrape time"
        );
    }

    #[test]
    fn partition_series_appear_and_disappear_with_the_assignment() {
        let m = Metrics::new();
        m.partition_offsets("events.main", 3, Some(90), 100, 10);
        let text = m.encode();
        assert!(
            text.contains("consumer_lag{topic=\"events.main\",partition=\"3\"} 10"),
            "{text}"
        );
        assert!(
            text.contains("consumer_committed_offset{topic=\"events.main\",partition=\"3\"} 90")
        );
        m.forget_partition("events.main", 3);
        assert!(!m.encode().contains("partition=\"3\""));
    }
}
