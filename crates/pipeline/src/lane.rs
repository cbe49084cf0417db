//! One lane of the sink: a task that gathers and decodes batches from the lane's channel, and
//! one that writes them in order, so decoding overlaps the database. The lane owns *when* a
//! batch is handed over; [`crate::worker`] owns what writing it means (transaction, retries,
//! bisection, DLQ, offsets).

use std::sync::Arc;
use std::time::Duration;

use streamsre_kafka::source::Fetched;
use tokio::sync::{mpsc, Notify, OwnedSemaphorePermit, Semaphore};

use crate::worker::{Decoded, WorkerContext};

/// When a lane hands a batch to its writer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GatherRules {
    /// Most messages per batch (`--batch-size`).
    pub(crate) batch_size: usize,
    /// How long a partial batch may wait for more while the writer is idle (`--batch-linger`).
    pub(crate) linger: Duration,
    /// Batches of one lane that exist at once, being gathered or written
    /// (`--max-inflight-batches`).
    pub(crate) batches_per_lane: usize,
}

/// Runs lane `lane` until its channel has closed and everything is written. At most
/// `batches_per_lane` batches exist at once (a permit each, taken when gathering starts and
/// released once written); with 1 the lane gathers, decodes and writes in turn.
pub(crate) async fn run_lane(lane: usize, rx: mpsc::Receiver<Fetched>, ctx: Arc<WorkerContext>) {
    let mut gatherer = Gatherer::new(rx, ctx.gather);
    let written = gatherer.written();
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<(Decoded, OwnedSemaphorePermit)>();
    let writer = {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            while let Some((decoded, permit)) = ready_rx.recv().await {
                ctx.process(decoded).await;
                drop(permit);
                written.notify_one();
            }
        })
    };
    let has_room = || ctx.shared.slots.has_room();
    let prepare = |m: &Fetched| ctx.prepare(m);
    while let Some((batch, items, permit)) = gatherer
        .next_prepared(|m| ctx.decode(m), prepare, &has_room)
        .await
    {
        tracing::trace!(lane, size = batch.len(), "batch gathered");
        ctx.shared
            .metrics
            .batch_linger(gatherer.last_linger().as_secs_f64());
        if ready_tx.send((Decoded { batch, items }, permit)).is_err() {
            break; // the writer is gone: nothing more can be written
        }
    }
    drop(ready_tx);
    if let Err(e) = writer.await {
        tracing::error!(lane, error = %e, "lane writer failed");
    }
    tracing::debug!(lane, "lane drained");
}

/// Gathers a lane's messages into batches, decoding each as it arrives.
pub(crate) struct Gatherer<T> {
    rx: mpsc::Receiver<T>,
    rules: GatherRules,
    /// One permit per batch of this lane that exists.
    batches: Arc<Semaphore>,
    /// Signalled by the writer after each batch.
    written: Arc<Notify>,
    /// How long the last batch gathered after its first message.
    last_linger: Duration,
}

impl<T> Gatherer<T> {
    pub(crate) fn new(rx: mpsc::Receiver<T>, rules: GatherRules) -> Self {
        Self {
            rx,
            rules,
            batches: Arc::new(Semaphore::new(rules.batches_per_lane)),
            written: Arc::new(Notify::new()),
            last_linger: Duration::ZERO,
        }
    }

    /// What the writer signals after each batch it has written (and its permit dropped).
    pub(crate) fn written(&self) -> Arc<Notify> {
        self.written.clone()
    }

    /// Whether the writer has nothing to do: no batch but the one being gathered exists.
    fn writer_idle(&self) -> bool {
        self.batches.available_permits() + 1 == self.rules.batches_per_lane
    }

    /// The next batch with its decoded items and its permit; `None` once the channel closed.
    ///
    /// A batch is handed over when it is full, or when the writer is idle and lingering can no
    /// longer help (the linger has passed, or `has_room` says every sink slot is taken so
    /// nothing new can arrive). While the writer is busy the batch keeps growing instead:
    /// handing over a partial batch then would only make more, smaller transactions.
    #[cfg(test)]
    pub(crate) async fn next<D>(
        &mut self,
        decode: impl FnMut(&mut T) -> D,
        has_room: &impl Fn() -> bool,
    ) -> Option<(Vec<T>, Vec<D>, OwnedSemaphorePermit)> {
        self.next_prepared(decode, |_| std::future::ready(()), has_room)
            .await
    }

    /// [`Gatherer::next`], awaiting `prepare(message)` before each decode: what decoding
    /// needs from elsewhere (an Avro writer's schema from the registry) is fetched there, so
    /// `decode` stays synchronous. While `prepare` waits, the lane waits.
    pub(crate) async fn next_prepared<D, P>(
        &mut self,
        mut decode: impl FnMut(&mut T) -> D,
        prepare: impl Fn(&T) -> P,
        has_room: &impl Fn() -> bool,
    ) -> Option<(Vec<T>, Vec<D>, OwnedSemaphorePermit)>
    where
        P: std::future::Future<Output = ()>,
    {
        let rules = self.rules;
        // The semaphore is never closed: this only waits for the writer.
        let permit = self.batches.clone().acquire_owned().await.ok()?;
        let mut first = self.rx.recv().await?;
        let mut batch = Vec::with_capacity(rules.batch_size);
        let mut items = Vec::with_capacity(rules.batch_size);
        prepare(&first).await;
        items.push(decode(&mut first));
        batch.push(first);
        let first_at = tokio::time::Instant::now();
        let deadline = first_at + rules.linger;
        while batch.len() < rules.batch_size {
            let writer_idle = self.writer_idle();
            let lingered =
                rules.linger.is_zero() || tokio::time::Instant::now() >= deadline || !has_room();
            if writer_idle && lingered {
                break;
            }
            tokio::select! {
                m = self.rx.recv() => match m {
                    Some(mut m) => {
                        prepare(&m).await;
                        items.push(decode(&mut m));
                        batch.push(m);
                    }
                    None => break,
                },
                _ = self.written.notified(), if !writer_idle => {}
                _ = tokio::time::sleep_until(deadline), if !lingered => {}
            }
        }
        self.last_linger = first_at.elapsed();
        Some((batch, items, permit))
    }

    /// How long the batch [`Gatherer::next`] returned last gathered after its first message.
    pub(crate) fn last_linger(&self) -> Duration {
        self.last_linger
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    const MS: Duration = Duration::from_millis(1);

    fn gatherer(
        batch_size: usize,
        linger: Duration,
        batches_per_lane: usize,
    ) -> (mpsc::Sender<u32>, Gatherer<u32>) {
        let (tx, rx) = mpsc::channel(1024);
        let rules = GatherRules {
            batch_size,
            linger,
            batches_per_lane,
        };
        (tx, Gatherer::new(rx, rules))
    }

    async fn send(tx: &mpsc::Sender<u32>, values: std::ops::Range<u32>) {
        for v in values {
            tx.send(v).await.unwrap();
        }
    }

    /// Decoding is done as messages arrive, in order, once each.
    fn double(v: &mut u32) -> u32 {
        *v * 2
    }

    fn room() -> bool {
        true
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_batch_goes_at_once() {
        let (tx, mut g) = gatherer(3, Duration::from_secs(3600), 2);
        send(&tx, 0..5).await;
        let t0 = Instant::now();
        let (batch, items, _permit) = g.next(double, &room).await.unwrap();
        assert_eq!(batch, vec![0, 1, 2]);
        assert_eq!(items, vec![0, 2, 4]);
        assert_eq!(Instant::now() - t0, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_writer_gets_a_partial_batch_after_the_linger() {
        let (tx, mut g) = gatherer(100, 5 * MS, 2);
        send(&tx, 0..2).await;
        let t0 = Instant::now();
        let (batch, _, _permit) = g.next(double, &room).await.unwrap();
        assert_eq!(batch, vec![0, 1]);
        assert_eq!(Instant::now() - t0, 5 * MS, "waited exactly the linger");
        assert_eq!(g.last_linger(), 5 * MS, "and says so");
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_writer_lets_the_batch_grow_past_the_linger() {
        let (tx, mut g) = gatherer(100, 5 * MS, 2);
        send(&tx, 0..1).await;
        let (_, _, writing) = g.next(double, &room).await.unwrap();
        // The writer holds the first batch for 100 ms; more arrives meanwhile.
        let written = g.written();
        let t0 = Instant::now();
        send(&tx, 1..2).await;
        let late = tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(50 * MS).await;
            send(&late, 2..5).await;
            tokio::time::sleep(50 * MS).await;
            drop(writing);
            written.notify_one();
        });
        let (batch, _, _permit) = g.next(double, &room).await.unwrap();
        assert_eq!(batch, vec![1, 2, 3, 4], "grew while the writer was busy");
        assert_eq!(
            Instant::now() - t0,
            100 * MS,
            "handed over when the writer became idle"
        );
        assert_eq!(g.last_linger(), 100 * MS, "lingered from its first message");
    }

    #[tokio::test(start_paused = true)]
    async fn no_sink_room_ends_the_linger_of_an_idle_writer() {
        let (tx, mut g) = gatherer(100, Duration::from_secs(3600), 2);
        send(&tx, 0..3).await;
        let t0 = Instant::now();
        let (batch, _, _permit) = g.next(double, &|| false).await.unwrap();
        assert_eq!(batch, vec![0], "nothing more can arrive: no reason to wait");
        assert_eq!(Instant::now() - t0, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn no_more_batches_than_the_lane_allows() {
        let (tx, mut g) = gatherer(1, Duration::ZERO, 1);
        send(&tx, 0..2).await;
        let (_, _, writing) = g.next(double, &room).await.unwrap();
        let t0 = Instant::now();
        tokio::spawn(async move {
            tokio::time::sleep(30 * MS).await;
            drop(writing);
        });
        let (batch, _, _permit) = g.next(double, &room).await.unwrap();
        assert_eq!(batch, vec![1]);
        assert_eq!(
            Instant::now() - t0,
            30 * MS,
            "the second batch waited for the first"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_channel_hands_over_what_is_left_then_ends() {
        let (tx, mut g) = gatherer(100, Duration::from_secs(3600), 2);
        send(&tx, 0..2).await;
        drop(tx);
        let (batch, items, permit) = g.next(double, &room).await.unwrap();
        assert_eq!((batch, items), (vec![0, 1], vec![0, 2]));
        drop(permit);
        assert!(g.next(double, &room).await.is_none());
    }
}
