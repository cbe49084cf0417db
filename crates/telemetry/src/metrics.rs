//! Every metric `streamsre consume` exports, with its name and help text, in one place (the
//! lab's load generator and sink export theirs from `streamsre-lab`, rendered by [`render`]).
//!
//! Names follow the seed (`events_consumed_total`, `events_processed_total{result}`, …).
//! prometheus-client appends `_total` to counters itself, so counters are registered without it.
//! No label carries a key, event id or anything else unbounded: cardinality stays fixed.

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
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Duplicate => "duplicate",
            Self::Dlq => "dlq",
            Self::Fail => "fail",
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

/// What the allocator reports about the heap. Two figures, because RSS growth can come from
/// live allocations (`allocated`) or from freed pages the allocator keeps (`resident` minus
/// `allocated`), and the fix differs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeapStats {
    /// Bytes the application has allocated and not freed.
    pub allocated: u64,
    /// Bytes of physical memory the allocator holds, including its metadata and dirty pages.
    pub resident: u64,
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

    /// Counts messages fetched.
    pub fn consumed(&self, n: u64) {
        self.events_consumed.inc_by(n);
    }

    /// Total messages fetched so far.
    pub fn consumed_total(&self) -> u64 {
        self.events_consumed.get()
    }

    /// Counts finished events by outcome.
    pub fn processed(&self, outcome: Outcome, n: u64) {
        if n > 0 {
            self.processed_counter(outcome).inc_by(n);
        }
    }

    /// Total events finished with `outcome` so far.
    pub fn processed_total(&self, outcome: Outcome) -> u64 {
        self.processed_counter(outcome).get()
    }

    fn processed_counter(&self, outcome: Outcome) -> Counter {
        self.events_processed
            .get_or_create(&ResultLabels {
                result: outcome.label(),
            })
            .clone()
    }

    /// Records fetch-to-durable time of one event, in seconds.
    pub fn processing_duration(&self, seconds: f64) {
        self.processing_duration.observe(seconds);
    }

    /// Records the duration of one Postgres query or transaction.
    pub fn db_query(&self, query: &'static str, seconds: f64) {
        self.db_query_duration
            .get_or_create(&QueryLabels { query })
            .observe(seconds);
    }

    /// Records produce-to-durable latency of one event.
    pub fn e2e_latency(&self, seconds: f64) {
        self.e2e_latency.observe(seconds);
    }

    /// Counts one retried write.
    pub fn retry(&self) {
        self.retries.inc();
    }

    /// Counts one failed attempt beyond `--max-attempts`.
    pub fn retries_exhausted(&self) {
        self.retries_exhausted.inc();
    }

    /// Sets the circuit breaker state gauge (0 closed, 1 half-open, 2 open).
    pub fn circuit_state(&self, value: i64) {
        self.circuit_state.set(value);
    }

    /// Counts one opening of the circuit breaker.
    pub fn circuit_opened(&self) {
        self.circuit_opened.inc();
    }

    /// Total retried writes so far.
    pub fn retries_total(&self) -> u64 {
        self.retries.get()
    }

    /// Adjusts the in-flight gauge by `delta`.
    pub fn inflight_add(&self, delta: i64) {
        self.inflight.inc_by(delta);
    }

    /// Counts one busy answer (HTTP 429) waited out.
    pub fn sink_busy(&self) {
        self.sink_busy.inc();
    }

    /// Records the size of one sink transaction.
    pub fn batch(&self, events: usize) {
        self.batch_size.observe(events as f64);
    }

    /// Records how long one batch gathered after its first message (the lab's per-batch
    /// linger: what a bigger batch costs in latency).
    pub fn batch_linger(&self, seconds: f64) {
        self.batch_linger.observe(seconds);
    }

    /// Counts one offset commit by result.
    pub fn commit(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.commits.get_or_create(&ResultLabels { result }).inc();
    }

    /// Counts one rebalance callback (`assign`, `revoke` or `error`).
    pub fn rebalance(&self, kind: &'static str) {
        self.rebalances.get_or_create(&KindLabels { kind }).inc();
    }

    /// Sets the number of partitions assigned.
    pub fn assigned(&self, partitions: usize) {
        self.assigned_partitions.set(partitions as i64);
    }

    /// Publishes one partition's offsets as the lag monitor measured them.
    pub fn partition_offsets(
        &self,
        topic: &str,
        partition: i32,
        committed: Option<i64>,
        high: i64,
        lag: i64,
    ) {
        let labels = PartitionLabels {
            topic: topic.to_string(),
            partition,
        };
        self.lag.get_or_create(&labels).set(lag);
        self.high_watermark.get_or_create(&labels).set(high);
        match committed {
            Some(c) => {
                self.committed_offset.get_or_create(&labels).set(c);
            }
            None => {
                self.committed_offset.remove(&labels);
            }
        }
    }

    /// Drops a partition's series once it is no longer assigned here, so two members never
    /// both report it (sums over members stay right).
    pub fn forget_partition(&self, topic: &str, partition: i32) {
        let labels = PartitionLabels {
            topic: topic.to_string(),
            partition,
        };
        self.lag.remove(&labels);
        self.committed_offset.remove(&labels);
        self.high_watermark.remove(&labels);
    }

    /// Sets the depth of the source→sink queue.
    pub fn queue_depth(&self, messages: usize, bytes: usize) {
        self.queue_messages.set(messages as i64);
        self.queue_bytes.set(bytes as i64);
    }

    /// Sets how many partitions are paused.
    pub fn paused_partitions(&self, n: usize) {
        self.paused_partitions.set(n as i64);
    }

    /// Counts one shed message of key class `class`.
    pub fn shed(&self, class: usize) {
        self.shed
            .get_or_create(&KeyClassLabels {
                key_class: format!("k{class:02}"),
            })
            .inc();
    }

    /// Total shed messages so far.
    pub fn shed_total(&self) -> u64 {
        let mut total = 0;
        for class in 0..16 {
            total += self
                .shed
                .get_or_create(&KeyClassLabels {
                    key_class: format!("k{class:02}"),
                })
                .get();
        }
        total
    }

    /// Sets the heap figures, as the allocator reports them.
    pub fn heap(&self, stats: HeapStats) {
        self.heap_bytes.set(stats.allocated as i64);
        self.allocator_resident.set(stats.resident as i64);
    }

    /// Counts one eviction for exceeding `max.poll.interval.ms`.
    pub fn eviction(&self) {
        self.evictions.inc();
    }

    /// Counts ordering violations.
    pub fn ordering_violations(&self, n: u64) {
        if n > 0 {
            self.ordering_violations.inc_by(n);
        }
    }

    /// Records the result of one readiness check of `dependency`.
    pub fn dependency(&self, dependency: &'static str, up: bool) {
        self.dependency_up
            .get_or_create(&DependencyLabels { dependency })
            .set(i64::from(up));
    }

    /// Sets the total lag of this member and how many of its partitions are stuck.
    pub fn lag_summary(&self, lag_sum: i64, stuck: usize) {
        self.lag_sum.set(lag_sum);
        self.stuck_partitions.set(stuck as i64);
    }

    /// Sets how many partitions have no live owner (see the lag monitor's group check).
    pub fn unowned_partitions(&self, n: usize) {
        self.unowned_partitions.set(n as i64);
    }

    /// Counts one leave-and-rejoin of the group by the self-heal.
    pub fn group_rejoin(&self) {
        self.group_rejoins.inc();
    }

    /// Renders the registry in the Prometheus text format (version 0.0.4).
    pub fn encode(&self) -> String {
        self.rss_bytes.set(resident_bytes());
        render(&self.registry)
    }
}

/// Renders a registry as Prometheus 0.0.4 text (every process's `/metrics`).
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    // Encoding into a String cannot fail (fmt::Write for String is infallible).
    prometheus_client::encoding::text::encode(&mut out, registry)
        .expect("encoding metrics into a String");
    openmetrics_to_prometheus_text(&out)
}

/// Converts prometheus-client's OpenMetrics text into the Prometheus 0.0.4 text format that
/// `/metrics` declares. OpenMetrics names a counter family without `_total` and ends with
/// `# EOF`; in 0.0.4 the family is named like its `_total` sample and there is no EOF marker.
/// Without this, `promtool check metrics` reports every counter as having no help text.
fn openmetrics_to_prometheus_text(text: &str) -> String {
    let counters: std::collections::HashSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(text.len() + 16 * counters.len());
    for line in text.lines() {
        if line == "# EOF" {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// Resident set size from `/proc/self/statm` (Linux); 0 where it cannot be read.
fn resident_bytes() -> i64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<i64>().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions; _SC_PAGESIZE is always valid.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(0) as i64
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
