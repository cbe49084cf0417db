//! A producer's load profile as steps of constant rate: `1500:2m,8000:5m,1500:3m` sends 1,500
//! events/s for two minutes, then 8,000/s for five, then 1,500/s for three. The lab's `burst`
//! experiment is built on it, and `streamsre produce --schedule` accepts it on its own.
//!
//! The schedule only says which rate is in force when; the producer's open-model pacing (each
//! message due one interval after the previous one was due) turns that into send times, so a
//! step up is not smoothed and a slow broker does not shift later steps.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One step: `rate` events/s for `duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// Events per second while the step lasts (above 0).
    pub rate: f64,
    /// How long the step lasts.
    pub duration: Duration,
}

/// Steps of constant rate, run in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    steps: Vec<Step>,
}

impl Schedule {
    /// A schedule of `steps`; there must be at least one and none may last zero time.
    pub fn new(steps: Vec<Step>) -> Result<Self, String> {
        if steps.is_empty() {
            return Err("a schedule needs at least one step (example: 1500:2m,8000:5m)".into());
        }
        if let Some(s) = steps.iter().find(|s| s.duration.is_zero()) {
            return Err(format!("a step at {}/s lasts no time", s.rate));
        }
        // A producer reads a rate of 0 as "as fast as possible", the opposite of a lull.
        if let Some(s) = steps.iter().find(|s| !(s.rate.is_finite() && s.rate > 0.0)) {
            return Err(format!(
                "{} is not a rate (events/s above 0; for a lull use a low rate such as 1)",
                s.rate
            ));
        }
        Ok(Self { steps })
    }

    /// The steps in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// How long the whole schedule runs.
    pub fn total(&self) -> Duration {
        self.steps.iter().map(|s| s.duration).sum()
    }

    /// The rate in force `elapsed` after the start, or `None` once the schedule is over. A step
    /// owns its start and not its end, so at a boundary the next step's rate is in force.
    pub fn rate_at(&self, elapsed: Duration) -> Option<f64> {
        let mut end = Duration::ZERO;
        for step in &self.steps {
            end += step.duration;
            if elapsed < end {
                return Some(step.rate);
            }
        }
        None
    }

    /// How many events the schedule sends in all (each step's rate × its duration).
    pub fn expected_events(&self) -> u64 {
        self.steps
            .iter()
            .map(|s| (s.rate * s.duration.as_secs_f64()).round() as u64)
            .sum()
    }

    /// The same shape with every rate multiplied by `rate` and every duration by `time` (the
    /// lab's quick scale keeps ratios and shortens runs).
    pub fn scaled(&self, rate: f64, time: f64) -> Self {
        let steps = self
            .steps
            .iter()
            .map(|s| Step {
                rate: s.rate * rate,
                duration: s.duration.mul_f64(time),
            })
            .collect();
        Self { steps }
    }
}

impl FromStr for Schedule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let steps = s
            .split(',')
            .map(|part| {
                let part = part.trim();
                let (rate, duration) = part
                    .split_once(':')
                    .ok_or_else(|| format!("{part:?} is not RATE:DURATION (example: 1500:2m)"))?;
                let rate: f64 = rate
                    .trim()
                    .parse()
                    .map_err(|_| format!("{rate:?} in {part:?} is not a rate in events/s"))?;
                let duration = humantime::parse_duration(duration.trim())
                    .map_err(|e| format!("{duration:?} in {part:?}: {e} (examples: 90s, 2m)"))?;
                Ok(Step { rate, duration })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Self::new(steps)
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}:{}", s.rate, humantime::format_duration(s.duration))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn parses_the_lab_specifications_burst() {
        let s: Schedule = "1500:2m,8000:5m,1500:3m".parse().unwrap();
        assert_eq!(s.steps().len(), 3);
        assert_eq!(s.total(), secs(600));
        assert_eq!(s.expected_events(), 1500 * 120 + 8000 * 300 + 1500 * 180);
    }

    #[test]
    fn the_next_step_owns_the_boundary_and_none_follows_the_end() {
        let s: Schedule = "100:10s,1:5s,300:1s".parse().unwrap();
        assert_eq!(s.rate_at(Duration::ZERO), Some(100.0));
        assert_eq!(s.rate_at(secs(10) - Duration::from_millis(1)), Some(100.0));
        assert_eq!(s.rate_at(secs(10)), Some(1.0));
        assert_eq!(s.rate_at(secs(15)), Some(300.0));
        assert_eq!(s.rate_at(secs(16)), None);
    }

    #[test]
    fn scaling_keeps_the_shape() {
        let s: Schedule = "1500:2m,8000:5m".parse().unwrap();
        let q = s.scaled(0.5, 0.1);
        assert_eq!(
            q.steps()[0],
            Step {
                rate: 750.0,
                duration: secs(12)
            }
        );
        assert_eq!(
            q.steps()[1],
            Step {
                rate: 4000.0,
                duration: secs(30)
            }
        );
        assert_eq!(q.to_string().parse::<Schedule>().unwrap(), q);
    }

    #[test]
    fn bad_schedules_say_what_is_wrong() {
        for (input, needle) in [
            ("", "RATE:DURATION"),
            ("1500", "RATE:DURATION"),
            ("fast:2m", "not a rate"),
            ("1500:soon", "examples"),
            ("1500:0s", "lasts no time"),
            ("-5:1s", "not a rate"),
            ("0:1s", "for a lull"),
            ("NaN:1s", "not a rate"),
        ] {
            let err = input.parse::<Schedule>().unwrap_err();
            assert!(err.contains(needle), "{input:?} → {err}");
        }
    }
}
