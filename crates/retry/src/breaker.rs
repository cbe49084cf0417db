use std::sync::Mutex;
use std::time::{Duration, Instant};

/// State of a [`CircuitBreaker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Normal: every attempt goes through.
    Closed,
    /// Too many consecutive transient failures: no attempt goes through until the cool-down
    /// ends, so a failing database is not hammered by every lane at once.
    Open,
    /// Cool-down over: one probe attempt is let through; its result closes or reopens.
    HalfOpen,
}

impl BreakerState {
    /// Numeric value exported as the `sink_circuit_state` gauge (0 closed, 1 half-open, 2 open).
    pub fn as_gauge(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen => 1,
            Self::Open => 2,
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    consecutive_failures: u32,
    opened_at: Option<Instant>,
    probe_in_flight: bool,
}

/// A circuit breaker shared by every sink lane.
///
/// Backoff alone spaces the retries of *one* lane; with several lanes and a database that is
/// down, each lane still probes it on its own schedule. The breaker makes them act together:
/// after `threshold` consecutive transient failures it opens, all lanes wait, and after
/// `open_for` a single probe decides whether to close again. Only transient failures count:
/// a permanent error is the data's fault, not the database's.
#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    open_for: Duration,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    /// A closed breaker that opens after `threshold` consecutive transient failures and stays
    /// open for `open_for` before probing.
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            open_for,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                consecutive_failures: 0,
                opened_at: None,
                probe_in_flight: false,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        self.lock().state
    }

    /// Asks to make an attempt at `now`: `Ok` to go ahead, or `Err(wait)` to ask again later.
    pub fn permit(&self, now: Instant) -> Result<(), Duration> {
        let mut inner = self.lock();
        match inner.state {
            BreakerState::Closed => Ok(()),
            BreakerState::Open => {
                let opened = inner.opened_at.unwrap_or(now);
                let reopen = opened + self.open_for;
                if now >= reopen {
                    inner.state = BreakerState::HalfOpen;
                    inner.probe_in_flight = true;
                    Ok(())
                } else {
                    Err(reopen - now)
                }
            }
            // One probe at a time; the others check back soon.
            BreakerState::HalfOpen if inner.probe_in_flight => Err(Duration::from_millis(50)),
            BreakerState::HalfOpen => {
                inner.probe_in_flight = true;
                Ok(())
            }
        }
    }

    /// Reports a successful attempt (or one that failed permanently: the database answered).
    /// Returns true if this closed an open or half-open breaker.
    pub fn on_success(&self) -> bool {
        let mut inner = self.lock();
        let reopened = inner.state != BreakerState::Closed;
        inner.state = BreakerState::Closed;
        inner.consecutive_failures = 0;
        inner.opened_at = None;
        inner.probe_in_flight = false;
        reopened
    }

    /// Reports a transient failure at `now`. Returns true if this opened the breaker.
    pub fn on_failure(&self, now: Instant) -> bool {
        let mut inner = self.lock();
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        let open = match inner.state {
            BreakerState::HalfOpen => true,
            BreakerState::Closed => inner.consecutive_failures >= self.threshold,
            BreakerState::Open => false,
        };
        if open {
            inner.state = BreakerState::Open;
            inner.opened_at = Some(now);
            inner.probe_in_flight = false;
        }
        open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_consecutive_failures_and_success_resets_the_count() {
        let b = CircuitBreaker::new(3, Duration::from_secs(5));
        let t = Instant::now();
        assert!(!b.on_failure(t));
        assert!(!b.on_failure(t));
        assert!(!b.on_success(), "already closed");
        assert!(!b.on_failure(t));
        assert!(!b.on_failure(t));
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(b.on_failure(t), "third consecutive failure opens");
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(
            b.permit(t + Duration::from_secs(2)),
            Err(Duration::from_secs(3))
        );
    }

    #[test]
    fn half_open_lets_one_probe_through_which_closes_or_reopens() {
        let b = CircuitBreaker::new(1, Duration::from_secs(5));
        let t = Instant::now();
        b.on_failure(t);
        let later = t + Duration::from_secs(5);
        assert_eq!(b.permit(later), Ok(()), "the probe");
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(b.permit(later).is_err(), "only one probe at a time");

        assert!(b.on_failure(later), "a failed probe reopens");
        assert_eq!(b.state(), BreakerState::Open);
        assert!(b.permit(later + Duration::from_secs(1)).is_err());

        let again = later + Duration::from_secs(5);
        assert_eq!(b.permit(again), Ok(()));
        assert!(b.on_success(), "a good probe closes");
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.permit(again), Ok(()));
    }

    #[test]
    fn gauge_values_are_ordered_by_severity() {
        assert!(BreakerState::Closed.as_gauge() < BreakerState::HalfOpen.as_gauge());
        assert!(BreakerState::HalfOpen.as_gauge() < BreakerState::Open.as_gauge());
    }
}
