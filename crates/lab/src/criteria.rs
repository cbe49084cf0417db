//! The lab's acceptance criteria as pure checks over what an experiment measured. Each check
//! returns a [`Criterion`] with its number, the value measured and the threshold it was held
//! to, so `summary.json` and the report show *why* a criterion passed or failed, and `lab run`
//! exits non-zero if any failed.
//!
//! Series are `(t_s, value)` samples, one per second, as the experiment's `timeseries.csv`
//! holds them. The checks never look at wall time, so they test with small synthetic series.

use serde::{Deserialize, Serialize};

/// One checked criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    /// Its number in the lab's list (stable across runs, quoted by the report).
    pub number: u32,
    /// What it asks, in words.
    pub criterion: String,
    /// Whether the measured value met the threshold.
    pub passed: bool,
    /// What was measured; infinite for something that never happened (a lag that never
    /// recovered), which JSON writes as `null` and reads back as infinite.
    #[serde(deserialize_with = "null_is_never")]
    pub value: f64,
    /// What it was held to.
    pub threshold: f64,
}

fn null_is_never<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
}

impl Criterion {
    fn new(
        number: u32,
        criterion: impl Into<String>,
        passed: bool,
        value: f64,
        threshold: f64,
    ) -> Self {
        Self {
            number,
            criterion: criterion.into(),
            passed,
            value,
            threshold,
        }
    }
}

/// A `(t_s, value)` series.
pub type Series = [(f64, f64)];

/// The least-squares slope of `series` in value units per second; 0 for fewer than two points
/// or a series with no time span.
pub fn slope(series: &Series) -> f64 {
    let n = series.len() as f64;
    if series.len() < 2 {
        return 0.0;
    }
    let (mt, mv) = series
        .iter()
        .fold((0.0, 0.0), |(a, b), (t, v)| (a + t / n, b + v / n));
    let (num, den) = series.iter().fold((0.0, 0.0), |(num, den), (t, v)| {
        (num + (t - mt) * (v - mv), den + (t - mt) * (t - mt))
    });
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

/// The second half of a series: what is left once start-up has settled.
fn second_half(series: &Series) -> &Series {
    &series[series.len() / 2..]
}

/// Memory stays below `limit` over the whole run (the specification: RSS < 512 MB for bounded
/// and pull).
pub fn stays_below(number: u32, what: &str, series: &Series, limit: f64) -> Criterion {
    let max = series.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    Criterion::new(
        number,
        format!("{what} stays below the limit"),
        !series.is_empty() && max < limit,
        max,
        limit,
    )
}

/// No monotonic growth: over the second half of the run, the fitted trend adds at most
/// `tolerance` (a fraction of the half's mean) from its start to its end. A flat series with
/// noise passes; a leak, however slow, shows as a trend over a long enough run.
pub fn flat(number: u32, what: &str, series: &Series, tolerance: f64) -> Criterion {
    let half = second_half(series);
    let span = match (half.first(), half.last()) {
        (Some((a, _)), Some((b, _))) => b - a,
        _ => 0.0,
    };
    let mean = half.iter().map(|(_, v)| v).sum::<f64>() / half.len().max(1) as f64;
    let growth = slope(half) * span;
    let threshold = tolerance * mean;
    Criterion::new(
        number,
        format!(
            "{what} is flat over the second half (fitted growth within {:.0}% of its mean)",
            tolerance * 100.0
        ),
        half.len() >= 2 && growth <= threshold,
        growth,
        threshold,
    )
}

/// The unbounded queue's failure, reproduced: memory grows by at least `min_growth` over the
/// run, the process died, and the heap profile was saved before it did. `value` is the growth.
pub fn grows_then_dies(
    number: u32,
    series: &Series,
    min_growth: f64,
    died: bool,
    profile_saved: bool,
) -> Criterion {
    let growth = slope(series)
        * match (series.first(), series.last()) {
            (Some((a, _)), Some((b, _))) => b - a,
            _ => 0.0,
        };
    Criterion::new(
        number,
        "unbounded memory grows, the process dies at its cap, and the heap profile is saved",
        growth >= min_growth && died && profile_saved,
        growth,
        min_growth,
    )
}

/// A measured value is at least `threshold`.
pub fn at_least(number: u32, what: &str, value: f64, threshold: f64) -> Criterion {
    Criterion::new(number, what, value >= threshold, value, threshold)
}

/// A measured value is at most `threshold`.
pub fn at_most(number: u32, what: &str, value: f64, threshold: f64) -> Criterion {
    Criterion::new(number, what, value <= threshold, value, threshold)
}

/// One point of a batch-size sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Batch size.
    pub batch: u32,
    /// Sink throughput, events/s.
    pub throughput: f64,
    /// End-to-end p99, ms.
    pub p99_ms: f64,
}

/// The knee of a batch-size sweep: the batch size after which a bigger batch adds less than
/// `min_gain` (a fraction) of throughput. `None` when every step still gains (no knee within
/// the sweep). Points are taken in batch order.
pub fn knee(points: &[SweepPoint], min_gain: f64) -> Option<SweepPoint> {
    let mut sorted = points.to_vec();
    sorted.sort_by_key(|p| p.batch);
    sorted
        .windows(2)
        .find(|w| w[1].throughput < w[0].throughput * (1.0 + min_gain))
        .map(|w| w[0])
}

/// The batch size to recommend for a p99 SLO: the largest one up to the knee whose p99 meets
/// `slo_ms` (beyond the knee a bigger batch only adds latency).
pub fn recommend(points: &[SweepPoint], min_gain: f64, slo_ms: f64) -> Option<SweepPoint> {
    let limit = knee(points, min_gain).map_or(u32::MAX, |k| k.batch);
    points
        .iter()
        .filter(|p| p.batch <= limit && p.p99_ms <= slo_ms)
        .max_by_key(|p| p.batch)
        .copied()
}

/// The knee is found. `value` is the knee's batch size (0 when none was found).
pub fn knee_found(number: u32, points: &[SweepPoint], min_gain: f64) -> Criterion {
    let k = knee(points, min_gain);
    Criterion::new(
        number,
        format!(
            "the batch-size knee is found (next size adds < {:.0}% throughput)",
            min_gain * 100.0
        ),
        k.is_some(),
        k.map_or(0.0, |k| k.batch as f64),
        min_gain,
    )
}

/// Per-key order holds with key dispatch and breaks with round-robin. `value` is round-robin's
/// violation count (key dispatch must be 0, round-robin above it).
pub fn ordering(number: u32, key_violations: u64, round_robin_violations: u64) -> Criterion {
    Criterion::new(
        number,
        "ordering violations are 0 with key dispatch and > 0 with round-robin",
        key_violations == 0 && round_robin_violations > 0,
        round_robin_violations as f64,
        0.0,
    )
}

/// Seconds from `from_t` until `series` is back at or under `band`; `None` if it never is.
pub fn time_to_return(series: &Series, from_t: f64, band: f64) -> Option<f64> {
    series
        .iter()
        .find(|(t, v)| *t >= from_t && *v <= band)
        .map(|(t, _)| t - from_t)
}

/// The pre-stall band: the highest value in `[from_t, to_t)` (lag wobbles by a batch or two
/// even when flat, so the band is its observed top, not its mean).
pub fn band(series: &Series, from_t: f64, to_t: f64) -> f64 {
    series
        .iter()
        .filter(|(t, _)| *t >= from_t && *t < to_t)
        .map(|(_, v)| *v)
        .fold(0.0, f64::max)
}

/// After the sink recovers at `recovered_t`, lag is back in its pre-stall `band` within
/// `bound_s`. `value` is the recovery time (infinite if it never returned).
pub fn recovers(number: u32, lag: &Series, recovered_t: f64, band: f64, bound_s: f64) -> Criterion {
    let took = time_to_return(lag, recovered_t, band).unwrap_or(f64::INFINITY);
    Criterion::new(
        number,
        "lag returns to its pre-stall band within the bound after the sink recovers",
        took < bound_s,
        took,
        bound_s,
    )
}

/// The eviction is reproduced in blocking mode and gone with decoupled polling. `value` is the
/// fixed run's eviction count.
pub fn eviction_fixed(number: u32, blocking_evictions: u64, decoupled_evictions: u64) -> Criterion {
    Criterion::new(
        number,
        "blocking poll gets a member evicted; decoupled polling has zero evictions",
        blocking_evictions > 0 && decoupled_evictions == 0,
        decoupled_evictions as f64,
        0.0,
    )
}

/// Nothing lost: every produced event was written (buffer and slow-source). `value` is the
/// number missing.
pub fn no_loss(number: u32, policy: &str, produced: u64, written: u64) -> Criterion {
    Criterion::new(
        number,
        format!("{policy}: every produced event is written (zero loss)"),
        written == produced,
        produced.saturating_sub(written) as f64,
        0.0,
    )
}

/// Shed accounts for every event: written + shed = produced. `value` is the difference.
pub fn shed_accounted(number: u32, produced: u64, written: u64, shed: u64) -> Criterion {
    let diff = (written + shed) as f64 - produced as f64;
    Criterion::new(
        number,
        "shed: written + shed = produced",
        diff == 0.0,
        diff,
        0.0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[f64]) -> Vec<(f64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64, *v))
            .collect()
    }

    #[test]
    fn bounds_either_way() {
        assert!(at_least(2, "x", 5.0, 5.0).passed);
        assert!(!at_least(2, "x", 4.9, 5.0).passed);
        assert!(at_most(2, "x", 5.0, 5.0).passed);
        let c = at_most(2, "x", 5.1, 5.0);
        assert!(!c.passed && c.value == 5.1 && c.threshold == 5.0);
    }

    #[test]
    fn slope_of_a_line_and_of_nothing() {
        assert!((slope(&series(&[1.0, 3.0, 5.0, 7.0])) - 2.0).abs() < 1e-9);
        assert_eq!(slope(&series(&[4.0])), 0.0);
        assert_eq!(slope(&[(1.0, 1.0), (1.0, 5.0)]), 0.0, "no time span");
    }

    #[test]
    fn flat_memory_passes_and_a_slow_leak_fails() {
        let noisy: Vec<f64> = (0..60)
            .map(|i| 100.0 + if i % 2 == 0 { 3.0 } else { -3.0 })
            .collect();
        assert!(flat(1, "RSS", &series(&noisy), 0.05).passed);
        // +0.5 per second on ~115: 15 over the second half, 13% of its mean.
        let leak: Vec<f64> = (0..60).map(|i| 100.0 + 0.5 * i as f64).collect();
        let c = flat(1, "RSS", &series(&leak), 0.05);
        assert!(!c.passed, "{c:?}");
        assert!((c.value - 14.5).abs() < 1e-6);
        assert!(
            !flat(1, "RSS", &series(&[1.0]), 0.05).passed,
            "too short to judge"
        );
    }

    #[test]
    fn a_limit_is_a_limit() {
        assert!(stays_below(2, "RSS", &series(&[10.0, 500.0]), 512.0).passed);
        assert!(!stays_below(2, "RSS", &series(&[10.0, 600.0, 10.0]), 512.0).passed);
        assert!(
            !stays_below(2, "RSS", &[], 512.0).passed,
            "no samples prove nothing"
        );
    }

    #[test]
    fn the_unbounded_failure_needs_growth_death_and_a_profile() {
        let growing = series(&[10.0, 50.0, 90.0, 130.0]);
        assert!(grows_then_dies(3, &growing, 100.0, true, true).passed);
        assert!(
            !grows_then_dies(3, &growing, 100.0, false, true).passed,
            "did not die"
        );
        assert!(
            !grows_then_dies(3, &growing, 100.0, true, false).passed,
            "no profile"
        );
        assert!(!grows_then_dies(3, &series(&[10.0, 12.0, 11.0]), 100.0, true, true).passed);
    }

    fn point(batch: u32, throughput: f64, p99_ms: f64) -> SweepPoint {
        SweepPoint {
            batch,
            throughput,
            p99_ms,
        }
    }

    #[test]
    fn the_knee_is_where_bigger_batches_stop_paying() {
        let points = [
            point(200, 1800.0, 300.0),
            point(1, 300.0, 40.0),
            point(1000, 1850.0, 900.0),
            point(50, 1200.0, 120.0),
        ];
        assert_eq!(knee(&points, 0.10).map(|k| k.batch), Some(200));
        assert!(knee_found(4, &points, 0.10).passed);
        // For a 500 ms SLO: 200 (at the knee) meets it; 1000 is past the knee anyway.
        assert_eq!(recommend(&points, 0.10, 500.0).map(|p| p.batch), Some(200));
        // For a 100 ms SLO only batch 1 qualifies.
        assert_eq!(recommend(&points, 0.10, 100.0).map(|p| p.batch), Some(1));
        let still_gaining = [point(1, 100.0, 10.0), point(50, 500.0, 20.0)];
        assert_eq!(knee(&still_gaining, 0.10), None);
        assert!(!knee_found(4, &still_gaining, 0.10).passed);
    }

    #[test]
    fn ordering_needs_both_halves() {
        assert!(ordering(5, 0, 17).passed);
        assert!(!ordering(5, 1, 17).passed);
        assert!(
            !ordering(5, 0, 0).passed,
            "round-robin must show the violations it causes"
        );
    }

    #[test]
    fn stall_recovery_is_timed_from_the_sink_coming_back() {
        // Flat at ≤ 100 before t=10, a stall to 900, back under 100 at t=25.
        let mut lag = vec![
            90.0, 100.0, 80.0, 95.0, 100.0, 90.0, 85.0, 100.0, 95.0, 90.0,
        ];
        lag.extend([
            300.0, 600.0, 900.0, 800.0, 600.0, 400.0, 300.0, 200.0, 150.0, 120.0,
        ]);
        lag.extend([110.0, 105.0, 104.0, 103.0, 101.0, 99.0, 90.0]);
        let lag = series(&lag);
        let b = band(&lag, 0.0, 10.0);
        assert_eq!(b, 100.0);
        assert_eq!(time_to_return(&lag, 13.0, b), Some(12.0));
        assert!(recovers(6, &lag, 13.0, b, 30.0).passed);
        let c = recovers(6, &lag, 13.0, b, 10.0);
        assert!(!c.passed && c.value == 12.0);
        assert!(recovers(6, &lag, 13.0, 50.0, 300.0).value.is_infinite());
    }

    #[test]
    fn evictions_must_happen_then_stop() {
        assert!(eviction_fixed(7, 2, 0).passed);
        assert!(!eviction_fixed(7, 0, 0).passed, "not reproduced");
        assert!(!eviction_fixed(7, 2, 1).passed, "not fixed");
    }

    #[test]
    fn loss_and_shed_accounting() {
        assert!(no_loss(8, "buffer", 1000, 1000).passed);
        let c = no_loss(8, "buffer", 1000, 990);
        assert!(!c.passed && c.value == 10.0);
        assert!(shed_accounted(9, 1000, 700, 300).passed);
        assert!(!shed_accounted(9, 1000, 700, 290).passed);
        assert!(
            !shed_accounted(9, 1000, 700, 310).passed,
            "double counting fails too"
        );
    }

    #[test]
    fn criteria_serialize_as_the_summary_expects() {
        let json = serde_json::to_value(ordering(5, 0, 3)).unwrap();
        assert_eq!(
            json["criterion"],
            "ordering violations are 0 with key dispatch and > 0 with round-robin"
        );
        assert_eq!(json["passed"], true);
        assert_eq!(json["value"], 3.0);
        assert_eq!(json["threshold"], 0.0);
        assert_eq!(json["number"], 5);
    }
}
