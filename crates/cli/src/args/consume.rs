//! `consume`: the service's flags, and how each value maps onto the library's types.

use super::{parse_bytes, parse_duration, DatabaseArgs, KafkaArgs};
use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::time::Duration;
use streamsre_pipeline::{
    Dispatch, OverloadPolicy, PollMode, QueueMode, SinkMode, SinkTarget, WritePath,
};
use streamsre_retry::OnExhausted;

/// `consume --sink-mode` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SinkModeArg {
    /// One transaction per batch through the dedup ledger.
    Batch,
    /// One transaction per event (the seed's pattern; slow, kept as a baseline).
    Single,
}

/// `consume --on-retries-exhausted` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OnExhaustedArg {
    /// Keep retrying at the capped delay; lag grows on the broker, nothing is lost.
    Wait,
    /// Publish the stuck work to the DLQ topic with reason `retries_exhausted` and move on.
    Dlq,
}

/// `consume --dispatch` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DispatchArg {
    /// By key hash (ordered per key).
    Key,
    /// In turn (unordered).
    RoundRobin,
}

/// `consume --queue` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum QueueArg {
    /// Fixed capacity; full pauses fetching.
    Bounded,
    /// Never pauses; memory grows under overload (lab only).
    Unbounded,
    /// No buffer; take a message only when the sink has room, pause on a stall.
    Pull,
}

/// `consume --policy` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PolicyArg {
    /// Wait.
    Buffer,
    /// Drop what does not fit, counted and recorded.
    Shed,
    /// Ask the producer to slow down.
    SlowSource,
}

/// `consume --poll-mode` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PollModeArg {
    /// Keep polling while waiting.
    Decoupled,
    /// Block without polling (lab only).
    Blocking,
}

/// `consume --sink` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SinkArg {
    /// PostgreSQL through the dedup ledger.
    Postgres,
    /// An HTTP event service.
    Http,
}

/// `consume --summary-format` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SummaryFormat {
    /// Aligned text.
    Text,
    /// One JSON object.
    Json,
}

/// `--write-path`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum WritePathArg {
    /// Array parameters of one prepared statement.
    Unnest,
    /// Binary COPY into a staging table, then the same statement.
    Copy,
}

/// `consume` flags.
#[derive(Debug, Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Topic to consume.
    #[arg(long, env = "KAFKA_TOPIC", default_value = "events.main")]
    pub topic: String,
    /// Consumer group id.
    #[arg(long, env = "KAFKA_GROUP_ID", default_value = "streamsre")]
    pub group: String,
    /// Where a partition the group has never committed starts: `earliest` (everything
    /// still kept), `latest` (only what arrives from now on) or an RFC 3339 time (the first
    /// message at or after it). A committed offset always wins; `offsets reset` moves those.
    #[arg(
        long,
        env = "START_FROM",
        default_value = "earliest",
        value_name = "earliest|latest|RFC3339"
    )]
    pub start_from: streamsre_kafka::source::StartFrom,
    /// Hard cap on messages between fetch and durable write, across lanes. What bounds the
    /// work is --memory-budget (bytes) and --sink-workers × --max-inflight-batches (concurrent
    /// batches); this cap only keeps bookkeeping finite and is set not to throttle batching.
    /// The seed's worker-pool size (goroutines, one event each) maps to --sink-workers, not to
    /// this: 64 here would leave four lanes about 16 rows per transaction.
    #[arg(long, env = "MAX_INFLIGHT", default_value_t = 16_384)]
    pub max_inflight: usize,
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, env = "METRICS_ADDR", default_value = "127.0.0.1:2112")]
    pub metrics_addr: SocketAddr,
    /// Parallel sink lanes (one connection each).
    #[arg(long, env = "SINK_WORKERS", default_value_t = 4)]
    pub sink_workers: usize,
    /// How messages are spread over lanes: by key (keeps per-key order) or round-robin
    /// (faster on hot keys, reorders them; see ordering_violations_total).
    #[arg(long, env = "DISPATCH", value_enum, default_value = "key")]
    pub dispatch: DispatchArg,
    /// Queue between source and sink: bounded (pause when full), pull (no buffer: take a
    /// message only when the sink has room) or unbounded. WARNING: unbounded never pauses, so memory
    /// grows without limit under overload; it exists to show that failure in the lab.
    #[arg(long, env = "QUEUE", value_enum, default_value = "bounded")]
    pub queue: QueueArg,
    /// Capacity of the bounded queue, in messages.
    #[arg(long, env = "QUEUE_CAP", default_value_t = 1024)]
    pub queue_cap: usize,
    /// Overload policy: buffer (wait), shed (drop with a count and a DLQ-topic summary;
    /// offsets still committed) or slow-source (publish the sustainable rate at
    /// /control/rate for `streamsre produce --adaptive`).
    #[arg(long, env = "POLICY", value_enum, default_value = "buffer")]
    pub policy: PolicyArg,
    /// Heap the consumer's data may take: an eighth for librdkafka's prefetch, 1/32 per fetch,
    /// 3/8 for messages queued and in flight (each costs its bytes three times: raw,
    /// decoded and serialized for the sink, plus 512 B), the rest headroom. Applies to bounded
    /// and pull; unbounded ignores it by design.
    /// 64 MiB by default: the bench workload drains as fast as with 128 or 256 MiB
    /// (docs/perf/sweep.md, sweep 8).
    #[arg(long, env = "MEMORY_BUDGET", value_parser = parse_bytes, default_value = "64MiB")]
    pub memory_budget: usize,
    /// max.poll.interval.ms: a member that does not poll this long is evicted.
    #[arg(long, env = "MAX_POLL_INTERVAL", value_parser = parse_duration, default_value = "5m")]
    pub max_poll_interval: Duration,
    /// Poll loop: decoupled (keeps polling while the sink is busy) or, for the lab only,
    /// blocking (stops polling; with a stalled sink it gets evicted by max.poll.interval).
    #[arg(long, env = "POLL_MODE", value_enum, default_value = "decoupled")]
    pub poll_mode: PollModeArg,
    /// Address of /debug/pprof/heap and /debug/pprof/profile?seconds=N (loopback by default:
    /// profiles expose internals), or `off`.
    #[arg(long, env = "DEBUG_ADDR", default_value = "127.0.0.1:2119")]
    pub debug_addr: String,
    /// Write the process id here (for `streamsre chaos kill consumer`).
    #[arg(long, env = "PID_FILE")]
    pub pid_file: Option<std::path::PathBuf>,
    /// Where events go: PostgreSQL (effectively once) or an HTTP service such as
    /// `streamsre sink` (at-least-once; DLQ records then go to the DLQ topic only).
    #[arg(long, env = "SINK_TYPE", value_enum, default_value = "postgres")]
    pub sink: SinkArg,
    /// Base URL of the HTTP sink (with --sink http).
    #[arg(long, env = "SINK_URL", default_value = "http://127.0.0.1:2114")]
    pub sink_url: String,
    /// How lanes write: one transaction (or request) per batch, or per event.
    #[arg(long, env = "SINK_MODE", value_enum, default_value = "batch")]
    pub sink_mode: SinkModeArg,
    /// Most events per transaction.
    #[arg(long, env = "BATCH_SIZE", default_value_t = 1000)]
    pub batch_size: usize,
    /// How a batch ships its rows to Postgres: array parameters of one prepared statement
    /// (unnest) or binary COPY into a per-connection staging table (copy). Same SQL after.
    #[arg(long, env = "WRITE_PATH", value_enum, default_value = "unnest")]
    pub write_path: WritePathArg,
    /// Batches each lane holds at once: the one being written and those gathered and decoded
    /// behind it (2: decoding the next batch overlaps writing this one; 1: in turn).
    #[arg(long, env = "MAX_INFLIGHT_BATCHES", default_value_t = 2)]
    pub max_inflight_batches: usize,
    /// How long a lane waits for its batch to fill.
    #[arg(long, env = "BATCH_LINGER", value_parser = parse_duration, default_value = "5ms")]
    pub batch_linger: Duration,
    /// How often durable offsets are committed.
    #[arg(long, env = "COMMIT_INTERVAL", value_parser = parse_duration, default_value = "1s")]
    pub commit_interval: Duration,
    /// How long a rebalance waits for in-flight work of revoked partitions.
    #[arg(long, env = "REVOKE_TIMEOUT", value_parser = parse_duration, default_value = "10s")]
    pub revoke_timeout: Duration,
    /// How long shutdown waits for in-flight work before leaving it uncommitted.
    #[arg(long, env = "DRAIN_TIMEOUT", value_parser = parse_duration, default_value = "30s")]
    pub drain_timeout: Duration,
    /// Larger message values go to the DLQ without being parsed.
    #[arg(long, env = "MAX_MESSAGE_BYTES", default_value_t = streamsre_event::DEFAULT_MAX_MESSAGE_BYTES)]
    pub max_message_bytes: usize,
    /// The mapping file (TOML): which events become which rows in which tables. Without it,
    /// the review pipeline's mapping (`examples/reviews.toml`, built in).
    #[arg(long, env = "MAPPING_FILE")]
    pub mapping: Option<std::path::PathBuf>,
    /// Delete dedup-ledger rows older than this (e.g. `7d`) once below the group's committed
    /// offset, in the background. A replayed event older than it is applied again, so
    /// `dlq replay` refuses such records without `--force`. Default: keep the ledger forever.
    #[arg(long, env = "LEDGER_RETENTION", value_parser = parse_duration)]
    pub ledger_retention: Option<Duration>,
    /// How message values are encoded: json, or avro (Confluent wire format: magic byte,
    /// schema id, Avro body) with --schema-registry-url.
    #[arg(long, env = "VALUE_FORMAT", value_enum, default_value = "json")]
    pub value_format: ValueFormatArg,
    /// Confluent-compatible schema registry for avro values; basic auth as userinfo
    /// (`https://user:secret@registry:8081`), never logged.
    #[arg(long, env = "SCHEMA_REGISTRY_URL", hide_env_values = true)]
    pub schema_registry_url: Option<String>,
    /// Topic that receives DLQ records (original key and value plus reason headers).
    #[arg(long, env = "DLQ_TOPIC", default_value = "events.dlq")]
    pub dlq_topic: String,
    /// Attempts of one write before a transient failure counts as exhausted.
    #[arg(long, env = "MAX_ATTEMPTS", default_value_t = 8)]
    pub max_attempts: u32,
    /// After --max-attempts transient failures: keep waiting (the partition stalls, nothing
    /// leaves the pipeline) or send the work to the DLQ topic to keep the stream moving.
    #[arg(long, env = "ON_RETRIES_EXHAUSTED", value_enum, default_value = "wait")]
    pub on_retries_exhausted: OnExhaustedArg,
    /// First retry delay ceiling (exponential backoff with full jitter).
    #[arg(long, env = "RETRY_BASE", value_parser = parse_duration, default_value = "100ms")]
    pub retry_base: Duration,
    /// Largest retry delay.
    #[arg(long, env = "RETRY_CAP", value_parser = parse_duration, default_value = "5s")]
    pub retry_cap: Duration,
    /// Consecutive transient database failures (all lanes together) that open the circuit
    /// breaker; while open, no lane touches the database until one probe succeeds.
    #[arg(long, env = "BREAKER_THRESHOLD", default_value_t = 5)]
    pub breaker_threshold: u32,
    /// How long the circuit breaker stays open before a probe.
    #[arg(long, env = "BREAKER_OPEN_FOR", value_parser = parse_duration, default_value = "5s")]
    pub breaker_open_for: Duration,
    /// How often lag (high watermark - committed offset) is measured for the metrics.
    #[arg(long, env = "LAG_INTERVAL", value_parser = parse_duration, default_value = "10s")]
    pub lag_interval: Duration,
    /// /readyz turns 503 when a partition with lag has made no progress for this long, at this
    /// member (partitions) or with no live owner in the group (group); a member that owns
    /// nothing then leaves and rejoins the group, after this long, then 2x, 4x… (5 times at most).
    #[arg(long, env = "STUCK_AFTER", value_parser = parse_duration, default_value = "5m")]
    pub stuck_after: Duration,
    /// Timeout of each /readyz dependency check.
    #[arg(long, env = "READINESS_TIMEOUT", value_parser = parse_duration, default_value = "2s")]
    pub readiness_timeout: Duration,
    /// Format of the summary printed on stdout at exit.
    #[arg(long, env = "SUMMARY_FORMAT", value_enum, default_value = "text")]
    pub summary_format: SummaryFormat,
}

impl QueueArg {
    /// The queue mode, a bounded one holding `cap` messages (at least one).
    pub fn mode(self, cap: usize) -> QueueMode {
        match self {
            Self::Bounded => QueueMode::Bounded { cap: cap.max(1) },
            Self::Unbounded => QueueMode::Unbounded,
            Self::Pull => QueueMode::Pull,
        }
    }
}

impl From<PolicyArg> for OverloadPolicy {
    fn from(arg: PolicyArg) -> Self {
        match arg {
            PolicyArg::Buffer => Self::Buffer,
            PolicyArg::Shed => Self::Shed,
            PolicyArg::SlowSource => Self::SlowSource,
        }
    }
}

impl From<PollModeArg> for PollMode {
    fn from(arg: PollModeArg) -> Self {
        match arg {
            PollModeArg::Decoupled => Self::Decoupled,
            PollModeArg::Blocking => Self::Blocking,
        }
    }
}

impl SinkArg {
    /// Where the consumer writes; `url` is the HTTP sink's.
    pub fn target(self, url: String) -> SinkTarget {
        match self {
            Self::Postgres => SinkTarget::Postgres,
            Self::Http => SinkTarget::Http { url },
        }
    }
}

impl From<DispatchArg> for Dispatch {
    fn from(arg: DispatchArg) -> Self {
        match arg {
            DispatchArg::Key => Self::Key,
            DispatchArg::RoundRobin => Self::RoundRobin,
        }
    }
}

impl From<SinkModeArg> for SinkMode {
    fn from(arg: SinkModeArg) -> Self {
        match arg {
            SinkModeArg::Batch => Self::Batch,
            SinkModeArg::Single => Self::Single,
        }
    }
}

impl From<WritePathArg> for WritePath {
    fn from(arg: WritePathArg) -> Self {
        match arg {
            WritePathArg::Unnest => Self::Unnest,
            WritePathArg::Copy => Self::Copy,
        }
    }
}

impl From<OnExhaustedArg> for OnExhausted {
    fn from(arg: OnExhaustedArg) -> Self {
        match arg {
            OnExhaustedArg::Wait => Self::Wait,
            OnExhaustedArg::Dlq => Self::Dlq,
        }
    }
}

/// `--value-format` values.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ValueFormatArg {
    /// The event as JSON.
    Json,
    /// The event as Confluent-framed Avro.
    Avro,
}

impl ConsumeArgs {
    /// The value format, checked against the registry flag.
    pub fn value_format(&self) -> anyhow::Result<streamsre_pipeline::ValueFormat> {
        match (self.value_format, &self.schema_registry_url) {
            (ValueFormatArg::Json, None) => Ok(streamsre_pipeline::ValueFormat::Json),
            (ValueFormatArg::Json, Some(_)) => {
                anyhow::bail!("--schema-registry-url is only used with --value-format avro")
            }
            (ValueFormatArg::Avro, Some(url)) => Ok(streamsre_pipeline::ValueFormat::Avro {
                registry_url: url.clone(),
            }),
            (ValueFormatArg::Avro, None) => {
                anyhow::bail!(
                    "--value-format avro needs --schema-registry-url (or SCHEMA_REGISTRY_URL)"
                )
            }
        }
    }
}
