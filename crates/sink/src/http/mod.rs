//! The HTTP sink: posts events as JSON to a downstream service (`streamsre sink` in the lab).
//!
//! Delivery is at-least-once: HTTP has no dedup ledger, so an event whose acknowledgement was
//! lost is sent again. A `429` or `5xx` is retried with backoff, never dropped.

use crate::{BatchOutcome, SinkError, ValidEvent};
use std::borrow::Borrow;
use std::time::{Duration, Instant};

/// Largest batch sent in one request (the lab sink refuses larger ones with `413`).
pub const MAX_REQUEST_EVENTS: usize = 1000;

/// A client of an HTTP event sink. Cheap to clone.
#[derive(Clone)]
pub struct HttpSink {
    client: reqwest::Client,
    base: String,
}

impl HttpSink {
    /// A client for the sink at `base_url` (e.g. `http://127.0.0.1:2114`).
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, SinkError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| SinkError::Permanent(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            client,
            base: base_url.trim_end_matches('/').to_string(),
        })
    }

    /// POSTs `body`, serialized straight to bytes: a `serde_json::Value` tree first would copy
    /// every string of the batch once more (measured: ~20 MiB extra heap with four lanes of
    /// 2 KiB events).
    async fn post(&self, path: &str, body: &impl serde::Serialize) -> Result<(), SinkError> {
        let body = serde_json::to_vec(body).expect("events serialize to JSON");
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| SinkError::Retriable(format!("http: {e}")))?;
        let status = res.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(|v| format!(" (Retry-After {v}s)"))
            .unwrap_or_default();
        let text: String = res
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        let reason = format!("http {}{retry_after}: {text}", status.as_u16());
        // Overload and server trouble pass; other client errors are about the data.
        if status.as_u16() == 429 || status.is_server_error() || status.as_u16() == 408 {
            Err(SinkError::Retriable(reason))
        } else {
            Err(SinkError::Permanent(reason))
        }
    }

    /// Sends `events` in requests of at most [`MAX_REQUEST_EVENTS`].
    pub async fn apply_batch<E: Borrow<ValidEvent>>(
        &self,
        events: &[E],
    ) -> Result<BatchOutcome, SinkError> {
        let started = Instant::now();
        for chunk in events.chunks(MAX_REQUEST_EVENTS) {
            let body: Vec<&streamsre_event::Event> =
                chunk.iter().map(|e| &e.borrow().event).collect();
            self.post("/events/batch", &body).await?;
        }
        Ok(BatchOutcome {
            applied: events.len(),
            elapsed: started.elapsed(),
            ..BatchOutcome::default()
        })
    }

    /// Sends one event on its own (`--sink-mode single`).
    pub async fn apply_single(&self, event: &ValidEvent) -> Result<bool, SinkError> {
        self.post("/events", &event.event).await.map(|()| true)
    }

    /// Checks that the sink answers `/healthz` within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), SinkError> {
        let res = self
            .client
            .get(format!("{}/healthz", self.base))
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| SinkError::Retriable(format!("http: {e}")))?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(SinkError::Retriable(format!(
                "http {}",
                res.status().as_u16()
            )))
        }
    }
}
