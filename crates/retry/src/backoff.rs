use rand::Rng;
use std::time::Duration;

/// Capped exponential backoff with full jitter.
///
/// Attempt `n` (0-based) waits a uniformly random time in `[0, min(cap, base * 2^n)]`. Full
/// jitter spreads retries of many workers that failed together (e.g. when Postgres restarts),
/// so they do not hammer it in lock step when it comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Upper bound of the first wait.
    pub base: Duration,
    /// Upper bound of any wait.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    /// The ceiling of the wait before retry `attempt` (0-based), before jitter.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The wait before retry `attempt`, drawn from `rng`.
    pub fn delay<R: Rng + ?Sized>(&self, attempt: u32, rng: &mut R) -> Duration {
        let ceiling = self.ceiling(attempt);
        if ceiling.is_zero() {
            return ceiling;
        }
        Duration::from_nanos(rng.gen_range(0..=ceiling.as_nanos() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ceiling_doubles_then_caps() {
        let b = Backoff::default();
        assert_eq!(b.ceiling(0), Duration::from_millis(100));
        assert_eq!(b.ceiling(1), Duration::from_millis(200));
        assert_eq!(b.ceiling(5), Duration::from_millis(3200));
        assert_eq!(b.ceiling(6), Duration::from_secs(5));
        assert_eq!(
            b.ceiling(1000),
            Duration::from_secs(5),
            "no overflow on huge attempts"
        );
    }

    #[test]
    fn delays_stay_within_the_ceiling_and_are_jittered() {
        let b = Backoff::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for attempt in 0..10 {
            let delays: Vec<Duration> = (0..200).map(|_| b.delay(attempt, &mut rng)).collect();
            assert!(delays.iter().all(|d| *d <= b.ceiling(attempt)));
            let distinct: std::collections::HashSet<_> = delays.iter().collect();
            assert!(distinct.len() > 150, "full jitter must spread delays");
        }
    }
}
