//! One function per subcommand: translate flags into library configs, run, report.

use crate::args::{
    Command, ConsumeArgs, DispatchArg, OnExhaustedArg, PolicyArg, PollModeArg, ProduceArgs,
    QueueArg, SinkArg, SinkModeArg, SummaryFormat, TopicCommand, WritePathArg,
};
use anyhow::Context;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use streamsre_kafka::source::SourceConfig;
use streamsre_lab::load::{
    clock_seed, run_load, LoadConfig, LoadReport, WorkloadConfig, BEHIND_THRESHOLD,
};
use streamsre_pipeline::{
    ConsumeConfig, Dispatch, FlowControl, MemoryBudget, OverloadPolicy, PollMode, QueueMode,
    RateAdvice, RunSummary, SinkMode, SinkTarget, WritePath,
};
use streamsre_retry::{Backoff, OnExhausted, RetryPolicy};
use streamsre_sink::{PgSink, PgSinkConfig};
use streamsre_telemetry::redact_url;

/// Runs the chosen subcommand.
pub async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Topic(TopicCommand::Create {
            name,
            partitions,
            replication,
            kafka,
        }) => {
            let created = streamsre_kafka::admin::create_topic(
                &kafka.opts(),
                &name,
                partitions,
                replication,
                Duration::from_secs(30),
            )
            .await?;
            let verb = if created { "created" } else { "already exists" };
            println!("topic {name}: {verb}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Topic(TopicCommand::List { kafka }) => {
            let opts = kafka.opts();
            let topics = tokio::task::spawn_blocking(move || {
                streamsre_kafka::admin::list_topics(&opts, Duration::from_secs(10))
            })
            .await??;
            println!("{:<40} {:>10}", "TOPIC", "PARTITIONS");
            for t in topics {
                println!("{:<40} {:>10}", t.name, t.partitions);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate(args) => {
            let sink = PgSink::connect(&PgSinkConfig {
                url: args.db.database_url.clone(),
                pool_size: 1,
                connect_timeout: Duration::from_secs(10),
                write_path: Default::default(),
            })
            .await
            .with_context(|| format!("connecting to {}", redact_url(&args.db.database_url)))?;
            let applied = sink.migrate().await.context("applying migrations")?;
            println!("migrations: {applied} applied, schema up to date");
            Ok(ExitCode::SUCCESS)
        }
        Command::Lag(args) => {
            let opts = args.kafka.opts();
            let (group, topic) = (args.group.clone(), args.topic.clone());
            let report = tokio::task::spawn_blocking(move || {
                streamsre_kafka::admin::group_lag_with_owners(
                    &opts,
                    &group,
                    &topic,
                    Duration::from_secs(10),
                )
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
            } else {
                let state = report
                    .group
                    .as_ref()
                    .map_or("unknown", |g| g.state.as_str());
                println!("GROUP {}  TOPIC {}  STATE {state}", args.group, args.topic);
                println!(
                    "{:>9} {:>12} {:>12} {:>10}  OWNER",
                    "PARTITION", "COMMITTED", "HIGH", "LAG"
                );
                for r in &report.partitions {
                    let o = &r.offsets;
                    let committed = o.committed.map_or("-".to_string(), |c| c.to_string());
                    println!(
                        "{:>9} {:>12} {:>12} {:>10}  {}",
                        o.partition,
                        committed,
                        o.high_watermark,
                        o.lag,
                        report.owner_cell(r)
                    );
                }
                println!("{:>9} {:>12} {:>12} {:>10}", "TOTAL", "", "", total);
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
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Dlq(command) => crate::dlq::run(command).await,
        Command::Top(args) => crate::top::run(args.targets, args.interval, args.once).await,
        Command::Sink(args) => sink_service(args).await,
        Command::Chaos(command) => crate::chaos::run(command).await,
        Command::Produce(args) => produce(args).await,
        Command::Consume(args) => consume(*args).await,
        Command::Lab(command) => lab(command).await,
    }
}

/// Resolves on SIGTERM or SIGINT (ctrl-c).
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; only ctrl-c stops the process");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

async fn lab(command: crate::args::LabCommand) -> anyhow::Result<ExitCode> {
    use crate::args::LabCommand;
    use streamsre_lab::runner;
    match command {
        LabCommand::List => {
            print!("{}", runner::list());
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Report { dir } => {
            let passed = runner::report(&dir).map_err(anyhow::Error::msg)?;
            println!("{}", dir.join("report.md").display());
            Ok(if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        LabCommand::Run {
            experiments,
            scale,
            out,
            tansu,
        } => {
            let opts = runner::RunOptions {
                experiments,
                scale,
                out: out.unwrap_or_else(runner::default_out),
                bin: std::env::current_exe().context("finding the streamsre executable")?,
                tansu,
            };
            let outcome = runner::run(&opts, shutdown_signal())
                .await
                .map_err(anyhow::Error::msg)?;
            Ok(match outcome {
                runner::Outcome::Passed => ExitCode::SUCCESS,
                runner::Outcome::Failed => ExitCode::FAILURE,
                runner::Outcome::Interrupted => ExitCode::from(130),
            })
        }
    }
}

async fn produce(args: ProduceArgs) -> anyhow::Result<ExitCode> {
    let seed = args.seed.unwrap_or_else(clock_seed);
    // A schedule sets the rate through the same override --adaptive uses; its total duration
    // is the run's deadline and its events (Σ rate × length) the exact count, so the 10 ms it
    // takes to notice the last step has ended cannot add a few more.
    let schedule = args.schedule.clone();
    let config = LoadConfig {
        kafka: args.kafka.opts(),
        topic: args.topic.clone(),
        rate: schedule.as_ref().map_or(args.rate, |s| s.steps()[0].rate),
        count: schedule
            .as_ref()
            .map(|s| s.expected_events())
            .or(args.count),
        duration: schedule.as_ref().map(|s| s.total()).or(args.duration),
        workload: WorkloadConfig {
            seed,
            hot_key_pct: args.hot_key_pct.clamp(0.0, 100.0),
            hot_keys: args.hot_keys,
            keys: args.keys,
            msg_size: args.msg_size,
        },
        flush_timeout: Duration::from_secs(60),
        rate_override: (args.adaptive || schedule.is_some())
            .then(|| Arc::new(std::sync::atomic::AtomicU64::new(0))),
    };
    match (&config.rate_override, schedule.clone()) {
        (Some(rate), Some(schedule)) => {
            tracing::info!(%schedule, "producing on a schedule");
            tokio::spawn(follow_schedule(schedule, rate.clone()));
        }
        (Some(rate), None) => {
            tokio::spawn(follow_sustainable_rate(
                args.control_url.clone(),
                args.rate,
                rate.clone(),
            ));
        }
        (None, _) => {}
    }
    let total = schedule
        .as_ref()
        .map(|s| s.expected_events())
        .or(config.count)
        .or_else(|| {
            config
                .duration
                .filter(|_| config.rate > 0.0)
                .map(|d| (config.rate * d.as_secs_f64()).round() as u64)
        });
    tracing::info!(topic = %config.topic, rate = config.rate, ?total, seed, "producing");

    let stop = Arc::new(AtomicBool::new(false));
    let signal_stop = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        signal_stop.store(true, Ordering::SeqCst);
    });

    let metrics = Arc::new(streamsre_lab::metrics::ProducerMetrics::new(config.rate));
    // Stops the metrics server once the run is over (notify_one keeps the permit if the
    // server has not started waiting yet).
    let http_stop = Arc::new(tokio::sync::Notify::new());
    if let Some(addr) = args.metrics_addr {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the producer metrics address {addr}"))?;
        let render = metrics.clone();
        let router = streamsre_telemetry::metrics_only_app(Arc::new(move || render.encode()));
        let stop_http = http_stop.clone();
        tokio::spawn(streamsre_telemetry::serve(listener, router, async move {
            stop_http.notified().await
        }));
    }
    let target = match &schedule {
        Some(s) => format!("schedule({s})"),
        None if args.rate > 0.0 => format!("{:.0}/s", args.rate),
        None => "max".into(),
    };
    let load_metrics = metrics.clone();
    let report = tokio::task::spawn_blocking(move || {
        let mut progress = Progress::new(total);
        let result = run_load(&config, &stop, |r| {
            load_metrics.update(r.sent, r.acked, r.failed, r.max_behind.as_secs_f64());
            progress.update(r)
        });
        progress.finish();
        result
    })
    .await??;
    http_stop.notify_one();
    print_produce_report(&report, &target, seed);
    Ok(if report.all_acked() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A progress bar on a terminal, a plain line every 5 s otherwise (logs, CI).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    last_line: std::time::Instant,
}

impl Progress {
    fn new(total: Option<u64>) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = match total {
                Some(t) => indicatif::ProgressBar::new(t),
                None => indicatif::ProgressBar::new_spinner(),
            };
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} sent ({per_sec}) {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        Self {
            bar,
            last_line: std::time::Instant::now(),
        }
    }

    fn update(&mut self, r: &LoadReport) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(r.sent);
                bar.set_message(format!("acked {} failed {}", r.acked, r.failed));
            }
            None if self.last_line.elapsed() >= Duration::from_secs(5) => {
                eprintln!(
                    "produce: sent={} acked={} failed={} elapsed={:.1}s rate={:.0}/s",
                    r.sent,
                    r.acked,
                    r.failed,
                    r.elapsed.as_secs_f64(),
                    r.achieved_rate()
                );
                self.last_line = std::time::Instant::now();
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn print_produce_report(r: &LoadReport, target: &str, seed: u64) {
    println!(
        "produce: sent={} acked={} failed={} elapsed={:.2}s achieved_rate={:.0}/s target_rate={} seed={}",
        r.sent,
        r.acked,
        r.failed,
        r.elapsed.as_secs_f64(),
        r.achieved_rate(),
        target,
        seed,
    );
    if r.max_behind > BEHIND_THRESHOLD {
        println!(
            "produce: WARNING fell behind the schedule by up to {:.2}s: the broker accepted messages slower than --rate",
            r.max_behind.as_secs_f64()
        );
    }
    if let Some(e) = &r.first_error {
        println!("produce: first delivery error: {e}");
    }
}

async fn consume(args: ConsumeArgs) -> anyhow::Result<ExitCode> {
    let config = ConsumeConfig {
        source: SourceConfig {
            kafka: args.kafka.opts(),
            topic: args.topic,
            group: args.group,
            commit_interval: args.commit_interval,
            revoke_timeout: args.revoke_timeout,
            drain_timeout: args.drain_timeout,
            flow: FlowControl {
                mode: match args.queue {
                    QueueArg::Bounded => QueueMode::Bounded {
                        cap: args.queue_cap.max(1),
                    },
                    QueueArg::Unbounded => QueueMode::Unbounded,
                    QueueArg::Pull => QueueMode::Pull,
                },
                policy: match args.policy {
                    PolicyArg::Buffer => OverloadPolicy::Buffer,
                    PolicyArg::Shed => OverloadPolicy::Shed,
                    PolicyArg::SlowSource => OverloadPolicy::SlowSource,
                },
                memory_budget: Some(MemoryBudget::new(args.memory_budget)),
            },
            poll_mode: match args.poll_mode {
                PollModeArg::Decoupled => PollMode::Decoupled,
                PollModeArg::Blocking => PollMode::Blocking,
            },
            max_poll_interval: args.max_poll_interval,
        },
        sink: match args.sink {
            SinkArg::Postgres => SinkTarget::Postgres,
            SinkArg::Http => SinkTarget::Http { url: args.sink_url },
        },
        database_url: args.db.database_url,
        max_inflight: args.max_inflight,
        metrics_addr: args.metrics_addr,
        sink_workers: args.sink_workers,
        dispatch: match args.dispatch {
            DispatchArg::Key => Dispatch::Key,
            DispatchArg::RoundRobin => Dispatch::RoundRobin,
        },
        sink_mode: match args.sink_mode {
            SinkModeArg::Batch => SinkMode::Batch,
            SinkModeArg::Single => SinkMode::Single,
        },
        batch_size: args.batch_size,
        max_inflight_batches: args.max_inflight_batches,
        write_path: match args.write_path {
            WritePathArg::Unnest => WritePath::Unnest,
            WritePathArg::Copy => WritePath::Copy,
        },
        batch_linger: args.batch_linger,
        max_message_bytes: args.max_message_bytes,
        dlq_topic: args.dlq_topic,
        retry: RetryPolicy {
            backoff: Backoff {
                base: args.retry_base,
                cap: args.retry_cap,
            },
            max_attempts: args.max_attempts,
            on_exhausted: match args.on_retries_exhausted {
                OnExhaustedArg::Wait => OnExhausted::Wait,
                OnExhaustedArg::Dlq => OnExhausted::Dlq,
            },
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
    let summary = streamsre_pipeline::run(config, shutdown_signal()).await?;
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

async fn sink_service(args: crate::args::SinkArgs) -> anyhow::Result<ExitCode> {
    use streamsre_lab::sink_service::{SinkService, StallSchedule};
    let stall = match (args.stall_at, args.stall_for) {
        (Some(at), Some(duration)) => Some(StallSchedule {
            at,
            duration,
            rate: args.stall_rate,
        }),
        _ => None,
    };
    let service = SinkService::new(args.rate_limit, stall).with_latency(args.latency);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding the sink address {}", args.listen))?;
    tracing::info!(addr = %args.listen, rate_limit = args.rate_limit, ?stall, "sink service listening");
    streamsre_telemetry::serve(listener, service.router(), shutdown_signal())
        .await
        .context("serving the sink")?;
    let counts = service.counts();
    println!(
        "sink: accepted total={} distinct_keys={}",
        counts.values().sum::<u64>(),
        counts.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// For `produce --schedule`: puts the step in force into the producer's rate override, checking
/// every 10 ms so a step starts on time; returns after the last step.
async fn follow_schedule(
    schedule: streamsre_lab::schedule::Schedule,
    rate: Arc<std::sync::atomic::AtomicU64>,
) {
    let start = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    while let Some(now) = schedule.rate_at(start.elapsed()) {
        rate.store(now.to_bits(), std::sync::atomic::Ordering::Relaxed);
        tick.tick().await;
    }
}

/// For `produce --adaptive`: once a second, reads the consumer's sustainable rate and sends a
/// little above it (10% headroom, so the source keeps probing for more capacity), never above
/// the configured `--rate`.
async fn follow_sustainable_rate(
    url: String,
    ceiling: f64,
    rate: Arc<std::sync::atomic::AtomicU64>,
) {
    let client = reqwest::Client::new();
    let mut last_logged = 0.0f64;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let advice = async {
            let response = client
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .ok()?;
            response.json::<RateAdvice>().await.ok()
        }
        .await;
        // No advice (consumer down, other policy, or nothing finished yet): keep going.
        let Some(target) = advice.and_then(|a| a.producer_rate(ceiling)) else {
            continue;
        };
        rate.store(target.to_bits(), std::sync::atomic::Ordering::Relaxed);
        if (target - last_logged).abs() > last_logged * 0.2 {
            tracing::info!(
                rate = target.round(),
                "adaptive: following the consumer's sustainable rate"
            );
            last_logged = target;
        }
    }
}
