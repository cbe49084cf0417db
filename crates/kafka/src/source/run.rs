//! The poll loop: dispatch what the wait queue releases, apply its pause decisions, pace
//! itself as it says, poll, hand each message to the queue; on shutdown, drain the sink
//! workers and commit. Every flow decision is the queue's; this file talks to librdkafka.

use super::message::Record;
use super::rebalance::SourceContext;
use super::{client, Fetched, GroupState, SourceConfig, SourceShared, StartFrom};
use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use streamsre_flow::{Arrival, Pausing, ShedLog, SinkSlots, Step, WaitQueue, POLL_INTERVAL};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Waits up to `POLL_INTERVAL` for a sink slot to free; true if one did. The slot is not kept:
/// the dispatch step at the top of the poll loop takes it.
fn wait_for_slot(runtime: &tokio::runtime::Handle, slots: &SinkSlots, bytes: usize) -> bool {
    runtime.block_on(slots.wait_room(bytes, POLL_INTERVAL))
}

/// Pauses or resumes the whole assignment.
fn apply(pausing: Pausing, consumer: &BaseConsumer<SourceContext>, shared: &SourceShared) {
    let Ok(assignment) = consumer.assignment() else {
        return;
    };
    let paused = pausing == Pausing::Pause;
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
    tracing::debug!(
        paused,
        "partitions {}",
        if paused { "paused" } else { "resumed" }
    );
}

/// Runs the source until `stop` is cancelled, then drains and commits.
///
/// `dispatch` hands a message to the sink side and returns false once the sink side has shut
/// down. `workers` tracks the sink workers (closed by the caller once all are spawned); they
/// exit when `dispatch`, which owns their channels, is dropped, and shutdown waits for them
/// before the final commit.
pub fn run_source(
    config: SourceConfig,
    shared: SourceShared,
    mut dispatch: impl FnMut(Fetched) -> bool,
    stop: CancellationToken,
    workers: TaskTracker,
    runtime: tokio::runtime::Handle,
) -> anyhow::Result<()> {
    let context = SourceContext {
        shared: shared.clone(),
        topic: config.topic.clone(),
        generation: AtomicU64::new(0),
        revoke_timeout: config.revoke_timeout,
        start_at: match config.start_from {
            StartFrom::At(at) => Some(at),
            _ => None,
        },
    };
    let consumer = client::subscribe(&config, context)?;
    tracing::info!(topic = %config.topic, group = %config.group, flow = ?config.flow, "subscribed");

    let topic: Arc<str> = Arc::from(config.topic.as_str());
    let mut queue: WaitQueue<Record> = WaitQueue::new(config.flow, config.poll_mode);
    let mut last_commit = Instant::now();
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

    while !stop.is_cancelled() && sink_open {
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

        // Dispatch waiting messages while slots last, oldest first (offset order).
        while let Some((m, permit)) = queue.pop_ready(generation, |b| shared.slots.try_take(b)) {
            let Some(ticket) = shared.tracker.lock().track(m.partition, m.offset) else {
                continue; // partition no longer ours
            };
            let fetched = m.dispatch(topic.clone(), ticket, permit);
            shared.metrics.inflight_add(1);
            shared
                .inflight_bytes
                .fetch_add(fetched.bytes, Ordering::SeqCst);
            if !dispatch(fetched) {
                sink_open = false;
                break;
            }
        }
        let inflight_bytes = shared.inflight_bytes.load(Ordering::SeqCst);
        shared.metrics.queue_depth(queue.len(), queue.bytes());
        if let Some(p) = queue.pausing(generation, inflight_bytes, shared.slots.has_room()) {
            apply(p, &consumer, &shared);
        }

        let timeout = match queue.step(shared.slots.has_room()) {
            Step::Poll(timeout) => timeout,
            Step::WaitThenPoll { bytes } => {
                wait_for_slot(&runtime, &shared.slots, bytes);
                Duration::ZERO
            }
            Step::WaitWithoutPolling => {
                let got = wait_for_slot(&runtime, &shared.slots, 1);
                if let Some(p) = queue.slot_wait_ended(got, generation) {
                    apply(p, &consumer, &shared);
                }
                commit_if_due(&consumer, &mut last_commit);
                continue;
            }
            Step::Block { bytes } => {
                eviction_counted |= block_for_slot(&config, &shared, &stop, &runtime, bytes);
                Duration::ZERO
            }
        };
        match consumer.poll(timeout) {
            Some(Ok(message)) => {
                shared.health.recovered();
                shared.metrics.consumed(1);
                let generation = consumer.context().generation.load(Ordering::SeqCst);
                let m = Record::from_message(&message, config.keep_headers);
                match queue.arrive(m, generation, shared.slots.has_room(), inflight_bytes) {
                    Arrival::Queued { pause: true } => apply(Pausing::Pause, &consumer, &shared),
                    Arrival::Queued { pause: false } => {}
                    Arrival::Shed(victim) => {
                        let class = ShedLog::class_of(victim.key.as_deref());
                        shared.tracker.skip(victim.partition, victim.offset);
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
            // A connection failure is classified and reported once by the context; the
            // poll error repeats it at every retry.
            Some(Err(e))
                if shared
                    .health
                    .is_connection_failure(e.rdkafka_error_code(), "") =>
            {
                tracing::debug!(error = %e, "kafka poll error")
            }
            Some(Err(e)) => tracing::warn!(error = %e, "kafka poll error"),
            None => {}
        }

        commit_if_due(&consumer, &mut last_commit);
    }

    // Shutdown: no new dispatches; let the workers finish what they hold, then commit it.
    let undispatched = queue.len();
    drop(queue);
    drop(dispatch);
    tracing::info!(undispatched, "source stopping; draining sink workers");
    let deadline = Instant::now() + config.drain_timeout;
    loop {
        // Keep serving the consumer (commit callbacks, heartbeats) while waiting.
        consumer.poll(Duration::ZERO);
        // The timeout is built inside the runtime: its timer needs the runtime's context.
        let drained = runtime.block_on(async {
            tokio::time::timeout(Duration::from_millis(50), workers.wait()).await
        });
        if drained.is_ok() {
            break;
        }
        if Instant::now() >= deadline {
            tracing::warn!(
                timeout = ?config.drain_timeout,
                "sink workers did not drain in time; unfinished work stays uncommitted"
            );
            break;
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

/// Lab only ([`streamsre_flow::PollMode::Blocking`]): waits for the sink without polling at
/// all. With a stalled sink the member exceeds `max.poll.interval.ms` and librdkafka leaves
/// the group; it reports that only on the next poll, which a blocked loop does not make, so
/// the eviction is counted here. Returns whether it was.
fn block_for_slot(
    config: &SourceConfig,
    shared: &SourceShared,
    stop: &CancellationToken,
    runtime: &tokio::runtime::Handle,
    bytes: usize,
) -> bool {
    let max_poll = config.max_poll_interval;
    runtime.block_on(async {
        let since = Instant::now();
        let mut evicted = false;
        while !stop.is_cancelled() {
            if shared.slots.wait_room(bytes, POLL_INTERVAL).await {
                break;
            }
            if !evicted && since.elapsed() > max_poll {
                evicted = true;
                shared.metrics.eviction();
                tracing::error!(?max_poll, "evicted from the group: the poll loop did not poll within max.poll.interval.ms");
            }
        }
        evicted
    })
}
