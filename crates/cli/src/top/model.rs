//! What `streamsre top` shows, computed from two scrapes of a target's `/metrics`.
//! Pure: no I/O, so it is unit-tested on literal scrapes.

use std::collections::BTreeMap;
use std::time::Duration;
use streamsre_telemetry::metrics::quantile;
pub use streamsre_telemetry::metrics::Scrape;

/// One row of the partition table.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionRow {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i64,
    /// Lag in messages.
    pub lag: f64,
    /// Committed offset, if known.
    pub committed: Option<f64>,
}

/// Everything shown for one target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetView {
    /// `host:port`.
    pub target: String,
    /// Last scrape error, if the target did not answer.
    pub error: Option<String>,
    /// Messages fetched per second.
    pub consumed_per_s: f64,
    /// Events applied per second.
    pub applied_per_s: f64,
    /// Events sent to the DLQ per second.
    pub dlq_per_s: f64,
    /// Total lag of this member.
    pub lag: f64,
    /// In-flight messages (the pipeline's queue depth).
    pub in_flight: f64,
    /// End-to-end latency over the last interval.
    pub p50_ms: Option<f64>,
    /// 99th percentile over the last interval.
    pub p99_ms: Option<f64>,
    /// Resident memory in MiB.
    pub rss_mib: f64,
    /// Names of failing dependencies.
    pub not_ready: Vec<String>,
    /// Circuit breaker: closed, half-open or open.
    pub breaker: &'static str,
    /// Per-partition lag, most lagging first.
    pub partitions: Vec<PartitionRow>,
}

impl TargetView {
    /// The view of a target that did not answer.
    pub fn unreachable(target: &str, error: String) -> Self {
        Self {
            target: target.to_string(),
            error: Some(error),
            consumed_per_s: 0.0,
            applied_per_s: 0.0,
            dlq_per_s: 0.0,
            lag: 0.0,
            in_flight: 0.0,
            p50_ms: None,
            p99_ms: None,
            rss_mib: 0.0,
            not_ready: vec![],
            breaker: "-",
            partitions: vec![],
        }
    }

    /// Computes the view from the current scrape and, for rates, the previous one taken
    /// `elapsed` earlier.
    pub fn compute(target: &str, now: &Scrape, before: Option<&Scrape>, elapsed: Duration) -> Self {
        let secs = elapsed.as_secs_f64().max(1e-3);
        let rate = |name: &str, keep: &dyn Fn(&BTreeMap<String, String>) -> bool| match before {
            Some(b) => ((now.sum_where(name, keep) - b.sum_where(name, keep)) / secs).max(0.0),
            None => 0.0,
        };
        let result_is = |r: &'static str| {
            move |l: &BTreeMap<String, String>| l.get("result").map(String::as_str) == Some(r)
        };
        let latency = {
            let delta = now.buckets_since(before, "e2e_latency_seconds");
            (quantile(0.5, &delta), quantile(0.99, &delta))
        };
        let mut partitions: Vec<PartitionRow> = now
            .family("consumer_lag")
            .map(|sample| {
                let (l, lag) = (&sample.labels, sample.value);
                let topic = l.get("topic").cloned().unwrap_or_default();
                let partition = l
                    .get("partition")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(-1);
                let committed = now
                    .family("consumer_committed_offset")
                    .find(|c| {
                        c.labels.get("topic") == Some(&topic)
                            && c.labels.get("partition") == l.get("partition")
                    })
                    .map(|c| c.value);
                PartitionRow {
                    topic,
                    partition,
                    lag,
                    committed,
                }
            })
            .collect();
        partitions.sort_by(|a, b| b.lag.total_cmp(&a.lag).then(a.partition.cmp(&b.partition)));
        let not_ready = now
            .family("dependency_up")
            .filter(|s| s.value == 0.0)
            .filter_map(|s| s.labels.get("dependency").cloned())
            .collect();
        let breaker = match now.sum("sink_circuit_state").unwrap_or(0.0) as i64 {
            0 => "closed",
            1 => "half-open",
            _ => "open",
        };
        Self {
            target: target.to_string(),
            error: None,
            consumed_per_s: rate("events_consumed_total", &|_| true),
            applied_per_s: rate("events_processed_total", &result_is("success")),
            dlq_per_s: rate("events_processed_total", &result_is("dlq")),
            lag: now.sum("consumer_lag_all_partitions").unwrap_or(0.0),
            in_flight: now.sum("inflight_workers").unwrap_or(0.0),
            p50_ms: latency.0.map(|s| s * 1000.0),
            p99_ms: latency.1.map(|s| s * 1000.0),
            rss_mib: now.sum("process_resident_memory_bytes").unwrap_or(0.0) / (1024.0 * 1024.0),
            not_ready,
            breaker,
            partitions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = r#"
# TYPE events_consumed_total counter
events_consumed_total 1000
events_processed_total{result="success"} 900
events_processed_total{result="dlq"} 10
e2e_latency_seconds_bucket{le="0.1"} 0
e2e_latency_seconds_bucket{le="0.2"} 0
e2e_latency_seconds_bucket{le="+Inf"} 0
"#;
    const NOW: &str = r#"
events_consumed_total 3000
events_processed_total{result="success"} 2880
events_processed_total{result="dlq"} 30
e2e_latency_seconds_bucket{le="0.1"} 1000
e2e_latency_seconds_bucket{le="0.2"} 2000
e2e_latency_seconds_bucket{le="+Inf"} 2000
consumer_lag{topic="events.main",partition="0"} 5
consumer_lag{topic="events.main",partition="1"} 50
consumer_committed_offset{topic="events.main",partition="1"} 700
consumer_lag_all_partitions 55
inflight_workers 12
process_resident_memory_bytes 52428800
dependency_up{dependency="kafka"} 1
dependency_up{dependency="postgres"} 0
sink_circuit_state 2
"#;

    #[test]
    fn rates_latency_and_partitions_come_from_two_scrapes() {
        let v = TargetView::compute(
            "c1:2112",
            &Scrape::parse(NOW),
            Some(&Scrape::parse(BEFORE)),
            Duration::from_secs(2),
        );
        assert_eq!(v.consumed_per_s, 1000.0);
        assert_eq!(v.applied_per_s, 990.0);
        assert_eq!(v.dlq_per_s, 10.0);
        assert_eq!(v.lag, 55.0);
        assert_eq!(v.in_flight, 12.0);
        assert_eq!(v.rss_mib, 50.0);
        assert!((v.p50_ms.unwrap() - 100.0).abs() < 1e-6, "{:?}", v.p50_ms);
        assert!((v.p99_ms.unwrap() - 198.0).abs() < 1e-6, "{:?}", v.p99_ms);
        assert_eq!(v.not_ready, vec!["postgres".to_string()]);
        assert_eq!(v.breaker, "open");
        assert_eq!(v.partitions[0].partition, 1, "most lagging first");
        assert_eq!(v.partitions[0].committed, Some(700.0));
    }

    #[test]
    fn a_first_scrape_has_no_rates() {
        let v = TargetView::compute("c1", &Scrape::parse(NOW), None, Duration::from_secs(1));
        assert_eq!(v.consumed_per_s, 0.0);
    }
}
