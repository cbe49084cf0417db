//! The consumer's callbacks: on revoke, finish (or abandon) the revoked partitions' in-flight
//! work and commit it before the partitions are released; on assign, start tracking; client
//! errors and commit results go to health and metrics. librdkafka runs them inside `poll`,
//! on the source thread.

use super::{GroupState, SourceShared};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::error::{KafkaError, KafkaResult};
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

impl ConsumerContext for SourceContext {
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
