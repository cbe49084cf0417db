//! The consumer's callbacks: on revoke, finish (or abandon) the revoked partitions' in-flight
//! work and commit it before the partitions are released; on assign, start tracking; client
//! errors and commit results go to health and metrics. librdkafka runs them inside `poll`,
//! on the source thread.

use super::{GroupState, SourceShared};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, RebalanceProtocol,
};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, TopicPartitionList};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The source's librdkafka context.
pub(super) struct SourceContext {
    pub shared: SourceShared,
    pub topic: String,
    /// Bumped on every rebalance; messages fetched under an older generation are dropped
    /// before dispatch (they will be fetched again from the committed offset).
    pub generation: AtomicU64,
    pub revoke_timeout: Duration,
    /// `--start-from` a time: where partitions the group never committed start.
    pub start_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl SourceContext {
    /// Commits `points` (partition, next offset) and records them as committed.
    pub fn commit(&self, consumer: &BaseConsumer<Self>, points: &[(i32, i64)], mode: CommitMode) {
        if points.is_empty() {
            return;
        }
        let mut tpl = TopicPartitionList::new();
        for &(p, o) in points {
            // Offsets are "next to read"; add_partition_offset only fails for invalid offsets.
            if let Err(e) = tpl.add_partition_offset(&self.topic, p, Offset::Offset(o)) {
                tracing::error!(partition = p, offset = o, error = %e, "invalid commit offset");
            }
        }
        match consumer.commit(&tpl, mode) {
            Ok(()) => {
                let mut tracker = self.shared.tracker.lock();
                for &(p, o) in points {
                    tracker.mark_committed(p, o);
                }
            }
            // Not fatal: the offsets stay pending and the next commit carries them.
            Err(e) => tracing::warn!(error = %e, "offset commit failed"),
        }
    }
}

impl ClientContext for SourceContext {
    /// librdkafka's log, INFO and up (see `client.rs`): connection failures are classified
    /// and reported once by health; the lines themselves are debug detail, not retry spam.
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        if fac == "FAIL" {
            self.shared.health.observe(None, log_message);
        }
        tracing::debug!(?level, fac, log_message, "librdkafka");
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let code = error.rdkafka_error_code();
        if self.shared.health.observe(code, reason) {
            return;
        }
        match code {
            // Already said by a classified line; librdkafka retries on its own.
            _ if self.shared.health.is_connection_failure(code, reason) => {
                tracing::debug!(error = %error, reason, "kafka client error")
            }
            Some(RDKafkaErrorCode::Fatal) => {
                self.shared
                    .health
                    .set(GroupState::Failed(format!("{error}: {reason}")));
                tracing::error!(error = %error, reason, "kafka client error");
            }
            _ => tracing::error!(error = %error, reason, "kafka client error"),
        }
    }
}

impl SourceContext {
    /// Points the partitions of `tpl` that the group has never committed at the first message
    /// at or after `at` (the log end if there is none). If the broker cannot say, they keep
    /// `auto.offset.reset` (the beginning): reading too much is deduplicated, too little
    /// would be lost.
    fn start_uncommitted_at(
        &self,
        consumer: &BaseConsumer<Self>,
        tpl: &mut TopicPartitionList,
        at: chrono::DateTime<chrono::Utc>,
    ) {
        const TIMEOUT: Duration = Duration::from_secs(10);
        let looked_up = consumer
            .committed_offsets(tpl.clone(), TIMEOUT)
            .and_then(|committed| {
                let mut ask = TopicPartitionList::new();
                for e in committed.elements_for_topic(&self.topic) {
                    if !matches!(e.offset(), Offset::Offset(_)) {
                        ask.add_partition_offset(
                            &self.topic,
                            e.partition(),
                            Offset::Offset(at.timestamp_millis()),
                        )?;
                    }
                }
                if ask.count() == 0 {
                    return Ok(ask);
                }
                consumer.offsets_for_times(ask, TIMEOUT)
            });
        let found = match looked_up {
            Ok(found) => found,
            Err(e) => {
                tracing::error!(error = %e, %at, "--start-from: cannot look up the offsets at that time; partitions without a committed offset start from the beginning");
                return;
            }
        };
        let mut starts = Vec::new();
        for e in found.elements_for_topic(&self.topic) {
            let start = match e.offset() {
                Offset::Offset(n) if n >= 0 && e.error().is_ok() => Offset::Offset(n),
                _ if e.error().is_err() => continue,
                _ => Offset::End,
            };
            if tpl
                .set_partition_offset(&self.topic, e.partition(), start)
                .is_ok()
            {
                starts.push((e.partition(), start));
            }
        }
        tracing::info!(%at, ?starts, "--start-from: partitions without a committed offset start at that time");
    }
}

impl ConsumerContext for SourceContext {
    /// rdkafka's own rebalance (pre-rebalance, assign or unassign, post-rebalance), with one
    /// step before an assignment: with `--start-from` a time, the new partitions the group
    /// never committed get their start offsets. (rdkafka's default cannot be called once
    /// overridden, so its few lines are here.)
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let assign = err == RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
        let revoke = err == RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS;
        if let (true, Some(at)) = (assign, self.start_at) {
            self.start_uncommitted_at(consumer, tpl, at);
        }
        let rebalance = if assign {
            Rebalance::Assign(tpl)
        } else if revoke {
            Rebalance::Revoke(tpl)
        } else {
            Rebalance::Error(KafkaError::Rebalance(err.into()))
        };
        self.pre_rebalance(consumer, &rebalance);
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        let done = match (assign, cooperative) {
            (true, true) => consumer.incremental_assign(tpl),
            (true, false) => consumer.assign(tpl),
            (false, true) => consumer.incremental_unassign(tpl),
            (false, false) => consumer.unassign(),
        };
        if let Err(e) = done {
            tracing::error!(error = %e, assign, "applying the rebalance failed");
        }
        self.post_rebalance(consumer, &rebalance);
    }

    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        match rebalance {
            Rebalance::Revoke(tpl) => {
                self.shared.metrics.rebalance("revoke");
                let parts: Vec<i32> = tpl
                    .elements_for_topic(&self.topic)
                    .iter()
                    .map(|e| e.partition())
                    .collect();
                // Finish what was dispatched for these partitions, so the new owner starts
                // exactly after it; past the timeout, abandon it uncommitted (redelivered).
                let drained = self.shared.tracker.wait_until(self.revoke_timeout, |t| {
                    parts.iter().all(|p| t.in_flight(*p) == 0)
                });
                if !drained {
                    tracing::warn!(
                        ?parts,
                        timeout = ?self.revoke_timeout,
                        "revoke: in-flight work did not finish in time; leaving it uncommitted for the next owner"
                    );
                }
                let points: Vec<(i32, i64)> = {
                    let tracker = self.shared.tracker.lock();
                    parts
                        .iter()
                        .filter_map(|&p| tracker.commit_point(p).map(|o| (p, o)))
                        .collect()
                };
                self.commit(consumer, &points, CommitMode::Sync);
                let mut tracker = self.shared.tracker.lock();
                for p in &parts {
                    tracker.revoke(*p);
                }
                drop(tracker);
                self.shared.health.set(GroupState::Joining);
                tracing::info!(?parts, committed = ?points, "partitions revoked");
            }
            Rebalance::Assign(tpl) => {
                self.shared.metrics.rebalance("assign");
                let mut tracker = self.shared.tracker.lock();
                for e in tpl.elements_for_topic(&self.topic) {
                    tracker.assign(e.partition());
                }
            }
            Rebalance::Error(e) => {
                self.shared.metrics.rebalance("error");
                tracing::error!(error = %e, "rebalance error");
                self.shared.health.set(GroupState::Failed(e.to_string()));
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            let parts: Vec<i32> = tpl
                .elements_for_topic(&self.topic)
                .iter()
                .map(|e| e.partition())
                .collect();
            self.shared.metrics.assigned(parts.len());
            self.shared.health.set(GroupState::Assigned(parts.len()));
            tracing::info!(?parts, "partitions assigned");
        } else if let Rebalance::Revoke(_) = rebalance {
            self.shared.metrics.assigned(0);
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        // librdkafka reports both sync and async commits here, so this is the one place
        // commits are counted.
        self.shared.metrics.commit(result.is_ok());
        if let Err(e) = result {
            tracing::warn!(error = %e, "offset commit failed");
        }
    }
}
