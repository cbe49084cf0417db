//! HTTP from a test: GET a path, read one sample of a process's `/metrics` (parsed by the
//! same [`Scrape`] `streamsre top` and the lab use).

use anyhow::{anyhow, Context};
use std::time::Duration;
use streamsre_telemetry::metrics::Scrape;

/// Fetches `http://addr/path` and returns (status, body).
pub async fn http_get(addr: &str, path: &str) -> anyhow::Result<(u16, String)> {
    let res = reqwest::Client::new()
        .get(format!("http://{addr}{path}"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .with_context(|| format!("GET {addr}{path}"))?;
    let status = res.status().as_u16();
    Ok((status, res.text().await?))
}

/// The value of an unlabelled or fully labelled sample in Prometheus text, e.g.
/// `events_processed_total{result="success"}`.
pub fn metric_value(text: &str, sample: &str) -> Option<f64> {
    Scrape::parse(text).get(sample)
}

/// Scrapes one sample from a process's `/metrics`.
pub async fn scrape(addr: &str, sample: &str) -> anyhow::Result<f64> {
    let (_, body) = http_get(addr, "/metrics").await?;
    metric_value(&body, sample).ok_or_else(|| anyhow!("{sample} not found in /metrics"))
}
