//! How big an experiment runs. `full` is the lab specification's numbers as given (8,000/s into
//! a 2,000/s sink for 30 minutes, a stall at T+10 min for 90 s, recovery within 5 minutes).
//! `quick` keeps every ratio (the 4× imbalance, the stall at 10% of the sink's rate, the same
//! sweeps) and scales rates and times by fixed factors, so an experiment fits in 5 minutes on a
//! 2-core machine whose local broker (Tansu on sqlite) acknowledges a few thousand events/s.
//! The report states the factors, so every quick figure can be read back at full scale.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Quick scale's factor on every rate (source, sink, stall).
pub const QUICK_RATE: f64 = 0.25;
/// Quick scale's factor on every duration (run length, stall start and length, bounds).
pub const QUICK_TIME: f64 = 0.1;
/// Tiny scale's factor on every duration: the end-to-end test's size, shapes only.
pub const TINY_TIME: f64 = 0.02;

/// An experiment's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// Same shape, rates × [`QUICK_RATE`], times × [`QUICK_TIME`].
    Quick,
    /// The lab specification's numbers.
    Full,
    /// Quick's rates with times × [`TINY_TIME`]: every phase is seconds long. For the
    /// end-to-end test of the runner; too short for its criteria to mean much.
    Tiny,
}

impl Scale {
    /// This scale's factor on rates.
    pub fn rate_factor(self) -> f64 {
        match self {
            Scale::Quick | Scale::Tiny => QUICK_RATE,
            Scale::Full => 1.0,
        }
    }

    /// This scale's factor on durations.
    pub fn time_factor(self) -> f64 {
        match self {
            Scale::Quick => QUICK_TIME,
            Scale::Tiny => TINY_TIME,
            Scale::Full => 1.0,
        }
    }

    /// A number for `facts.csv` (0 full, 1 quick, 2 tiny).
    pub fn code(self) -> f64 {
        match self {
            Scale::Full => 0.0,
            Scale::Quick => 1.0,
            Scale::Tiny => 2.0,
        }
    }

    /// The scale [`Scale::code`] wrote.
    pub fn from_code(code: f64) -> Option<Self> {
        [Scale::Full, Scale::Quick, Scale::Tiny]
            .into_iter()
            .find(|s| s.code() == code)
    }

    /// A full-scale rate (events/s) at this scale, never below 1/s.
    pub fn rate(self, full: f64) -> f64 {
        (full * self.rate_factor()).max(1.0)
    }

    /// A full-scale duration at this scale, whole seconds, never below 1 s (metrics are
    /// sampled once a second, so a shorter phase would not be seen).
    pub fn time(self, full: Duration) -> Duration {
        Duration::from_secs((full.as_secs_f64() * self.time_factor()).round().max(1.0) as u64)
    }

    /// A count that grows with both rate and time (e.g. events sent over a phase).
    pub fn count(self, full: u64) -> u64 {
        ((full as f64) * self.rate_factor() * self.time_factor())
            .round()
            .max(1.0) as u64
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scale::Quick => "quick",
            Scale::Full => "full",
            Scale::Tiny => "tiny",
        })
    }
}

impl FromStr for Scale {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "quick" => Ok(Scale::Quick),
            "full" => Ok(Scale::Full),
            "tiny" => Ok(Scale::Tiny),
            other => Err(format!(
                "unknown scale {other:?} (quick or full; tiny for tests)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60;

    #[test]
    fn scales_name_and_code_round_trip() {
        for s in [Scale::Full, Scale::Quick, Scale::Tiny] {
            assert_eq!(s.to_string().parse::<Scale>(), Ok(s));
            assert_eq!(Scale::from_code(s.code()), Some(s));
        }
        assert_eq!(Scale::from_code(7.0), None);
        assert_eq!(
            Scale::Tiny.time(Duration::from_secs(5 * MIN)),
            Duration::from_secs(6)
        );
    }

    #[test]
    fn full_scale_is_the_specification() {
        let s = Scale::Full;
        assert_eq!(s.rate(8000.0), 8000.0);
        assert_eq!(
            s.time(Duration::from_secs(30 * MIN)),
            Duration::from_secs(30 * MIN)
        );
    }

    #[test]
    fn quick_scale_keeps_the_ratios_and_fits_in_five_minutes() {
        let s = Scale::Quick;
        // The 4× imbalance and the stall at 10% of the sink's rate survive scaling.
        assert_eq!(s.rate(8000.0) / s.rate(2000.0), 4.0);
        assert_eq!(s.rate(200.0) / s.rate(2000.0), 0.1);
        // The longest experiment (30 min) fits in 5 minutes; stall timing keeps its shape.
        assert!(s.time(Duration::from_secs(30 * MIN)) <= Duration::from_secs(5 * MIN));
        assert_eq!(
            s.time(Duration::from_secs(10 * MIN)),
            Duration::from_secs(60)
        );
        assert_eq!(s.time(Duration::from_secs(90)), Duration::from_secs(9));
        assert_eq!(s.count(8000 * 30 * MIN), 2000 * 3 * MIN);
    }

    #[test]
    fn tiny_values_do_not_vanish() {
        assert_eq!(Scale::Quick.rate(1.0), 1.0);
        assert_eq!(
            Scale::Quick.time(Duration::from_secs(2)),
            Duration::from_secs(1)
        );
        assert_eq!(Scale::Quick.count(1), 1);
    }

    #[test]
    fn parses_and_prints() {
        for s in [Scale::Quick, Scale::Full] {
            assert_eq!(s.to_string().parse::<Scale>().unwrap(), s);
        }
        assert!("medium"
            .parse::<Scale>()
            .unwrap_err()
            .contains("quick or full"));
    }
}
