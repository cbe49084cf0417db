//! The HTTP sink: posts events as JSON to a downstream service (`streamsre sink` in the lab).
//!
//! Delivery is at-least-once: HTTP has no dedup ledger, so an event whose acknowledgement was
//! lost is sent again. A `429` is waited out as long as the server asks (its flow control: no
//! attempt spent, the circuit breaker untouched); a `5xx` is retried with backoff; neither drops.

use crate::{BatchOutcome, EventBody, SinkError, ValidEvent};
use std::borrow::Borrow;
use std::time::{Duration, Instant};

/// Largest batch sent in one request (the lab sink refuses larger ones with `413`).
pub const MAX_REQUEST_EVENTS: usize = 1000;

/// How long a `429` asks us to wait: a `retry_after_ms` field in its JSON body when there is
/// one (precise; `streamsre sink` sends it), else `Retry-After` (whole seconds), else 1 s;
/// never more than [`MAX_BUSY_WAIT`], so a confused server cannot park a lane for an hour.
fn busy_wait(header_secs: Option<u64>, body: &str) -> Duration {
    let from_body = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("retry_after_ms")?.as_u64())
        .map(Duration::from_millis);
    from_body
        .or(header_secs.map(Duration::from_secs))
        .unwrap_or(Duration::from_secs(1))
        .clamp(Duration::from_millis(1), MAX_BUSY_WAIT)
}

/// The longest wait a `429` can ask for.
pub const MAX_BUSY_WAIT: Duration = Duration::from_secs(30);

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
            .map_err(|e| SinkError::permanent(format!("building the HTTP client: {e}")))?;
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
            .map_err(|e| SinkError::retriable(format!("http: {e}")))?;
        let status = res.status();
        if status.is_success() {
            return Ok(());
        }
        let header_secs = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let text: String = res.text().await.unwrap_or_default();
        let shown: String = text.chars().take(200).collect();
        let reason = format!("http {}: {shown}", status.as_u16());
        if status.as_u16() == 429 {
            // The service is up and full: its flow control, not a failure.
            return Err(SinkError::busy(busy_wait(header_secs, &text), reason));
        }
        // Server trouble passes; other client errors are about the data.
        if status.is_server_error() || status.as_u16() == 408 {
            Err(SinkError::retriable(reason))
        } else {
            Err(SinkError::permanent(reason))
        }
    }

    /// Sends `events` in requests of at most [`MAX_REQUEST_EVENTS`].
    pub async fn apply_batch<E: Borrow<ValidEvent>>(
        &self,
        events: &[E],
    ) -> Result<BatchOutcome, SinkError> {
        let started = Instant::now();
        for chunk in events.chunks(MAX_REQUEST_EVENTS) {
            let body: Vec<&streamsre_event::Event> = chunk
                .iter()
                .map(|e| review(e.borrow()))
                .collect::<Result<_, _>>()?;
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
        self.post("/events", review(event)?).await.map(|()| true)
    }

    /// Checks that the sink answers `/healthz` within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), SinkError> {
        let res = self
            .client
            .get(format!("{}/healthz", self.base))
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| SinkError::retriable(format!("http: {e}")))?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(SinkError::retriable(format!(
                "http {}",
                res.status().as_u16()
            )))
        }
    }
}

/// The review event an HTTP request carries.
fn review(e: &ValidEvent) -> Result<&streamsre_event::Event, SinkError> {
    match &e.body {
        EventBody::Review(event) => Ok(event),
        EventBody::Rows(_) => Err(SinkError::permanent(
            "the HTTP sink forwards review events; this event was mapped to rows",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_service_is_waited_for_as_precisely_as_it_says() {
        let ms = Duration::from_millis;
        assert_eq!(
            busy_wait(Some(1), r#"{"retry_after_ms": 120}"#),
            ms(120),
            "body wins"
        );
        assert_eq!(busy_wait(Some(3), "slow down"), ms(3000), "then the header");
        assert_eq!(busy_wait(None, ""), ms(1000), "then a second");
        assert_eq!(busy_wait(Some(7200), ""), MAX_BUSY_WAIT, "capped");
        assert_eq!(
            busy_wait(None, r#"{"retry_after_ms": 0}"#),
            ms(1),
            "never a busy loop"
        );
    }
}
