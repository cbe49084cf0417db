//! `streamsre chaos`: the failures of the lab, on demand. It drives the sink service's control
//! API, the topic, a consumer process and the database.

use crate::args::{ChaosCommand, DbSlowArg};
use anyhow::{bail, Context};
use std::process::ExitCode;
use std::time::Duration;
use streamsre_event::encode;
use streamsre_lab::load::{send_raw, EventGenerator, RawRecord, WorkloadConfig};

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
fn poison(count: usize) -> Vec<RawRecord> {
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

/// Runs one chaos action.
pub async fn run(command: ChaosCommand) -> anyhow::Result<ExitCode> {
    match command {
        ChaosCommand::Stall {
            sink_url,
            rate,
            duration,
        } => {
            let client = reqwest::Client::new();
            let state: serde_json::Value = client
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
                control(&sink_url, "/control/pause", serde_json::Value::Null).await?;
                println!("chaos: sink stalled (nothing accepted) for {shown}");
                tokio::time::sleep(duration).await;
                control(&sink_url, "/control/resume", serde_json::Value::Null).await?;
                println!("chaos: sink resumed");
            } else {
                control(
                    &sink_url,
                    "/control/rate",
                    serde_json::json!({ "rate": rate }),
                )
                .await?;
                println!("chaos: sink rate {previous} → {rate}/s for {shown}");
                tokio::time::sleep(duration).await;
                control(
                    &sink_url,
                    "/control/rate",
                    serde_json::json!({ "rate": previous }),
                )
                .await?;
                println!("chaos: sink rate restored to {previous}/s");
            }
        }
        ChaosCommand::Pause { sink_url } => {
            control(&sink_url, "/control/pause", serde_json::Value::Null).await?;
            println!("chaos: sink paused");
        }
        ChaosCommand::Resume { sink_url } => {
            control(&sink_url, "/control/resume", serde_json::Value::Null).await?;
            println!("chaos: sink resumed");
        }
        ChaosCommand::Poison {
            count,
            topic,
            kafka,
        } => {
            let records = poison(count);
            let opts = kafka.opts();
            let report = tokio::task::spawn_blocking(move || {
                send_raw(&opts, &topic, &records, Duration::from_secs(60))
            })
            .await??;
            println!(
                "chaos: produced {} poison message(s), {} acknowledged",
                report.sent, report.acked
            );
        }
        ChaosCommand::Kill { pid_file, .. } => {
            let pid: i32 = std::fs::read_to_string(&pid_file)
                .with_context(|| format!("reading {}", pid_file.display()))?
                .trim()
                .parse()
                .context("the pid file holds no pid")?;
            // SAFETY: kill(2) with a pid read from our own pid file and a valid signal.
            if unsafe { libc::kill(pid, libc::SIGKILL) } != 0 {
                bail!("kill -9 {pid}: {}", std::io::Error::last_os_error());
            }
            println!("chaos: consumer {pid} killed (SIGKILL)");
        }
        ChaosCommand::DbSlow { state, sleep, db } => {
            let (client, connection) =
                tokio_postgres::connect(&db.database_url, tokio_postgres::NoTls)
                    .await
                    .with_context(|| {
                        format!(
                            "connecting to {}",
                            streamsre_telemetry::redact_url(&db.database_url)
                        )
                    })?;
            tokio::spawn(connection);
            match state {
                DbSlowArg::On => {
                    // The seed's drill 2: every insert statement into reviews sleeps.
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
                    println!("chaos: db-slow on ({secs}s per insert statement into reviews)");
                }
                DbSlowArg::Off => {
                    client
                        .batch_execute("DROP TRIGGER IF EXISTS streamsre_chaos_slow ON reviews")
                        .await
                        .context("dropping the slow trigger")?;
                    println!("chaos: db-slow off");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
