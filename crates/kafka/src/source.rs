//! The source: a consumer-group poll loop on a dedicated OS thread.
//!
//! Why a thread and a `BaseConsumer` rather than a `StreamConsumer` on the async runtime:
//! librdkafka runs rebalance callbacks inside `poll`, and on revoke we must *wait* for the
//! sink workers to finish the revoked partitions' in-flight work and then commit, before the
//! partitions are released. Blocking there is only safe on a thread that no async task needs.
//!
//! Flow control: a message is dispatched only with a sink slot (`crate::slots`: one of
//! `MAX_INFLIGHT` count permits and its cost out of the memory budget's pipeline share,
//! released when the work is durable). Fetched messages wait for a slot in a bounded queue (`FlowControl`: queue cap
//! and the same budget); when that queue is full the loop pauses its partitions and
//! keeps calling `poll`, so a slow sink becomes broker-side lag instead of memory, and the
//! consumer keeps its group membership (`max.poll.interval.ms` never expires). Partitions are
//! resumed once the buffer has drained to half. The hysteresis matters: librdkafka drops its
//! prefetched messages on pause, so pausing at every momentary saturation would turn each
//! resume into a fresh fetch round trip (measured: throughput fell to ~70 events/s).
//! In pull mode nothing waits in that queue: the loop takes no message until a slot frees
//! (see `PULL_STALL`), so the backlog stays in librdkafka's prefetch, capped by the budget.

use crate::config::KafkaOpts;
use crate::slots::{SinkSlots, SlotPermit};
use anyhow::Context;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::VecDeque;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use streamsre_flow::{
    lane_for, FlowControl, MemoryBudget, OffsetTracker, OverloadPolicy, QueueMode, Ticket, Waiting,
    WhenSinkFull,
};
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
}

/// How the poll loop waits for a busy sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollMode {
    /// Keep polling (partitions paused) while waiting: the group membership never expires.
    Decoupled,
    /// Block until the sink takes the next message, without polling. Only for the lab: with a
    /// stalled sink this exceeds `max.poll.interval.ms` and the member is evicted.
    Blocking,
}

/// One message handed to the sink side. Owns its bytes and its in-flight permit.
#[derive(Debug)]
pub struct Fetched {
    /// Topic it was read from.
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Message key.
    pub key: Option<Vec<u8>>,
    /// Message value.
    pub value: Option<Vec<u8>>,
    /// Producer (create) timestamp in ms since the epoch, when the broker kept one.
    pub timestamp_ms: Option<i64>,
    /// The DLQ record id a replayed message carries (header `x-streamsre-dlq-id`).
    pub dlq_id: Option<uuid::Uuid>,
    /// When the source read it, for processing-duration metrics.
    pub fetched_at: Instant,
    /// Hand back to [`SharedTracker::complete`] once the message's effects are durable.
    pub ticket: Ticket,
    /// Released (dropped) when the work is finished, freeing its count and byte slots for the
    /// next message.
    pub permit: SlotPermit,
    /// What this message costs against the memory budget ([`MemoryBudget::cost`]) until the
    /// work is finished; hand back to [`SourceShared::release_bytes`].
    pub bytes: usize,
}

/// The offset tracker shared by the source thread and the sink workers.
///
/// A std mutex (never held across an await) plus a condvar, so the source thread can block
/// until in-flight work of revoked partitions completes.
#[derive(Debug, Default)]
pub struct SharedTracker {
    inner: Mutex<OffsetTracker>,
    changed: Condvar,
}

impl SharedTracker {
    fn lock(&self) -> MutexGuard<'_, OffsetTracker> {
        // A panic while holding the lock cannot leave the tracker half-updated in a way that
        // matters more than stopping would; keep going with the data.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks messages durable. Called by sink workers after their transaction committed.
    pub fn complete(&self, tickets: impl IntoIterator<Item = Ticket>) {
        let mut tracker = self.lock();
        for t in tickets {
            tracker.complete(t);
        }
        drop(tracker);
        self.changed.notify_all();
    }

    /// Gives up on messages without making them durable (shutdown): their offsets stay
    /// uncommitted, and revoke/drain waits stop waiting for them.
    pub fn abandon(&self, tickets: impl IntoIterator<Item = Ticket>) {
        let mut tracker = self.lock();
        for t in tickets {
            tracker.abandon(t);
        }
        drop(tracker);
        self.changed.notify_all();
    }

    /// Partitions currently assigned, sorted.
    pub fn assigned(&self) -> Vec<i32> {
        self.lock().assigned()
    }

    /// Messages in flight across all partitions.
    pub fn total_in_flight(&self) -> usize {
        self.lock().total_in_flight()
    }

    fn wait_until(&self, timeout: Duration, mut done: impl FnMut(&OffsetTracker) -> bool) -> bool {
        let guard = self.lock();
        let (_guard, result) = self
            .changed
            .wait_timeout_while(guard, timeout, |t| !done(t))
            .unwrap_or_else(|e| e.into_inner());
        !result.timed_out()
    }
}

/// What `/readyz` needs to know about the consumer's group membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupState {
    /// Subscribed and waiting for (or between) assignments: normal during start and rebalances.
    Joining,
    /// Member of the group with this many partitions (zero is fine: more members than partitions).
    Assigned(usize),
    /// The client reported a fatal error or lost every broker.
    Failed(String),
}

/// Group state shared with the readiness probe.
#[derive(Debug)]
pub struct KafkaHealth {
    state: Mutex<GroupState>,
    /// Mirrors `state == Failed`, so the per-message recovery check is one atomic load.
    failed: AtomicBool,
    /// Set by the lag monitor's self-heal (see `crate::heal`), taken by the poll loop, which
    /// alone may touch the consumer.
    rejoin: AtomicBool,
}

impl Default for KafkaHealth {
    fn default() -> Self {
        Self {
            state: Mutex::new(GroupState::Joining),
            failed: AtomicBool::new(false),
            rejoin: AtomicBool::new(false),
        }
    }
}

impl KafkaHealth {
    /// The current state.
    pub fn state(&self) -> GroupState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, state: GroupState) {
        let mut current = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.failed
            .store(matches!(state, GroupState::Failed(_)), Ordering::SeqCst);
        *current = state;
    }

    /// Asks the poll loop to leave the group and join it again.
    pub fn request_rejoin(&self) {
        self.rejoin.store(true, Ordering::SeqCst);
    }

    /// Whether a rejoin was requested since the last call.
    fn take_rejoin_request(&self) -> bool {
        self.rejoin.swap(false, Ordering::SeqCst)
    }

    /// Clears a broker failure once the client is working again (a message arrived, or the
    /// broker answered a metadata request).
    pub fn recovered(&self) {
        // Called for every fetched message: skip the lock unless a failure is recorded.
        if !self.failed.load(Ordering::SeqCst) {
            return;
        }
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(*s, GroupState::Failed(_)) {
            *s = GroupState::Joining;
        }
        self.failed.store(false, Ordering::SeqCst);
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

/// Number of key classes shed messages are counted in (hash buckets of the key): bounded
/// label cardinality, and hot keys show up as skew between classes.
pub const KEY_CLASSES: usize = 16;

/// What the shed policy dropped, per key class, waiting to be recorded.
#[derive(Debug, Default)]
pub struct ShedLog {
    counts: Mutex<[u64; KEY_CLASSES]>,
}

impl ShedLog {
    /// The key class of `key` (`None`: keyless).
    pub fn class_of(key: Option<&[u8]>) -> usize {
        key.map_or(0, |k| lane_for(k, KEY_CLASSES))
    }

    fn record(&self, class: usize) {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())[class] += 1;
    }

    /// Takes the counts recorded since the last call, as `(class, count)` for non-zero ones.
    pub fn drain(&self) -> Vec<(usize, u64)> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let out = counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(c, n)| (c, *n))
            .collect();
        *counts = [0; KEY_CLASSES];
        out
    }
}

struct SourceContext {
    shared: SourceShared,
    topic: String,
    /// Bumped on every rebalance; messages fetched under an older generation are dropped
    /// before dispatch (they will be fetched again from the committed offset).
    generation: AtomicU64,
    revoke_timeout: Duration,
}

impl SourceContext {
    fn commit(&self, consumer: &BaseConsumer<Self>, points: &[(i32, i64)], mode: CommitMode) {
        if points.is_empty() {
            return;
        }
        let mut tpl = TopicPartitionList::new();
        for &(p, o) in points {
            // Offsets are "next to read"; add_partition_offset only fails for invalid offsets.
            if let Err(e) = tpl.add_partition_offset(&self.topic, p, Offset::Offset(o)) {
                tracing::error!(partition = p, offset = o, error = %e, "invalid commit offset");
            }
        }
        match consumer.commit(&tpl, mode) {
            Ok(()) => {
                let mut tracker = self.shared.tracker.lock();
                for &(p, o) in points {
                    tracker.mark_committed(p, o);
                }
            }
            // Not fatal: the offsets stay pending and the next commit carries them.
            Err(e) => tracing::warn!(error = %e, "offset commit failed"),
        }
    }
}

impl ClientContext for SourceContext {
    fn error(&self, error: KafkaError, reason: &str) {
        use rdkafka::error::RDKafkaErrorCode;
        let code = error.rdkafka_error_code();
        if matches!(
            code,
            Some(RDKafkaErrorCode::AllBrokersDown | RDKafkaErrorCode::Fatal)
        ) {
            self.shared
                .health
                .set(GroupState::Failed(format!("{error}: {reason}")));
        }
        tracing::error!(error = %error, reason, "kafka client error");
    }
}

impl ConsumerContext for SourceContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        match rebalance {
            Rebalance::Revoke(tpl) => {
                self.shared.metrics.rebalance("revoke");
                let parts: Vec<i32> = tpl
                    .elements_for_topic(&self.topic)
                    .iter()
                    .map(|e| e.partition())
                    .collect();
                // Finish what was dispatched for these partitions, so the new owner starts
                // exactly after it; past the timeout, abandon it uncommitted (redelivered).
                let drained = self.shared.tracker.wait_until(self.revoke_timeout, |t| {
                    parts.iter().all(|p| t.in_flight(*p) == 0)
                });
                if !drained {
                    tracing::warn!(
                        ?parts,
                        timeout = ?self.revoke_timeout,
                        "revoke: in-flight work did not finish in time; leaving it uncommitted for the next owner"
                    );
                }
                let points: Vec<(i32, i64)> = {
                    let tracker = self.shared.tracker.lock();
                    parts
                        .iter()
                        .filter_map(|&p| tracker.commit_point(p).map(|o| (p, o)))
                        .collect()
                };
                self.commit(consumer, &points, CommitMode::Sync);
                let mut tracker = self.shared.tracker.lock();
                for p in &parts {
                    tracker.revoke(*p);
                }
                drop(tracker);
                self.shared.health.set(GroupState::Joining);
                tracing::info!(?parts, committed = ?points, "partitions revoked");
            }
            Rebalance::Assign(tpl) => {
                self.shared.metrics.rebalance("assign");
                let mut tracker = self.shared.tracker.lock();
                for e in tpl.elements_for_topic(&self.topic) {
                    tracker.assign(e.partition());
                }
            }
            Rebalance::Error(e) => {
                self.shared.metrics.rebalance("error");
                tracing::error!(error = %e, "rebalance error");
                self.shared.health.set(GroupState::Failed(e.to_string()));
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            let parts: Vec<i32> = tpl
                .elements_for_topic(&self.topic)
                .iter()
                .map(|e| e.partition())
                .collect();
            self.shared.metrics.assigned(parts.len());
            self.shared.health.set(GroupState::Assigned(parts.len()));
            tracing::info!(?parts, "partitions assigned");
        } else if let Rebalance::Revoke(_) = rebalance {
            self.shared.metrics.assigned(0);
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        // librdkafka reports both sync and async commits here, so this is the one place
        // commits are counted.
        self.shared.metrics.commit(result.is_ok());
        if let Err(e) = result {
            tracing::warn!(error = %e, "offset commit failed");
        }
    }
}

/// A fetched message waiting for an in-flight permit.
struct Pending {
    generation: u64,
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    timestamp_ms: Option<i64>,
    dlq_id: Option<uuid::Uuid>,
    fetched_at: Instant,
}

impl Pending {
    /// What it costs against the memory budget (its bytes, decoded and raw, plus overhead).
    fn bytes(&self) -> usize {
        MemoryBudget::cost(
            self.key.as_ref().map_or(0, Vec::len) + self.value.as_ref().map_or(0, Vec::len),
        )
    }

    fn from_message(m: &BorrowedMessage<'_>, generation: u64) -> Self {
        Self {
            generation,
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(<[u8]>::to_vec),
            value: m.payload().map(<[u8]>::to_vec),
            timestamp_ms: m.timestamp().to_millis(),
            dlq_id: m.headers().and_then(|headers| {
                headers
                    .iter()
                    .find(|h| h.key == crate::dlq::DLQ_ID_HEADER)
                    .and_then(|h| h.value)
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .and_then(|v| uuid::Uuid::parse_str(v).ok())
            }),
            fetched_at: Instant::now(),
        }
    }
}

/// How long one `poll` may block while idle; bounds shutdown and pause/resume latency.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Pull mode: how long the sink may have no room before the partitions are paused. Until then
/// the loop does not poll at all (a poll would take a message); this also bounds how late a
/// rebalance callback is served while the sink is saturated, far below `max.poll.interval.ms`.
const PULL_STALL: Duration = Duration::from_secs(1);

/// Waits up to `POLL_INTERVAL` for a sink slot (an in-flight permit) to free; true if one did.
/// The slot is not kept: the dispatch step at the top of the poll loop takes it.
fn wait_for_slot(runtime: &tokio::runtime::Handle, slots: &SinkSlots, bytes: usize) -> bool {
    runtime.block_on(slots.wait_room(bytes, POLL_INTERVAL))
}

/// Runs the source until `stop` is set, then drains and commits.
///
/// `dispatch` hands a message to the sink side and returns false once the sink side has shut
/// down. `workers_done` disconnects when every sink worker has exited (all its senders are
/// dropped); shutdown waits for that before the final commit.
pub fn run_source(
    config: SourceConfig,
    shared: SourceShared,
    mut dispatch: impl FnMut(Fetched) -> bool,
    stop: Arc<AtomicBool>,
    workers_done: std::sync::mpsc::Receiver<()>,
    runtime: tokio::runtime::Handle,
) -> anyhow::Result<()> {
    let group = config.group.clone();
    let context = SourceContext {
        shared: shared.clone(),
        topic: config.topic.clone(),
        generation: AtomicU64::new(0),
        revoke_timeout: config.revoke_timeout,
    };
    // librdkafka's prefetch and its fetch responses count against the memory budget
    // (`MemoryBudget` sizes both). The fetch size matters as much as the queue cap: the cap
    // only stops *new* fetches, and one fetch response decompresses to its compressed size
    // times the compression ratio, all of it held until consumed (measured with
    // 50×-compressible payloads and 16 MiB fetches: librdkafka held 90 MiB under a 64 MiB
    // budget).
    let (prefetch_kb, fetch_max) = match config.flow.memory_budget {
        Some(budget) => (budget.prefetch_kib(), budget.fetch_max_bytes()),
        None => (65_536, 52_428_800),
    };
    // A `--kafka-opt fetch.max.bytes=…` override wins, and librdkafka then needs a receive
    // buffer to match (it refuses to start otherwise).
    let fetch_max = config
        .kafka
        .extra_value("fetch.max.bytes")
        .and_then(|v| v.parse().ok())
        .unwrap_or(fetch_max);
    let prefetch_kb = prefetch_kb.to_string();
    let fetch_max_bytes = fetch_max.to_string();
    let receive_max = (fetch_max + (1 << 20)).to_string();
    let max_poll = config.max_poll_interval.as_millis().to_string();
    let consumer: BaseConsumer<SourceContext> = config
        .kafka
        .client_config(&[
            ("group.id", group.as_str()),
            // Offsets are committed by us, and only for messages whose effects are durable.
            ("enable.auto.commit", "false"),
            // Never let librdkafka store a position on its own: a stored offset is a promise
            // that everything before it is done, and only the tracker knows that.
            ("enable.auto.offset.store", "false"),
            // A new group starts at the beginning so events produced before it joined count.
            ("auto.offset.reset", "earliest"),
            // Detect a dead member within 10 s. Brokers such as Tansu also complete a join
            // only after about this long, so a shorter value speeds up rebalances there.
            ("session.timeout.ms", "10000"),
            ("heartbeat.interval.ms", "3000"),
            // Surface end-of-partition as nothing rather than as an error event.
            ("enable.partition.eof", "false"),
            // Upper bound on how long the broker may hold a fetch. Tansu holds it the full
            // time even when data is there: measured at 2,000 events/s, p50 end-to-end
            // latency was 420 ms with librdkafka's 500 ms default and 159 ms with 100 ms. The
            // cost is at most ~10 empty fetches per second per broker when idle.
            ("fetch.wait.max.ms", "100"),
            // Prefetch is memory too: see the sizing above.
            ("queued.max.messages.kbytes", prefetch_kb.as_str()),
            // When the prefetch is full, librdkafka postpones that partition's next fetch by
            // this long (default 1 s). A bounded budget keeps the prefetch full whenever there
            // is a backlog, so the default stalled every partition for a second at a time:
            // measured at a 64 MiB budget, 20 ms took the drain from 26.6k to 41.3k events/s,
            // level with a 128 MiB budget (docs/perf/sweep.md, sweep 8). librdkafka checks again
            // after this long, not sooner, so the cost is a timer per paused partition.
            ("fetch.queue.backoff.ms", "20"),
            ("fetch.max.bytes", fetch_max_bytes.as_str()),
            ("receive.message.max.bytes", receive_max.as_str()),
            // The decoupled poll loop polls at least every 100 ms whatever the sink does, so
            // this only ever fires in the lab's blocking mode.
            ("max.poll.interval.ms", max_poll.as_str()),
        ])
        .create_with_context(context)
        .with_context(|| format!("creating Kafka consumer for {}", config.kafka.brokers))?;
    consumer
        .subscribe(&[&config.topic])
        .with_context(|| format!("subscribing to {}", config.topic))?;
    tracing::info!(topic = %config.topic, group = %group, flow = ?config.flow, "subscribed");

    let flow = config.flow;
    let topic: Arc<str> = Arc::from(config.topic.as_str());
    let mut pending: VecDeque<Pending> = VecDeque::new();
    let mut pending_bytes = 0usize;
    // The rebalance generation at which partitions were paused, if they are.
    let mut paused_at: Option<u64> = None;
    let mut last_commit = Instant::now();
    // Pull mode: since when the sink has had no room (see PULL_STALL).
    let mut saturated_since: Option<Instant> = None;
    let commit_if_due = |consumer: &BaseConsumer<SourceContext>, last_commit: &mut Instant| {
        if last_commit.elapsed() >= config.commit_interval {
            let points = shared.tracker.lock().pending_commits();
            consumer
                .context()
                .commit(consumer, &points, CommitMode::Async);
            *last_commit = Instant::now();
        }
    };
    let mut sink_open = true;
    // Set when the blocking poll mode counted an eviction librdkafka has yet to report.
    let mut eviction_counted = false;
    let set_paused = |paused: bool, consumer: &BaseConsumer<SourceContext>| {
        let Ok(assignment) = consumer.assignment() else {
            return;
        };
        let result = if paused {
            consumer.pause(&assignment)
        } else {
            consumer.resume(&assignment)
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, paused, "pausing/resuming partitions failed");
        }
        shared
            .metrics
            .paused_partitions(if paused { assignment.count() } else { 0 });
    };

    while !stop.load(Ordering::SeqCst) && sink_open {
        if shared.health.take_rejoin_request() {
            // Self-heal (crate::heal): LeaveGroup, then a fresh JoinGroup. librdkafka runs
            // the revoke callback first, so anything this member did own is drained and
            // committed as on any rebalance, and it postpones the subscribe until the leave
            // is done.
            tracing::warn!(topic = %config.topic, "leaving the consumer group and joining again");
            consumer.unsubscribe();
            consumer
                .subscribe(&[&config.topic])
                .with_context(|| format!("subscribing to {} again", config.topic))?;
            shared.health.set(GroupState::Joining);
        }
        let generation = consumer.context().generation.load(Ordering::SeqCst);

        // Dispatch waiting messages while permits last, oldest first (offset order).
        while let Some(front) = pending.front() {
            if front.generation != generation {
                let stale = pending.pop_front().expect("front exists");
                pending_bytes -= stale.bytes();
                continue;
            }
            let Some(permit) = shared.slots.try_take(front.bytes()) else {
                break;
            };
            let m = pending.pop_front().expect("front exists");
            let bytes = m.bytes();
            pending_bytes -= bytes;
            let Some(ticket) = shared.tracker.lock().track(m.partition, m.offset) else {
                continue; // partition no longer ours
            };
            shared.metrics.inflight_add(1);
            shared.inflight_bytes.fetch_add(bytes, Ordering::SeqCst);
            let fetched = Fetched {
                topic: topic.clone(),
                partition: m.partition,
                offset: m.offset,
                key: m.key,
                value: m.value,
                timestamp_ms: m.timestamp_ms,
                dlq_id: m.dlq_id,
                fetched_at: m.fetched_at,
                ticket,
                permit,
                bytes,
            };
            if !dispatch(fetched) {
                sink_open = false;
                break;
            }
        }
        let inflight_bytes = shared.inflight_bytes.load(Ordering::SeqCst);
        shared.metrics.queue_depth(pending.len(), pending_bytes);

        // Resume once the queue has drained (hysteresis); re-pause the fresh partitions a
        // rebalance hands over while we are paused.
        let sink_has_room = shared.slots.has_room();
        match paused_at {
            Some(_)
                if flow.may_resume(pending.len(), pending_bytes, inflight_bytes, sink_has_room) =>
            {
                set_paused(false, &consumer);
                tracing::debug!("sink caught up: partitions resumed");
                paused_at = None;
            }
            Some(g) if g != generation => {
                set_paused(true, &consumer);
                paused_at = Some(generation);
            }
            _ => {}
        }

        let blocked = !pending.is_empty();
        if flow.when_sink_full() == WhenSinkFull::Wait
            && config.poll_mode == PollMode::Decoupled
            && !blocked
            && paused_at.is_none()
            && !sink_has_room
        {
            // Pull: take the next message only when the sink has room. Meanwhile it stays in
            // librdkafka's prefetch (capped by the memory budget), which stops fetching when
            // full, so the backlog stays on the broker. Not pausing here matters: a pause
            // purges the prefetch, and refetching it after every sink slot (measured on
            // Tansu: one fetch per 64 messages, up to 3.5 s each with a large log) cut the
            // drain rate to ~30 events/s. Only a sink stalled for PULL_STALL pauses, so the
            // loop can go back to polling for group events without taking messages.
            let since = *saturated_since.get_or_insert_with(Instant::now);
            if wait_for_slot(&runtime, &shared.slots, 1) {
                saturated_since = None;
            } else if since.elapsed() >= PULL_STALL {
                set_paused(true, &consumer);
                tracing::debug!("sink stalled: partitions paused");
                paused_at = Some(generation);
                saturated_since = None;
            }
            commit_if_due(&consumer, &mut last_commit);
            continue;
        }
        saturated_since = None;
        let timeout = if config.poll_mode == PollMode::Blocking && blocked {
            // Lab only: wait for the sink without polling at all. With a stalled sink the
            // member exceeds max.poll.interval.ms and librdkafka leaves the group. It reports
            // that only on the next poll, which a blocked loop does not make, so count it here.
            let slots = shared.slots.clone();
            let next = pending.front().map_or(1, Pending::bytes);
            let stop = stop.clone();
            let max_poll = config.max_poll_interval;
            let evicted = runtime.block_on(async {
                let since = Instant::now();
                let mut evicted = false;
                while !stop.load(Ordering::SeqCst) {
                    if slots.wait_room(next, POLL_INTERVAL).await {
                        break;
                    }
                    if !evicted && since.elapsed() > max_poll {
                        evicted = true;
                        shared.metrics.eviction();
                        tracing::error!(?max_poll, "evicted from the group: the poll loop did not poll within max.poll.interval.ms");
                    }
                }
                evicted
            });
            eviction_counted |= evicted;
            Duration::ZERO
        } else if blocked
            && paused_at.is_none()
            && (flow.mode == QueueMode::Unbounded || flow.policy == OverloadPolicy::Shed)
        {
            // Unbounded keeps taking everything the broker delivers (that is its failure
            // mode); shed must keep up with the source and drop what does not fit.
            Duration::from_millis(1)
        } else if blocked {
            // No permit free: wait until one is (or POLL_INTERVAL passes), then poll without
            // blocking. That serves rebalance callbacks and keeps the membership alive.
            wait_for_slot(
                &runtime,
                &shared.slots,
                pending.front().map_or(1, Pending::bytes),
            );
            Duration::ZERO
        } else {
            POLL_INTERVAL
        };
        match consumer.poll(timeout) {
            Some(Ok(message)) => {
                shared.health.recovered();
                shared.metrics.consumed(1);
                let generation = consumer.context().generation.load(Ordering::SeqCst);
                let m = Pending::from_message(&message, generation);
                let can_dispatch = pending.is_empty() && shared.slots.has_room();
                let verdict = if can_dispatch {
                    Waiting::Queue { pause: false }
                } else {
                    flow.on_waiting(pending.len(), pending_bytes, inflight_bytes)
                };
                match verdict {
                    Waiting::Queue { pause } => {
                        pending_bytes += m.bytes();
                        pending.push_back(m);
                        if pause && paused_at.is_none() {
                            set_paused(true, &consumer);
                            tracing::debug!(
                                waiting = pending.len(),
                                "sink saturated: partitions paused"
                            );
                            paused_at = Some(generation);
                        }
                    }
                    Waiting::Shed => {
                        // Drop the *oldest* waiting message: it is the lowest pending offset of
                        // its partition, so everything before it is already tracked and marking
                        // it done never commits past a message still queued. (Dropping the new
                        // one could.) The new message takes its place: memory stays at the cap
                        // and what reaches the sink is as fresh as possible.
                        let victim = loop {
                            match pending.pop_front() {
                                Some(old) if old.generation != generation => {
                                    pending_bytes -= old.bytes();
                                }
                                Some(old) => {
                                    pending_bytes -= old.bytes();
                                    pending_bytes += m.bytes();
                                    pending.push_back(m);
                                    break old;
                                }
                                // Nothing queued (pull mode): the new message itself.
                                None => break m,
                            }
                        };
                        let class = ShedLog::class_of(victim.key.as_deref());
                        let ticket = shared.tracker.lock().track(victim.partition, victim.offset);
                        if let Some(ticket) = ticket {
                            shared.tracker.complete([ticket]);
                        }
                        shared.shed.record(class);
                        shared.metrics.shed(class);
                    }
                }
            }
            Some(Err(KafkaError::MessageConsumption(RDKafkaErrorCode::PollExceeded))) => {
                // Already counted while blocked, or counted now.
                if !std::mem::take(&mut eviction_counted) {
                    shared.metrics.eviction();
                }
                tracing::error!(
                    max_poll_interval = ?config.max_poll_interval,
                    "evicted from the group: the poll loop did not poll within max.poll.interval.ms"
                );
            }
            Some(Err(e)) => tracing::warn!(error = %e, "kafka poll error"),
            None => {}
        }

        commit_if_due(&consumer, &mut last_commit);
    }

    // Shutdown: no new dispatches; let the workers finish what they hold, then commit it.
    let undispatched = pending.len();
    drop(pending);
    drop(dispatch);
    tracing::info!(undispatched, "source stopping; draining sink workers");
    let deadline = Instant::now() + config.drain_timeout;
    loop {
        // Keep serving the consumer (commit callbacks, heartbeats) while waiting.
        consumer.poll(Duration::ZERO);
        match workers_done.recv_timeout(Duration::from_millis(50)) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                tracing::warn!(
                    timeout = ?config.drain_timeout,
                    "sink workers did not drain in time; unfinished work stays uncommitted"
                );
                break;
            }
            _ => break,
        }
    }
    let points = shared.tracker.lock().pending_commits();
    consumer
        .context()
        .commit(&consumer, &points, CommitMode::Sync);
    tracing::info!(committed = ?points, "final offsets committed; leaving the group");
    // Dropping the consumer closes it: the final revoke runs and the member leaves the group.
    drop(consumer);
    Ok(())
}
