//! Exact latency percentiles for end-of-run summaries.

use hdrhistogram::Histogram;
use std::sync::Mutex;
use std::time::Duration;

/// End-to-end latency recorder (produce timestamp to durable write) with exact percentiles.
///
/// Prometheus histograms only give bucket-interpolated quantiles; the summary printed at the
/// end of a run reads this instead. Recording takes one short lock per batch.
#[derive(Debug)]
pub struct LatencyStats {
    hist: Mutex<Histogram<u64>>,
}

impl Default for LatencyStats {
    fn default() -> Self {
        Self {
            // 1 µs to 1 hour at 3 significant digits: fixed memory (~200 KB) whatever the load.
            hist: Mutex::new(
                Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds"),
            ),
        }
    }
}

impl LatencyStats {
    /// Records a batch of latencies in microseconds, saturating at the histogram's bound.
    pub fn record_micros(&self, values: impl IntoIterator<Item = u64>) {
        let mut hist = self.hist.lock().unwrap_or_else(|e| e.into_inner());
        for v in values {
            hist.saturating_record(v.max(1));
        }
    }

    /// The latency at `quantile` (0.0 to 1.0), or `None` if nothing was recorded.
    pub fn quantile(&self, quantile: f64) -> Option<Duration> {
        let hist = self.hist.lock().unwrap_or_else(|e| e.into_inner());
        (!hist.is_empty()).then(|| Duration::from_micros(hist.value_at_quantile(quantile)))
    }

    /// How many latencies were recorded.
    pub fn count(&self) -> u64 {
        self.hist.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_reflect_recorded_values() {
        let s = LatencyStats::default();
        assert_eq!(s.quantile(0.5), None);
        s.record_micros((1..=1000).map(|ms| ms * 1000));
        let p50 = s.quantile(0.5).unwrap().as_millis();
        let p99 = s.quantile(0.99).unwrap().as_millis();
        assert!((499..=501).contains(&p50), "p50 {p50}");
        assert!((989..=991).contains(&p99), "p99 {p99}");
        assert_eq!(s.count(), 1000);
    }
}
