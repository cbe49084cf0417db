use crate::{Backoff, RetryAction};
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What to do when a *transient* failure outlasts `max_attempts`.
///
/// The default is to keep waiting: a database outage is not the events' fault, and moving
/// healthy events to the DLQ would turn an outage into a replay chore. Operators who prefer to
/// keep the stream moving at any cost can choose `Dlq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnExhausted {
    /// Keep retrying at the capped delay (the partition stalls; lag grows on the broker).
    #[default]
    Wait,
    /// Give up: the caller sends the work to the DLQ with a `retries_exhausted` reason.
    Dlq,
}

/// How one operation is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delays between attempts.
    pub backoff: Backoff,
    /// Attempts (the first included) before the failure counts as exhausted.
    pub max_attempts: u32,
    /// What happens after that.
    pub on_exhausted: OnExhausted,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            backoff: Backoff::default(),
            max_attempts: 8,
            on_exhausted: OnExhausted::Wait,
        }
    }
}

/// How a retried operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryOutcome<T> {
    /// It succeeded (possibly after retries).
    Done(T),
    /// It failed with an error that retrying cannot fix.
    Permanent(String),
    /// Transient failures outlasted `max_attempts` and the policy says to give up.
    Exhausted(String),
    /// Shutdown began; the work was not done and must stay uncommitted.
    Cancelled,
}

/// One failed attempt, reported to the caller for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryNotice<'a> {
    /// Attempts made so far.
    pub attempt: u32,
    /// Why the attempt failed.
    pub reason: &'a str,
    /// How long until the next attempt.
    pub delay: Duration,
    /// Whether `max_attempts` is already behind us (only with [`OnExhausted::Wait`]).
    pub exhausted: bool,
}

/// Runs `op` until it succeeds, fails permanently, is exhausted, or `cancel` fires.
///
/// The first attempt always runs, so shutdown drains work that was already dispatched. After
/// a transient failure, `cancel` ends the wait at once: shutdown never waits for a backoff and
/// never starts a retry.
pub async fn retry<T, F, Fut>(
    policy: &RetryPolicy,
    cancel: &CancellationToken,
    mut op: F,
    mut on_retry: impl FnMut(RetryNotice<'_>),
) -> RetryOutcome<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RetryAction>>,
{
    let mut attempt = 0u32;
    loop {
        // No cancellation check before an attempt: work already dispatched gets its attempt
        // even during shutdown (that is what draining means); only *re*-attempts stop.
        let reason = match op().await {
            Ok(v) => return RetryOutcome::Done(v),
            Err(RetryAction::DontRetry(reason)) => return RetryOutcome::Permanent(reason),
            Err(RetryAction::Retry(reason)) => reason,
            Err(RetryAction::Later(wait, _)) => {
                tokio::select! {
                    _ = cancel.cancelled() => return RetryOutcome::Cancelled,
                    _ = tokio::time::sleep(wait) => {}
                }
                continue;
            }
        };
        attempt = attempt.saturating_add(1);
        let exhausted = attempt >= policy.max_attempts.max(1);
        if exhausted && policy.on_exhausted == OnExhausted::Dlq {
            return RetryOutcome::Exhausted(reason);
        }
        let delay = policy.backoff.delay(attempt - 1, &mut rand::thread_rng());
        on_retry(RetryNotice {
            attempt,
            reason: &reason,
            delay,
            exhausted,
        });
        tokio::select! {
            _ = cancel.cancelled() => return RetryOutcome::Cancelled,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    use tokio::time::Instant;

    fn policy(max_attempts: u32, on_exhausted: OnExhausted) -> RetryPolicy {
        RetryPolicy {
            backoff: Backoff::default(),
            max_attempts,
            on_exhausted,
        }
    }

    /// A busy service is waited for as long as it asks, as often as it asks, without spending
    /// attempts: three "come back in 1 s" and then success, under a policy of one attempt.
    #[tokio::test(start_paused = true)]
    async fn later_waits_as_asked_and_spends_no_attempt() {
        let calls = Arc::new(AtomicU32::new(0));
        let counted = calls.clone();
        let started = Instant::now();
        let mut notices = 0;
        let outcome = retry(
            &policy(1, OnExhausted::Dlq),
            &CancellationToken::new(),
            move || {
                let n = counted.fetch_add(1, Ordering::SeqCst);
                std::future::ready(if n < 3 {
                    Err(RetryAction::Later(Duration::from_secs(1), "429".into()))
                } else {
                    Ok(n)
                })
            },
            |_| notices += 1,
        )
        .await;
        assert!(matches!(outcome, RetryOutcome::Done(3)));
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(3),
            "waited what it was told"
        );
        assert_eq!(notices, 0, "no failure was reported");
        let cancel = CancellationToken::new();
        cancel.cancel();
        let outcome: RetryOutcome<()> = retry(
            &policy(1, OnExhausted::Dlq),
            &cancel,
            || {
                std::future::ready(Err(RetryAction::Later(
                    Duration::from_secs(60),
                    "429".into(),
                )))
            },
            |_| {},
        )
        .await;
        assert!(
            matches!(outcome, RetryOutcome::Cancelled),
            "shutdown ends the wait"
        );
    }

    /// Fails transiently `failures` times, then succeeds; counts calls.
    fn flaky(
        failures: u32,
        calls: Arc<AtomicU32>,
    ) -> impl FnMut() -> std::future::Ready<Result<u32, RetryAction>> {
        move || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            std::future::ready(if n < failures {
                Err(RetryAction::Retry(format!("connection refused #{n}")))
            } else {
                Ok(n)
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_within_the_backoff_budget() {
        let calls = Arc::new(AtomicU32::new(0));
        let start = Instant::now();
        let mut notices = Vec::new();
        let out = retry(
            &policy(8, OnExhausted::Wait),
            &CancellationToken::new(),
            flaky(3, calls.clone()),
            |n| notices.push((n.attempt, n.delay, n.exhausted)),
        )
        .await;
        assert_eq!(out, RetryOutcome::Done(3));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        assert_eq!(notices.len(), 3);
        let slept: Duration = notices.iter().map(|n| n.1).sum();
        // Tokio's timer rounds each sleep up to the next millisecond.
        let elapsed = start.elapsed();
        let rounding = Duration::from_millis(notices.len() as u64);
        assert!(
            elapsed >= slept && elapsed <= slept + rounding,
            "virtual time advanced by the delays: slept {slept:?}, elapsed {elapsed:?}"
        );
        assert!(slept <= Duration::from_millis(100 + 200 + 400));
        assert!(notices.iter().all(|n| !n.2));
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let out: RetryOutcome<()> = retry(
            &policy(8, OnExhausted::Wait),
            &CancellationToken::new(),
            || {
                calls.fetch_add(1, Ordering::SeqCst);
                std::future::ready(Err(RetryAction::DontRetry("sqlstate 23505".into())))
            },
            |_| panic!("no retry expected"),
        )
        .await;
        assert_eq!(out, RetryOutcome::Permanent("sqlstate 23505".into()));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn exhausted_with_dlq_policy_gives_up_after_max_attempts() {
        let calls = Arc::new(AtomicU32::new(0));
        let out = retry(
            &policy(5, OnExhausted::Dlq),
            &CancellationToken::new(),
            flaky(100, calls.clone()),
            |_| {},
        )
        .await;
        assert_eq!(out, RetryOutcome::Exhausted("connection refused #4".into()));
        assert_eq!(calls.load(Ordering::SeqCst), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn exhausted_with_wait_policy_keeps_waiting_until_it_succeeds() {
        let calls = Arc::new(AtomicU32::new(0));
        let mut exhausted_notices = 0;
        let out = retry(
            &policy(3, OnExhausted::Wait),
            &CancellationToken::new(),
            flaky(12, calls.clone()),
            |n| {
                if n.exhausted {
                    exhausted_notices += 1;
                    assert!(n.delay <= Duration::from_secs(5), "delays stay capped");
                }
            },
        )
        .await;
        assert_eq!(out, RetryOutcome::Done(12));
        assert_eq!(
            exhausted_notices, 10,
            "attempts 3..=12 were past max_attempts"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_runs_even_when_already_cancelled_but_is_not_retried() {
        let cancel = CancellationToken::new();
        cancel.cancel();
        let calls = Arc::new(AtomicU32::new(0));
        let ok = retry(
            &policy(8, OnExhausted::Wait),
            &cancel,
            flaky(0, calls.clone()),
            |_| {},
        )
        .await;
        assert_eq!(
            ok,
            RetryOutcome::Done(0),
            "dispatched work is drained at shutdown"
        );
        let failing = retry(
            &policy(8, OnExhausted::Wait),
            &cancel,
            flaky(u32::MAX, calls.clone()),
            |_| {},
        )
        .await;
        assert_eq!(failing, RetryOutcome::Cancelled);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "no retry after shutdown");
    }

    #[tokio::test(start_paused = true)]
    async fn cancellation_interrupts_a_backoff_sleep_at_once() {
        let cancel = CancellationToken::new();
        let calls = Arc::new(AtomicU32::new(0));
        let trigger = cancel.clone();
        let start = Instant::now();
        let task = tokio::spawn({
            let calls = calls.clone();
            async move {
                retry(
                    &policy(8, OnExhausted::Wait),
                    &cancel,
                    flaky(u32::MAX, calls),
                    |_| {},
                )
                .await
            }
        });
        // Let a few attempts happen in virtual time, then shut down mid-sleep.
        tokio::time::sleep(Duration::from_millis(250)).await;
        trigger.cancel();
        let out: RetryOutcome<u32> = task.await.unwrap();
        assert_eq!(out, RetryOutcome::Cancelled);
        assert!(
            start.elapsed() < Duration::from_millis(300),
            "did not sleep past cancel"
        );
        let made = calls.load(Ordering::SeqCst);
        assert!(made >= 1, "at least one attempt ran");
    }
}
