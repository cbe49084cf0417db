//! The slow downstream: `streamsre sink`.
//!
//! - `POST /events` (one JSON event) and `POST /events/batch` (a JSON array): admitted by a
//!   server-side token bucket; beyond it, `429 Too Many Requests` with `Retry-After`.
//! - A deterministic stall schedule (`--stall-at`, `--stall-for`, `--stall-rate`) and a control
//!   API: `GET /control`, `POST /control/rate {"rate":N}`, `POST /control/pause`,
//!   `POST /control/resume`.
//! - `--latency`: every request waits this long before it is answered, like a downstream's
//!   round trip, so a batch of one costs as much as a batch of a thousand (what the
//!   batch-size sweep measures).
//! - `GET /counts`: events accepted per key (for loss and duplication checks), `/metrics`,
//!   `/healthz`.

mod admission;

pub use admission::{Admission, Refusal, StallSchedule, MAX_BATCH};

use crate::metrics::SinkServiceMetrics;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// State shared by the handlers.
#[derive(Clone)]
pub struct SinkService {
    admission: Arc<Admission>,
    counts: Arc<Mutex<HashMap<String, u64>>>,
    metrics: Arc<SinkServiceMetrics>,
    latency: std::time::Duration,
}

impl SinkService {
    /// A service accepting `rate` events/s (0 = unlimited) with an optional stall schedule.
    pub fn new(rate: u32, stall: Option<StallSchedule>) -> Self {
        Self {
            admission: Arc::new(Admission::new(rate, stall)),
            counts: Arc::default(),
            metrics: Arc::new(SinkServiceMetrics::new()),
            latency: std::time::Duration::ZERO,
        }
    }

    /// Answers every event request `latency` late (a downstream's per-request cost).
    pub fn with_latency(mut self, latency: std::time::Duration) -> Self {
        self.latency = latency;
        self
    }

    async fn round_trip(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }

    /// Events accepted so far, per key (`""` for events without a key).
    pub fn counts(&self) -> HashMap<String, u64> {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn publish_state(&self) {
        let keys = self.counts.lock().unwrap_or_else(|e| e.into_inner()).len();
        self.metrics.state(
            self.admission.rate(),
            self.admission.paused(),
            self.admission.stalling().is_some(),
            keys,
        );
    }

    /// The HTTP router.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/events", post(single))
            .route("/events/batch", post(batch))
            .route("/counts", get(counts))
            .route("/control", get(control))
            .route("/control/rate", post(set_rate))
            .route("/control/pause", post(pause))
            .route("/control/resume", post(resume))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/metrics", get(metrics))
            .with_state(self.clone())
    }

    fn accept(&self, endpoint: &'static str, events: &[Value]) -> Response {
        let n = events.len() as u32;
        let response = match self.admission.admit(n) {
            Ok(()) => {
                let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
                for e in events {
                    let key = e.get("key").and_then(Value::as_str).unwrap_or("");
                    *counts.entry(key.to_string()).or_default() += 1;
                }
                drop(counts);
                self.metrics.events(true, u64::from(n));
                (StatusCode::OK, Json(json!({ "accepted": n }))).into_response()
            }
            Err(Refusal::Later(wait)) => {
                self.metrics.events(false, u64::from(n));
                // Retry-After is whole seconds (RFC 9110); the body carries the precise wait.
                let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
                let mut res = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({ "error": "rate limited", "retry_after_ms": wait.as_millis() as u64 })),
                )
                    .into_response();
                res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
                res
            }
            Err(Refusal::TooLarge { events, max }) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                Json(json!({ "error": format!("batch of {events} events exceeds the maximum of {max}") })),
            )
                .into_response(),
        };
        self.metrics.request(endpoint, response.status().as_u16());
        self.publish_state();
        response
    }
}

async fn single(State(s): State<SinkService>, Json(event): Json<Value>) -> Response {
    s.round_trip().await;
    s.accept("single", std::slice::from_ref(&event))
}

async fn batch(State(s): State<SinkService>, Json(events): Json<Vec<Value>>) -> Response {
    s.round_trip().await;
    s.accept("batch", &events)
}

async fn counts(State(s): State<SinkService>) -> Json<Value> {
    let counts = s.counts();
    let total: u64 = counts.values().sum();
    Json(json!({ "total": total, "keys": counts }))
}

async fn control(State(s): State<SinkService>) -> Json<Value> {
    Json(json!({
        "rate_limit": s.admission.rate(),
        "paused": s.admission.paused(),
        "stalling_for_ms": s.admission.stalling().map(|d| d.as_millis() as u64),
    }))
}

async fn set_rate(State(s): State<SinkService>, Json(body): Json<Value>) -> Response {
    match body
        .get("rate")
        .and_then(Value::as_u64)
        .and_then(|r| u32::try_from(r).ok())
    {
        Some(rate) => {
            s.admission.set_rate(rate);
            s.publish_state();
            tracing::info!(rate, "sink rate limit changed");
            Json(json!({ "rate_limit": rate })).into_response()
        }
        None => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "expected {\"rate\": <events per second>}" })),
        )
            .into_response(),
    }
}

async fn pause(State(s): State<SinkService>) -> Json<Value> {
    s.admission.set_paused(true);
    s.publish_state();
    tracing::info!("sink paused");
    Json(json!({ "paused": true }))
}

async fn resume(State(s): State<SinkService>) -> Json<Value> {
    s.admission.set_paused(false);
    s.publish_state();
    tracing::info!("sink resumed");
    Json(json!({ "paused": false }))
}

async fn metrics(State(s): State<SinkService>) -> Response {
    s.publish_state();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.encode(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn call(
        router: Router,
        method: &str,
        path: &str,
        body: Value,
    ) -> (StatusCode, Option<String>, Value) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let res = router.oneshot(req).await.unwrap();
        let status = res.status();
        let retry = res
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            retry,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    #[tokio::test]
    async fn over_the_limit_is_429_with_retry_after_and_counts_are_per_key() {
        let s = SinkService::new(10, None);
        let batch: Vec<Value> = (0..1000)
            .map(|i| json!({"key": format!("user:{}", i % 3)}))
            .collect();
        let (code, _, body) = call(s.router(), "POST", "/events/batch", json!(batch)).await;
        assert_eq!(
            (code, body["accepted"].as_u64()),
            (StatusCode::OK, Some(1000))
        );
        let (code, retry, _) = call(s.router(), "POST", "/events", json!({"key": "user:9"})).await;
        assert_eq!(code, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(retry.as_deref(), Some("1"));
        let (_, _, counts) = call(s.router(), "GET", "/counts", Value::Null).await;
        assert_eq!(counts["total"], 1000);
        assert_eq!(counts["keys"]["user:0"], 334);
        let (code, _, _) = call(
            s.router(),
            "POST",
            "/events/batch",
            json!(vec![json!({}); 1001]),
        )
        .await;
        assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn the_control_api_pauses_resumes_and_changes_the_rate() {
        let s = SinkService::new(0, None);
        call(s.router(), "POST", "/control/pause", Value::Null).await;
        let (code, _, _) = call(s.router(), "POST", "/events", json!({"key": "k"})).await;
        assert_eq!(code, StatusCode::TOO_MANY_REQUESTS);
        call(s.router(), "POST", "/control/resume", Value::Null).await;
        let (code, _, _) = call(s.router(), "POST", "/events", json!({"key": "k"})).await;
        assert_eq!(code, StatusCode::OK);
        let (code, _, _) = call(s.router(), "POST", "/control/rate", json!({"rate": 7})).await;
        assert_eq!(code, StatusCode::OK);
        let (_, _, state) = call(s.router(), "GET", "/control", Value::Null).await;
        assert_eq!(state["rate_limit"], 7);
        let (code, _, _) = call(s.router(), "POST", "/control/rate", json!({"rate": "fast"})).await;
        assert_eq!(code, StatusCode::BAD_REQUEST);
        let text = s.metrics.encode();
        assert!(
            text.contains("sink_service_requests_total{endpoint=\"single\",code=\"429\"} 1"),
            "{text}"
        );
        assert!(text.contains("sink_service_rate_limit 7"));
    }
}
