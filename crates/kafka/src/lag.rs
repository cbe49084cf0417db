//! Background lag measurement and the stuck-partition watchdog.
//!
//! Lag is the broker's truth, not the consumer's: high watermark minus the group's *committed*
//! offset, read through a separate client that is not a group member, so the measurement
//! never stalls the poll loop and keeps working while the sink is stalled.

use crate::config::KafkaOpts;
use crate::source::{KafkaHealth, SharedTracker};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streamsre_telemetry::Metrics;

/// Settings of the lag monitor.
#[derive(Debug, Clone)]
pub struct LagConfig {
    /// Brokers and passthrough.
    pub kafka: KafkaOpts,
    /// Topic consumed.
    pub topic: String,
    /// Consumer group whose committed offsets count.
    pub group: String,
    /// How often to measure.
    pub interval: Duration,
    /// A partition with lag whose committed offset has not moved for this long is stuck.
    pub stuck_after: Duration,
}

/// What the last measurement found, for `/readyz`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LagView {
    /// Whether the broker answered the last metadata request (`None` before the first).
    pub metadata: Option<Result<(), String>>,
    /// Stuck partitions and their lag.
    pub stuck: Vec<(i32, i64)>,
}

/// Shared view of the last measurement.
pub type SharedLagView = Arc<Mutex<LagView>>;

/// Per-partition progress bookkeeping of the watchdog.
#[derive(Debug, Default)]
pub struct Watchdog {
    last: HashMap<i32, (Option<i64>, Instant)>,
}

impl Watchdog {
    /// Records a measurement at `now`; returns whether the partition is stuck: it has lag and
    /// its committed offset has not moved for `stuck_after`.
    pub fn observe(
        &mut self,
        partition: i32,
        committed: Option<i64>,
        lag: i64,
        now: Instant,
        stuck_after: Duration,
    ) -> bool {
        let entry = self.last.entry(partition).or_insert((committed, now));
        if entry.0 != committed || lag == 0 {
            *entry = (committed, now);
        }
        lag > 0 && now.duration_since(entry.1) >= stuck_after
    }

    /// Forgets partitions that are no longer assigned.
    pub fn retain(&mut self, assigned: &[i32]) {
        self.last.retain(|p, _| assigned.contains(p));
    }
}

/// Measures every `interval` until `stop` is set. Blocking: run it on its own thread.
pub fn run_lag_monitor(
    config: LagConfig,
    tracker: Arc<SharedTracker>,
    health: Arc<KafkaHealth>,
    metrics: Arc<Metrics>,
    view: SharedLagView,
    stop: Arc<AtomicBool>,
) {
    const TIMEOUT: Duration = Duration::from_secs(5);
    let client: BaseConsumer = match config
        .kafka
        .client_config(&[
            ("group.id", config.group.as_str()),
            ("enable.auto.commit", "false"),
        ])
        .create()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "lag monitor: cannot create its Kafka client; lag metrics disabled");
            return;
        }
    };
    let mut watchdog = Watchdog::default();
    let mut reported: Vec<i32> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        let metadata = client
            .fetch_metadata(Some(&config.topic), TIMEOUT)
            .map(|_| ())
            .map_err(|e| format!("metadata request failed: {e}"));
        if metadata.is_ok() {
            // The broker answers again: clear an "all brokers down" failure even if no
            // message has arrived since (an idle topic would otherwise stay not ready).
            health.recovered();
        }
        let assigned = tracker.assigned();
        let mut stuck = Vec::new();
        let mut sum = 0;
        if metadata.is_ok() && !assigned.is_empty() {
            let mut tpl = TopicPartitionList::new();
            for p in &assigned {
                tpl.add_partition(&config.topic, *p);
            }
            match client.committed_offsets(tpl, TIMEOUT) {
                Ok(committed) => {
                    for &p in &assigned {
                        let committed_offset =
                            committed.find_partition(&config.topic, p).and_then(|e| {
                                match e.offset() {
                                    Offset::Offset(o) => Some(o),
                                    _ => None,
                                }
                            });
                        let Ok((low, high)) = client.fetch_watermarks(&config.topic, p, TIMEOUT)
                        else {
                            continue;
                        };
                        let lag = (high - committed_offset.unwrap_or(low)).max(0);
                        sum += lag;
                        metrics.partition_offsets(&config.topic, p, committed_offset, high, lag);
                        if watchdog.observe(p, committed_offset, lag, now, config.stuck_after) {
                            stuck.push((p, lag));
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "lag monitor: committed offsets unavailable"),
            }
        }
        for p in reported.iter().filter(|p| !assigned.contains(p)) {
            metrics.forget_partition(&config.topic, *p);
        }
        watchdog.retain(&assigned);
        reported = assigned;
        if !stuck.is_empty() {
            tracing::warn!(?stuck, after = ?config.stuck_after, "partitions with lag made no progress");
        }
        metrics.lag_summary(sum, stuck.len());
        *view.lock().unwrap_or_else(|e| e.into_inner()) = LagView {
            metadata: Some(metadata),
            stuck,
        };
        let next = now + config.interval;
        while Instant::now() < next && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_is_stuck_only_with_lag_and_no_progress_for_long_enough() {
        let mut w = Watchdog::default();
        let t0 = Instant::now();
        let after = Duration::from_secs(60);
        assert!(!w.observe(0, Some(10), 5, t0, after));
        assert!(!w.observe(0, Some(10), 5, t0 + Duration::from_secs(59), after));
        assert!(
            w.observe(0, Some(10), 5, t0 + Duration::from_secs(60), after),
            "no progress for 60 s"
        );
        assert!(
            !w.observe(0, Some(11), 5, t0 + Duration::from_secs(61), after),
            "progress resets"
        );
        assert!(
            !w.observe(0, Some(11), 0, t0 + Duration::from_secs(200), after),
            "no lag, not stuck"
        );
        assert!(
            !w.observe(0, Some(11), 3, t0 + Duration::from_secs(230), after),
            "idle before the lag counts as progress"
        );
        w.retain(&[]);
        assert!(
            !w.observe(0, Some(11), 3, t0 + Duration::from_secs(400), after),
            "forgotten after revoke"
        );
    }
}
