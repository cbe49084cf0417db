//! A lane's sink worker: batches what its lane receives, decodes it, writes it durably (with
//! retries and bisection), then completes the offsets and releases the in-flight permits.

use crate::ConsumeConfig;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use streamsre_event::{decode, dlq_event_id};
use streamsre_kafka::source::{Fetched, SourceShared};
use streamsre_retry::Backoff;
use streamsre_sink::{DlqRecord, PgSink, SinkError, SourcePos, ValidEvent};
use streamsre_telemetry::metrics::Outcome;
use streamsre_telemetry::LatencyStats;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How a lane writes to Postgres.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkMode {
    /// One transaction per batch through the dedup ledger (the production path).
    Batch,
    /// The seed's per-event transaction (check, insert, mark), kept as the benchmark baseline.
    Single,
}

/// The work was not made durable because the process is shutting down; its offsets stay
/// uncommitted and the messages are redelivered.
struct Abandoned;

#[derive(Default, Clone, Copy)]
struct Counts {
    applied: u64,
    duplicates: u64,
    dlq: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.applied += o.applied;
        self.duplicates += o.duplicates;
        self.dlq += o.dlq;
    }
}

/// One message of a batch after decoding: either an event to apply or a DLQ record, plus the
/// raw value so a row the database rejects can still be sent to the DLQ byte for byte.
struct Item {
    valid: Option<ValidEvent>,
    dlq: Option<DlqRecord>,
    raw: Option<Vec<u8>>,
}

/// State shared by all lane workers.
pub(crate) struct WorkerContext {
    sink: PgSink,
    mode: SinkMode,
    batch_size: usize,
    linger: Duration,
    max_message_bytes: usize,
    backoff: Backoff,
    shared: SourceShared,
    latency: Arc<LatencyStats>,
    cancel: CancellationToken,
    /// First fetch and last durable write, for the run's throughput.
    window: Mutex<(Option<Instant>, Option<Instant>)>,
}

impl WorkerContext {
    pub(crate) fn new(
        sink: PgSink,
        config: &ConsumeConfig,
        shared: SourceShared,
        latency: Arc<LatencyStats>,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            sink,
            mode: config.sink_mode,
            batch_size: config.batch_size,
            linger: config.batch_linger,
            max_message_bytes: config.max_message_bytes,
            backoff: config.backoff,
            shared,
            latency,
            cancel,
            window: Mutex::new((None, None)),
        }
    }

    /// Time between the first fetch and the last durable write, and whether anything ran.
    pub(crate) fn active_window(&self) -> (Duration, bool) {
        match *self.window.lock().unwrap_or_else(|e| e.into_inner()) {
            (Some(first), Some(last)) => (last.saturating_duration_since(first), true),
            _ => (Duration::ZERO, false),
        }
    }

    fn decode(&self, msg: &mut Fetched) -> Item {
        let pos = SourcePos {
            topic: msg.topic.to_string(),
            partition: msg.partition,
            offset: msg.offset,
        };
        let raw = msg.value.take();
        match decode(raw.as_deref(), self.max_message_bytes) {
            Ok(event) => Item {
                valid: Some(ValidEvent { event, pos }),
                dlq: None,
                raw,
            },
            Err(invalid) => {
                let event_id = dlq_event_id(raw.as_deref(), &pos.topic, pos.partition, pos.offset);
                tracing::warn!(
                    partition = pos.partition,
                    offset = pos.offset,
                    %event_id,
                    reason = %invalid.reason(),
                    "invalid message sent to the DLQ"
                );
                Item {
                    valid: None,
                    dlq: Some(DlqRecord {
                        event_id,
                        reason: invalid.reason(),
                        raw: raw.clone(),
                        pos,
                    }),
                    raw,
                }
            }
        }
    }

    /// Runs `op` until it succeeds or fails permanently, sleeping with backoff between
    /// transient failures. Returns `Err(None)` if shutdown interrupted the wait.
    async fn with_retry<T, F, Fut>(
        &self,
        what: &'static str,
        mut op: F,
    ) -> Result<T, Option<String>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SinkError>>,
    {
        let mut attempt = 0u32;
        loop {
            let started = Instant::now();
            let result = op().await;
            self.shared
                .metrics
                .db_query(what, started.elapsed().as_secs_f64());
            match result {
                Ok(v) => return Ok(v),
                Err(SinkError::Permanent(reason)) => return Err(Some(reason)),
                Err(SinkError::Retriable(reason)) => {
                    if self.cancel.is_cancelled() {
                        return Err(None);
                    }
                    let delay = self.backoff.delay(attempt, &mut rand::thread_rng());
                    self.shared.metrics.retry();
                    tracing::warn!(query = what, attempt, ?delay, %reason, "transient sink error; retrying");
                    attempt = attempt.saturating_add(1);
                    tokio::select! {
                        _ = self.cancel.cancelled() => return Err(None),
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }

    /// Writes DLQ rows on their own. They cannot fail permanently with well-formed input
    /// (raw bytes go to bytea); if they do, that is a bug: keep the work uncommitted.
    async fn write_dlq(&self, records: &[DlqRecord]) -> Result<Counts, Abandoned> {
        match self
            .with_retry("insert_dlq", || self.sink.write_dlq(records))
            .await
        {
            Ok(_) => Ok(Counts {
                dlq: records.len() as u64,
                ..Counts::default()
            }),
            Err(reason) => {
                if let Some(reason) = reason {
                    tracing::error!(%reason, "DLQ write failed permanently; leaving offsets uncommitted");
                }
                Err(Abandoned)
            }
        }
    }

    /// Applies `items` in one transaction; on a permanent failure splits them in halves until
    /// the rows the database rejects are isolated, and sends exactly those to the DLQ.
    fn apply_batch<'a>(
        &'a self,
        items: &'a [Item],
    ) -> Pin<Box<dyn Future<Output = Result<Counts, Abandoned>> + Send + 'a>> {
        Box::pin(async move {
            let valid: Vec<ValidEvent> = items.iter().filter_map(|i| i.valid.clone()).collect();
            let dlq: Vec<DlqRecord> = items.iter().filter_map(|i| i.dlq.clone()).collect();
            let result = self
                .with_retry("apply_batch", || self.sink.apply_batch(&valid, &dlq))
                .await;
            match result {
                Ok(outcome) => {
                    self.shared.metrics.batch(items.len());
                    Ok(Counts {
                        applied: outcome.applied as u64,
                        duplicates: outcome.duplicates as u64,
                        dlq: dlq.len() as u64,
                    })
                }
                Err(None) => Err(Abandoned),
                Err(Some(reason)) if items.len() == 1 => {
                    let record = self.rejected(&items[0], &reason);
                    self.write_dlq(&[record]).await
                }
                Err(Some(reason)) => {
                    tracing::info!(rows = items.len(), %reason, "batch rejected; bisecting to isolate the bad rows");
                    let (left, right) = items.split_at(items.len() / 2);
                    // Halves run in order, so per-key order is kept.
                    let mut counts = self.apply_batch(left).await?;
                    counts += self.apply_batch(right).await?;
                    Ok(counts)
                }
            }
        })
    }

    /// The DLQ record for a row the database rejected permanently.
    fn rejected(&self, item: &Item, reason: &str) -> DlqRecord {
        if let Some(d) = &item.dlq {
            return d.clone();
        }
        let valid = item
            .valid
            .as_ref()
            .expect("an item is valid or a DLQ record");
        tracing::warn!(
            partition = valid.pos.partition,
            offset = valid.pos.offset,
            event_id = %valid.event.event_id,
            %reason,
            "row rejected by the database sent to the DLQ"
        );
        DlqRecord {
            event_id: valid.event.event_id,
            reason: format!("sink_rejected: {reason}"),
            raw: item.raw.clone(),
            pos: valid.pos.clone(),
        }
    }

    /// The seed's per-event path: one transaction per event, in order.
    async fn apply_single(&self, items: &[Item]) -> Result<Counts, Abandoned> {
        let mut counts = Counts::default();
        for item in items {
            match &item.valid {
                None => {
                    counts += self
                        .write_dlq(std::slice::from_ref(item.dlq.as_ref().expect("dlq")))
                        .await?
                }
                Some(valid) => match self
                    .with_retry("apply_single", || self.sink.apply_single(valid))
                    .await
                {
                    Ok(true) => counts.applied += 1,
                    Ok(false) => counts.duplicates += 1,
                    Err(None) => return Err(Abandoned),
                    Err(Some(reason)) => {
                        counts += self.write_dlq(&[self.rejected(item, &reason)]).await?
                    }
                },
            }
        }
        Ok(counts)
    }

    /// Processes one batch end to end and releases its permits.
    async fn process(&self, mut batch: Vec<Fetched>) {
        let items: Vec<Item> = batch.iter_mut().map(|m| self.decode(m)).collect();
        let result = match self.mode {
            SinkMode::Batch => self.apply_batch(&items).await,
            SinkMode::Single => self.apply_single(&items).await,
        };
        let metrics = &self.shared.metrics;
        let n = batch.len() as u64;
        match result {
            Ok(counts) => {
                // Durable: only now may the offsets count as done.
                self.shared.tracker.complete(batch.iter().map(|m| m.ticket));
                metrics.processed(Outcome::Success, counts.applied);
                metrics.processed(Outcome::Duplicate, counts.duplicates);
                metrics.processed(Outcome::Dlq, counts.dlq);
                let now = Instant::now();
                let now_ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                let mut e2e = Vec::with_capacity(batch.len());
                let mut first_fetch = now;
                for m in &batch {
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
            Err(Abandoned) => {
                metrics.processed(Outcome::Fail, n);
                tracing::warn!(
                    messages = n,
                    "batch abandoned uncommitted at shutdown; it will be redelivered"
                );
            }
        }
        metrics.inflight_add(-(n as i64));
        // Dropping the batch releases the permits: the source may fetch more.
        drop(batch);
    }
}

/// The loop of one lane: gather a batch, process it, repeat until the lane's channel closes.
pub(crate) async fn run_lane(
    lane: usize,
    mut rx: mpsc::Receiver<Fetched>,
    ctx: Arc<WorkerContext>,
    _done: std::sync::mpsc::Sender<()>, // dropped on exit: tells the source this lane drained
) {
    let mut batch = Vec::with_capacity(ctx.batch_size);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        let deadline = tokio::time::Instant::now() + ctx.linger;
        while batch.len() < ctx.batch_size {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    // Lingering only helps if more messages can still be fetched; with every
                    // permit taken nothing new can arrive until this batch is written.
                    if ctx.linger.is_zero() || ctx.shared.permits.available_permits() == 0 {
                        break;
                    }
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(m)) => batch.push(m),
                        Ok(None) | Err(_) => break,
                    }
                }
            }
        }
        tracing::trace!(lane, size = batch.len(), "processing batch");
        ctx.process(std::mem::take(&mut batch)).await;
    }
    tracing::debug!(lane, "lane drained");
}
