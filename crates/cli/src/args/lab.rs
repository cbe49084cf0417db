//! `lab`, `sink` and `chaos`: the backpressure lab and its parts.

use super::{parse_duration, DatabaseArgs, KafkaArgs};
use clap::{Args, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::time::Duration;

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
