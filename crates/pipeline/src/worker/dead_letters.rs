//! Dead letters: written to the DLQ table (in the batch's transaction, or on their own after a
//! bisection) and published to the DLQ topic before the batch's offsets may complete.

use super::{Abandoned, Item, WorkerContext, Written};
use streamsre_kafka::dlq::classify_kafka;
use streamsre_retry::{retry, RetryOutcome};
use streamsre_sink::DeadLetter;

impl WorkerContext {
    /// Records for work given up on after `max_attempts` transient failures. The sink is
    /// failing, so they can only go to the DLQ topic; `streamsre dlq replay` is not possible
    /// for them, but any consumer of the DLQ topic can re-send them.
    pub(super) fn exhausted(&self, items: &[Item], reason: &str) -> Written {
        tracing::error!(
            messages = items.len(),
            %reason,
            "retries exhausted (--on-retries-exhausted=dlq): sending the batch to the DLQ topic"
        );
        let attempts = self.policy.max_attempts;
        Written::dlq_only(
            items
                .iter()
                // A skipped (unrouted) message needed nothing from the sink: not a dead letter.
                .filter(|i| !i.skipped())
                .map(|i| i.to_dlq("retries_exhausted", reason, attempts))
                .collect(),
        )
    }

    /// Writes DLQ rows on their own. They cannot fail permanently with well-formed input
    /// (raw bytes go to bytea); if they do, that is a bug: keep the work uncommitted.
    pub(super) async fn write_dlq(&self, records: Vec<DeadLetter>) -> Result<Written, Abandoned> {
        match self
            .db("insert_dlq", || self.sink.write_dlq(&records))
            .await
        {
            RetryOutcome::Done(_) => Ok(Written::dlq_only(records)),
            RetryOutcome::Exhausted(reason) => {
                tracing::error!(%reason, "DLQ table unavailable; records go to the DLQ topic only");
                Ok(Written::dlq_only(records))
            }
            RetryOutcome::Permanent(reason) => {
                tracing::error!(%reason, "DLQ write failed permanently; leaving offsets uncommitted");
                Err(Abandoned)
            }
            RetryOutcome::Cancelled => Err(Abandoned),
        }
    }

    /// Publishes DLQ records to the DLQ topic and waits for the acknowledgement.
    pub(super) async fn publish_dlq(&self, records: &[DeadLetter]) -> Result<(), Abandoned> {
        let outcome = retry(
            &self.policy,
            &self.cancel,
            || async {
                self.dlq
                    .publish(records)
                    .await
                    .map_err(|e| classify_kafka(&e))
            },
            |notice| self.on_retry("publish_dlq", notice),
        )
        .await;
        match outcome {
            RetryOutcome::Done(()) => Ok(()),
            RetryOutcome::Cancelled => Err(Abandoned),
            RetryOutcome::Permanent(reason) | RetryOutcome::Exhausted(reason) => {
                tracing::error!(topic = self.dlq.topic(), %reason, "cannot publish to the DLQ topic; leaving offsets uncommitted");
                Err(Abandoned)
            }
        }
    }
}
