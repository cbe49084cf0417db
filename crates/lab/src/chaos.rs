//! The lab's failures, on demand (`streamsre chaos`): stall, pause or resume the sink through
//! its control API, poison the topic with one of each kind of bad message, SIGKILL a consumer
//! by its pid file, slow the database with the seed's `pg_sleep` trigger. Lab-only: nothing
//! here runs inside `consume`.

use anyhow::{bail, Context};
use std::path::Path;
use std::time::Duration;
use streamsre_event::encode;
use streamsre_kafka::KafkaOpts;

use crate::load::{send_raw, EventGenerator, LoadReport, RawRecord, WorkloadConfig};

async fn control(
    url: &str,
    path: &str,
    body: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let client = reqwest::Client::new();
    let full = format!("{}{path}", url.trim_end_matches('/'));
    let req = if body.is_null() {
        client.post(&full)
    } else {
        client.post(&full).json(&body)
    };
    let res = req.send().await.with_context(|| format!("POST {full}"))?;
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!("POST {full}: HTTP {status}: {body}");
    }
    Ok(body)
}

/// One of each kind of bad message, cycled: what the DLQ must absorb.
pub fn poison_records(count: usize) -> Vec<RawRecord> {
    let mut generator = EventGenerator::new(WorkloadConfig {
        seed: 0xBAD,
        hot_key_pct: 0.0,
        hot_keys: 1,
        keys: 100,
        msg_size: 200,
    });
    (0..count)
        .map(|i| {
            let event = generator.next_event();
            let key = Some(event.key.clone().into_bytes());
            let mut json = serde_json::to_value(&event).expect("event is JSON");
            let value = match i % 8 {
                0 => b"not json at all".to_vec(),
                1 => encode(&event)[..40].to_vec(),
                2 => vec![0xff, 0xfe, 0x00, 0x7b],
                3 => Vec::new(),
                4 => {
                    json["payload"]["rating"] = serde_json::json!(9);
                    serde_json::to_vec(&json).expect("json")
                }
                5 => {
                    json.as_object_mut().expect("object").remove("key");
                    serde_json::to_vec(&json).expect("json")
                }
                6 => {
                    json["schema_version"] = serde_json::json!(99);
                    serde_json::to_vec(&json).expect("json")
                }
                _ => {
                    json["event_id"] = serde_json::json!("not-a-uuid");
                    serde_json::to_vec(&json).expect("json")
                }
            };
            (key, Some(value))
        })
        .collect()
}

/// Lowers the sink's rate to `rate` events/s (0: nothing accepted) for `duration`, then
/// restores what it was. `say` gets one line per change.
pub async fn stall(
    sink_url: &str,
    rate: u32,
    duration: Duration,
    say: impl Fn(String),
) -> anyhow::Result<()> {
    let state: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/control", sink_url.trim_end_matches('/')))
        .send()
        .await
        .context("reading the sink's control state")?
        .json()
        .await?;
    let previous = state["rate_limit"].as_u64().unwrap_or(0);
    let shown = humantime::format_duration(duration);
    if rate == 0 {
        // A rate limit of 0 means "unlimited" to the sink; a full stall is a pause.
        pause(sink_url).await?;
        say(format!(
            "chaos: sink stalled (nothing accepted) for {shown}"
        ));
        tokio::time::sleep(duration).await;
        resume(sink_url).await?;
        say("chaos: sink resumed".into());
    } else {
        control(
            sink_url,
            "/control/rate",
            serde_json::json!({ "rate": rate }),
        )
        .await?;
        say(format!(
            "chaos: sink rate {previous} → {rate}/s for {shown}"
        ));
        tokio::time::sleep(duration).await;
        control(
            sink_url,
            "/control/rate",
            serde_json::json!({ "rate": previous }),
        )
        .await?;
        say(format!("chaos: sink rate restored to {previous}/s"));
    }
    Ok(())
}

/// Stops the sink accepting anything until [`resume`].
pub async fn pause(sink_url: &str) -> anyhow::Result<()> {
    control(sink_url, "/control/pause", serde_json::Value::Null)
        .await
        .map(|_| ())
}

/// Undoes [`pause`].
pub async fn resume(sink_url: &str) -> anyhow::Result<()> {
    control(sink_url, "/control/resume", serde_json::Value::Null)
        .await
        .map(|_| ())
}

/// Produces `count` poison messages (the kinds cycled) to `topic`.
pub async fn poison(opts: KafkaOpts, topic: String, count: usize) -> anyhow::Result<LoadReport> {
    let records = poison_records(count);
    tokio::task::spawn_blocking(move || send_raw(&opts, &topic, &records, Duration::from_secs(60)))
        .await?
}

/// SIGKILLs the process whose pid `pid_file` holds; returns the pid.
pub fn kill(pid_file: &Path) -> anyhow::Result<i32> {
    let pid: i32 = std::fs::read_to_string(pid_file)
        .with_context(|| format!("reading {}", pid_file.display()))?
        .trim()
        .parse()
        .context("the pid file holds no pid")?;
    // SAFETY: kill(2) with a pid read from our own pid file and a valid signal.
    if unsafe { libc::kill(pid, libc::SIGKILL) } != 0 {
        bail!("kill -9 {pid}: {}", std::io::Error::last_os_error());
    }
    Ok(pid)
}

/// The seed's slow-database drill: with `Some(sleep)`, every insert statement into `reviews`
/// sleeps that long (a trigger); with `None`, the trigger is removed.
pub async fn db_slow(database_url: &str, sleep: Option<Duration>) -> anyhow::Result<()> {
    let client = streamsre_sink::postgres::PgConnectOptions::parse(database_url)
        .map_err(anyhow::Error::msg)?
        .connect()
        .await
        .with_context(|| {
            format!(
                "connecting to {}",
                streamsre_telemetry::redact_url(database_url)
            )
        })?;
    match sleep {
        Some(sleep) => {
            let secs = sleep.as_secs_f64();
            client
                .batch_execute(&format!(
                    "CREATE OR REPLACE FUNCTION streamsre_chaos_slow() RETURNS trigger
                         LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep({secs}); RETURN NULL; END $$;
                     DROP TRIGGER IF EXISTS streamsre_chaos_slow ON reviews;
                     CREATE TRIGGER streamsre_chaos_slow AFTER INSERT ON reviews
                         FOR EACH STATEMENT EXECUTE FUNCTION streamsre_chaos_slow();"
                ))
                .await
                .context("installing the slow trigger")?;
        }
        None => client
            .batch_execute("DROP TRIGGER IF EXISTS streamsre_chaos_slow ON reviews")
            .await
            .context("dropping the slow trigger")?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every poison message is refused by the consumer's own decoder, and the eight kinds are
    /// eight different reasons (so the DLQ drill sees each kind once per cycle).
    #[test]
    fn each_poison_kind_is_refused_for_its_own_reason() {
        let records = poison_records(16);
        assert_eq!(records.len(), 16);
        let reasons: Vec<String> = records
            .iter()
            .map(|(_, value)| {
                let err = streamsre_event::decode(value.as_deref(), 1 << 20)
                    .expect_err("poison must not decode");
                err.kind().to_string()
            })
            .collect();
        let mut kinds = reasons[..8].to_vec();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), 8, "{reasons:?}");
        assert_eq!(reasons[..8], reasons[8..], "the kinds cycle");
    }
}
