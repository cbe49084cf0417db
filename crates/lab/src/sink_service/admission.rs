//! Who gets in: the token bucket, the stall schedule and the pause switch.

use governor::clock::{Clock, MonotonicClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Largest batch the sink accepts in one request, and the bucket's minimum burst: a batch
/// must fit in the bucket to ever be admitted.
pub const MAX_BATCH: u32 = 1000;

/// A deterministic stall: from `at` after start, for `duration`, the rate drops to `rate`
/// events/s (0: nothing is accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StallSchedule {
    /// When the stall starts, measured from the service's start.
    pub at: Duration,
    /// How long it lasts.
    pub duration: Duration,
    /// Accepted events per second during the stall.
    pub rate: u32,
}

impl StallSchedule {
    /// Time left in the stall at `elapsed` since start, if it is stalling then.
    pub fn remaining(&self, elapsed: Duration) -> Option<Duration> {
        (elapsed >= self.at && elapsed < self.at + self.duration)
            .then(|| self.at + self.duration - elapsed)
    }
}

/// Why a request was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Over the rate: come back after this long (`429`, `Retry-After`).
    Later(Duration),
    /// The batch can never fit the bucket (`413`).
    TooLarge {
        /// Events in the batch.
        events: u32,
        /// Largest batch accepted.
        max: u32,
    },
}

/// The token bucket, on the standard library's monotonic clock. governor's default clock
/// (quanta's TSC) is calibrated when first used; calibrated on a busy 2-core machine, it ran
/// twice as fast, and a 500/s sink admitted 1,000/s for a minute (measured in the lab's burst).
type Bucket = RateLimiter<NotKeyed, InMemoryState, MonotonicClock, NoOpMiddleware<Instant>>;

fn limiter(rate: u32) -> Option<Arc<Bucket>> {
    let per_second = NonZeroU32::new(rate)?;
    let burst = NonZeroU32::new(rate.max(MAX_BATCH)).expect("nonzero");
    Some(Arc::new(RateLimiter::direct_with_clock(
        Quota::per_second(per_second).allow_burst(burst),
        MonotonicClock,
    )))
}

/// The admission state; shared by all requests.
pub struct Admission {
    started: Instant,
    rate: AtomicU32,
    bucket: RwLock<Option<Arc<Bucket>>>,
    stall: Option<StallSchedule>,
    stall_bucket: Option<Arc<Bucket>>,
    paused: AtomicBool,
    clock: MonotonicClock,
}

impl Admission {
    /// `rate` events/s (0 = unlimited), with an optional stall schedule.
    pub fn new(rate: u32, stall: Option<StallSchedule>) -> Self {
        Self {
            started: Instant::now(),
            rate: AtomicU32::new(rate),
            bucket: RwLock::new(limiter(rate)),
            stall_bucket: stall.and_then(|s| limiter(s.rate)),
            stall,
            paused: AtomicBool::new(false),
            clock: MonotonicClock,
        }
    }

    /// Current rate limit (0 = unlimited).
    pub fn rate(&self) -> u32 {
        self.rate.load(Ordering::SeqCst)
    }

    /// Changes the rate limit at run time.
    pub fn set_rate(&self, rate: u32) {
        self.rate.store(rate, Ordering::SeqCst);
        *self.bucket.write().unwrap_or_else(|e| e.into_inner()) = limiter(rate);
    }

    /// Stops (or resumes) accepting anything.
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
    }

    /// Whether it is paused by command.
    pub fn paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// Time left in a scheduled stall, if one is under way.
    pub fn stalling(&self) -> Option<Duration> {
        self.stall.and_then(|s| s.remaining(self.started.elapsed()))
    }

    /// Admits `events` events now, or says when to come back.
    pub fn admit(&self, events: u32) -> Result<(), Refusal> {
        if events > MAX_BATCH {
            return Err(Refusal::TooLarge {
                events,
                max: MAX_BATCH,
            });
        }
        let Some(n) = NonZeroU32::new(events) else {
            return Ok(());
        };
        if self.paused() {
            return Err(Refusal::Later(Duration::from_secs(1)));
        }
        let bucket = match (self.stalling(), &self.stall_bucket) {
            (Some(left), None) => return Err(Refusal::Later(left)),
            (Some(_), Some(stall)) => Some(stall.clone()),
            (None, _) => self
                .bucket
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        };
        let Some(bucket) = bucket else {
            return Ok(()); // unlimited
        };
        match bucket.check_n(n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(Refusal::Later(not_until.wait_time_from(self.clock.now()))),
            Err(_) => Err(Refusal::TooLarge {
                events,
                max: MAX_BATCH,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stall_window_is_half_open() {
        let s = StallSchedule {
            at: Duration::from_secs(10),
            duration: Duration::from_secs(5),
            rate: 0,
        };
        assert_eq!(s.remaining(Duration::from_secs(9)), None);
        assert_eq!(
            s.remaining(Duration::from_secs(10)),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            s.remaining(Duration::from_millis(14_500)),
            Some(Duration::from_millis(500))
        );
        assert_eq!(s.remaining(Duration::from_secs(15)), None);
    }

    #[test]
    fn the_bucket_admits_its_burst_then_refuses_with_a_wait() {
        let a = Admission::new(100, None);
        // Burst is MAX_BATCH (1000) for a rate below it.
        assert_eq!(a.admit(1000), Ok(()));
        match a.admit(10) {
            Err(Refusal::Later(wait)) => assert!(
                wait > Duration::ZERO && wait <= Duration::from_millis(110),
                "{wait:?}"
            ),
            other => panic!("expected a wait, got {other:?}"),
        }
        assert_eq!(
            a.admit(1001),
            Err(Refusal::TooLarge {
                events: 1001,
                max: MAX_BATCH
            })
        );
    }

    #[test]
    fn pause_stall_and_unlimited() {
        let a = Admission::new(
            0,
            Some(StallSchedule {
                at: Duration::ZERO,
                duration: Duration::from_secs(60),
                rate: 0,
            }),
        );
        assert!(
            matches!(a.admit(1), Err(Refusal::Later(w)) if w > Duration::from_secs(50)),
            "stalled at start"
        );
        let b = Admission::new(0, None);
        assert_eq!(b.admit(MAX_BATCH), Ok(()), "0 means unlimited");
        b.set_paused(true);
        assert_eq!(b.admit(1), Err(Refusal::Later(Duration::from_secs(1))));
        b.set_paused(false);
        b.set_rate(5);
        assert_eq!(b.rate(), 5);
        assert_eq!(b.admit(1000), Ok(()));
        assert!(b.admit(1).is_err(), "new rate applies");
    }
}
