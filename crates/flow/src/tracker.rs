use std::collections::{BTreeSet, HashMap};

/// Proof that a message was registered with the tracker; handed back on completion.
///
/// The epoch ties the ticket to one assignment of its partition: if the partition was revoked
/// and assigned again meanwhile, completing an old ticket must not move the new watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    /// Kafka partition.
    pub partition: i32,
    /// Offset of the message.
    pub offset: i64,
    epoch: u64,
}

#[derive(Debug)]
struct PartitionState {
    epoch: u64,
    /// Offsets handed out and not yet completed. The smallest one bounds the watermark.
    in_flight: BTreeSet<i64>,
    /// Offsets whose work was given up without being durable (shutdown). They bound the
    /// watermark like in-flight ones, but nobody is working on them any more, so waits for
    /// in-flight work (revoke, drain) do not wait for them.
    abandoned: BTreeSet<i64>,
    /// Most recently tracked offset (the highest, unless the position was rewound).
    highest: Option<i64>,
    /// The last offset handed to a successful commit, to avoid committing the same value twice.
    committed: Option<i64>,
}

impl PartitionState {
    /// Next offset to consume: everything below it is done.
    fn watermark(&self) -> Option<i64> {
        let lowest_open = match (self.in_flight.first(), self.abandoned.first()) {
            (Some(&a), Some(&b)) => Some(a.min(b)),
            (a, b) => a.or(b).copied(),
        };
        lowest_open.or_else(|| self.highest.map(|h| h + 1))
    }
}

/// Per-partition contiguous-watermark tracking for one topic.
///
/// Offsets must be tracked in increasing order within a partition (the order Kafka delivers
/// them); they may complete in any order. Gaps between offsets (compaction, transaction
/// markers) are fine because only offsets that were actually tracked can hold the watermark.
#[derive(Debug, Default)]
pub struct OffsetTracker {
    partitions: HashMap<i32, PartitionState>,
    next_epoch: u64,
}

impl OffsetTracker {
    /// A tracker with no partitions assigned.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts tracking `partition` for a new assignment, discarding any state of a previous one.
    pub fn assign(&mut self, partition: i32) {
        self.next_epoch += 1;
        self.partitions.insert(
            partition,
            PartitionState {
                epoch: self.next_epoch,
                in_flight: BTreeSet::new(),
                abandoned: BTreeSet::new(),
                highest: None,
                committed: None,
            },
        );
    }

    /// Whether `partition` is currently assigned.
    pub fn is_assigned(&self, partition: i32) -> bool {
        self.partitions.contains_key(&partition)
    }

    /// Registers a message about to be dispatched. Returns `None` for a partition that is not
    /// assigned (a message fetched before a revoke); such a message must not be processed.
    ///
    /// Offsets normally arrive in increasing order. If one arrives at or below the highest seen
    /// (the consumer's position was rewound), the highest is lowered to it: the watermark may
    /// then only move conservatively, and nothing between the rewound offset and the old
    /// highest can be committed before it has been tracked and completed again.
    pub fn track(&mut self, partition: i32, offset: i64) -> Option<Ticket> {
        let state = self.partitions.get_mut(&partition)?;
        state.in_flight.insert(offset);
        // Either a new maximum or a rewind; in both cases this is now the highest that counts.
        state.highest = Some(offset);
        Some(Ticket {
            partition,
            offset,
            epoch: state.epoch,
        })
    }

    /// Marks a message's effects as durable. Returns false for a ticket of a previous
    /// assignment, which is ignored.
    pub fn complete(&mut self, ticket: Ticket) -> bool {
        match self.partitions.get_mut(&ticket.partition) {
            Some(state) if state.epoch == ticket.epoch => state.in_flight.remove(&ticket.offset),
            _ => false,
        }
    }

    /// Gives up on a message without it being durable: it keeps the watermark below it (it
    /// will be redelivered) but no longer counts as in flight. Returns false for a stale ticket.
    pub fn abandon(&mut self, ticket: Ticket) -> bool {
        let Some(state) = self.partitions.get_mut(&ticket.partition) else {
            return false;
        };
        if state.epoch != ticket.epoch || !state.in_flight.remove(&ticket.offset) {
            return false;
        }
        state.abandoned.insert(ticket.offset)
    }

    /// Messages of `partition` dispatched and not yet completed.
    pub fn in_flight(&self, partition: i32) -> usize {
        self.partitions
            .get(&partition)
            .map_or(0, |s| s.in_flight.len())
    }

    /// Messages in flight across all partitions.
    pub fn total_in_flight(&self) -> usize {
        self.partitions.values().map(|s| s.in_flight.len()).sum()
    }

    /// The offset to commit for `partition` (the next offset to consume), if anything was
    /// tracked there.
    pub fn commit_point(&self, partition: i32) -> Option<i64> {
        self.partitions.get(&partition)?.watermark()
    }

    /// Commit points that moved since they were last marked committed, sorted by partition.
    pub fn pending_commits(&self) -> Vec<(i32, i64)> {
        let mut out: Vec<(i32, i64)> = self
            .partitions
            .iter()
            .filter_map(|(&p, s)| {
                let w = s.watermark()?;
                (s.committed != Some(w)).then_some((p, w))
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// Records that `offset` was committed for `partition`.
    pub fn mark_committed(&mut self, partition: i32, offset: i64) {
        if let Some(state) = self.partitions.get_mut(&partition) {
            state.committed = Some(offset);
        }
    }

    /// Stops tracking `partition`; tickets still out for it become stale.
    pub fn revoke(&mut self, partition: i32) {
        self.partitions.remove(&partition);
    }

    /// Partitions currently assigned, sorted.
    pub fn assigned(&self) -> Vec<i32> {
        let mut p: Vec<i32> = self.partitions.keys().copied().collect();
        p.sort_unstable();
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_tracked_means_nothing_to_commit() {
        let mut t = OffsetTracker::new();
        t.assign(0);
        assert_eq!(t.commit_point(0), None);
        assert!(t.pending_commits().is_empty());
    }

    #[test]
    fn out_of_order_completion_commits_only_the_contiguous_prefix() {
        let mut t = OffsetTracker::new();
        t.assign(0);
        let tickets: Vec<Ticket> = (10..15).map(|o| t.track(0, o).unwrap()).collect();
        assert_eq!(t.commit_point(0), Some(10));

        // 12 and 14 finish first: 10 is still in flight, so nothing may be committed past it.
        assert!(t.complete(tickets[2]));
        assert!(t.complete(tickets[4]));
        assert_eq!(t.commit_point(0), Some(10));

        assert!(t.complete(tickets[0]));
        assert_eq!(t.commit_point(0), Some(11));
        assert!(t.complete(tickets[1]));
        assert_eq!(t.commit_point(0), Some(13));
        assert!(t.complete(tickets[3]));
        assert_eq!(t.commit_point(0), Some(15));
        assert_eq!(t.in_flight(0), 0);
    }

    #[test]
    fn offset_gaps_do_not_block_the_watermark() {
        let mut t = OffsetTracker::new();
        t.assign(3);
        // Offsets 101..=104 never arrive (compacted away or transaction markers).
        let a = t.track(3, 100).unwrap();
        let b = t.track(3, 105).unwrap();
        t.complete(b);
        assert_eq!(t.commit_point(3), Some(100));
        t.complete(a);
        assert_eq!(t.commit_point(3), Some(106));
    }

    #[test]
    fn partitions_are_independent() {
        let mut t = OffsetTracker::new();
        t.assign(0);
        t.assign(1);
        let slow = t.track(0, 0).unwrap();
        let fast = t.track(1, 0).unwrap();
        t.complete(fast);
        assert_eq!(t.pending_commits(), vec![(0, 0), (1, 1)]);
        assert_eq!(t.total_in_flight(), 1);
        t.complete(slow);
        assert_eq!(t.commit_point(0), Some(1));
    }

    #[test]
    fn pending_commits_reports_only_moved_watermarks() {
        let mut t = OffsetTracker::new();
        t.assign(0);
        let a = t.track(0, 7).unwrap();
        t.complete(a);
        assert_eq!(t.pending_commits(), vec![(0, 8)]);
        t.mark_committed(0, 8);
        assert!(t.pending_commits().is_empty());
        let b = t.track(0, 8).unwrap();
        assert!(
            t.pending_commits().is_empty(),
            "watermark has not moved yet"
        );
        t.complete(b);
        assert_eq!(t.pending_commits(), vec![(0, 9)]);
    }

    #[test]
    fn revoke_makes_old_tickets_stale_even_after_reassign() {
        let mut t = OffsetTracker::new();
        t.assign(0);
        let old = t.track(0, 50).unwrap();
        t.revoke(0);
        assert!(!t.is_assigned(0));
        assert_eq!(
            t.track(0, 51),
            None,
            "messages of a revoked partition are refused"
        );
        assert!(!t.complete(old), "completion after revoke is ignored");

        // Reassigned: fetching restarts from the committed offset, below the old ticket.
        t.assign(0);
        let fresh = t.track(0, 40).unwrap();
        assert!(
            !t.complete(old),
            "a ticket of the old assignment must not move the new watermark"
        );
        assert_eq!(t.commit_point(0), Some(40));
        assert!(t.complete(fresh));
        assert_eq!(t.commit_point(0), Some(41));
    }

    #[test]
    fn a_rewound_position_never_commits_past_untracked_offsets() {
        let mut t = OffsetTracker::new();
        t.assign(0);
        let a = t.track(0, 100).unwrap();
        t.complete(a);
        assert_eq!(t.commit_point(0), Some(101));
        // The position goes back to 90 (e.g. a seek); 91..=99 have not been redone yet.
        let b = t.track(0, 90).unwrap();
        t.complete(b);
        assert_eq!(t.commit_point(0), Some(91), "must not jump back to 101");
    }

    #[test]
    fn abandoned_work_holds_the_watermark_but_is_not_waited_for() {
        let mut t = OffsetTracker::new();
        t.assign(0);
        let a = t.track(0, 5).unwrap();
        let b = t.track(0, 6).unwrap();
        assert!(t.abandon(a));
        assert!(t.complete(b));
        assert_eq!(t.in_flight(0), 0, "nothing left to wait for");
        assert_eq!(t.commit_point(0), Some(5), "but 5 was never made durable");
        assert!(!t.complete(a), "an abandoned ticket cannot complete later");
    }

    #[test]
    fn completing_twice_is_harmless() {
        let mut t = OffsetTracker::new();
        t.assign(0);
        let a = t.track(0, 1).unwrap();
        assert!(t.complete(a));
        assert!(!t.complete(a));
        assert_eq!(t.commit_point(0), Some(2));
    }
}
