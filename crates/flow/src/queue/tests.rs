//! Every queue decision with paused time where time matters: each mode × policy, the
//! pause/resume thresholds, the shed victim, the memory budget, the pull stall.

use super::*;
use crate::{MemoryBudget, OverloadPolicy, QueueMode};

/// A message at `offset` costing `cost`.
#[derive(Debug, PartialEq, Eq)]
struct M(i64, usize);

impl Cost for M {
    fn cost(&self) -> usize {
        self.1
    }
}

fn queue(mode: QueueMode, policy: OverloadPolicy, budget: Option<usize>) -> WaitQueue<M> {
    let flow = FlowControl {
        mode,
        policy,
        memory_budget: budget.map(MemoryBudget::new),
    };
    WaitQueue::new(flow, PollMode::Decoupled)
}

const BOUNDED: QueueMode = QueueMode::Bounded { cap: 4 };
const QUEUED: Arrival<M> = Arrival::Queued { pause: false };
const PAUSE: Arrival<M> = Arrival::Queued { pause: true };

#[test]
fn bounded_buffer_pauses_at_the_cap_and_resumes_at_half() {
    let mut q = queue(BOUNDED, OverloadPolicy::Buffer, None);
    for i in 0..4 {
        assert_eq!(q.arrive(M(i, 10), 0, false, 0), QUEUED, "message {i}");
    }
    assert_eq!(
        q.arrive(M(4, 10), 0, false, 0),
        PAUSE,
        "the fifth finds it full"
    );
    assert_eq!(q.arrive(M(5, 10), 0, false, 0), QUEUED, "paused already");
    assert!(q.is_paused());
    assert_eq!((q.len(), q.bytes()), (6, 60));
    for want in 0..4 {
        assert_eq!(q.pausing(0, 0, true), None, "{} still wait", q.len());
        let (m, ()) = q.pop_ready(0, |_| Some(())).unwrap();
        assert_eq!(m.0, want, "oldest first");
    }
    assert_eq!(q.len(), 2);
    assert_eq!(
        q.pausing(0, 0, false),
        Some(Pausing::Resume),
        "half drained"
    );
    assert!(!q.is_paused());
    assert_eq!(q.pausing(0, 0, true), None);
}

#[test]
fn the_memory_budget_pauses_before_the_cap_and_holds_the_resume() {
    let budget = MemoryBudget::new(8_000);
    let share = budget.pipeline_bytes();
    let mut q = queue(BOUNDED, OverloadPolicy::Buffer, Some(8_000));
    assert_eq!(q.arrive(M(0, share / 2), 0, false, 0), QUEUED);
    assert_eq!(
        q.arrive(M(1, 1), 0, false, share / 2),
        PAUSE,
        "queued + in flight reach the budget with one message queued"
    );
    q.pop_ready(0, |_| Some(())).unwrap();
    assert_eq!(
        q.pausing(0, share, true),
        None,
        "queue drained, but in-flight work still holds the budget"
    );
    assert_eq!(q.pausing(0, share / 2, true), Some(Pausing::Resume));
}

#[test]
fn shed_drops_the_oldest_and_keeps_the_newest() {
    let mut q = queue(BOUNDED, OverloadPolicy::Shed, None);
    for i in 0..4 {
        assert_eq!(q.arrive(M(i, 10), 0, false, 0), QUEUED);
    }
    assert_eq!(q.arrive(M(4, 10), 0, false, 0), Arrival::Shed(M(0, 10)));
    assert_eq!(q.arrive(M(5, 10), 0, false, 0), Arrival::Shed(M(1, 10)));
    assert!(!q.is_paused(), "shed never pauses");
    assert_eq!((q.len(), q.bytes()), (4, 40), "memory stays at the cap");
    let left: Vec<i64> = std::iter::from_fn(|| q.pop_ready(0, |_| Some(())))
        .map(|(m, ())| m.0)
        .collect();
    assert_eq!(left, [2, 3, 4, 5]);
}

#[test]
fn shed_skips_stale_messages_and_sheds_the_newcomer_when_nothing_waits() {
    let mut q = queue(BOUNDED, OverloadPolicy::Shed, None);
    for i in 0..4 {
        q.arrive(M(i, 10), 0, false, 0);
    }
    // A rebalance: generation 1. The four queued are stale; the cap still counts them.
    assert_eq!(
        q.arrive(M(10, 10), 1, false, 0),
        Arrival::Shed(M(10, 10)),
        "the stale ones are dropped uncounted; nothing current was queued"
    );
    assert!(q.is_empty());
    let mut pull = queue(QueueMode::Pull, OverloadPolicy::Shed, None);
    assert_eq!(pull.arrive(M(0, 10), 0, false, 0), Arrival::Shed(M(0, 10)));
    assert_eq!(
        pull.arrive(M(1, 10), 0, true, 0),
        QUEUED,
        "room: dispatched"
    );
}

#[test]
fn unbounded_never_pauses_whatever_the_budget() {
    let mut q = queue(QueueMode::Unbounded, OverloadPolicy::Buffer, Some(1_000));
    for i in 0..10_000 {
        assert_eq!(q.arrive(M(i, 1_000), 0, false, 1 << 30), QUEUED);
    }
    assert_eq!(q.bytes(), 10_000_000);
    assert_eq!(q.step(false), Step::Poll(Duration::from_millis(1)));
}

#[test]
fn stale_messages_are_dropped_before_dispatch() {
    let mut q = queue(BOUNDED, OverloadPolicy::Buffer, None);
    q.arrive(M(0, 10), 0, false, 0);
    q.arrive(M(1, 10), 0, false, 0);
    q.arrive(M(2, 10), 1, false, 0);
    let mut asked = Vec::new();
    let (m, ()) = q
        .pop_ready(1, |bytes| {
            asked.push(bytes);
            Some(())
        })
        .unwrap();
    assert_eq!(m.0, 2);
    assert_eq!(asked, [10], "a slot was asked for the current message only");
    assert_eq!((q.len(), q.bytes()), (0, 0));
    assert!(q.pop_ready(1, |_| Some(())).is_none());
}

#[test]
fn without_a_slot_nothing_is_popped() {
    let mut q = queue(BOUNDED, OverloadPolicy::Buffer, None);
    q.arrive(M(0, 10), 0, true, 0);
    assert!(q.pop_ready(0, |_| None::<()>).is_none());
    assert_eq!(q.len(), 1);
}

#[test]
fn a_rebalance_while_paused_pauses_the_new_assignment() {
    let mut q = queue(BOUNDED, OverloadPolicy::Buffer, None);
    for i in 0..5 {
        q.arrive(M(i, 10), 3, false, 0);
    }
    assert!(q.is_paused());
    assert_eq!(q.pausing(4, 0, false), Some(Pausing::Pause));
    assert_eq!(q.pausing(4, 0, false), None, "once per generation");
}

#[test]
fn each_mode_and_policy_paces_the_loop() {
    use OverloadPolicy::*;
    use QueueMode::*;
    let wait = Step::WaitThenPoll { bytes: 10 };
    let keep = Step::Poll(Duration::from_millis(1));
    // Queue mode, policy, step with a message waiting and the partitions not paused.
    let cases = [
        (BOUNDED, Buffer, wait),
        (BOUNDED, SlowSource, wait),
        (BOUNDED, Shed, keep),
        (Unbounded, Buffer, keep),
        (Unbounded, SlowSource, keep),
        (Unbounded, Shed, keep),
        (Pull, Buffer, wait),
        (Pull, SlowSource, wait),
        (Pull, Shed, keep),
    ];
    for (mode, policy, want) in cases {
        let mut q = queue(mode, policy, None);
        assert_eq!(
            q.step(true),
            Step::Poll(POLL_INTERVAL),
            "{mode:?} {policy:?} idle"
        );
        q.arrive(M(0, 10), 0, true, 0);
        assert_eq!(q.step(false), want, "{mode:?} {policy:?} busy");
        let mut blocking = WaitQueue::new(
            FlowControl {
                mode,
                policy,
                memory_budget: None,
            },
            PollMode::Blocking,
        );
        blocking.arrive(M(0, 10), 0, true, 0);
        assert_eq!(blocking.step(false), Step::Block { bytes: 10 });
    }
}

#[tokio::test(start_paused = true)]
async fn pull_pauses_only_after_the_sink_stalled_for_pull_stall() {
    let mut q = queue(QueueMode::Pull, OverloadPolicy::Buffer, None);
    assert_eq!(
        q.step(true),
        Step::Poll(POLL_INTERVAL),
        "room: take the next"
    );
    assert_eq!(q.step(false), Step::WaitWithoutPolling);
    tokio::time::advance(PULL_STALL - Duration::from_millis(1)).await;
    assert_eq!(q.slot_wait_ended(false, 0), None, "not stalled yet");
    assert_eq!(q.step(false), Step::WaitWithoutPolling);
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(q.slot_wait_ended(false, 0), Some(Pausing::Pause));
    assert!(q.is_paused());
    assert_eq!(
        q.step(false),
        Step::Poll(POLL_INTERVAL),
        "paused: poll for group events, nothing arrives"
    );
    assert_eq!(
        q.pausing(0, 0, false),
        None,
        "pull resumes only with a free slot"
    );
    assert_eq!(q.pausing(0, 0, true), Some(Pausing::Resume));
}

#[tokio::test(start_paused = true)]
async fn a_freed_slot_restarts_the_pull_stall_clock() {
    let mut q = queue(QueueMode::Pull, OverloadPolicy::Buffer, None);
    q.step(false);
    tokio::time::advance(PULL_STALL / 2).await;
    assert_eq!(q.slot_wait_ended(true, 0), None);
    q.step(false);
    tokio::time::advance(PULL_STALL / 2 + Duration::from_millis(10)).await;
    assert_eq!(
        q.slot_wait_ended(false, 0),
        None,
        "a full stall has not passed since the slot freed"
    );
    tokio::time::advance(PULL_STALL).await;
    assert_eq!(q.slot_wait_ended(false, 0), Some(Pausing::Pause));
}
