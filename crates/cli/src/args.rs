//! Command-line interface. Every flag also reads an environment variable (shown in `--help`);
//! values that may carry secrets hide their environment value from `--help`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::time::Duration;
use streamsre_kafka::parse_kafka_opt;

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 500ms, 10s, 2m)"))
}

/// Parses a byte size such as `256MiB`, `64MB`, `1GiB` or a plain number of bytes.
pub fn parse_bytes(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: usize = number
        .parse()
        .map_err(|_| format!("{s:?} is not a size (examples: 256MiB, 64MB, 1048576)"))?;
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" | "k" => 1 << 10,
        "mb" => 1_000_000,
        "mib" | "m" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" | "g" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit {other:?} (use B, KiB, MiB, GiB, KB, MB, GB)"
            ))
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// streamsre: Kafka → PostgreSQL, effectively once, with bounded memory.
#[derive(Debug, Parser)]
#[command(name = "streamsre", version, about, long_about = None)]
pub struct Cli {
    /// Log format; default: json when stderr is not a terminal, text otherwise.
    #[arg(long, env = "LOG_FORMAT", value_enum, global = true)]
    pub log_format: Option<LogFormatArg>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The effective log format.
    pub fn log_format(&self) -> streamsre_telemetry::logging::LogFormat {
        use streamsre_telemetry::logging::LogFormat;
        match self.log_format {
            Some(LogFormatArg::Json) => LogFormat::Json,
            Some(LogFormatArg::Text) => LogFormat::Text,
            None => LogFormat::detect(),
        }
    }
}

/// `--log-format` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Text,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or list topics (works against any Kafka-protocol broker).
    #[command(subcommand)]
    Topic(TopicCommand),
    /// Apply database migrations (idempotent; `consume` also applies them at start).
    Migrate(MigrateArgs),
    /// Generate load: seed-schema events at a fixed (open-model) rate.
    Produce(ProduceArgs),
    /// Run the consumer service: Kafka → Postgres, effectively once.
    Consume(Box<ConsumeArgs>),
    /// Show a consumer group's committed offsets and lag per partition (no consumer needed).
    Lag(LagArgs),
    /// Inspect and replay the dead-letter queue.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Live terminal view of running consumers, read from their /metrics (q quits).
    Top(TopArgs),
    /// The slow downstream for the lab: an HTTP sink with a server-side rate limit (429 +
    /// Retry-After beyond it), a stall schedule and a control API.
    Sink(SinkArgs),
    /// Inject failures: stall/pause/resume the sink, poison the topic, kill the consumer,
    /// slow the database.
    #[command(subcommand)]
    Chaos(ChaosCommand),
    /// The backpressure lab: run experiments against real processes, chart them and check
    /// their acceptance criteria.
    #[command(subcommand)]
    Lab(LabCommand),
}

/// `lab` subcommands.
#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Every experiment with what it shows and how long it runs.
    List,
    /// Run experiments (each with its own broker, sink, consumers, producer and chaos), write
    /// their CSVs, charts, report.md and summary.json; exits non-zero if a criterion fails.
    Run {
        /// Experiment names (see `lab list`), or `all`.
        #[arg(required = true)]
        experiments: Vec<String>,
        /// quick (each experiment within 5 minutes, same ratios) or full (the lab
        /// specification's numbers); tiny is for tests.
        #[arg(long, env = "LAB_SCALE", default_value = "quick")]
        scale: streamsre_lab::scale::Scale,
        /// Directory for the run's evidence; default lab-results/<UTC timestamp>/.
        #[arg(long, env = "LAB_OUT")]
        out: Option<std::path::PathBuf>,
        /// The broker executable (Tansu; `make up` installs it).
        #[arg(long, env = "LAB_TANSU", default_value = streamsre_lab::broker::TANSU)]
        tansu: String,
    },
    /// Re-render every chart, report.md and summary.json of a run from its CSV files alone.
    Report {
        /// A `lab run --out` directory.
        dir: std::path::PathBuf,
    },
}

/// `chaos` subcommands.
#[derive(Debug, Subcommand)]
pub enum ChaosCommand {
    /// Lower the sink's rate limit for a while, then restore it.
    Stall {
        /// The sink service.
        #[arg(long, env = "SINK_URL", default_value = "http://127.0.0.1:2114")]
        sink_url: String,
        /// Events per second during the stall (0: nothing).
        #[arg(long, env = "STALL_RATE", default_value_t = 0)]
        rate: u32,
        /// How long.
        #[arg(long = "for", env = "STALL_FOR", value_parser = parse_duration, default_value = "30s")]
        duration: Duration,
    },
    /// Stop the sink accepting anything until `resume`.
    Pause {
        /// The sink service.
        #[arg(long, env = "SINK_URL", default_value = "http://127.0.0.1:2114")]
        sink_url: String,
    },
    /// Undo `pause`.
    Resume {
        /// The sink service.
        #[arg(long, env = "SINK_URL", default_value = "http://127.0.0.1:2114")]
        sink_url: String,
    },
    /// Produce bad messages (8 kinds, cycled) to the topic.
    Poison {
        /// How many.
        #[arg(long, env = "POISON_COUNT", default_value_t = 8)]
        count: usize,
        /// Destination topic.
        #[arg(long, env = "KAFKA_TOPIC", default_value = "events.main")]
        topic: String,
        #[command(flatten)]
        kafka: KafkaArgs,
    },
    /// SIGKILL a process by its pid file (`streamsre consume --pid-file`).
    Kill {
        /// What to kill.
        #[arg(value_enum)]
        target: KillTarget,
        /// The pid file it wrote.
        #[arg(long, env = "PID_FILE", default_value = ".stack/consumer.pid")]
        pid_file: std::path::PathBuf,
    },
    /// Make every insert into `reviews` sleep (the seed's slow-database drill), or stop it.
    DbSlow {
        /// on or off.
        #[arg(value_enum)]
        state: DbSlowArg,
        /// Sleep per insert statement.
        #[arg(long, env = "DB_SLOW_SLEEP", value_parser = parse_duration, default_value = "500ms")]
        sleep: Duration,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

/// `chaos kill` targets.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KillTarget {
    /// The consumer process.
    Consumer,
}

/// `chaos db-slow` states.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DbSlowArg {
    /// Install the slow trigger.
    On,
    /// Remove it.
    Off,
}

/// `sink` flags.
#[derive(Debug, Args)]
pub struct SinkArgs {
    /// Address to serve on (events, control API, /counts, /metrics).
    #[arg(long, env = "SINK_LISTEN", default_value = "127.0.0.1:2114")]
    pub listen: SocketAddr,
    /// Events per second accepted (token bucket, burst of max(rate, 1000)); 0 = unlimited.
    #[arg(long, env = "SINK_RATE_LIMIT", default_value_t = 1000)]
    pub rate_limit: u32,
    /// Start of a scheduled stall, measured from start (with --stall-for).
    #[arg(long, env = "STALL_AT", value_parser = parse_duration, requires = "stall_for")]
    pub stall_at: Option<Duration>,
    /// Length of the scheduled stall.
    #[arg(long, env = "STALL_FOR", value_parser = parse_duration, requires = "stall_at")]
    pub stall_for: Option<Duration>,
    /// Events per second accepted during the stall (0: none).
    #[arg(long, env = "STALL_RATE", default_value_t = 0)]
    pub stall_rate: u32,
    /// Every event request is answered this late (a downstream's per-request round trip).
    #[arg(long, env = "SINK_LATENCY", value_parser = parse_duration, default_value = "0s")]
    pub latency: Duration,
}

/// `top` flags.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// `host:port` of a consumer's metrics address; repeatable (env: comma-separated).
    #[arg(
        long = "target",
        env = "TOP_TARGETS",
        value_delimiter = ',',
        default_value = "127.0.0.1:2112"
    )]
    pub targets: Vec<String>,
    /// Refresh interval.
    #[arg(long, env = "TOP_INTERVAL", value_parser = parse_duration, default_value = "1s")]
    pub interval: Duration,
    /// Print one frame as text and exit (for scripts and logs).
    #[arg(long, env = "TOP_ONCE")]
    pub once: bool,
}

/// Which DLQ records a `dlq` command selects.
#[derive(Debug, Args)]
pub struct DlqSelect {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Only records of this kind (the reason's prefix, e.g. `rating_out_of_range`).
    #[arg(long, env = "DLQ_KIND")]
    pub kind: Option<String>,
    /// Only records that failed within this long (e.g. `1h`).
    #[arg(long, env = "DLQ_SINCE", value_parser = parse_duration)]
    pub since: Option<Duration>,
    /// At most this many records (oldest failure first).
    #[arg(long, env = "DLQ_LIMIT", default_value_t = 1000)]
    pub limit: i64,
}

/// `dlq` subcommands.
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List DLQ records.
    List {
        #[command(flatten)]
        select: DlqSelect,
        /// Print JSON lines instead of a table.
        #[arg(long, env = "DLQ_JSON")]
        json: bool,
    },
    /// Show one DLQ record in full.
    Show {
        /// Record id (as printed by `dlq list`).
        id: uuid::Uuid,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Send DLQ records back to the main topic (safe: applied events are skipped by the ledger,
    /// records that fail again update their DLQ row).
    Replay {
        #[command(flatten)]
        select: DlqSelect,
        #[command(flatten)]
        kafka: KafkaArgs,
        /// Only these record ids (repeatable).
        #[arg(long = "id", env = "DLQ_IDS", value_delimiter = ',')]
        ids: Vec<uuid::Uuid>,
        /// Destination topic.
        #[arg(long, env = "KAFKA_TOPIC", default_value = "events.main")]
        topic: String,
        /// Records per second at most.
        #[arg(long, env = "REPLAY_RATE", default_value_t = std::num::NonZeroU32::new(100).expect("nonzero"))]
        rate: std::num::NonZeroU32,
        /// Show what would be replayed without sending anything.
        #[arg(long, env = "DRY_RUN")]
        dry_run: bool,
    },
}

/// `lag` flags.
#[derive(Debug, Args)]
pub struct LagArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Topic.
    #[arg(long, env = "KAFKA_TOPIC", default_value = "events.main")]
    pub topic: String,
    /// Consumer group id.
    #[arg(long, env = "KAFKA_GROUP_ID", default_value = "streamsre")]
    pub group: String,
    /// Print JSON instead of a table.
    #[arg(long, env = "LAG_JSON")]
    pub json: bool,
}

/// Broker connection flags shared by every Kafka command.
#[derive(Debug, Clone, Args)]
pub struct KafkaArgs {
    /// Bootstrap brokers, comma-separated.
    #[arg(long, env = "KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    pub brokers: String,
    /// Extra librdkafka property, `key=value`; repeatable (env: `;`-separated).
    #[arg(long = "kafka-opt", env = "KAFKA_OPTS", value_delimiter = ';',
          value_parser = parse_kafka_opt, hide_env_values = true)]
    pub kafka_opt: Vec<(String, String)>,
}

impl KafkaArgs {
    /// As the library's options type.
    pub fn opts(&self) -> streamsre_kafka::KafkaOpts {
        streamsre_kafka::KafkaOpts {
            brokers: self.brokers.clone(),
            extra: self.kafka_opt.clone(),
        }
    }
}

/// `topic` subcommands.
#[derive(Debug, Subcommand)]
pub enum TopicCommand {
    /// Create a topic; succeeds if it already exists.
    Create {
        /// Topic name.
        name: String,
        /// Number of partitions.
        #[arg(long, env = "TOPIC_PARTITIONS", default_value_t = 12)]
        partitions: i32,
        /// Replication factor.
        #[arg(long, env = "TOPIC_REPLICATION", default_value_t = 1)]
        replication: i32,
        #[command(flatten)]
        kafka: KafkaArgs,
    },
    /// List topics and their partition counts.
    List {
        #[command(flatten)]
        kafka: KafkaArgs,
    },
}

/// Postgres connection flag.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL. Its password is never logged or shown.
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "postgres://postgres@127.0.0.1:5432/streamsre"
    )]
    pub database_url: String,
}

/// `migrate` flags.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
}

/// `produce` flags.
#[derive(Debug, Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Destination topic.
    #[arg(long, env = "KAFKA_TOPIC", default_value = "events.main")]
    pub topic: String,
    /// Events per second (open model: the schedule does not slow down); 0 = as fast as possible.
    #[arg(long, env = "RATE_PER_SEC", default_value_t = 1000.0)]
    pub rate: f64,
    /// Run this long (e.g. 30s); with --rate, sends rate × duration events.
    #[arg(long, env = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Send exactly this many events (takes precedence over --duration).
    #[arg(long, env = "COUNT")]
    pub count: Option<u64>,
    /// Percentage of events keyed to the hot keys.
    #[arg(long, env = "HOT_KEY_PCT", default_value_t = 80.0)]
    pub hot_key_pct: f64,
    /// Number of hot keys.
    #[arg(long, env = "HOT_KEYS", default_value_t = 10)]
    pub hot_keys: u64,
    /// Number of cold keys (long-tail cardinality).
    #[arg(long, env = "KEYS", default_value_t = 10_000)]
    pub keys: u64,
    /// Approximate encoded size of each event in bytes (the review text is padded).
    #[arg(long, env = "MSG_SIZE", default_value_t = 512)]
    pub msg_size: usize,
    /// Generator seed: the same seed produces the same ids, keys and payloads. Default: random.
    #[arg(long, env = "SEED")]
    pub seed: Option<u64>,
    /// Serve the producer's own /metrics (sent, acked, failed, behind schedule) here.
    #[arg(long, env = "PRODUCER_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Follow the consumer's sustainable rate (its --policy slow-source) instead of --rate,
    /// which becomes the ceiling: the source slows down and nothing is lost.
    #[arg(long, env = "ADAPTIVE")]
    pub adaptive: bool,
    /// The consumer's rate endpoint for --adaptive.
    #[arg(
        long,
        env = "CONTROL_URL",
        default_value = "http://127.0.0.1:2112/control/rate"
    )]
    pub control_url: String,
    /// A load profile of constant-rate steps instead of --rate: RATE:DURATION,… such as
    /// `1500:2m,8000:5m,1500:3m` (the lab specification's burst). Each step is paced like
    /// --rate (open model); the run ends with the last step.
    #[arg(long, env = "SCHEDULE", conflicts_with_all = ["adaptive", "count", "duration"])]
    pub schedule: Option<streamsre_lab::schedule::Schedule>,
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_bytes("256MiB"), Ok(256 << 20));
        assert_eq!(parse_bytes("64MB"), Ok(64_000_000));
        assert_eq!(parse_bytes("1048576"), Ok(1 << 20));
        assert_eq!(parse_bytes("2 GiB"), Ok(2 << 30));
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("5 parsecs").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_flag_has_an_env_var() {
        fn walk(cmd: &clap::Command, path: &str) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if arg.is_positional() || matches!(id, "help" | "version") {
                    continue;
                }
                assert!(
                    arg.get_env().is_some(),
                    "{path} --{id} has no environment variable"
                );
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()));
            }
        }
        walk(&Cli::command(), "streamsre");
    }

    #[test]
    fn database_url_env_value_is_hidden_from_help() {
        std::env::set_var("DATABASE_URL", "postgres://u:hunter2@db/x");
        let help = Cli::command()
            .find_subcommand_mut("consume")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(!help.contains("hunter2"), "{help}");
        assert!(help.contains("DATABASE_URL"));
    }
}
