//! What `streamsre top` shows, computed from two scrapes of a target's `/metrics`.
//! Pure: no I/O, so it is unit-tested on literal scrapes.

use std::collections::BTreeMap;
use std::time::Duration;

/// One scrape, as `(name, labels) -> value`.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Scrape {
    /// Parses Prometheus text format.
    pub fn parse(text: &str) -> Self {
        let mut samples = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let (series, value) = match line.rsplit_once(' ') {
                Some((s, v)) => (s, v),
                None => continue,
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, parse_labels(rest.trim_end_matches('}'))),
                None => (series, BTreeMap::new()),
            };
            samples.push((name.to_string(), labels, value));
        }
        Self { samples }
    }

    fn matching<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = (&'a BTreeMap<String, String>, f64)> + 'a {
        self.samples
            .iter()
            .filter(move |(n, _, _)| n == name)
            .map(|(_, l, v)| (l, *v))
    }

    /// Sum of every sample of `name` whose labels pass `keep`.
    pub fn sum(&self, name: &str, keep: impl Fn(&BTreeMap<String, String>) -> bool) -> f64 {
        self.matching(name)
            .filter(|(l, _)| keep(l))
            .map(|(_, v)| v)
            .sum()
    }

    fn buckets(&self, name: &str) -> Vec<(f64, f64)> {
        self.matching(name)
            .filter_map(|(l, v)| {
                let le = l.get("le")?;
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().ok()?
                };
                Some((le, v))
            })
            .collect()
    }
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let Some(end) = after.find('"') else { break };
        out.insert(
            key.trim_start_matches(',').trim().to_string(),
            after[..end].to_string(),
        );
        rest = &after[end + 1..];
    }
    out
}

/// Quantile of a histogram from cumulative buckets, interpolated like `histogram_quantile`.
pub fn quantile(q: f64, mut buckets: Vec<(f64, f64)>) -> Option<f64> {
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let (mut prev_le, mut prev_count) = (0.0, 0.0);
    for (le, count) in buckets {
        if count >= rank {
            if le.is_infinite() {
                return Some(prev_le);
            }
            let width = (count - prev_count).max(1e-9);
            return Some(prev_le + (le - prev_le) * ((rank - prev_count) / width));
        }
        (prev_le, prev_count) = (le, count);
    }
    Some(prev_le)
}

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
            Some(b) => ((now.sum(name, keep) - b.sum(name, keep)) / secs).max(0.0),
            None => 0.0,
        };
        let result_is = |r: &'static str| {
            move |l: &BTreeMap<String, String>| l.get("result").map(String::as_str) == Some(r)
        };
        let latency = {
            let cur = now.buckets("e2e_latency_seconds_bucket");
            let prev = before
                .map(|b| b.buckets("e2e_latency_seconds_bucket"))
                .unwrap_or_default();
            let delta: Vec<(f64, f64)> = cur
                .iter()
                .map(|(le, v)| {
                    let old = prev.iter().find(|(p, _)| p == le).map_or(0.0, |(_, v)| *v);
                    (*le, v - old)
                })
                .collect();
            (quantile(0.5, delta.clone()), quantile(0.99, delta))
        };
        let mut partitions: Vec<PartitionRow> = now
            .matching("consumer_lag")
            .map(|(l, lag)| {
                let topic = l.get("topic").cloned().unwrap_or_default();
                let partition = l
                    .get("partition")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(-1);
                let committed = now
                    .matching("consumer_committed_offset")
                    .find(|(cl, _)| {
                        cl.get("topic") == Some(&topic) && cl.get("partition") == l.get("partition")
                    })
                    .map(|(_, v)| v);
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
            .matching("dependency_up")
            .filter(|(_, v)| *v == 0.0)
            .filter_map(|(l, _)| l.get("dependency").cloned())
            .collect();
        let breaker = match now.sum("sink_circuit_state", |_| true) as i64 {
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
            lag: now.sum("consumer_lag_all_partitions", |_| true),
            in_flight: now.sum("inflight_workers", |_| true),
            p50_ms: latency.0.map(|s| s * 1000.0),
            p99_ms: latency.1.map(|s| s * 1000.0),
            rss_mib: now.sum("process_resident_memory_bytes", |_| true) / (1024.0 * 1024.0),
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
