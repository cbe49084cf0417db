//! `produce`: the open-model load generator's flags.

use super::{parse_duration, KafkaArgs};
use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::time::Duration;
use streamsre_lab::load::Compression;

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
