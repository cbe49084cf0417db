//! `consume`: flags into a `ConsumeConfig`, the pipeline run until a signal, the summary.

use super::shutdown_signal;
use crate::args::{ConsumeArgs, QueueArg, SummaryFormat};
use anyhow::Context;
use std::process::ExitCode;
use streamsre_kafka::source::SourceConfig;
use streamsre_pipeline::{ConsumeConfig, FlowControl, MappingRejected, MemoryBudget, RunSummary};
use streamsre_retry::{Backoff, RetryPolicy};

pub(super) async fn consume(args: ConsumeArgs) -> anyhow::Result<ExitCode> {
    let value_format = args.value_format()?;
    let mapping = match super::mapping::load(args.mapping.as_deref()) {
        Ok(mapping) => mapping,
        Err(problems) => return Ok(super::mapping::refuse(&problems)),
    };
    let config = ConsumeConfig {
        source: SourceConfig {
            kafka: args.kafka.opts()?,
            topic: args.topic,
            group: args.group,
            commit_interval: args.commit_interval,
            revoke_timeout: args.revoke_timeout,
            drain_timeout: args.drain_timeout,
            flow: FlowControl {
                mode: args.queue.mode(args.queue_cap),
                policy: args.policy.into(),
                memory_budget: Some(MemoryBudget::new(args.memory_budget)),
            },
            poll_mode: args.poll_mode.into(),
            max_poll_interval: args.max_poll_interval,
            keep_headers: mapping.reads_headers(),
            start_from: args.start_from,
        },
        sink: args.sink.target(args.sink_url),
        database_url: args.db.database_url,
        max_inflight: args.max_inflight,
        metrics_addr: args.metrics_addr,
        sink_workers: args.sink_workers,
        dispatch: args.dispatch.into(),
        sink_mode: args.sink_mode.into(),
        batch_size: args.batch_size,
        max_inflight_batches: args.max_inflight_batches,
        write_path: args.write_path.into(),
        batch_linger: args.batch_linger,
        max_message_bytes: args.max_message_bytes,
        value_format,
        mapping,
        ledger_retention: args.ledger_retention,
        dlq_topic: args.dlq_topic,
        retry: RetryPolicy {
            backoff: Backoff {
                base: args.retry_base,
                cap: args.retry_cap,
            },
            max_attempts: args.max_attempts,
            on_exhausted: args.on_retries_exhausted.into(),
        },
        breaker_threshold: args.breaker_threshold,
        breaker_open_for: args.breaker_open_for,
        readiness_timeout: args.readiness_timeout,
        lag_interval: args.lag_interval,
        stuck_after: args.stuck_after,
        heap_probe: Some(crate::debug::heap_stats),
    };
    if args.debug_addr != "off" {
        let addr = args.debug_addr.parse().with_context(|| {
            format!("--debug-addr {:?} is not host:port or off", args.debug_addr)
        })?;
        crate::debug::serve(addr).await;
    }
    if let Some(path) = &args.pid_file {
        std::fs::write(path, std::process::id().to_string())
            .with_context(|| format!("writing the pid file {}", path.display()))?;
    }
    if matches!(args.queue, QueueArg::Unbounded) {
        tracing::warn!(
            "--queue unbounded: memory grows without limit under overload (lab use only)"
        );
    }
    let summary = match streamsre_pipeline::run(config, shutdown_signal()).await {
        Ok(summary) => summary,
        Err(e) => match e.downcast_ref::<MappingRejected>() {
            Some(rejected) => return Ok(super::mapping::refuse(&rejected.0)),
            None => return Err(e),
        },
    };
    match args.summary_format {
        SummaryFormat::Json => println!("{}", serde_json::to_string(&summary)?),
        SummaryFormat::Text => print_consume_summary(&summary),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_consume_summary(s: &RunSummary) {
    let ms = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.1} ms"));
    println!("consume summary");
    println!("  consumed            {}", s.consumed);
    println!("  rows written        {}", s.applied);
    println!("  duplicates skipped  {}", s.duplicates);
    println!("  sent to DLQ         {}", s.dlq);
    println!("  left uncommitted    {}", s.abandoned);
    println!("  shed by policy      {}", s.shed);
    println!("  ordering violations {}", s.ordering_violations);
    println!("  retries             {}", s.retries);
    println!(
        "  throughput          {:.0} events/s over {:.2}s",
        s.throughput_eps, s.active_seconds
    );
    println!("  e2e latency p50     {}", ms(s.e2e_p50_ms));
    println!("  e2e latency p99     {}", ms(s.e2e_p99_ms));
    println!("  e2e latency p99.9   {}", ms(s.e2e_p999_ms));
}
