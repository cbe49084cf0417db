//! Bounded self-healing of a stuck group membership: when this member owns nothing while
//! partitions with lag have no owner, leave the group and join it again, with a growing pause
//! between attempts and a cap on how many it makes.
//!
//! Why leaving helps: a coordinator that handed this member an empty assignment (a lost
//! SyncGroup, a leader that died mid-rebalance, a zombie member it never evicted) keeps that
//! state until something changes the membership. A LeaveGroup followed by a fresh JoinGroup
//! is the smallest change a member can make by itself. Why bounded: when the fault is not
//! ours to fix, rejoining in a loop only adds rebalances for everyone else, so after the cap
//! the member stays not-ready and says so.

use std::time::{Duration, Instant};

/// What the lag monitor should do about the group after one measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealAction {
    /// Nothing is unowned (or nothing is ours to fix): no action.
    Healthy,
    /// Partitions are unowned, but this member owns some, or the last attempt is still young.
    Wait,
    /// Leave the group and join again; this is attempt number `n` (from 1).
    Rejoin(u32),
    /// `n` attempts did not help: stay not-ready until the partitions have an owner again.
    GaveUp(u32),
}

/// Attempt bookkeeping for [`HealAction`]. Pure: the caller passes the time.
#[derive(Debug, Clone)]
pub struct SelfHeal {
    /// Pause after the first attempt; it doubles after each one.
    base: Duration,
    /// Longest pause between attempts.
    cap: Duration,
    /// Attempts before giving up.
    max_attempts: u32,
    attempts: u32,
    next_allowed: Option<Instant>,
}

impl SelfHeal {
    /// Attempts before giving up.
    pub const MAX_ATTEMPTS: u32 = 5;
    /// Longest pause between two attempts.
    pub const CAP: Duration = Duration::from_secs(3600);

    /// `base` is the first pause: `--stuck-after`, so an attempt gets at least as long to
    /// show progress as the fault took to be noticed.
    pub fn new(base: Duration) -> Self {
        Self {
            base,
            cap: Self::CAP.max(base),
            max_attempts: Self::MAX_ATTEMPTS,
            attempts: 0,
            next_allowed: None,
        }
    }

    /// Attempts made since partitions were last all owned.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Decides at `now`. `own_nothing`: this member's assignment is empty. `unowned`: some
    /// partition with lag has had no owner and no progress for `--stuck-after`.
    pub fn decide(&mut self, own_nothing: bool, unowned: bool, now: Instant) -> HealAction {
        if !unowned {
            // Healed, by us or by anyone: the next fault starts from the first attempt.
            self.attempts = 0;
            self.next_allowed = None;
            return HealAction::Healthy;
        }
        if self.attempts >= self.max_attempts {
            return HealAction::GaveUp(self.attempts);
        }
        if !own_nothing {
            // A member with partitions keeps them; a member with none can rejoin at no cost
            // to anyone's in-flight work.
            return HealAction::Wait;
        }
        if self.next_allowed.is_some_and(|t| now < t) {
            return HealAction::Wait;
        }
        self.attempts += 1;
        let pause = self
            .base
            .saturating_mul(1 << (self.attempts - 1).min(16))
            .min(self.cap);
        self.next_allowed = Some(now + pause);
        HealAction::Rejoin(self.attempts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn rejoins_with_doubling_pauses_then_gives_up() {
        let t0 = Instant::now();
        let mut heal = SelfHeal::new(10 * S);
        assert_eq!(heal.decide(true, true, t0), HealAction::Rejoin(1));
        assert_eq!(heal.decide(true, true, t0 + 9 * S), HealAction::Wait);
        assert_eq!(heal.decide(true, true, t0 + 10 * S), HealAction::Rejoin(2));
        // Second pause is 20 s.
        assert_eq!(heal.decide(true, true, t0 + 29 * S), HealAction::Wait);
        assert_eq!(heal.decide(true, true, t0 + 30 * S), HealAction::Rejoin(3));
        assert_eq!(heal.decide(true, true, t0 + 70 * S), HealAction::Rejoin(4));
        assert_eq!(heal.decide(true, true, t0 + 150 * S), HealAction::Rejoin(5));
        // Never spins: after the cap it only reports, however long it waits.
        assert_eq!(
            heal.decide(true, true, t0 + 10_000 * S),
            HealAction::GaveUp(5)
        );
        assert_eq!(
            heal.decide(true, true, t0 + 99_999 * S),
            HealAction::GaveUp(5)
        );
        assert_eq!(heal.attempts(), 5);
    }

    #[test]
    fn a_member_with_partitions_never_rejoins() {
        let t0 = Instant::now();
        let mut heal = SelfHeal::new(S);
        for i in 0..100 {
            assert_eq!(heal.decide(false, true, t0 + i * S), HealAction::Wait);
        }
    }

    #[test]
    fn owned_again_resets_the_attempts() {
        let t0 = Instant::now();
        let mut heal = SelfHeal::new(S);
        assert_eq!(heal.decide(true, true, t0), HealAction::Rejoin(1));
        assert_eq!(heal.decide(true, false, t0 + S), HealAction::Healthy);
        assert_eq!(heal.attempts(), 0);
        assert_eq!(heal.decide(true, true, t0 + S), HealAction::Rejoin(1));
        assert_eq!(heal.decide(true, false, t0 + 2 * S), HealAction::Healthy);
        assert_eq!(heal.decide(false, false, t0 + 3 * S), HealAction::Healthy);
    }

    #[test]
    fn the_pause_is_capped() {
        let t0 = Instant::now();
        let mut heal = SelfHeal::new(Duration::from_secs(1800));
        assert_eq!(heal.decide(true, true, t0), HealAction::Rejoin(1));
        assert_eq!(
            heal.decide(true, true, t0 + 1800 * S),
            HealAction::Rejoin(2)
        );
        // 3600 s (not 3600 + more): the cap.
        assert_eq!(
            heal.decide(true, true, t0 + 5400 * S),
            HealAction::Rejoin(3)
        );
        assert_eq!(heal.decide(true, true, t0 + 8999 * S), HealAction::Wait);
        assert_eq!(
            heal.decide(true, true, t0 + 9000 * S),
            HealAction::Rejoin(4)
        );
    }
}
