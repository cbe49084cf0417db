//! The consume service, assembled: source thread → key-hashed lanes → sink workers (Postgres
//! or HTTP) → offset tracker → commits, plus the ops HTTP endpoints.
//!
//! [`run`] is what `streamsre consume` calls. Shutdown is a parameter (any future), so tests
//! can stop the service the same way SIGTERM does: stop fetching, let every lane finish what
//! it holds, commit, leave the group.

#![warn(missing_docs)]

mod connect;
mod control;
mod lane;
mod ledger;
mod probe;
mod registry;
mod worker;

use connect::connect_sink;
pub use connect::MappingRejected;
use control::{estimate_rate, record_shed, SustainableRate};

use anyhow::{bail, Context};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use streamsre_flow::lane_for;
use streamsre_flow::{SharedTracker, SinkSlots};
use streamsre_kafka::dlq::DlqPublisher;
use streamsre_kafka::source::{run_source, KafkaHealth, SourceConfig, SourceShared};
use streamsre_retry::RetryPolicy;
use streamsre_sink::Sink;
pub use streamsre_sink::WritePath;
use streamsre_telemetry::metrics::Outcome;
use streamsre_telemetry::{redact_url, LatencyStats, Metrics};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use streamsre_flow::{FlowControl, MemoryBudget, OverloadPolicy, QueueMode, RateAdvice};
pub use streamsre_kafka::source::PollMode;
pub use worker::SinkMode;

/// How messages are assigned to sink lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatch {
    /// By key hash: events of one key stay in one lane, in offset order (the default).
    Key,
    /// In turn: spreads hot keys over all lanes (faster on skewed keys) but reorders events
    /// of a key; `ordering_violations_total` counts what that costs.
    RoundRobin,
}

/// Where the consumer writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkTarget {
    /// PostgreSQL at `ConsumeConfig::database_url`: effectively once.
    Postgres,
    /// An HTTP event service (e.g. `streamsre sink`) at this base URL: at-least-once.
    Http {
        /// Base URL, e.g. `http://127.0.0.1:2114`.
        url: String,
    },
}

impl SinkTarget {
    /// Name of the sink as a dependency in `/readyz` and `dependency_up`.
    pub fn dependency_name(&self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Http { .. } => "http_sink",
        }
    }
}

/// Everything `streamsre consume` can be told.
#[derive(Debug, Clone)]
pub struct ConsumeConfig {
    /// Kafka side.
    pub source: SourceConfig,
    /// Where events are written.
    pub sink: SinkTarget,
    /// Postgres URL (may contain a password: never log it unredacted).
    pub database_url: String,
    /// Upper bound on messages between fetch and durable write, across all lanes.
    pub max_inflight: usize,
    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub metrics_addr: SocketAddr,
    /// Number of lanes, each with one sink worker (and, with Postgres, one connection).
    pub sink_workers: usize,
    /// How messages are spread over the lanes.
    pub dispatch: Dispatch,
    /// How each lane writes.
    pub sink_mode: SinkMode,
    /// Most events per sink transaction.
    pub batch_size: usize,
    /// How batches ship their rows to Postgres.
    pub write_path: WritePath,
    /// Batches each lane holds at once: the one being written plus those gathered and
    /// decoded behind it, so decoding overlaps the database.
    pub max_inflight_batches: usize,
    /// How long a lane waits for a batch to fill while more messages can still arrive.
    pub batch_linger: Duration,
    /// Messages larger than this go to the DLQ unparsed.
    pub max_message_bytes: usize,
    /// How message values are encoded.
    pub value_format: ValueFormat,
    /// Which events become which rows (Postgres sink); checked against the catalog at start.
    pub mapping: streamsre_mapping::Mapping,
    /// Ledger rows older than this, and below the committed offset, are deleted in the
    /// background; `None` keeps the ledger forever.
    pub ledger_retention: Option<Duration>,
    /// Topic that receives DLQ records (with their original key, value and reason headers).
    pub dlq_topic: String,
    /// How transient sink and DLQ failures are retried, and what happens when they persist.
    pub retry: RetryPolicy,
    /// Consecutive transient sink failures (across lanes) that open the circuit breaker.
    pub breaker_threshold: u32,
    /// How long the breaker stays open before one probe attempt.
    pub breaker_open_for: Duration,
    /// Timeout of each dependency check behind `/readyz`.
    pub readiness_timeout: Duration,
    /// How often lag (high watermark - committed offset) is measured.
    pub lag_interval: Duration,
    /// A partition with lag and no committed progress for this long makes `/readyz` 503.
    pub stuck_after: Duration,
    /// Reads the heap figures from the allocator (the binary owns the allocator), for the
    /// `heap_in_use_bytes` and `allocator_resident_bytes` metrics.
    pub heap_probe: Option<fn() -> Option<streamsre_telemetry::HeapStats>>,
}

/// The encoding of message values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ValueFormat {
    /// The event as JSON.
    #[default]
    Json,
    /// The event as Avro in the Confluent wire format; writer schemas from the registry at
    /// this URL (credentials as userinfo, never logged).
    Avro {
        /// Registry base URL.
        registry_url: String,
    },
}

/// Figures from one run, printed by `streamsre consume` when it stops.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RunSummary {
    /// Messages fetched.
    pub consumed: u64,
    /// Events applied for the first time.
    pub applied: u64,
    /// Redelivered events skipped by the dedup ledger.
    pub duplicates: u64,
    /// Messages written to the DLQ.
    pub dlq: u64,
    /// Messages abandoned uncommitted at shutdown (will be redelivered).
    pub abandoned: u64,
    /// Messages dropped by the shed policy.
    pub shed: u64,
    /// Events applied after a later event of the same key.
    pub ordering_violations: u64,
    /// Sink attempts retried.
    pub retries: u64,
    /// Seconds from the first fetch to the last durable write.
    pub active_seconds: f64,
    /// Finished events per active second.
    pub throughput_eps: f64,
    /// Median produce-to-durable latency in milliseconds.
    pub e2e_p50_ms: Option<f64>,
    /// 99th percentile produce-to-durable latency in milliseconds.
    pub e2e_p99_ms: Option<f64>,
    /// 99.9th percentile produce-to-durable latency in milliseconds (the lab's tail).
    pub e2e_p999_ms: Option<f64>,
}

/// Runs the consume service until `shutdown` resolves (or the source fails), then drains,
/// commits and returns the run's figures.
pub async fn run(
    config: ConsumeConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<RunSummary> {
    if [
        config.max_inflight,
        config.sink_workers,
        config.batch_size,
        config.max_inflight_batches,
    ]
    .contains(&0)
    {
        bail!("--max-inflight, --sink-workers, --batch-size and --max-inflight-batches must be at least 1");
    }
    let cancel = CancellationToken::new();
    tokio::pin!(shutdown);

    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(KafkaHealth::new(config.source.kafka.security.clone()));

    // Serve /healthz and /metrics from the start, so a supervisor sees the process alive (and
    // not ready) while it waits for Postgres.
    let listener = tokio::net::TcpListener::bind(config.metrics_addr)
        .await
        .with_context(|| format!("binding the metrics address {}", config.metrics_addr))?;
    let lag_view = streamsre_kafka::lag::SharedLagView::default();
    let registry = match &config.value_format {
        ValueFormat::Json => None,
        ValueFormat::Avro { registry_url } => {
            tracing::info!(registry = %redact_url(registry_url), "values are Confluent Avro");
            Some(Arc::new(registry::SchemaRegistry::new(registry_url)?))
        }
    };
    let probe = Arc::new(probe::Probe::new(
        health.clone(),
        lag_view.clone(),
        config.sink.dependency_name(),
        config.readiness_timeout,
        registry.clone(),
    ));
    let sustainable = Arc::new(SustainableRate::default());
    let router = streamsre_telemetry::app(metrics.clone(), probe.clone()).merge(control::router(
        sustainable.clone(),
        config.source.flow.policy,
    ));
    let http_cancel = cancel.clone();
    let http = tokio::spawn(streamsre_telemetry::serve(listener, router, async move {
        http_cancel.cancelled().await
    }));
    tracing::info!(addr = %config.metrics_addr, "serving /healthz /readyz /metrics");
    tracing::info!(
        brokers = %config.source.kafka.brokers,
        security = %config.source.kafka.security.summary(),
        topic = %config.source.topic,
        "kafka source"
    );
    // Readiness as a metric too (dependency_up), so alerts can fire on "not ready" without
    // polling /readyz: the same probe every 2 s, and at once when the state is known to change.
    let readiness_changed = Arc::new(tokio::sync::Notify::new());
    {
        let (probe, metrics, cancel) = (probe.clone(), metrics.clone(), cancel.clone());
        let changed = readiness_changed.clone();
        tokio::spawn(async move {
            use streamsre_telemetry::ReadinessProbe;
            loop {
                for dep in probe.check().await {
                    metrics.dependency(dep.name, dep.ok);
                }
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = changed.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                }
            }
        });
    }

    let sink = match &config.sink {
        SinkTarget::Postgres => {
            let pg = tokio::select! {
                sink = connect_sink(&config, &cancel) => sink?,
                _ = &mut shutdown => {
                    cancel.cancel();
                    let _ = http.await;
                    return Ok(RunSummary::default());
                }
            };
            tracing::info!(database = %redact_url(&config.database_url), "database ready, migrations applied");
            Sink::Postgres(pg)
        }
        SinkTarget::Http { url } => {
            tracing::info!(%url, "writing to an HTTP sink (at-least-once; DLQ records go to the DLQ topic only)");
            Sink::Http(
                streamsre_sink::HttpSink::new(url, Duration::from_secs(10))
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            )
        }
    };
    probe.set_sink(sink.clone());
    readiness_changed.notify_one();
    if let (Some(retention), Sink::Postgres(pg)) = (config.ledger_retention, &sink) {
        tokio::spawn(ledger::prune(
            pg.clone(),
            config.source.topic.clone(),
            retention,
            lag_view.clone(),
            metrics.clone(),
            cancel.clone(),
        ));
    }

    let shared = SourceShared {
        tracker: Arc::new(SharedTracker::default()),
        // Messages in flight share the budget's pipeline part with queued ones; the lab's
        // unbounded queue ignores the budget by design.
        slots: SinkSlots::new(
            config.max_inflight,
            match config.source.flow.mode {
                QueueMode::Unbounded => None,
                _ => config.source.flow.memory_budget.map(|b| b.pipeline_bytes()),
            },
        ),
        health,
        metrics: metrics.clone(),
        inflight_bytes: Arc::default(),
        shed: Arc::default(),
    };
    let latency = Arc::new(LatencyStats::default());
    let dlq = DlqPublisher::new(&config.source.kafka, &config.dlq_topic)?;
    let ctx = Arc::new(worker::WorkerContext::new(
        sink,
        dlq,
        &config,
        shared.clone(),
        latency.clone(),
        cancel.clone(),
        registry,
    ));

    if let Some(probe) = config.heap_probe {
        let (metrics, cancel) = (metrics.clone(), cancel.clone());
        tokio::spawn(async move {
            loop {
                if let Some(stats) = probe() {
                    metrics.heap(stats);
                }
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        });
    }
    tokio::spawn(record_shed(
        shared.shed.clone(),
        ctx.clone(),
        cancel.clone(),
    ));
    tokio::spawn(estimate_rate(
        metrics.clone(),
        sustainable.clone(),
        cancel.clone(),
    ));

    // One bounded channel per lane. Capacity max_inflight can never fill (permits bound the
    // total), so the source thread never blocks on a send.
    // The source waits on the tracker at shutdown: a lane exits once the source drops its
    // channel and the lane has finished what it holds.
    let workers = TaskTracker::new();
    let mut lanes = Vec::with_capacity(config.sink_workers);
    for lane in 0..config.sink_workers {
        let (tx, rx) = mpsc::channel(config.max_inflight);
        lanes.push(tx);
        workers.spawn(lane::run_lane(lane, rx, ctx.clone()));
    }
    workers.close();

    let lag_thread = {
        let lag_config = streamsre_kafka::lag::LagConfig {
            kafka: config.source.kafka.clone(),
            topic: config.source.topic.clone(),
            group: config.source.group.clone(),
            interval: config.lag_interval,
            stuck_after: config.stuck_after,
        };
        let (tracker, health, metrics, stop) = (
            shared.tracker.clone(),
            shared.health.clone(),
            metrics.clone(),
            cancel.clone(),
        );
        std::thread::Builder::new()
            .name("lag-monitor".into())
            .spawn(move || {
                streamsre_kafka::lag::run_lag_monitor(
                    lag_config, tracker, health, metrics, lag_view, stop,
                )
            })
            .context("spawning the lag monitor")?
    };
    let (source_tx, mut source_rx) = tokio::sync::oneshot::channel();
    let source_thread = {
        let (stop, workers) = (cancel.clone(), workers.clone());
        let source_config = SourceConfig {
            keep_headers: config.mapping.reads_headers(),
            ..config.source.clone()
        };
        let runtime = tokio::runtime::Handle::current();
        let lane_count = lanes.len();
        let mode = config.dispatch;
        std::thread::Builder::new()
            .name("kafka-source".into())
            .spawn(move || {
                let mut turn = 0usize;
                let dispatch = move |msg: streamsre_kafka::source::Fetched| {
                    let lane = match (mode, &msg.record.key) {
                        // Key-hashed lanes keep per-key order across partitions; keyless
                        // messages have no order to keep beyond their partition's.
                        (Dispatch::Key, Some(k)) => lane_for(k, lane_count),
                        (Dispatch::Key, None) => {
                            lane_for(&msg.record.partition.to_le_bytes(), lane_count)
                        }
                        (Dispatch::RoundRobin, _) => {
                            turn = turn.wrapping_add(1);
                            turn % lane_count
                        }
                    };
                    lanes[lane].blocking_send(msg).is_ok()
                };
                let result = run_source(source_config, shared, dispatch, stop, workers, runtime);
                let _ = source_tx.send(result);
            })
            .context("spawning the source thread")?
    };

    let source_result = tokio::select! {
        _ = &mut shutdown => {
            tracing::info!("shutdown requested: stop fetching, drain in-flight work, commit");
            None
        }
        result = &mut source_rx => Some(result),
    };
    // One signal for everything: the source stops fetching and drains, the lag monitor and the
    // side tasks stop, retry sleeps end (work not yet durable is abandoned uncommitted).
    cancel.cancel();
    let source_result = match source_result {
        Some(r) => r,
        None => source_rx.await,
    }
    .unwrap_or_else(|_| Err(anyhow::anyhow!("source thread ended without a result")));
    let _ = tokio::task::spawn_blocking(move || {
        let _ = source_thread.join();
        let _ = lag_thread.join();
    })
    .await;
    workers.wait().await;
    let _ = http.await;
    source_result?;

    let active = ctx.active_window();
    let finished = metrics.processed_total(Outcome::Success)
        + metrics.processed_total(Outcome::Duplicate)
        + metrics.processed_total(Outcome::Dlq)
        + metrics.processed_total(Outcome::Unrouted);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let summary = RunSummary {
        consumed: metrics.consumed_total(),
        applied: metrics.processed_total(Outcome::Success),
        duplicates: metrics.processed_total(Outcome::Duplicate),
        dlq: metrics.processed_total(Outcome::Dlq),
        abandoned: metrics.processed_total(Outcome::Fail),
        shed: metrics.shed_total(),
        ordering_violations: ctx.ordering_violations(),
        retries: metrics.retries_total(),
        active_seconds: active.as_secs_f64(),
        throughput_eps: finished as f64 / active.as_secs_f64().max(1e-9),
        e2e_p50_ms: latency.quantile(0.5).map(ms),
        e2e_p99_ms: latency.quantile(0.99).map(ms),
        e2e_p999_ms: latency.quantile(0.999).map(ms),
    };
    Ok(summary)
}
