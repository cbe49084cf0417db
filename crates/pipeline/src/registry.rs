//! The schema registry as the Avro decoder needs it (Confluent's REST API,
//! `GET /schemas/ids/{id}`): each writer schema fetched once and cached for the life of the
//! process (an id's schema never changes). A 404 is an answer, and the messages that carry
//! that id go to the DLQ; anything else (refused, timeout, 5xx, garbage) is an outage, retried
//! with backoff while the lane waits and lag builds, and `/readyz` names `schema_registry`.

use rand::SeedableRng;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streamsre_event::AvroSchema;
use streamsre_retry::Backoff;

/// What the registry said about one schema id.
#[derive(Clone)]
pub(crate) enum Lookup {
    /// The writer's schema.
    Found(Arc<AvroSchema>),
    /// The registry does not have it (404), or what it returned is not an Avro schema:
    /// the reason goes into the DLQ records.
    Unusable(String),
}

/// A registry client with its cache.
pub(crate) struct SchemaRegistry {
    http: reqwest::Client,
    /// Base URL without credentials.
    base: url::Url,
    /// Basic auth from the URL's userinfo.
    auth: Option<(String, String)>,
    cache: Mutex<HashMap<u32, Lookup>>,
    /// The current outage, for `/readyz`; `None` when the last request got an answer.
    outage: Mutex<Option<String>>,
    /// One fetch at a time: lanes that miss the same id together ask the registry once.
    fetching: tokio::sync::Mutex<()>,
    backoff: Backoff,
}

/// How long one registry request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

impl SchemaRegistry {
    /// A client for `url` (`https://user:secret@registry:8081`; the credentials become basic
    /// auth and never appear in logs or errors).
    pub(crate) fn new(url: &str) -> anyhow::Result<Self> {
        let mut base = url::Url::parse(url).map_err(|e| {
            anyhow::anyhow!(
                "--schema-registry-url {}: {e}",
                streamsre_telemetry::redact_url(url)
            )
        })?;
        let auth = (!base.username().is_empty()).then(|| {
            let decode = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            (
                decode(base.username()),
                decode(base.password().unwrap_or("")),
            )
        });
        let _ = base.set_username("");
        let _ = base.set_password(None);
        // `schemas/ids/{id}` is joined below the base path, as clients resolve it.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| anyhow::anyhow!("building the schema registry client: {e}"))?;
        Ok(Self {
            http,
            base,
            auth,
            cache: Mutex::new(HashMap::new()),
            outage: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
            backoff: Backoff {
                base: Duration::from_millis(200),
                cap: Duration::from_secs(10),
            },
        })
    }

    /// The registry's answer for `id`, if it has been fetched.
    pub(crate) fn cached(&self, id: u32) -> Option<Lookup> {
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned()
    }

    /// Returns once the registry has answered for `id`. An outage is retried with backoff for
    /// as long as it lasts: the batch waits (so the lane, the queue and then the fetches stop,
    /// and lag builds), and no message is sent to the DLQ for it.
    pub(crate) async fn ensure(&self, id: u32) {
        let mut rng = rand::rngs::StdRng::from_entropy();
        let mut attempt = 0u32;
        while self.cached(id).is_none() {
            let _one_at_a_time = self.fetching.lock().await;
            if self.cached(id).is_some() {
                break;
            }
            match self.fetch(id).await {
                Ok(lookup) => {
                    let recovered = self
                        .outage
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .take()
                        .is_some();
                    if recovered {
                        tracing::info!("schema registry answers again");
                    }
                    self.cache
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(id, lookup);
                }
                Err(outage) => {
                    let first = {
                        let mut current = self.outage.lock().unwrap_or_else(|e| e.into_inner());
                        current.replace(outage.clone()).is_none()
                    };
                    if first {
                        tracing::warn!(
                            schema_id = id,
                            "schema registry unavailable, retrying: {outage}"
                        );
                    }
                    tokio::time::sleep(self.backoff.delay(attempt, &mut rng)).await;
                    attempt = attempt.saturating_add(1);
                }
            }
        }
    }

    /// One request: `Ok` for an answer about `id` (found or not), `Err` for an outage.
    async fn fetch(&self, id: u32) -> Result<Lookup, String> {
        let url = self
            .base
            .join(&format!("schemas/ids/{id}"))
            .map_err(|e| e.to_string())?;
        let mut request = self.http.get(url.clone());
        if let Some((user, password)) = &self.auth {
            request = request.basic_auth(user, Some(password));
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("{url}: {}", e.without_url()))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| format!("{url}: {e}"))?;
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(Lookup::Unusable(format!(
                "schema id {id} is not in the registry (404: {})",
                error_message(&body)
            )));
        }
        if !status.is_success() {
            return Err(format!("{url}: HTTP {status}: {}", error_message(&body)));
        }
        let schema = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("schema").and_then(|s| s.as_str()).map(String::from))
            .ok_or_else(|| format!("{url}: the answer has no \"schema\" string"))?;
        Ok(match streamsre_event::writer_schema(&schema) {
            Ok(s) => Lookup::Found(Arc::new(s)),
            Err(e) => Lookup::Unusable(format!("schema id {id} is not a usable Avro schema: {e}")),
        })
    }

    /// For `/readyz`: healthy unless the last request found it unavailable.
    pub(crate) fn health(&self) -> (bool, String) {
        match self
            .outage
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            Some(outage) => (false, format!("unavailable, retrying: {outage}")),
            None => (
                true,
                format!(
                    "{} schema(s) cached",
                    self.cache.lock().unwrap_or_else(|e| e.into_inner()).len()
                ),
            ),
        }
    }
}

/// The `message` of a Confluent error body (`{"error_code":40403,"message":"…"}`), or the body.
fn error_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(String::from))
        .unwrap_or_else(|| body.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_url_become_basic_auth_and_leave_the_url() {
        let r = SchemaRegistry::new("https://svc:s%3Acret@registry.example:8081/base").unwrap();
        assert_eq!(r.auth, Some(("svc".to_string(), "s:cret".to_string())));
        assert_eq!(r.base.as_str(), "https://registry.example:8081/base/");
        assert!(SchemaRegistry::new("not a url").is_err());
    }

    #[test]
    fn the_registry_error_message_is_read_from_its_json() {
        assert_eq!(
            error_message(r#"{"error_code":40403,"message":"Schema 7 not found"}"#),
            "Schema 7 not found"
        );
        assert_eq!(error_message("plain"), "plain");
    }
}
