//! `streamsre dlq list|show|replay`: the operator's view of the dead-letter queue.

use crate::args::{DlqCommand, DlqSelect};
use anyhow::{bail, Context};
use std::process::ExitCode;
use std::time::Duration;
use streamsre_kafka::dlq::{replay, ReplayRecord};
use streamsre_sink::{DlqFilter, DlqRow, PgSink, PgSinkConfig};
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

fn source(row: &DlqRow) -> String {
    match (&row.source_topic, row.source_partition, row.source_offset) {
        (Some(t), Some(p), Some(o)) => format!("{t}/{p}@{o}"),
        _ => "-".into(),
    }
}

fn kind(row: &DlqRow) -> &str {
    row.error_kind
        .as_deref()
        .unwrap_or_else(|| row.reason.split(':').next().unwrap_or(""))
}

/// Runs one `dlq` subcommand.
pub async fn run(command: DlqCommand) -> anyhow::Result<ExitCode> {
    match command {
        DlqCommand::List { select, json } => {
            let sink = connect(&select.db.database_url).await?;
            let rows = sink.dlq_list(&filter(&select, vec![])?).await?;
            if json {
                for row in &rows {
                    println!("{}", serde_json::to_string(row)?);
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
                        row.event_id,
                        kind(row),
                        source(row),
                        row.retry_count,
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
            println!("id           {}", row.event_id);
            println!("kind         {}", kind(row));
            println!("reason       {}", row.reason);
            println!("source       {}", source(row));
            println!("failed_at    {}", row.failed_at.to_rfc3339());
            println!("returns      {}", row.retry_count);
            println!(
                "replayed_at  {}",
                row.replayed_at.map_or("never".into(), |t| t.to_rfc3339())
            );
            println!(
                "key          {}",
                row.original_key
                    .as_deref()
                    .map_or("(none)".into(), |k| String::from_utf8_lossy(k).into_owned())
            );
            match (&row.original_payload, &row.raw_payload) {
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
        } => {
            let sink = connect(&select.db.database_url).await?;
            let rows = sink.dlq_list(&filter(&select, ids)?).await?;
            if dry_run {
                for row in &rows {
                    println!("would replay {} ({}) to {topic}", row.event_id, kind(row));
                }
                println!("dry run: {} record(s) selected, nothing sent", rows.len());
                return Ok(ExitCode::SUCCESS);
            }
            let records: Vec<ReplayRecord> = rows
                .iter()
                .map(|r| ReplayRecord {
                    dlq_id: r.event_id,
                    key: r.original_key.clone(),
                    value: r.raw_payload.clone(),
                })
                .collect();
            let acked = replay(&kafka.opts(), &topic, &records, rate).await?;
            let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.event_id).collect();
            sink.dlq_mark_replayed(&ids).await?;
            println!("replayed {acked} record(s) to {topic} at up to {rate}/s");
            Ok(ExitCode::SUCCESS)
        }
    }
}
