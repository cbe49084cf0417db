//! A lane's sink worker: batches what its lane receives, decodes it, writes it durably (with
//! retries and bisection), publishes its DLQ records, then completes the offsets and releases
//! the in-flight permits.
//!
//! Durability order for one batch: Postgres transaction (rows + DLQ rows) → DLQ topic
//! acknowledged → offsets marked done. A crash anywhere before the last step redelivers the
//! batch; the dedup ledger and the DLQ upsert make that harmless (the DLQ *topic* may then get
//! a record twice: at-least-once, as any Kafka producer without transactions).

use crate::lane::GatherRules;
use crate::ConsumeConfig;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use streamsre_event::{decode, dlq_event_id};
use streamsre_flow::OrderingChecker;
use streamsre_kafka::dlq::{classify_kafka, DlqPublisher};
use streamsre_kafka::source::{Fetched, SourceShared};
use streamsre_retry::{retry, CircuitBreaker, RetryAction, RetryNotice, RetryOutcome, RetryPolicy};
use streamsre_sink::{DeadLetter, Sink, SinkError, SourcePos, ValidEvent};
use streamsre_telemetry::metrics::Outcome;
use streamsre_telemetry::LatencyStats;
use tokio_util::sync::CancellationToken;

/// How a lane writes to Postgres.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkMode {
    /// One transaction per batch through the dedup ledger (the production path).
    Batch,
    /// The seed's per-event transaction (check, insert, mark), kept as the benchmark baseline.
    Single,
}

/// The work was not made durable (shutdown, or a DLQ that cannot be written); its offsets
/// stay uncommitted and the messages are redelivered.
struct Abandoned;

#[derive(Default)]
struct Written {
    applied: u64,
    duplicates: u64,
    /// Records that ended in the DLQ; each must reach the DLQ topic before offsets complete.
    dlq: Vec<DeadLetter>,
}

impl Written {
    fn merge(&mut self, other: Written) {
        self.applied += other.applied;
        self.duplicates += other.duplicates;
        self.dlq.extend(other.dlq);
    }

    fn dlq_only(records: Vec<DeadLetter>) -> Self {
        Self {
            dlq: records,
            ..Self::default()
        }
    }
}

/// One message of a batch after decoding: either an event to apply or a DLQ record, plus the
/// raw value and key so a row the database rejects can still be sent to the DLQ byte for byte.
pub(crate) struct Item {
    valid: Option<ValidEvent>,
    dlq: Option<DeadLetter>,
    raw: Option<Vec<u8>>,
    key: Option<Vec<u8>>,
    /// DLQ id carried by a replayed message, so its DLQ record is updated, not duplicated.
    dlq_id: Option<uuid::Uuid>,
}

impl Item {
    fn pos(&self) -> &SourcePos {
        match (&self.valid, &self.dlq) {
            (Some(v), _) => &v.pos,
            (None, Some(d)) => &d.pos,
            (None, None) => unreachable!("an item is valid or a DLQ record"),
        }
    }

    /// A DLQ record for this item, failed for `error: reason` after `attempts` attempts.
    fn to_dlq(&self, error: &str, reason: &str, attempts: u32) -> DeadLetter {
        if let Some(d) = &self.dlq {
            return d.clone();
        }
        let valid = self
            .valid
            .as_ref()
            .expect("an item is valid or a DLQ record");
        let mut letter = DeadLetter::new(
            self.dlq_id.unwrap_or(valid.event.event_id),
            error,
            format!("{error}: {reason}"),
            valid.pos.clone(),
        );
        letter.key = self.key.clone();
        letter.value = self.raw.clone();
        letter.attempts = attempts;
        letter
    }
}

/// State shared by all lane workers.
pub(crate) struct WorkerContext {
    sink: Sink,
    dlq: DlqPublisher,
    mode: SinkMode,
    /// When a lane hands a batch to its writer (see [`crate::lane`]).
    pub(crate) gather: GatherRules,
    max_message_bytes: usize,
    policy: RetryPolicy,
    /// Shared by all lanes: stops every lane from probing a database that keeps failing.
    breaker: CircuitBreaker,
    pub(crate) shared: SourceShared,
    latency: Arc<LatencyStats>,
    cancel: CancellationToken,
    /// First fetch and last durable write, for the run's throughput.
    window: Mutex<(Option<Instant>, Option<Instant>)>,
    /// Per-key order of applied events (what round-robin dispatch costs).
    ordering: Mutex<OrderingChecker>,
    violations: std::sync::atomic::AtomicU64,
}

impl WorkerContext {
    pub(crate) fn new(
        sink: Sink,
        dlq: DlqPublisher,
        config: &ConsumeConfig,
        shared: SourceShared,
        latency: Arc<LatencyStats>,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            sink,
            dlq,
            mode: config.sink_mode,
            gather: GatherRules {
                batch_size: config.batch_size,
                linger: config.batch_linger,
                batches_per_lane: config.max_inflight_batches,
            },
            max_message_bytes: config.max_message_bytes,
            policy: config.retry,
            breaker: CircuitBreaker::new(config.breaker_threshold, config.breaker_open_for),
            shared,
            latency,
            cancel,
            window: Mutex::new((None, None)),
            ordering: Mutex::new(OrderingChecker::new(1_000_000)),
            violations: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Ordering violations seen so far.
    pub(crate) fn ordering_violations(&self) -> u64 {
        self.violations.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The DLQ topic publisher (shared with the shed recorder).
    pub(crate) fn dlq(&self) -> &DlqPublisher {
        &self.dlq
    }

    /// Records the per-key order of a durable batch.
    fn check_order(&self, batch: &[Fetched]) {
        let mut checker = self.ordering.lock().unwrap_or_else(|e| e.into_inner());
        let violations = batch
            .iter()
            .filter_map(|m| Some((m.key.as_deref()?, m)))
            .filter(|(key, m)| checker.applied(key, m.partition, m.offset))
            .count() as u64;
        drop(checker);
        if violations > 0 {
            self.violations
                .fetch_add(violations, std::sync::atomic::Ordering::Relaxed);
            self.shared.metrics.ordering_violations(violations);
        }
    }

    /// Time between the first fetch and the last durable write.
    pub(crate) fn active_window(&self) -> Duration {
        match *self.window.lock().unwrap_or_else(|e| e.into_inner()) {
            (Some(first), Some(last)) => last.saturating_duration_since(first),
            _ => Duration::ZERO,
        }
    }

    pub(crate) fn decode(&self, msg: &mut Fetched) -> Item {
        // Per-message logs are sampled (1 in 1,000) and only at debug level: at 70k events/s a
        // line per message would cost more than the work itself.
        if tracing::enabled!(tracing::Level::DEBUG) && msg.offset % 1000 == 0 {
            tracing::debug!(
                partition = msg.partition,
                offset = msg.offset,
                bytes = msg.value.as_ref().map_or(0, Vec::len),
                "sampled message"
            );
        }
        let pos = SourcePos {
            topic: msg.topic.to_string(),
            partition: msg.partition,
            offset: msg.offset,
        };
        let raw = msg.value.take();
        let key = msg.key.clone();
        match decode(raw.as_deref(), self.max_message_bytes) {
            Ok(event) => Item {
                valid: Some(ValidEvent { event, pos }),
                dlq: None,
                raw,
                key,
                dlq_id: msg.dlq_id,
            },
            Err(invalid) => {
                let event_id = msg.dlq_id.unwrap_or_else(|| {
                    dlq_event_id(raw.as_deref(), &pos.topic, pos.partition, pos.offset)
                });
                tracing::warn!(
                    partition = pos.partition,
                    offset = pos.offset,
                    %event_id,
                    reason = %invalid.reason(),
                    "invalid message sent to the DLQ"
                );
                Item {
                    valid: None,
                    dlq: Some(DeadLetter {
                        key: key.clone(),
                        value: raw.clone(),
                        ..DeadLetter::new(event_id, invalid.kind(), invalid.reason(), pos)
                    }),
                    raw,
                    key,
                    dlq_id: msg.dlq_id,
                }
            }
        }
    }

    /// Logs and counts one failed attempt.
    fn on_retry(&self, what: &'static str, notice: RetryNotice<'_>) {
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
    async fn breaker_permit(&self) -> bool {
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
    /// database answering: it is the data's fault.
    fn breaker_record<T>(&self, result: &Result<T, SinkError>) {
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

    /// Runs a Postgres operation under the retry policy and the circuit breaker, timing every
    /// attempt.
    async fn db<'a, T, F, Fut>(&'a self, what: &'static str, mut op: F) -> RetryOutcome<T>
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

    /// Records for work given up on after `max_attempts` transient failures. The database is
    /// failing, so they can only go to the DLQ topic; `streamsre dlq replay` is not possible
    /// for them, but any consumer of the DLQ topic can re-send them.
    fn exhausted(&self, items: &[Item], reason: &str) -> Written {
        tracing::error!(
            messages = items.len(),
            %reason,
            "retries exhausted (--on-retries-exhausted=dlq): sending the batch to the DLQ topic"
        );
        let attempts = self.policy.max_attempts;
        Written::dlq_only(
            items
                .iter()
                .map(|i| i.to_dlq("retries_exhausted", reason, attempts))
                .collect(),
        )
    }

    /// Writes DLQ rows on their own. They cannot fail permanently with well-formed input
    /// (raw bytes go to bytea); if they do, that is a bug: keep the work uncommitted.
    async fn write_dlq(&self, records: Vec<DeadLetter>) -> Result<Written, Abandoned> {
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

    /// Applies `items` in one transaction; on a permanent failure splits them in halves until
    /// the rows the database rejects are isolated, and sends exactly those to the DLQ.
    fn apply_batch<'a>(
        &'a self,
        items: &'a [Item],
    ) -> Pin<Box<dyn Future<Output = Result<Written, Abandoned>> + Send + 'a>> {
        Box::pin(async move {
            let valid: Vec<&ValidEvent> = items.iter().filter_map(|i| i.valid.as_ref()).collect();
            let dlq: Vec<DeadLetter> = items.iter().filter_map(|i| i.dlq.clone()).collect();
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
    async fn apply_single(&self, items: &[Item]) -> Result<Written, Abandoned> {
        let mut written = Written::default();
        for item in items {
            let Some(valid) = &item.valid else {
                let record = item.dlq.clone().expect("an invalid item has a DLQ record");
                written.merge(self.write_dlq(vec![record]).await?);
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

    /// Publishes DLQ records to the DLQ topic and waits for the acknowledgement.
    async fn publish_dlq(&self, records: &[DeadLetter]) -> Result<(), Abandoned> {
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

    /// Writes one decoded batch end to end and releases its permits.
    pub(crate) async fn process(&self, Decoded { batch, items }: Decoded) {
        let mut result = match self.mode {
            SinkMode::Batch => self.apply_batch(&items).await,
            SinkMode::Single => self.apply_single(&items).await,
        };
        if let Ok(written) = &result {
            if !written.dlq.is_empty() {
                if let Err(abandoned) = self.publish_dlq(&written.dlq).await {
                    result = Err(abandoned);
                }
            }
        }
        let metrics = &self.shared.metrics;
        let n = batch.len() as u64;
        match result {
            Ok(written) => {
                // Durable everywhere: only now may the offsets count as done.
                self.shared.tracker.complete(batch.iter().map(|m| m.ticket));
                metrics.processed(Outcome::Success, written.applied);
                metrics.processed(Outcome::Duplicate, written.duplicates);
                metrics.processed(Outcome::Dlq, written.dlq.len() as u64);
                self.record_latency(&batch);
                self.check_order(&batch);
            }
            Err(Abandoned) => {
                self.shared.tracker.abandon(batch.iter().map(|m| m.ticket));
                metrics.processed(Outcome::Fail, n);
                tracing::warn!(
                    messages = n,
                    "batch left uncommitted; it will be redelivered"
                );
            }
        }
        metrics.inflight_add(-(n as i64));
        self.shared
            .release_bytes(batch.iter().map(|m| m.bytes).sum());
        // Dropping the batch releases the permits: the source may fetch more.
        drop(batch);
    }

    fn record_latency(&self, batch: &[Fetched]) {
        let metrics = &self.shared.metrics;
        let now = Instant::now();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let mut e2e = Vec::with_capacity(batch.len());
        let mut first_fetch = now;
        for m in batch {
            metrics.processing_duration(now.duration_since(m.fetched_at).as_secs_f64());
            first_fetch = first_fetch.min(m.fetched_at);
            if let Some(ts) = m.timestamp_ms {
                let micros = (now_ms - ts).max(0) as u64 * 1000;
                metrics.e2e_latency(micros as f64 / 1e6);
                e2e.push(micros);
            }
        }
        self.latency.record_micros(e2e);
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        window.0 = Some(window.0.map_or(first_fetch, |f| f.min(first_fetch)));
        window.1 = Some(now);
    }
}

/// A batch gathered from a lane and decoded, waiting for the database.
pub(crate) struct Decoded {
    pub(crate) batch: Vec<Fetched>,
    pub(crate) items: Vec<Item>,
}
