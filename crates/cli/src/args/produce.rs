//! `produce`: the open-model load generator's flags.

use super::{parse_duration, KafkaArgs};
use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::time::Duration;
use streamsre_lab::load::{headers::parse_header, Acks, Compression, Hashing, Partitioning};

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
    /// Record-batch compression: none, gzip, snappy, lz4 or zstd. The consumer reads all five.
    #[arg(long, env = "PRODUCE_COMPRESSION", value_enum, default_value = "lz4")]
    pub compression: CompressionArg,
    /// How records are spread: by key with librdkafka's consistent (CRC32, its default),
    /// murmur2 (Java's) or fnv1a hash, or `priority`: records marked `priority=high` to
    /// --priority-partition, every other key hashed (murmur2) over the remaining partitions.
    #[arg(
        long,
        env = "PRODUCE_PARTITIONER",
        value_enum,
        default_value = "consistent",
        conflicts_with = "partition"
    )]
    pub partitioner: PartitionerArg,
    /// Send every record to this partition.
    #[arg(long, env = "PRODUCE_PARTITION")]
    pub partition: Option<i32>,
    /// The partition `--partitioner priority` reserves for `priority=high` records.
    #[arg(long, env = "PRIORITY_PARTITION", default_value_t = 0)]
    pub priority_partition: i32,
    /// Share of generated events (0 to 100) marked with the header `priority=high`.
    #[arg(long, env = "PRIORITY_PCT", default_value_t = 0.0)]
    pub priority_pct: f64,
    /// Every record carries `event-type`, `schema-version` and `produced-at` headers. Off by
    /// default: Tansu 0.6's sqlite storage scans its whole header table per record fetched.
    #[arg(long, env = "PRODUCE_DEFAULT_HEADERS")]
    pub default_headers: bool,
    /// A header every record carries (after the defaults), `KEY=VALUE`; repeatable (env:
    /// `;`-separated).
    #[arg(long = "header", env = "PRODUCE_HEADERS", value_delimiter = ';',
          value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// Acknowledgement a send waits for: 0 (none), 1 (the leader) or all (every in-sync
    /// replica).
    #[arg(long, env = "PRODUCE_ACKS", value_enum, default_value = "all")]
    pub acks: AcksArg,
    /// Idempotent producer (the broker drops retried duplicates). Default: on with
    /// `--acks all`, off otherwise; `--idempotence true` with fewer acks is refused.
    #[arg(long, env = "PRODUCE_IDEMPOTENCE", num_args = 0..=1, default_missing_value = "true")]
    pub idempotence: Option<bool>,
}

impl ProduceArgs {
    /// Where records go, from `--partitioner`, `--partition` and `--priority-partition`.
    pub fn partitioning(&self) -> Partitioning {
        match (self.partition, self.partitioner) {
            (Some(p), _) => Partitioning::Fixed(p),
            (None, PartitionerArg::Murmur2) => Partitioning::Hash(Hashing::Murmur2),
            (None, PartitionerArg::Fnv1a) => Partitioning::Hash(Hashing::Fnv1a),
            (None, PartitionerArg::Consistent) => Partitioning::Hash(Hashing::Consistent),
            (None, PartitionerArg::Priority) => Partitioning::Priority {
                partition: self.priority_partition,
            },
        }
    }
}

/// `produce --partitioner` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PartitionerArg {
    /// Java's default: murmur2 of the key.
    Murmur2,
    /// FNV-1a of the key.
    Fnv1a,
    /// CRC32 of the key (librdkafka's default).
    Consistent,
    /// A reserved partition for `priority=high`, the rest hashed over the others.
    Priority,
}

/// `produce --acks` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AcksArg {
    /// No acknowledgement.
    #[value(name = "0")]
    Zero,
    /// The leader's.
    #[value(name = "1")]
    One,
    /// Every in-sync replica's.
    All,
}

impl From<AcksArg> for Acks {
    fn from(arg: AcksArg) -> Self {
        match arg {
            AcksArg::Zero => Self::None,
            AcksArg::One => Self::Leader,
            AcksArg::All => Self::All,
        }
    }
}

/// `produce --compression` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompressionArg {
    /// Uncompressed.
    None,
    /// gzip.
    Gzip,
    /// snappy.
    Snappy,
    /// lz4 (the default).
    Lz4,
    /// zstd.
    Zstd,
}

impl From<CompressionArg> for Compression {
    fn from(arg: CompressionArg) -> Self {
        match arg {
            CompressionArg::None => Self::None,
            CompressionArg::Gzip => Self::Gzip,
            CompressionArg::Snappy => Self::Snappy,
            CompressionArg::Lz4 => Self::Lz4,
            CompressionArg::Zstd => Self::Zstd,
        }
    }
}
