//! The wait queue between fetch and dispatch, and every decision the poll loop makes about it:
//! where a fetched message goes when the sink has no slot (queue it, pause, or shed the
//! oldest), when paused partitions resume (hysteresis), and how long the loop may block
//! before polling again (the pull stall). The loop only carries these decisions out against
//! librdkafka; none of them is made there.

use crate::overload::{FlowControl, Waiting, WhenSinkFull};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// How long one `poll` may block while idle; bounds shutdown and pause/resume latency.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Pull mode: how long the sink may have no room before the partitions are paused. Until then
/// the loop does not poll at all (a poll would take a message); this also bounds how late a
/// rebalance callback is served while the sink is saturated, far below `max.poll.interval.ms`.
pub const PULL_STALL: Duration = Duration::from_secs(1);

/// How the poll loop waits for a busy sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollMode {
    /// Keep polling (partitions paused) while waiting: the group membership never expires.
    Decoupled,
    /// Block until the sink takes the next message, without polling. Only for the lab: with a
    /// stalled sink this exceeds `max.poll.interval.ms` and the member is evicted.
    Blocking,
}

/// What a queued message costs against the memory budget.
pub trait Cost {
    /// Its price as charged by [`crate::MemoryBudget::cost`].
    fn cost(&self) -> usize;
}

/// What the poll loop does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Poll, blocking up to this long for the next message.
    Poll(Duration),
    /// Wait up to [`POLL_INTERVAL`] for a slot for `bytes`, then poll without blocking (which
    /// serves rebalance callbacks and keeps the membership alive).
    WaitThenPoll {
        /// Cost of the oldest waiting message.
        bytes: usize,
    },
    /// Pull mode with a full sink: wait up to [`POLL_INTERVAL`] for a slot without polling,
    /// then report with [`WaitQueue::slot_wait_ended`].
    WaitWithoutPolling,
    /// Lab only ([`PollMode::Blocking`]): wait for a slot for `bytes` without polling at all,
    /// however long it takes.
    Block {
        /// Cost of the oldest waiting message.
        bytes: usize,
    },
}

/// A partition pause or resume the loop must apply to its whole assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pausing {
    /// Pause fetching.
    Pause,
    /// Resume fetching.
    Resume,
}

/// What became of a fetched message.
#[derive(Debug, PartialEq, Eq)]
pub enum Arrival<M> {
    /// It waits in the queue; `pause` says the partitions must be paused now.
    Queued {
        /// Pause fetching now.
        pause: bool,
    },
    /// This message was dropped (policy shed): the oldest waiting one, or the new one when
    /// nothing waits. Its offset must be marked done and the drop counted.
    Shed(M),
}

struct Entry<M> {
    generation: u64,
    cost: usize,
    message: M,
}

/// Fetched messages waiting for a sink slot, oldest first, with their cost and the pause state.
///
/// Every message carries the rebalance generation it was fetched under: one from an older
/// generation is dropped before dispatch, since its partition may have moved (it is fetched
/// again from the committed offset).
pub struct WaitQueue<M> {
    flow: FlowControl,
    poll_mode: PollMode,
    pending: VecDeque<Entry<M>>,
    bytes: usize,
    /// The generation at which the partitions were paused, if they are.
    paused_at: Option<u64>,
    /// Pull mode: since when the sink has had no room.
    saturated_since: Option<Instant>,
}

impl<M: Cost> WaitQueue<M> {
    /// An empty queue deciding by `flow`, for a loop polling in `poll_mode`.
    pub fn new(flow: FlowControl, poll_mode: PollMode) -> Self {
        Self {
            flow,
            poll_mode,
            pending: VecDeque::new(),
            bytes: 0,
            paused_at: None,
            saturated_since: None,
        }
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// What the waiting messages cost together.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether the partitions are paused.
    pub fn is_paused(&self) -> bool {
        self.paused_at.is_some()
    }

    fn push(&mut self, generation: u64, message: M) {
        let cost = message.cost();
        self.bytes += cost;
        self.pending.push_back(Entry {
            generation,
            cost,
            message,
        });
    }

    fn pop(&mut self) -> Option<Entry<M>> {
        let entry = self.pending.pop_front()?;
        self.bytes -= entry.cost;
        Some(entry)
    }

    /// The oldest message of the current `generation` together with the sink slot `take`
    /// gives for its cost, or `None` when nothing waits or `take` has no slot. Stale
    /// messages ahead of it are dropped.
    pub fn pop_ready<P>(
        &mut self,
        generation: u64,
        take: impl FnOnce(usize) -> Option<P>,
    ) -> Option<(M, P)> {
        while self.pending.front()?.generation != generation {
            self.pop();
        }
        let permit = take(self.pending.front()?.cost)?;
        self.pop().map(|e| (e.message, permit))
    }

    /// Decides about a message just fetched under `generation`. It goes straight to the
    /// queue when nothing waits and the sink has room (the next dispatch takes it); otherwise
    /// the flow control's verdict applies, given what messages in flight cost.
    pub fn arrive(
        &mut self,
        message: M,
        generation: u64,
        sink_has_room: bool,
        inflight_bytes: usize,
    ) -> Arrival<M> {
        let verdict = if self.pending.is_empty() && sink_has_room {
            Waiting::Queue { pause: false }
        } else {
            self.flow
                .on_waiting(self.pending.len(), self.bytes, inflight_bytes)
        };
        match verdict {
            Waiting::Queue { pause } => {
                self.push(generation, message);
                let pause = pause && self.paused_at.is_none();
                if pause {
                    self.paused_at = Some(generation);
                }
                Arrival::Queued { pause }
            }
            // Drop the *oldest* waiting message: it is the lowest pending offset of its
            // partition, so everything before it is already tracked and marking it done never
            // commits past a message still queued. (Dropping the new one could.) The new
            // message takes its place: memory stays at the cap and what reaches the sink is as
            // fresh as possible. Stale messages on the way are dropped uncounted.
            Waiting::Shed => loop {
                match self.pop() {
                    Some(old) if old.generation != generation => {}
                    Some(old) => {
                        self.push(generation, message);
                        break Arrival::Shed(old.message);
                    }
                    // Nothing queued (pull mode): the new message itself.
                    None => break Arrival::Shed(message),
                }
            },
        }
    }

    /// Whether to resume, or to pause again: resume once the queue has drained (hysteresis,
    /// [`FlowControl::may_resume`]); pause again the fresh partitions a rebalance handed over
    /// while paused (`generation` moved on).
    pub fn pausing(
        &mut self,
        generation: u64,
        inflight_bytes: usize,
        sink_has_room: bool,
    ) -> Option<Pausing> {
        match self.paused_at {
            Some(_)
                if self.flow.may_resume(
                    self.pending.len(),
                    self.bytes,
                    inflight_bytes,
                    sink_has_room,
                ) =>
            {
                self.paused_at = None;
                Some(Pausing::Resume)
            }
            Some(g) if g != generation => {
                self.paused_at = Some(generation);
                Some(Pausing::Pause)
            }
            _ => None,
        }
    }

    /// What the loop does next, given whether the sink has a free slot.
    pub fn step(&mut self, sink_has_room: bool) -> Step {
        let pace = self.flow.when_sink_full();
        let front = self.pending.front().map(|e| e.cost);
        let decoupled = self.poll_mode == PollMode::Decoupled;
        if pace == WhenSinkFull::TakeNothing
            && decoupled
            && front.is_none()
            && self.paused_at.is_none()
            && !sink_has_room
        {
            // Pull: the next message stays in librdkafka's prefetch (capped by the memory
            // budget), which stops fetching when full, so the backlog stays on the broker. Not
            // pausing here matters: a pause purges the prefetch, and refetching it after every
            // sink slot (measured on Tansu: one fetch per 64 messages, up to 3.5 s each with a
            // large log) cut the drain rate to ~30 events/s. Only a sink stalled for
            // PULL_STALL pauses, so the loop can go back to polling for group events.
            self.saturated_since.get_or_insert_with(Instant::now);
            return Step::WaitWithoutPolling;
        }
        self.saturated_since = None;
        match front {
            None => Step::Poll(POLL_INTERVAL),
            Some(bytes) if !decoupled => Step::Block { bytes },
            Some(_) if self.paused_at.is_none() && pace == WhenSinkFull::KeepTaking => {
                Step::Poll(Duration::from_millis(1))
            }
            Some(bytes) => Step::WaitThenPoll { bytes },
        }
    }

    /// After [`Step::WaitWithoutPolling`]: whether a slot freed. Pauses (returns
    /// [`Pausing::Pause`]) once the sink has had no room for [`PULL_STALL`].
    pub fn slot_wait_ended(&mut self, got_slot: bool, generation: u64) -> Option<Pausing> {
        let since = self.saturated_since?;
        if got_slot {
            self.saturated_since = None;
            None
        } else if since.elapsed() >= PULL_STALL {
            self.saturated_since = None;
            self.paused_at = Some(generation);
            Some(Pausing::Pause)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests;
