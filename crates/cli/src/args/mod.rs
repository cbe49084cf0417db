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
    /// Check a mapping file against the database, or start one from a table.
    #[command(subcommand)]
    Mapping(MappingCommand),
    /// Generate load: seed-schema events at a fixed (open-model) rate.
    Produce(ProduceArgs),
    /// Run the consumer service: Kafka → Postgres, effectively once.
    Consume(Box<ConsumeArgs>),
    /// Show a consumer group's committed offsets and lag per partition (no consumer needed).
    Lag(LagArgs),
    /// Describe a group's offsets, or reset them (`kafka-consumer-groups --reset-offsets`).
    #[command(subcommand)]
    Offsets(OffsetsCommand),
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
    /// TLS and SASL towards the brokers.
    #[command(flatten)]
    pub security: KafkaSecurityArgs,
    /// Extra librdkafka property, `key=value`; repeatable (env: `;`-separated). Applied last,
    /// after the security flags.
    #[arg(long = "kafka-opt", env = "KAFKA_OPTS", value_delimiter = ';',
          value_parser = parse_kafka_opt, hide_env_values = true)]
    pub kafka_opt: Vec<(String, String)>,
}

impl KafkaArgs {
    /// As the library's options type, after checking the security flags fit together.
    pub fn opts(&self) -> anyhow::Result<streamsre_kafka::KafkaOpts> {
        let security = self.security.security();
        security
            .validate()
            .map_err(|e| anyhow::anyhow!("kafka security settings: {e}"))?;
        if security.ssl_skip_hostname_verification {
            tracing::warn!(
                "--ssl-skip-hostname-verification: the broker's certificate is not checked \
                 against its host name, so anyone holding a certificate from the same CA can \
                 pose as the broker"
            );
        }
        Ok(streamsre_kafka::KafkaOpts {
            brokers: self.brokers.clone(),
            security,
            extra: self.kafka_opt.clone(),
        })
    }
}

/// `--security-protocol` and friends: what managed clusters (MSK, Confluent Cloud, Aiven,
/// Redpanda Cloud) ask for.
#[derive(Debug, Clone, Args)]
pub struct KafkaSecurityArgs {
    /// plaintext, ssl (TLS, mTLS with a client certificate), sasl_plaintext or sasl_ssl.
    #[arg(
        long,
        env = "KAFKA_SECURITY_PROTOCOL",
        value_enum,
        default_value = "plaintext"
    )]
    pub security_protocol: SecurityProtocolArg,
    /// SASL mechanism for sasl_ssl / sasl_plaintext.
    #[arg(long, env = "KAFKA_SASL_MECHANISM", value_enum)]
    pub sasl_mechanism: Option<SaslMechanismArg>,
    /// SASL username.
    #[arg(long, env = "KAFKA_SASL_USERNAME")]
    pub sasl_username: Option<String>,
    /// SASL password. Prefer the environment variable: a flag shows in `ps`. Never logged.
    #[arg(long, env = "KAFKA_SASL_PASSWORD", hide_env_values = true,
          value_parser = |s: &str| Ok::<_, String>(streamsre_kafka::Secret::new(s)))]
    pub sasl_password: Option<streamsre_kafka::Secret>,
    /// PEM file of the CA that signed the brokers' certificates (default: the system's CAs).
    #[arg(long, env = "KAFKA_SSL_CA_LOCATION")]
    pub ssl_ca_location: Option<std::path::PathBuf>,
    /// PEM client certificate, for mTLS.
    #[arg(long, env = "KAFKA_SSL_CERTIFICATE_LOCATION")]
    pub ssl_certificate_location: Option<std::path::PathBuf>,
    /// PEM private key of the client certificate, for mTLS.
    #[arg(long, env = "KAFKA_SSL_KEY_LOCATION")]
    pub ssl_key_location: Option<std::path::PathBuf>,
    /// Accept a broker certificate that does not name the host connected to (logs a warning
    /// at start). Only for brokers whose certificates lack the address clients use.
    #[arg(long, env = "KAFKA_SSL_SKIP_HOSTNAME_VERIFICATION")]
    pub ssl_skip_hostname_verification: bool,
}

impl KafkaSecurityArgs {
    fn security(&self) -> streamsre_kafka::KafkaSecurity {
        streamsre_kafka::KafkaSecurity {
            protocol: self.security_protocol.into(),
            sasl_mechanism: self.sasl_mechanism.map(Into::into),
            sasl_username: self.sasl_username.clone(),
            sasl_password: self.sasl_password.clone(),
            ssl_ca_location: self.ssl_ca_location.clone(),
            ssl_certificate_location: self.ssl_certificate_location.clone(),
            ssl_key_location: self.ssl_key_location.clone(),
            ssl_skip_hostname_verification: self.ssl_skip_hostname_verification,
        }
    }
}

/// `--security-protocol` values, spelled as librdkafka spells them.
#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum SecurityProtocolArg {
    /// No TLS, no SASL.
    Plaintext,
    /// TLS (mTLS with a client certificate).
    Ssl,
    /// SASL without TLS.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl From<SecurityProtocolArg> for streamsre_kafka::SecurityProtocol {
    fn from(p: SecurityProtocolArg) -> Self {
        match p {
            SecurityProtocolArg::Plaintext => Self::Plaintext,
            SecurityProtocolArg::Ssl => Self::Ssl,
            SecurityProtocolArg::SaslPlaintext => Self::SaslPlaintext,
            SecurityProtocolArg::SaslSsl => Self::SaslSsl,
        }
    }
}

/// `--sasl-mechanism` values, spelled as Kafka spells them.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SaslMechanismArg {
    /// Username and password in clear (inside TLS).
    #[value(name = "PLAIN", alias = "plain")]
    Plain,
    /// SCRAM with SHA-256.
    #[value(name = "SCRAM-SHA-256", alias = "scram-sha-256")]
    ScramSha256,
    /// SCRAM with SHA-512.
    #[value(name = "SCRAM-SHA-512", alias = "scram-sha-512")]
    ScramSha512,
}

impl From<SaslMechanismArg> for streamsre_kafka::SaslMechanism {
    fn from(m: SaslMechanismArg) -> Self {
        match m {
            SaslMechanismArg::Plain => Self::Plain,
            SaslMechanismArg::ScramSha256 => Self::ScramSha256,
            SaslMechanismArg::ScramSha512 => Self::ScramSha512,
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
