//! `produce`: the load generator, with its progress display, its report, and the two ways its
//! rate can move while it runs (`--schedule`, `--adaptive`).

use super::shutdown_signal;
use crate::args::ProduceArgs;
use anyhow::Context;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use streamsre_lab::load::{
    clock_seed, run_load, Acks, LoadConfig, LoadReport, WorkloadConfig, BEHIND_THRESHOLD,
};
use streamsre_pipeline::RateAdvice;

pub(super) async fn produce(args: ProduceArgs) -> anyhow::Result<ExitCode> {
    let seed = args.seed.unwrap_or_else(clock_seed);
    // A schedule sets the rate through the same override --adaptive uses, and its events
    // (Σ rate × length) are the exact count, so the 10 ms it takes to notice the last step has
    // ended cannot add a few more. The count alone ends the run: a producer that fell behind
    // (a busy machine; measured 1,798 of 1,800 sent at the 2 s mark) sends the rest late at the
    // last step's rate and says so, as an open-model generator must, rather than drop them.
    let schedule = args.schedule.clone();
    let acks = Acks::from(args.acks);
    let idempotence = match acks.idempotence(args.idempotence) {
        Ok(on) => on,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    if !(0.0..=100.0).contains(&args.priority_pct) {
        eprintln!(
            "error: --priority-pct must be between 0 and 100, got {}",
            args.priority_pct
        );
        return Ok(ExitCode::from(2));
    }
    let config = LoadConfig {
        kafka: args.kafka.opts()?,
        topic: args.topic.clone(),
        rate: schedule.as_ref().map_or(args.rate, |s| s.steps()[0].rate),
        count: schedule
            .as_ref()
            .map(|s| s.expected_events())
            .or(args.count),
        duration: if schedule.is_some() {
            None
        } else {
            args.duration
        },
        workload: WorkloadConfig {
            seed,
            hot_key_pct: args.hot_key_pct.clamp(0.0, 100.0),
            hot_keys: args.hot_keys,
            keys: args.keys,
            msg_size: args.msg_size,
        },
        flush_timeout: Duration::from_secs(60),
        compression: args.compression.into(),
        rate_override: (args.adaptive || schedule.is_some())
            .then(|| Arc::new(std::sync::atomic::AtomicU64::new(0))),
        partitioning: args.partitioning(),
        acks,
        idempotence,
        priority_pct: args.priority_pct,
        default_headers: args.default_headers,
        headers: args.headers.clone(),
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
