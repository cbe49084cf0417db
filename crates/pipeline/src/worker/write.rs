//! Writing a batch: every attempt goes through the retry policy and the shared circuit breaker
//! (`db`); a batch the sink rejects is split in halves until the rejected rows are
//! isolated (bisection), and only those become dead letters.

use super::{Abandoned, Item, WorkerContext, Written};
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;
use streamsre_retry::{retry, RetryAction, RetryNotice, RetryOutcome};
use streamsre_sink::{DeadLetter, SinkError, ValidEvent};

impl WorkerContext {
    /// Logs and counts one failed attempt.
    pub(super) fn on_retry(&self, what: &'static str, notice: RetryNotice<'_>) {
        self.shared.metrics.retry();
        if notice.exhausted {
            self.shared.metrics.retries_exhausted();
            tracing::error!(
                query = what,
                attempt = notice.attempt,
                delay = ?notice.delay,
                reason = notice.reason,
                "retries exhausted; still waiting (--on-retries-exhausted=wait): the partition stalls until the database recovers"
            );
        } else {
            tracing::warn!(
                query = what,
                attempt = notice.attempt,
                delay = ?notice.delay,
                reason = notice.reason,
                "transient sink error; retrying"
            );
        }
    }

    /// Waits until the circuit breaker lets an attempt through. Returns false if shutdown
    /// began while waiting.
    pub(super) async fn breaker_permit(&self) -> bool {
        loop {
            match self.breaker.permit(Instant::now()) {
                Ok(()) => return true,
                Err(wait) => tokio::select! {
                    _ = self.cancel.cancelled() => return false,
                    _ = tokio::time::sleep(wait) => {}
                },
            }
        }
    }

    /// Feeds one attempt's result to the circuit breaker. A permanent error counts as the
    /// sink answering: it is the data's fault.
    pub(super) fn breaker_record<T>(&self, result: &Result<T, SinkError>) {
        let metrics = &self.shared.metrics;
        if let Err(SinkError(RetryAction::Later(..))) = result {
            metrics.sink_busy();
        }
        match result {
            // Busy is the downstream answering "later": flow control, not a failure.
            Ok(_) | Err(SinkError(RetryAction::DontRetry(_) | RetryAction::Later(..))) => {
                if self.breaker.on_success() {
                    tracing::info!("database answering again: circuit breaker closed");
                }
            }
            Err(SinkError(RetryAction::Retry(reason))) => {
                if self.breaker.on_failure(Instant::now()) {
                    metrics.circuit_opened();
                    tracing::warn!(%reason, "database keeps failing: circuit breaker open, all lanes pause before the next probe");
                }
            }
        }
        metrics.circuit_state(self.breaker.state().as_gauge());
    }

    /// Runs a sink operation under the retry policy and the circuit breaker, timing every
    /// attempt.
    pub(super) async fn db<'a, T, F, Fut>(
        &'a self,
        what: &'static str,
        mut op: F,
    ) -> RetryOutcome<T>
    where
        F: FnMut() -> Fut + 'a,
        Fut: Future<Output = Result<T, SinkError>> + 'a,
    {
        let metrics = &self.shared.metrics;
        retry(
            &self.policy,
            &self.cancel,
            || {
                let attempt = op();
                async move {
                    if !self.breaker_permit().await {
                        return Err(RetryAction::Retry(
                            "circuit breaker open at shutdown".into(),
                        ));
                    }
                    let started = Instant::now();
                    let result = attempt.await;
                    metrics.db_query(what, started.elapsed().as_secs_f64());
                    self.breaker_record(&result);
                    result.map_err(|e| e.0)
                }
            },
            |notice| self.on_retry(what, notice),
        )
        .await
    }
    /// Applies `items` in one transaction; on a permanent failure splits them in halves until
    /// the rows the sink rejects are isolated, and sends exactly those to the DLQ.
    pub(super) fn apply_batch<'a>(
        &'a self,
        items: &'a [Item],
    ) -> Pin<Box<dyn Future<Output = Result<Written, Abandoned>> + Send + 'a>> {
        Box::pin(async move {
            let valid: Vec<&ValidEvent> = items.iter().filter_map(|i| i.valid.as_ref()).collect();
            let dlq: Vec<DeadLetter> = items
                .iter()
                .filter_map(|i| i.dlq.as_deref().cloned())
                .collect();
            match self
                .db("apply_batch", || self.sink.apply_batch(&valid, &dlq))
                .await
            {
                RetryOutcome::Done(outcome) => {
                    self.shared.metrics.batch(items.len());
                    Ok(Written {
                        applied: outcome.applied as u64,
                        duplicates: outcome.duplicates as u64,
                        dlq,
                    })
                }
                RetryOutcome::Cancelled => Err(Abandoned),
                RetryOutcome::Exhausted(reason) => Ok(self.exhausted(items, &reason)),
                RetryOutcome::Permanent(reason) if items.len() == 1 => {
                    let pos = items[0].pos();
                    tracing::warn!(
                        partition = pos.partition,
                        offset = pos.offset,
                        %reason,
                        "row rejected by the database sent to the DLQ"
                    );
                    self.write_dlq(vec![items[0].to_dlq("sink_rejected", &reason, 1)])
                        .await
                }
                RetryOutcome::Permanent(reason) => {
                    tracing::info!(rows = items.len(), %reason, "batch rejected; bisecting to isolate the bad rows");
                    let (left, right) = items.split_at(items.len() / 2);
                    // Halves run in order, so per-key order is kept.
                    let mut written = self.apply_batch(left).await?;
                    written.merge(self.apply_batch(right).await?);
                    Ok(written)
                }
            }
        })
    }

    /// The seed's per-event path: one transaction per event, in order.
    pub(super) async fn apply_single(&self, items: &[Item]) -> Result<Written, Abandoned> {
        let mut written = Written::default();
        for item in items {
            let Some(valid) = &item.valid else {
                if let Some(record) = item.dlq.as_deref().cloned() {
                    written.merge(self.write_dlq(vec![record]).await?);
                }
                continue;
            };
            match self
                .db("apply_single", || self.sink.apply_single(valid))
                .await
            {
                RetryOutcome::Done(true) => written.applied += 1,
                RetryOutcome::Done(false) => written.duplicates += 1,
                RetryOutcome::Cancelled => return Err(Abandoned),
                RetryOutcome::Exhausted(reason) => {
                    written.merge(self.exhausted(std::slice::from_ref(item), &reason))
                }
                RetryOutcome::Permanent(reason) => {
                    let record = item.to_dlq("sink_rejected", &reason, 1);
                    written.merge(self.write_dlq(vec![record]).await?);
                }
            }
        }
        Ok(written)
    }
}
