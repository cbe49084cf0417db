//! `streamsre dlq list|show|replay`: the operator's view of the dead-letter queue.

use crate::args::{DlqCommand, DlqSelect};
use anyhow::{bail, Context};
use std::process::ExitCode;
use std::time::Duration;
use streamsre_kafka::dlq::replay;
use streamsre_sink::{DeadLetter, DlqFilter, PgSink, PgSinkConfig};
use streamsre_telemetry::redact_url;

async fn connect(url: &str) -> anyhow::Result<PgSink> {
    PgSink::connect(&PgSinkConfig {
        url: url.to_string(),
        pool_size: 1,
        connect_timeout: Duration::from_secs(10),
        write_path: Default::default(),
    })
    .await
    .with_context(|| format!("connecting to {}", redact_url(url)))
}

fn filter(select: &DlqSelect, ids: Vec<uuid::Uuid>) -> anyhow::Result<DlqFilter> {
    let since = match select.since {
        Some(d) => Some(
            chrono::Utc::now() - chrono::Duration::from_std(d).context("--since is too large")?,
        ),
        None => None,
    };
    Ok(DlqFilter {
        kind: select.kind.clone(),
        since,
        ids,
        limit: select.limit,
    })
}

/// One record as a JSON line for `dlq list --json` (the table's column names).
fn json_line(d: &DeadLetter) -> serde_json::Value {
    let known = d.pos.is_known();
    serde_json::json!({
        "event_id": d.id,
        "error_kind": d.kind,
        "reason": d.reason,
        "original_payload": d.json(),
        "source_topic": known.then_some(&*d.pos.topic),
        "source_partition": known.then_some(d.pos.partition),
        "source_offset": known.then_some(d.pos.offset),
        "failed_at": d.failed_at,
        "retry_count": d.returns,
        "replayed_at": d.replayed_at,
    })
}

/// Runs one `dlq` subcommand.
pub async fn run(command: DlqCommand) -> anyhow::Result<ExitCode> {
    match command {
        DlqCommand::List { select, json } => {
            let sink = connect(&select.db.database_url).await?;
            let rows = sink.dlq_list(&filter(&select, vec![])?).await?;
            if json {
                for row in &rows {
                    println!("{}", json_line(row));
                }
            } else {
                println!(
                    "{:<20} {:<36} {:<26} {:<28} {:>7}  REASON",
                    "FAILED_AT", "ID", "KIND", "SOURCE", "RETURNS"
                );
                for row in &rows {
                    let reason: String = row.reason.chars().take(70).collect();
                    println!(
                        "{:<20} {:<36} {:<26} {:<28} {:>7}  {}",
                        row.failed_at.format("%Y-%m-%d %H:%M:%S"),
                        row.id,
                        row.kind,
                        row.pos.to_string(),
                        row.returns,
                        reason
                    );
                }
                println!("{} record(s)", rows.len());
            }
            Ok(ExitCode::SUCCESS)
        }
        DlqCommand::Show { id, db } => {
            let sink = connect(&db.database_url).await?;
            let rows = sink
                .dlq_list(&DlqFilter {
                    ids: vec![id],
                    limit: 1,
                    ..DlqFilter::default()
                })
                .await?;
            let Some(row) = rows.first() else {
                bail!("no DLQ record with id {id}");
            };
            println!("id           {}", row.id);
            println!("kind         {}", row.kind);
            println!("reason       {}", row.reason);
            println!("source       {}", row.pos);
            println!("failed_at    {}", row.failed_at.to_rfc3339());
            println!("returns      {}", row.returns);
            println!(
                "replayed_at  {}",
                row.replayed_at.map_or("never".into(), |t| t.to_rfc3339())
            );
            println!(
                "key          {}",
                row.key
                    .as_deref()
                    .map_or("(none)".into(), |k| String::from_utf8_lossy(k).into_owned())
            );
            match (&row.json(), &row.value) {
                (Some(json), _) => println!("payload      {}", serde_json::to_string_pretty(json)?),
                (None, Some(raw)) => match std::str::from_utf8(raw) {
                    Ok(text) => println!("payload      {text:?} ({} bytes, not JSON)", raw.len()),
                    Err(_) => {
                        let hex: String =
                            raw.iter().take(256).map(|b| format!("{b:02x}")).collect();
                        println!("payload      hex {hex} ({} bytes, not UTF-8)", raw.len())
                    }
                },
                (None, None) => println!("payload      (none: the message had no value)"),
            }
            Ok(ExitCode::SUCCESS)
        }
        DlqCommand::Replay {
            select,
            kafka,
            ids,
            topic,
            rate,
            dry_run,
            ledger_retention,
            force,
        } => {
            let sink = connect(&select.db.database_url).await?;
            let rows = sink.dlq_list(&filter(&select, ids)?).await?;
            if let Some(retention) = ledger_retention {
                let horizon = chrono::Utc::now()
                    - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
                let old: Vec<_> = rows.iter().filter(|r| r.failed_at < horizon).collect();
                for row in &old {
                    eprintln!(
                        "warning: {} failed at {}, longer ago than --ledger-retention {}: the \
                         ledger may no longer know it, and replaying it may apply it twice",
                        row.id,
                        row.failed_at.to_rfc3339(),
                        humantime::format_duration(retention)
                    );
                }
                if !old.is_empty() && !force && !dry_run {
                    eprintln!(
                        "error: {} record(s) older than the ledger retention; nothing sent \
                         (--force replays them anyway)",
                        old.len()
                    );
                    return Ok(ExitCode::from(2));
                }
            }
            if dry_run {
                for row in &rows {
                    println!("would replay {} ({}) to {topic}", row.id, row.kind);
                }
                println!("dry run: {} record(s) selected, nothing sent", rows.len());
                return Ok(ExitCode::SUCCESS);
            }
            let acked = replay(&kafka.opts()?, &topic, &rows, rate).await?;
            let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
            sink.dlq_mark_replayed(&ids).await?;
            println!("replayed {acked} record(s) to {topic} at up to {rate}/s");
            Ok(ExitCode::SUCCESS)
        }
    }
}
