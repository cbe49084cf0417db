//! Background lag measurement, the stuck-partition watchdog and the unowned-partition check.
//!
//! Lag is the broker's truth, not the consumer's: high watermark minus the group's *committed*
//! offset, read through a separate client that is not a group member, so the measurement
//! never stalls the poll loop and keeps working while the sink is stalled.

use crate::config::KafkaOpts;
use crate::connection::QuietContext;
use crate::group::{DescribeTrust, GroupDescriber, GroupView, Silence};
use crate::heal::{HealAction, SelfHeal};
use crate::source::KafkaHealth;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streamsre_flow::SharedTracker;
use streamsre_telemetry::Metrics;
use tokio_util::sync::CancellationToken;

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
    /// Stuck partitions of this member and their lag.
    pub stuck: Vec<(i32, i64)>,
    /// The group's side: partitions nobody owns.
    pub group: GroupCheck,
    /// The group's committed offset of every partition that has one (ledger pruning stays
    /// below it).
    pub committed: Vec<(i32, i64)>,
}

/// The unowned-partition check, from the group's own view (see [`crate::group`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupCheck {
    /// Partitions with lag that no live member has owned, and whose committed offset has not
    /// moved, for `--stuck-after`; with their lag.
    pub unowned: Vec<(i32, i64)>,
    /// The members the coordinator still lists, as `id@host` (`None`: it could not be asked).
    pub members: Option<String>,
    /// Whether the coordinator reported assignments (if not, only this member's partitions
    /// have a known owner).
    pub assignments_reported: bool,
    /// Leave-and-rejoin attempts since the partitions were last owned.
    pub rejoins: u32,
    /// Whether the attempts are used up.
    pub gave_up: bool,
    /// Why the group could not be described, if it could not.
    pub error: Option<String>,
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

    /// Forgets the partitions `keep` rejects (revoked ones, or ones this member now owns).
    pub fn retain(&mut self, mut keep: impl FnMut(i32) -> bool) {
        self.last.retain(|p, _| keep(*p));
    }
}

/// Measures every `interval` until `stop` is cancelled. Blocking: run it on its own thread.
pub fn run_lag_monitor(
    config: LagConfig,
    tracker: Arc<SharedTracker>,
    health: Arc<KafkaHealth>,
    metrics: Arc<Metrics>,
    view: SharedLagView,
    stop: CancellationToken,
) {
    let client: BaseConsumer<QuietContext> = match config.kafka.create_quiet(&[
        ("group.id", config.group.as_str()),
        ("enable.auto.commit", "false"),
    ]) {
        Ok((c, _)) => c,
        Err(e) => {
            tracing::error!(error = %e, "lag monitor: cannot create its Kafka client; lag metrics disabled");
            return;
        }
    };
    let describer = match GroupDescriber::new(&config.kafka, &config.group) {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::error!(error = %e, "lag monitor: the unowned-partition check is off");
            None
        }
    };
    let mut monitor = Monitor {
        heal: SelfHeal::new(config.stuck_after),
        config,
        client,
        describer,
        describe: DescribeTrust::default(),
        mine: Watchdog::default(),
        others: Watchdog::default(),
        reported: Vec::new(),
        unowned_before: Vec::new(),
        gave_up_logged: false,
    };
    while !stop.is_cancelled() {
        let now = Instant::now();
        let measured = monitor.measure(&tracker, &health, &metrics, now);
        *view.lock().unwrap_or_else(|e| e.into_inner()) = measured;
        let next = now + monitor.config.interval;
        while Instant::now() < next && !stop.is_cancelled() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The lag monitor's state between measurements.
struct Monitor {
    config: LagConfig,
    client: BaseConsumer<QuietContext>,
    describer: Option<GroupDescriber>,
    /// How to read DescribeGroups failures (a broker that never answers it, or a blip).
    describe: DescribeTrust,
    /// Progress of this member's partitions (the stuck-partition watchdog).
    mine: Watchdog,
    /// Progress of every other partition of the topic (the unowned-partition check). Kept
    /// apart so a partition handed over to this member starts a fresh `--stuck-after`.
    others: Watchdog,
    heal: SelfHeal,
    /// Partitions whose series were exported last time.
    reported: Vec<i32>,
    /// The partitions the last check found unowned.
    unowned_before: Vec<i32>,
    gave_up_logged: bool,
}

impl Monitor {
    const TIMEOUT: Duration = Duration::from_secs(5);

    fn measure(
        &mut self,
        tracker: &SharedTracker,
        health: &KafkaHealth,
        metrics: &Metrics,
        now: Instant,
    ) -> LagView {
        let topic = self.config.topic.clone();
        let metadata = self
            .client
            .fetch_metadata(Some(&topic), Self::TIMEOUT)
            .map_err(|e| format!("metadata request failed: {e}"));
        let partitions: Vec<i32> = match &metadata {
            Ok(md) => md
                .topics()
                .iter()
                .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                .collect(),
            Err(_) => Vec::new(),
        };
        if metadata.is_ok() {
            // The broker answers again: clear an "all brokers down" failure even if no
            // message has arrived since (an idle topic would otherwise stay not ready).
            health.recovered();
        }
        let assigned = tracker.assigned();
        let mut stuck = Vec::new();
        let mut stalled_elsewhere = Vec::new();
        let mut sum = 0;
        let mut committed_all = Vec::new();
        if !partitions.is_empty() {
            let mut tpl = TopicPartitionList::new();
            for p in &partitions {
                tpl.add_partition(&topic, *p);
            }
            match self.client.committed_offsets(tpl, Self::TIMEOUT) {
                Ok(committed) => {
                    for &p in &partitions {
                        let committed_offset =
                            committed
                                .find_partition(&topic, p)
                                .and_then(|e| match e.offset() {
                                    Offset::Offset(o) => Some(o),
                                    _ => None,
                                });
                        committed_all.extend(committed_offset.map(|o| (p, o)));
                        let Ok((low, high)) =
                            self.client.fetch_watermarks(&topic, p, Self::TIMEOUT)
                        else {
                            continue;
                        };
                        let lag = (high - committed_offset.unwrap_or(low)).max(0);
                        let after = self.config.stuck_after;
                        if assigned.contains(&p) {
                            sum += lag;
                            metrics.partition_offsets(&topic, p, committed_offset, high, lag);
                            if self.mine.observe(p, committed_offset, lag, now, after) {
                                stuck.push((p, lag));
                            }
                        } else if self.others.observe(p, committed_offset, lag, now, after) {
                            stalled_elsewhere.push((p, lag));
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "lag monitor: committed offsets unavailable"),
            }
        }
        for p in self.reported.iter().filter(|p| !assigned.contains(p)) {
            metrics.forget_partition(&topic, *p);
        }
        self.mine.retain(|p| assigned.contains(&p));
        self.others.retain(|p| !assigned.contains(&p));
        if !stuck.is_empty() {
            tracing::warn!(?stuck, after = ?self.config.stuck_after, "partitions with lag made no progress");
        }
        metrics.lag_summary(sum, stuck.len());
        let group = self.check_group(&stalled_elsewhere, &assigned, health, metrics, now);
        self.reported = assigned;
        LagView {
            metadata: Some(metadata.map(|_| ())),
            stuck,
            group,
            committed: committed_all,
        }
    }

    /// The unowned-partition check and the self-heal it drives. `stalled`: partitions that are
    /// not this member's, with lag that has not moved for `--stuck-after`, and that lag.
    fn check_group(
        &mut self,
        stalled: &[(i32, i64)],
        assigned: &[i32],
        health: &KafkaHealth,
        metrics: &Metrics,
        now: Instant,
    ) -> GroupCheck {
        let mut check = GroupCheck::default();
        // Describing the group costs two requests; only a stalled partition needs it.
        if !stalled.is_empty() {
            let stuck_after = self.config.stuck_after;
            let view: Result<GroupView, Silence> = match self.describe.skip_asking(now, stuck_after)
            {
                Some(silence) => Err(silence),
                None => {
                    let result = match &self.describer {
                        Some(d) => d
                            .describe(&self.config.topic, Self::TIMEOUT)
                            .map_err(|e| format!("{e:#}")),
                        None => Err("no describe client".to_string()),
                    };
                    match result {
                        Ok(view) => {
                            self.describe.answered();
                            Ok(view)
                        }
                        Err(e) => {
                            let first = self.describe.is_first_failure();
                            let silence = self.describe.failed(e, now, stuck_after);
                            match &silence {
                                Silence::Hold(e) if first => {
                                    tracing::warn!(error = %e, "cannot describe the consumer group; keeping the last ownership verdict while retrying")
                                }
                                Silence::Fallback(e) if first => {
                                    tracing::warn!(error = %e, "cannot describe the consumer group; judging ownership from this member's own assignment")
                                }
                                _ => {}
                            }
                            Err(silence)
                        }
                    }
                }
            };
            // When the coordinator cannot be asked (Tansu's sqlite storage fails every
            // DescribeGroups), fall back on what this member knows: `stalled` holds only
            // partitions that are not its own, and nobody has moved them. During a blip of a
            // coordinator that answered before, the last verdict stands.
            check.unowned = stalled
                .iter()
                .copied()
                .filter(|(p, _)| match &view {
                    Ok(v) => v.is_unowned(*p, assigned),
                    Err(Silence::Hold(_)) => self.unowned_before.contains(p),
                    Err(Silence::Fallback(_)) => true,
                })
                .collect();
            match view {
                Ok(view) => {
                    check.members = Some(view.member_labels());
                    check.assignments_reported = view.assignments_reported();
                }
                Err(Silence::Hold(e) | Silence::Fallback(e)) => check.error = Some(e),
            }
        }
        metrics.unowned_partitions(check.unowned.len());
        let unowned = !check.unowned.is_empty();
        let unowned_before = !self.unowned_before.is_empty();
        if unowned && !unowned_before {
            tracing::error!(
                group = %self.config.group,
                partitions = ?check.unowned,
                members = check.members.as_deref().unwrap_or("unknown"),
                describe_error = check.error.as_deref().unwrap_or(""),
                after = ?self.config.stuck_after,
                "partitions with lag have no live owner in the consumer group"
            );
        } else if !unowned && unowned_before {
            tracing::info!(group = %self.config.group, "every partition with lag has an owner again");
        }
        self.unowned_before = check.unowned.iter().map(|(p, _)| *p).collect();
        let action = self.heal.decide(assigned.is_empty(), unowned, now);
        match action {
            HealAction::Rejoin(attempt) => {
                tracing::warn!(group = %self.config.group, attempt, max = SelfHeal::MAX_ATTEMPTS, "this member owns nothing while partitions are unowned: rejoining the group");
                metrics.group_rejoin();
                health.request_rejoin();
            }
            HealAction::GaveUp(attempts) if !self.gave_up_logged => {
                tracing::error!(group = %self.config.group, attempts, "rejoining did not give the unowned partitions an owner; staying not ready (the group coordinator needs attention)");
                self.gave_up_logged = true;
            }
            HealAction::Healthy => self.gave_up_logged = false,
            HealAction::Wait | HealAction::GaveUp(_) => {}
        }
        check.rejoins = self.heal.attempts();
        check.gave_up = matches!(action, HealAction::GaveUp(_));
        check
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
        w.retain(|_| false);
        assert!(
            !w.observe(0, Some(11), 3, t0 + Duration::from_secs(400), after),
            "forgotten after revoke"
        );
    }
}
