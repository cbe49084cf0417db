//! The overload policies' side channels: the shed recorder (policy `shed`) and the
//! sustainable-rate endpoint a cooperating producer follows (policy `slow-source`).

use crate::worker::WorkerContext;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use streamsre_event::{DeadLetter, SourcePos};
use streamsre_flow::{OverloadPolicy, RateAdvice, ShedLog};
use streamsre_telemetry::metrics::Outcome;
use streamsre_telemetry::Metrics;
use tokio_util::sync::CancellationToken;

/// Finished events per second, smoothed: what the sink sustains right now.
#[derive(Debug, Default)]
pub(crate) struct SustainableRate(AtomicU64);

impl SustainableRate {
    fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }

    fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }
}

#[derive(Clone)]
struct ControlState {
    rate: Arc<SustainableRate>,
    policy: OverloadPolicy,
}

/// `GET /control/rate`: a [`RateAdvice`]. A producer run with
/// `--adaptive --control-url` follows it when the policy is `slow-source`.
pub(crate) fn router(rate: Arc<SustainableRate>, policy: OverloadPolicy) -> Router {
    Router::new()
        .route("/control/rate", get(rate_handler))
        .with_state(ControlState { rate, policy })
}

async fn rate_handler(State(state): State<ControlState>) -> Json<RateAdvice> {
    Json(RateAdvice::new(state.policy, state.rate.get()))
}

/// Measures finished events per second once a second (exponentially smoothed, so one slow
/// batch does not whipsaw the producer).
pub(crate) async fn estimate_rate(
    metrics: Arc<Metrics>,
    rate: Arc<SustainableRate>,
    cancel: CancellationToken,
) {
    let finished = |m: &Metrics| {
        m.processed_total(Outcome::Success)
            + m.processed_total(Outcome::Duplicate)
            + m.processed_total(Outcome::Dlq)
    };
    let mut last = finished(&metrics);
    let mut smoothed: Option<f64> = None;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        let now = finished(&metrics);
        let sample = (now - last) as f64;
        last = now;
        let value = smoothed.map_or(sample, |s| 0.5 * s + 0.5 * sample);
        smoothed = Some(value);
        rate.set(value);
    }
}

/// Once a second, turns what the shed policy dropped into one log line and one summary record
/// on the DLQ topic (error `shed`, count per key class), so shedding is never silent.
pub(crate) async fn record_shed(
    log: Arc<ShedLog>,
    ctx: Arc<WorkerContext>,
    cancel: CancellationToken,
) {
    loop {
        let stopping = tokio::select! {
            _ = cancel.cancelled() => true,
            _ = tokio::time::sleep(Duration::from_secs(1)) => false,
        };
        let counts = log.drain();
        if !counts.is_empty() {
            let total: u64 = counts.iter().map(|(_, n)| n).sum();
            let per_class: serde_json::Map<String, serde_json::Value> = counts
                .iter()
                .map(|(c, n)| (format!("k{c:02}"), serde_json::json!(n)))
                .collect();
            tracing::warn!(shed = total, per_key_class = ?per_class, "overload: messages shed by policy");
            let summary =
                serde_json::json!({ "shed": total, "per_key_class": per_class }).to_string();
            let reason = format!("shed: {total} messages dropped by the shed overload policy");
            let message = DeadLetter {
                value: Some(summary.into_bytes()),
                ..DeadLetter::new(uuid::Uuid::new_v4(), "shed", reason, SourcePos::none())
            };
            if let Err(e) = ctx.dlq().publish(std::slice::from_ref(&message)).await {
                tracing::warn!(error = %e, "could not publish the shed summary to the DLQ topic");
            }
        }
        if stopping {
            return;
        }
    }
}
