//! The slow-source policy's side channel: the consumer publishes what its sink sustains, and a
//! cooperating producer (`streamsre produce --adaptive`) follows it. One type for both ends,
//! so the wire format (`GET /control/rate`, JSON) is defined once.

use crate::OverloadPolicy;
use serde::{Deserialize, Serialize};

/// What `GET /control/rate` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateAdvice {
    /// Finished events per second, smoothed.
    pub sustainable_rate: f64,
    /// The consumer's overload policy (`buffer`, `shed`, `slow-source`).
    pub policy: String,
    /// Whether the producer should follow the rate: only under `slow-source`.
    pub advise: bool,
}

/// Headroom a following producer sends above the sustainable rate, so the source keeps probing
/// for more capacity instead of settling below it.
const HEADROOM: f64 = 1.1;

/// The slowest rate a following producer is told to send (it never stops entirely).
const FLOOR: f64 = 10.0;

impl RateAdvice {
    /// The advice of a consumer with `policy` that finishes `sustainable_rate` events/s.
    pub fn new(policy: OverloadPolicy, sustainable_rate: f64) -> Self {
        Self {
            sustainable_rate,
            policy: policy.name().to_string(),
            advise: policy == OverloadPolicy::SlowSource,
        }
    }

    /// The rate a producer capped at `ceiling` events/s (0: none) should send, or `None` to
    /// keep its current rate (no advice, or nothing finished yet).
    pub fn producer_rate(&self, ceiling: f64) -> Option<f64> {
        if !self.advise || self.sustainable_rate <= 0.0 {
            return None;
        }
        let limit = if ceiling > 0.0 { ceiling } else { f64::MAX };
        Some((self.sustainable_rate * HEADROOM).clamp(FLOOR.min(limit), limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_slow_source_advises() {
        for (policy, advise) in [
            (OverloadPolicy::Buffer, false),
            (OverloadPolicy::Shed, false),
            (OverloadPolicy::SlowSource, true),
        ] {
            let a = RateAdvice::new(policy, 500.0);
            assert_eq!(a.advise, advise, "{policy:?}");
            assert_eq!(a.producer_rate(0.0).is_some(), advise, "{policy:?}");
        }
    }

    #[test]
    fn the_producer_follows_with_headroom_within_its_ceiling() {
        let a = RateAdvice::new(OverloadPolicy::SlowSource, 1000.0);
        assert_eq!(a.producer_rate(0.0), Some(1100.0));
        assert_eq!(a.producer_rate(800.0), Some(800.0), "never above --rate");
        let slow = RateAdvice::new(OverloadPolicy::SlowSource, 1.0);
        assert_eq!(slow.producer_rate(0.0), Some(FLOOR));
        let idle = RateAdvice::new(OverloadPolicy::SlowSource, 0.0);
        assert_eq!(idle.producer_rate(0.0), None, "nothing finished yet");
    }

    #[test]
    fn the_wire_format_round_trips() {
        let a = RateAdvice::new(OverloadPolicy::SlowSource, 12.5);
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"sustainable_rate": 12.5, "policy": "slow-source", "advise": true})
        );
        assert_eq!(serde_json::from_value::<RateAdvice>(json).unwrap(), a);
    }
}
