//! The flow state the source thread and the sink workers share: the offset tracker behind a
//! lock the source can wait on, and the count of what the shed policy dropped.

use crate::lanes::lane_for;
use crate::tracker::{OffsetTracker, Ticket};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

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
    /// The tracker itself, for a few calls in a row. Never hold it across an await or a
    /// blocking call: the sink workers complete through the same lock.
    pub fn lock(&self) -> MutexGuard<'_, OffsetTracker> {
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

    /// Tracks a message and marks it done at once: a shed message's offset may be committed
    /// although nothing was written for it.
    pub fn skip(&self, partition: i32, offset: i64) {
        let ticket = self.lock().track(partition, offset);
        if let Some(ticket) = ticket {
            self.complete([ticket]);
        }
    }

    /// Partitions currently assigned, sorted.
    pub fn assigned(&self) -> Vec<i32> {
        self.lock().assigned()
    }

    /// Messages in flight across all partitions.
    pub fn total_in_flight(&self) -> usize {
        self.lock().total_in_flight()
    }

    /// Blocks the calling thread until `done` holds or `timeout` passes; true if it holds.
    /// Re-checked whenever work completes or is abandoned.
    pub fn wait_until(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&OffsetTracker) -> bool,
    ) -> bool {
        let guard = self.lock();
        let (_guard, result) = self
            .changed
            .wait_timeout_while(guard, timeout, |t| !done(t))
            .unwrap_or_else(|e| e.into_inner());
        !result.timed_out()
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

    /// Counts one shed message of key class `class`.
    pub fn record(&self, class: usize) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_revoke_wait_ends_when_the_last_message_completes() {
        let shared = Arc::new(SharedTracker::default());
        shared.lock().assign(0);
        let ticket = shared.lock().track(0, 5).unwrap();
        assert!(!shared.wait_until(Duration::from_millis(20), |t| t.in_flight(0) == 0));
        let worker = {
            let shared = shared.clone();
            std::thread::spawn(move || shared.complete([ticket]))
        };
        assert!(shared.wait_until(Duration::from_secs(10), |t| t.in_flight(0) == 0));
        worker.join().unwrap();
        assert_eq!(shared.lock().commit_point(0), Some(6));
    }

    #[test]
    fn a_skipped_offset_moves_the_watermark_and_an_unassigned_one_is_ignored() {
        let shared = SharedTracker::default();
        shared.lock().assign(0);
        shared.skip(0, 7);
        assert_eq!(shared.lock().commit_point(0), Some(8));
        shared.skip(3, 1);
        assert_eq!(shared.assigned(), vec![0]);
    }

    #[test]
    fn shed_counts_are_taken_once() {
        let log = ShedLog::default();
        let class = ShedLog::class_of(Some(b"k"));
        log.record(class);
        log.record(class);
        log.record(ShedLog::class_of(None));
        let mut drained = log.drain();
        drained.sort();
        assert!(drained.contains(&(class, 2)) || class == 0);
        assert_eq!(drained.iter().map(|(_, n)| n).sum::<u64>(), 3);
        assert!(log.drain().is_empty());
    }
}
