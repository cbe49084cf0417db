//! A lane's sink worker: takes a batch its lane gathered (`crate::lane`), decodes it
//! (`decode`), writes it durably with retries, the circuit breaker and bisection (`write`),
//! records its dead letters in the table and on the DLQ topic (`dead_letters`), then completes
//! the offsets and releases the sink slots (here).
//!
//! Durability order for one batch: sink write (with Postgres one transaction: rows + DLQ rows) → DLQ topic
//! acknowledged → offsets marked done. A crash anywhere before the last step redelivers the
//! batch; the dedup ledger and the DLQ upsert make that harmless (the DLQ *topic* may then get
//! a record twice: at-least-once, as any Kafka producer without transactions).

mod dead_letters;
mod decode;
mod write;

use crate::lane::GatherRules;
use crate::registry::SchemaRegistry;
use crate::ConsumeConfig;
pub(crate) use decode::Item;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use streamsre_flow::OrderingChecker;
use streamsre_kafka::dlq::DlqPublisher;
use streamsre_kafka::source::{Fetched, SourceShared};
use streamsre_retry::{CircuitBreaker, RetryPolicy};
use streamsre_sink::{DeadLetter, Sink};
use streamsre_telemetry::metrics::Outcome;
use streamsre_telemetry::LatencyStats;
use tokio_util::sync::CancellationToken;

/// How a lane writes: whole batches, or the per-event baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkMode {
    /// One transaction per batch through the dedup ledger (the production path).
    Batch,
    /// The seed's per-event transaction (check, insert, mark), kept as the benchmark baseline.
    Single,
}

/// The work was not made durable (shutdown, or a DLQ that cannot be written); its offsets
/// stay uncommitted and the messages are redelivered.
struct Abandoned;

#[derive(Default)]
struct Written {
    applied: u64,
    duplicates: u64,
    /// Records that ended in the DLQ; each must reach the DLQ topic before offsets complete.
    dlq: Vec<DeadLetter>,
}

impl Written {
    fn merge(&mut self, other: Written) {
        self.applied += other.applied;
        self.duplicates += other.duplicates;
        self.dlq.extend(other.dlq);
    }

    fn dlq_only(records: Vec<DeadLetter>) -> Self {
        Self {
            dlq: records,
            ..Self::default()
        }
    }
}

/// State shared by all lane workers.
pub(crate) struct WorkerContext {
    sink: Sink,
    dlq: DlqPublisher,
    mode: SinkMode,
    /// When a lane hands a batch to its writer (see [`crate::lane`]).
    pub(crate) gather: GatherRules,
    max_message_bytes: usize,
    /// With `--value-format avro`: where writer schemas come from.
    registry: Option<Arc<SchemaRegistry>>,
    policy: RetryPolicy,
    /// Shared by all lanes: stops every lane from probing a sink that keeps failing.
    breaker: CircuitBreaker,
    pub(crate) shared: SourceShared,
    latency: Arc<LatencyStats>,
    cancel: CancellationToken,
    /// First fetch and last durable write, for the run's throughput.
    window: Mutex<(Option<Instant>, Option<Instant>)>,
    /// Per-key order of applied events (what round-robin dispatch costs).
    ordering: Mutex<OrderingChecker>,
    violations: std::sync::atomic::AtomicU64,
}

impl WorkerContext {
    pub(crate) fn new(
        sink: Sink,
        dlq: DlqPublisher,
        config: &ConsumeConfig,
        shared: SourceShared,
        latency: Arc<LatencyStats>,
        cancel: CancellationToken,
        registry: Option<Arc<SchemaRegistry>>,
    ) -> Self {
        Self {
            sink,
            dlq,
            mode: config.sink_mode,
            gather: GatherRules {
                batch_size: config.batch_size,
                linger: config.batch_linger,
                batches_per_lane: config.max_inflight_batches,
            },
            max_message_bytes: config.max_message_bytes,
            registry,
            policy: config.retry,
            breaker: CircuitBreaker::new(config.breaker_threshold, config.breaker_open_for),
            shared,
            latency,
            cancel,
            window: Mutex::new((None, None)),
            ordering: Mutex::new(OrderingChecker::new(1_000_000)),
            violations: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Ordering violations seen so far.
    pub(crate) fn ordering_violations(&self) -> u64 {
        self.violations.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The DLQ topic publisher (shared with the shed recorder).
    pub(crate) fn dlq(&self) -> &DlqPublisher {
        &self.dlq
    }

    /// Records the per-key order of a durable batch.
    fn check_order(&self, batch: &[Fetched]) {
        let mut checker = self.ordering.lock().unwrap_or_else(|e| e.into_inner());
        let violations = batch
            .iter()
            .filter_map(|m| Some((m.record.key.as_deref()?, &m.record)))
            .filter(|(key, m)| checker.applied(key, m.partition, m.offset))
            .count() as u64;
        drop(checker);
        if violations > 0 {
            self.violations
                .fetch_add(violations, std::sync::atomic::Ordering::Relaxed);
            self.shared.metrics.ordering_violations(violations);
        }
    }

    /// Time between the first fetch and the last durable write.
    pub(crate) fn active_window(&self) -> Duration {
        match *self.window.lock().unwrap_or_else(|e| e.into_inner()) {
            (Some(first), Some(last)) => last.saturating_duration_since(first),
            _ => Duration::ZERO,
        }
    }

    /// Writes one decoded batch end to end and releases its permits.
    pub(crate) async fn process(&self, Decoded { batch, items }: Decoded) {
        let unrouted = items.iter().filter(|i| i.skipped()).count() as u64;
        let mut result = match self.mode {
            SinkMode::Batch => self.apply_batch(&items).await,
            SinkMode::Single => self.apply_single(&items).await,
        };
        if let Ok(written) = &result {
            if !written.dlq.is_empty() {
                if let Err(abandoned) = self.publish_dlq(&written.dlq).await {
                    result = Err(abandoned);
                }
            }
        }
        let metrics = &self.shared.metrics;
        let n = batch.len() as u64;
        match result {
            Ok(written) => {
                // Durable everywhere: only now may the offsets count as done.
                self.shared.tracker.complete(batch.iter().map(|m| m.ticket));
                metrics.processed(Outcome::Success, written.applied);
                metrics.processed(Outcome::Duplicate, written.duplicates);
                metrics.processed(Outcome::Dlq, written.dlq.len() as u64);
                metrics.processed(Outcome::Unrouted, unrouted);
                self.record_latency(&batch);
                self.check_order(&batch);
            }
            Err(Abandoned) => {
                self.shared.tracker.abandon(batch.iter().map(|m| m.ticket));
                metrics.processed(Outcome::Fail, n);
                tracing::warn!(
                    messages = n,
                    "batch left uncommitted; it will be redelivered"
                );
            }
        }
        metrics.inflight_add(-(n as i64));
        self.shared
            .release_bytes(batch.iter().map(|m| m.bytes).sum());
        // Dropping the batch releases the permits: the source may fetch more.
        drop(batch);
    }

    fn record_latency(&self, batch: &[Fetched]) {
        let metrics = &self.shared.metrics;
        let now = Instant::now();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let mut e2e = Vec::with_capacity(batch.len());
        let mut first_fetch = now;
        for m in batch {
            let m = &m.record;
            metrics.processing_duration(now.duration_since(m.fetched_at).as_secs_f64());
            first_fetch = first_fetch.min(m.fetched_at);
            if let Some(ts) = m.timestamp_ms {
                let micros = (now_ms - ts).max(0) as u64 * 1000;
                metrics.e2e_latency(micros as f64 / 1e6);
                e2e.push(micros);
            }
        }
        self.latency.record_micros(e2e);
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        window.0 = Some(window.0.map_or(first_fetch, |f| f.min(first_fetch)));
        window.1 = Some(now);
    }
}

/// A batch gathered from a lane and decoded, waiting for the sink.
pub(crate) struct Decoded {
    pub(crate) batch: Vec<Fetched>,
    pub(crate) items: Vec<Item>,
}
