//! Command-line interface. Every flag also reads an environment variable (shown in `--help`);
//! values that may carry secrets hide their environment value from `--help`.

//!
//! One module per command group: `consume`, `produce`, `ops` (topic, migrate, lag, dlq, top)
//! and `lab` (lab, sink, chaos); the connection flags every group shares are here.

mod consume;
mod lab;
mod ops;
mod produce;

pub use consume::*;
pub use lab::*;
pub use ops::*;
pub use produce::*;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::time::Duration;
use streamsre_kafka::parse_kafka_opt;

pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
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
