//! What the source does when the sink cannot keep up: one documented choice of queue and one
//! of overload policy, decided here and nowhere else ([`FlowControl::on_waiting`] for each
//! waiting message, [`FlowControl::when_sink_full`] for the loop's pace).

use crate::budget::MemoryBudget;

/// The queue between the source (fetched messages) and the sink workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueMode {
    /// At most `cap` fetched messages wait; when it is full the partitions are paused (the
    /// poll loop keeps polling), so overload turns into broker-side lag. Memory stays flat;
    /// the cost is a refetch after each pause (librdkafka drops its prefetch on pause), hidden
    /// when `cap` covers a fetch round trip of sink work. The default.
    Bounded {
        /// Fetched messages allowed to wait.
        cap: usize,
    },
    /// Append-only, never pauses: every fetched message is kept until the sink takes it. Under
    /// sustained overload memory grows without bound until the process dies. Kept on purpose
    /// for the lab, to show that failure mode; never use it in production.
    Unbounded,
    /// No internal buffer: the source takes the next message from librdkafka only when the
    /// sink has room, so what is not being processed stays in librdkafka's budget-capped
    /// prefetch and, beyond it, on the broker. Partitions are paused only when the sink has
    /// had no room for a while (a stall), so the loop can poll for group events without
    /// taking messages; pausing on every busy moment would purge and refetch the prefetch
    /// each time. Lowest memory.
    Pull,
}

/// What to do with load beyond what the sink absorbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverloadPolicy {
    /// Keep everything and slow down consumption (queue mode decides where it waits).
    Buffer,
    /// Drop what does not fit: when the queue is full the *oldest* waiting message is dropped
    /// (the stalest, and the only one whose offset can be marked done without committing past
    /// a queued message), counted per key class, recorded, and its offset committed. The
    /// consumer keeps up with any source rate; the cost is lost events, by explicit choice.
    Shed,
    /// Like `Buffer`, and also publish the sustainable rate so a cooperating producer
    /// (`streamsre produce --adaptive`) slows down: nothing is lost and lag stops growing.
    SlowSource,
}

impl OverloadPolicy {
    /// The policy's name on the command line and on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Self::Buffer => "buffer",
            Self::Shed => "shed",
            Self::SlowSource => "slow-source",
        }
    }
}

/// The verdict on a fetched message that cannot be dispatched yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// Keep it in the queue; `pause` says whether partitions must be paused now.
    Queue {
        /// Pause fetching (the queue or the memory budget is full).
        pause: bool,
    },
    /// Drop it (policy `Shed` and no room).
    Shed,
}

/// How the poll loop paces itself while messages wait for a sink slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenSinkFull {
    /// Keep polling and take what arrives without waiting for a slot: unbounded keeps
    /// everything (its failure mode), shed must keep up with the source and drop the oldest.
    KeepTaking,
    /// Wait (a poll interval at most) for a slot to free, then take what arrived: the bounded
    /// queue fills up to its cap and then pauses the partitions.
    WaitForSlot,
    /// Take nothing until a slot frees: the next messages stay in librdkafka's budget-capped
    /// prefetch and, beyond it, on the broker (pull).
    TakeNothing,
}

/// The queue mode, overload policy and memory budget of one consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowControl {
    /// Queue between source and sink.
    pub mode: QueueMode,
    /// What happens beyond it.
    pub policy: OverloadPolicy,
    /// The memory budget; queued and in-flight messages share its pipeline part
    /// ([`MemoryBudget::pipeline_bytes`]). `None` for no limit. `Unbounded` ignores it by
    /// design.
    pub memory_budget: Option<MemoryBudget>,
}

impl FlowControl {
    /// The bytes queued and in-flight messages may cost together, if memory is bounded.
    fn pipeline_bytes(&self) -> Option<usize> {
        self.memory_budget.map(|b| b.pipeline_bytes())
    }

    /// Decides about one more waiting message, given what already waits (`queued`, costing
    /// `queued_bytes`) and what messages in flight in the sink workers cost (both as charged
    /// by [`MemoryBudget::cost`]).
    pub fn on_waiting(&self, queued: usize, queued_bytes: usize, inflight_bytes: usize) -> Waiting {
        let over_budget = self
            .pipeline_bytes()
            .is_some_and(|budget| queued_bytes + inflight_bytes >= budget);
        let full = match self.mode {
            QueueMode::Bounded { cap } => queued >= cap || over_budget,
            QueueMode::Pull => true,
            QueueMode::Unbounded => false,
        };
        match (self.policy, full) {
            (OverloadPolicy::Shed, true) => Waiting::Shed,
            (OverloadPolicy::Buffer | OverloadPolicy::SlowSource, true) => {
                Waiting::Queue { pause: true }
            }
            (_, false) => Waiting::Queue { pause: false },
        }
    }

    /// How the loop paces itself while the sink has no free slot. With [`Self::on_waiting`],
    /// the only place queue mode and policy are matched on.
    pub fn when_sink_full(&self) -> WhenSinkFull {
        match (self.mode, self.policy) {
            (_, OverloadPolicy::Shed) | (QueueMode::Unbounded, _) => WhenSinkFull::KeepTaking,
            (QueueMode::Pull, OverloadPolicy::Buffer | OverloadPolicy::SlowSource) => {
                WhenSinkFull::TakeNothing
            }
            (QueueMode::Bounded { .. }, OverloadPolicy::Buffer | OverloadPolicy::SlowSource) => {
                WhenSinkFull::WaitForSlot
            }
        }
    }

    /// Whether paused partitions may resume: the queue has drained to half its capacity (all
    /// of it, and a free sink slot, in pull mode: resuming only to pause again would refetch
    /// for nothing) and memory is back under budget. The hysteresis avoids pausing and
    /// resuming on every message.
    pub fn may_resume(
        &self,
        queued: usize,
        queued_bytes: usize,
        inflight_bytes: usize,
        sink_has_room: bool,
    ) -> bool {
        let under_budget = self
            .pipeline_bytes()
            .is_none_or(|budget| queued_bytes + inflight_bytes < budget / 2 + budget / 4);
        let drained = match self.mode {
            QueueMode::Bounded { cap } => queued <= cap / 2,
            QueueMode::Pull => queued == 0 && sink_has_room,
            QueueMode::Unbounded => queued == 0,
        };
        drained && under_budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pipeline`: the budget's pipeline share (3/8 of the whole; a multiple of 3 here).
    fn fc(mode: QueueMode, policy: OverloadPolicy, pipeline: Option<usize>) -> FlowControl {
        let memory_budget = pipeline.map(|p| MemoryBudget::new(p / 3 * 8));
        assert_eq!(memory_budget.map(|b| b.pipeline_bytes()), pipeline);
        FlowControl {
            mode,
            policy,
            memory_budget,
        }
    }

    #[test]
    fn decision_table() {
        use OverloadPolicy::*;
        use QueueMode::*;
        let b = Bounded { cap: 10 };
        let queue = Waiting::Queue { pause: false };
        let pause = Waiting::Queue { pause: true };
        let cases = [
            (b, Buffer, None, 5, 0, queue),
            (b, Buffer, None, 10, 0, pause),
            (b, SlowSource, None, 10, 0, pause),
            (b, Shed, None, 9, 0, queue),
            (b, Shed, None, 10, 0, Waiting::Shed),
            (b, Buffer, Some(999), 1, 1000, pause),
            (b, Shed, Some(999), 1, 1000, Waiting::Shed),
            (Pull, Buffer, None, 0, 0, pause),
            (Pull, Shed, None, 0, 0, Waiting::Shed),
            (Unbounded, Buffer, None, 1_000_000, 0, queue),
            (Unbounded, Buffer, Some(3), 1_000_000, 1 << 30, queue),
            (Unbounded, Shed, None, 1_000_000, 0, queue),
        ];
        for (mode, policy, budget, queued, bytes, want) in cases {
            assert_eq!(
                fc(mode, policy, budget).on_waiting(queued, bytes, 0),
                want,
                "{mode:?} {policy:?} budget={budget:?} queued={queued} bytes={bytes}"
            );
        }
    }

    #[test]
    fn resume_needs_half_the_queue_and_room_in_the_budget() {
        let f = fc(
            QueueMode::Bounded { cap: 10 },
            OverloadPolicy::Buffer,
            Some(999),
        );
        assert!(!f.may_resume(6, 0, 0, true));
        assert!(f.may_resume(5, 0, 0, true));
        assert!(f.may_resume(5, 0, 0, false), "bounded refills its queue");
        assert!(
            !f.may_resume(0, 500, 300, true),
            "still over 3/4 of the budget"
        );
        assert!(f.may_resume(0, 500, 200, true));
        let p = fc(QueueMode::Pull, OverloadPolicy::Buffer, None);
        assert!(!p.may_resume(1, 0, 0, true));
        assert!(
            !p.may_resume(0, 0, 0, false),
            "pull waits for a free sink slot"
        );
        assert!(p.may_resume(0, 0, 0, true));
    }

    #[test]
    fn pacing_per_mode_and_policy() {
        use OverloadPolicy::*;
        use QueueMode::*;
        use WhenSinkFull::*;
        for mode in [Bounded { cap: 10 }, Unbounded, Pull] {
            for policy in [Buffer, Shed, SlowSource] {
                let want = match (mode, policy) {
                    (_, Shed) | (Unbounded, _) => KeepTaking,
                    (Pull, _) => TakeNothing,
                    _ => WaitForSlot,
                };
                assert_eq!(
                    fc(mode, policy, None).when_sink_full(),
                    want,
                    "{mode:?} {policy:?}"
                );
            }
        }
    }
}
