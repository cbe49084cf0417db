//! Room on the sink side for one more message: a count cap (`MAX_INFLIGHT`) and a byte cap
//! (the memory budget), both as owned semaphore permits that travel with the message and are
//! released when its work is finished.
//!
//! Why two: a message count alone is either a brake (64 messages left four lanes about 16 rows
//! per transaction) or, set high enough to batch well, no bound at all on large messages
//! (16,384 × 1 MiB). Bytes bound memory; the count only keeps bookkeeping finite. The bytes are
//! counted in KiB so a 1 GiB budget still fits the semaphore's `u32` requests.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Slots for messages between fetch and durable write.
#[derive(Debug, Clone)]
pub struct SinkSlots {
    messages: Arc<Semaphore>,
    /// The budget in KiB; `None` when memory is not bounded (the lab's unbounded queue).
    kib: Option<Arc<Semaphore>>,
    kib_total: u32,
}

/// What one dispatched message holds; dropping it frees its slot.
#[derive(Debug)]
pub struct SlotPermit {
    _message: OwnedSemaphorePermit,
    _kib: Option<OwnedSemaphorePermit>,
}

impl SinkSlots {
    /// At most `max_messages` in flight, and at most `budget_bytes` of them.
    pub fn new(max_messages: usize, budget_bytes: Option<usize>) -> Self {
        let kib_total =
            budget_bytes.map_or(0, |b| u32::try_from(b / 1024).unwrap_or(u32::MAX).max(1));
        Self {
            messages: Arc::new(Semaphore::new(max_messages)),
            kib: budget_bytes.map(|_| Arc::new(Semaphore::new(kib_total as usize))),
            kib_total,
        }
    }

    /// KiB a message of `bytes` takes: at least one, at most the whole budget, so a message
    /// larger than the budget still goes through, alone.
    fn kib_for(&self, bytes: usize) -> u32 {
        u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, self.kib_total.max(1))
    }

    /// Takes a slot for a message of `bytes` if one is free now.
    pub fn try_take(&self, bytes: usize) -> Option<SlotPermit> {
        let kib = match &self.kib {
            Some(kib) => Some(
                kib.clone()
                    .try_acquire_many_owned(self.kib_for(bytes))
                    .ok()?,
            ),
            None => None,
        };
        let message = self.messages.clone().try_acquire_owned().ok()?;
        Some(SlotPermit {
            _message: message,
            _kib: kib,
        })
    }

    /// Whether a small message would find a slot now.
    pub fn has_room(&self) -> bool {
        self.messages.available_permits() > 0
            && self.kib.as_ref().is_none_or(|k| k.available_permits() > 0)
    }

    /// Waits up to `timeout` until a message of `bytes` would find a slot; returns whether it
    /// would. Takes nothing: the caller still calls [`SinkSlots::try_take`].
    pub async fn wait_room(&self, bytes: usize, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, async {
            let _message = self.messages.acquire().await.ok()?;
            match &self.kib {
                Some(kib) => kib.acquire_many(self.kib_for(bytes)).await.ok().map(drop),
                None => Some(()),
            }
        })
        .await
        .is_ok_and(|room| room.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_byte_budget_bounds_dispatch_before_the_count_does() {
        let slots = SinkSlots::new(1_000, Some(10 * 1024));
        let held: Vec<_> = (0..5)
            .map(|_| slots.try_take(2048).expect("room"))
            .collect();
        assert!(slots.try_take(1).is_none(), "10 KiB used by 5 × 2 KiB");
        assert!(!slots.has_room());
        drop(held);
        assert!(slots.has_room());
    }

    #[test]
    fn the_count_caps_small_messages() {
        let slots = SinkSlots::new(2, Some(1 << 20));
        let _a = slots.try_take(10).unwrap();
        let _b = slots.try_take(10).unwrap();
        assert!(slots.try_take(10).is_none());
    }

    #[test]
    fn a_message_larger_than_the_budget_goes_alone() {
        let slots = SinkSlots::new(10, Some(4096));
        let big = slots.try_take(1 << 20).expect("alone it fits");
        assert!(slots.try_take(1).is_none());
        drop(big);
        let _small = slots.try_take(1).unwrap();
        assert!(slots.try_take(1 << 20).is_none(), "not beside another");
    }

    #[test]
    fn without_a_budget_only_the_count_applies() {
        let slots = SinkSlots::new(3, None);
        let held: Vec<_> = (0..3).map(|_| slots.try_take(1 << 30).unwrap()).collect();
        assert!(slots.try_take(1).is_none());
        drop(held);
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_for_room_ends_when_work_finishes_or_times_out() {
        let slots = SinkSlots::new(10, Some(2048));
        let held = slots.try_take(2048).unwrap();
        assert!(
            !slots.wait_room(1024, Duration::from_millis(100)).await,
            "timed out"
        );
        let waiter = {
            let slots = slots.clone();
            tokio::spawn(async move { slots.wait_room(1024, Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(held);
        assert!(
            waiter.await.unwrap(),
            "room once the held bytes were released"
        );
        assert!(slots.try_take(1024).is_some(), "wait_room took nothing");
    }
}
