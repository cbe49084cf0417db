//! `lag`, `offsets describe` and `offsets reset`: a group's offsets as the broker holds them,
//! and moving them.

use crate::args::{LagArgs, ResetArgs};
use std::process::ExitCode;
use std::time::Duration;
use streamsre_kafka::offsets::{execute_reset, plan_reset, PartitionReset};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Prints the group's offsets per partition. `full` (`offsets describe`) adds the log start
/// and the member list to what `lag` prints.
pub(super) async fn describe(args: LagArgs, full: bool) -> anyhow::Result<ExitCode> {
    let opts = args.kafka.opts()?;
    let (group, topic) = (args.group.clone(), args.topic.clone());
    let report = tokio::task::spawn_blocking(move || {
        streamsre_kafka::admin::group_lag_with_owners(&opts, &group, &topic, TIMEOUT)
    })
    .await??;
    let total: i64 = report.partitions.iter().map(|r| r.offsets.lag).sum();
    if args.json {
        let body = serde_json::json!({
            "group": args.group, "topic": args.topic, "total_lag": total,
            "state": report.group.as_ref().map(|g| g.state.clone()),
            "members": report.group.as_ref().map(|g| g.members.clone()),
            "describe_error": report.describe_error,
            "partitions": report.partitions,
        });
        println!("{body}");
        return Ok(ExitCode::SUCCESS);
    }
    let state = report
        .group
        .as_ref()
        .map_or("unknown", |g| g.state.as_str());
    println!("GROUP {}  TOPIC {}  STATE {state}", args.group, args.topic);
    let start = |cell: &str| {
        if full {
            format!(" {cell:>12}")
        } else {
            String::new()
        }
    };
    println!(
        "{:>9} {:>12}{} {:>12} {:>10}  OWNER",
        "PARTITION",
        "COMMITTED",
        start("LOG-START"),
        if full { "LOG-END" } else { "HIGH" },
        "LAG"
    );
    for r in &report.partitions {
        let o = &r.offsets;
        println!(
            "{:>9} {:>12}{} {:>12} {:>10}  {}",
            o.partition,
            o.committed.map_or("-".to_string(), |c| c.to_string()),
            start(&o.low_watermark.to_string()),
            o.high_watermark,
            o.lag,
            report.owner_cell(r)
        );
    }
    println!(
        "{:>9} {:>12}{} {:>12} {:>10}",
        "TOTAL",
        "",
        start(""),
        "",
        total
    );
    if full {
        if let Some(g) = &report.group {
            println!("MEMBERS {}", g.member_labels());
        }
    }
    match (&report.group, &report.describe_error) {
        (_, Some(e)) => println!("owners unknown: {e}"),
        (Some(g), None) if !g.assignments_reported() && !g.members.is_empty() => {
            println!(
                "owners unknown (?): the coordinator lists members {} but reports no assignments",
                g.member_labels()
            )
        }
        _ => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Plans a reset, prints it, and applies it with `--execute`.
pub(super) async fn reset(args: ResetArgs) -> anyhow::Result<ExitCode> {
    let opts = args.kafka.opts()?;
    let target = args.to.target(chrono::Utc::now())?;
    let (group, topic, partitions) = (
        args.group.clone(),
        args.topic.clone(),
        args.partitions.clone(),
    );
    let execute = args.execute;
    let plan = tokio::task::spawn_blocking(move || {
        let plan = plan_reset(&opts, &group, &topic, &partitions, target, TIMEOUT)?;
        if execute {
            execute_reset(&opts, &group, &topic, &plan, TIMEOUT)?;
        }
        anyhow::Ok(plan)
    })
    .await??;
    for p in &plan {
        if let Some(note) = &p.note {
            eprintln!("warning: partition {}: {note}", p.partition);
        }
    }
    if args.json {
        let body = serde_json::json!({
            "group": args.group, "topic": args.topic, "executed": execute, "partitions": plan,
        });
        println!("{body}");
        return Ok(ExitCode::SUCCESS);
    }
    print_plan(&args.group, &args.topic, &plan);
    if execute {
        println!(
            "reset applied: group {} reads {} partition(s) of {} from the NEW offsets",
            args.group,
            plan.len(),
            args.topic
        );
    } else {
        println!("dry run: nothing changed (add --execute to apply)");
    }
    Ok(ExitCode::SUCCESS)
}

fn print_plan(group: &str, topic: &str, plan: &[PartitionReset]) {
    println!("GROUP {group}  TOPIC {topic}");
    println!(
        "{:>9} {:>12} {:>12} {:>12} {:>12}  NOTE",
        "PARTITION", "CURRENT", "LOG-START", "LOG-END", "NEW"
    );
    for p in plan {
        println!(
            "{:>9} {:>12} {:>12} {:>12} {:>12}  {}",
            p.partition,
            p.current.map_or("-".to_string(), |c| c.to_string()),
            p.log_start,
            p.log_end,
            p.new,
            p.note.as_deref().unwrap_or("")
        );
    }
}
