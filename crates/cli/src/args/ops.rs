//! The operator's commands: `topic`, `migrate`, `lag`, `offsets`, `dlq` and `top`.

use super::{parse_duration, DatabaseArgs, KafkaArgs};
use clap::{Args, Subcommand};
use std::time::Duration;
use streamsre_kafka::offsets::ResetTarget;

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
        /// Boxed: the security flags make it the largest variant by far.
        #[command(flatten)]
        kafka: Box<KafkaArgs>,
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
        /// The consumer's `--ledger-retention`: records that failed longer ago than this may
        /// have been pruned from the ledger, so replaying them may apply an event twice.
        #[arg(long, env = "LEDGER_RETENTION", value_parser = super::parse_duration)]
        ledger_retention: Option<Duration>,
        /// Replay records older than `--ledger-retention` anyway.
        #[arg(long, env = "REPLAY_FORCE")]
        force: bool,
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

/// `offsets` subcommands.
#[derive(Debug, Subcommand)]
pub enum OffsetsCommand {
    /// Per partition: the group's committed offset, the log start and end, the lag and the
    /// owner; and the group's state and members.
    Describe(Box<LagArgs>),
    /// Move a group's committed offsets (a dry run unless `--execute`).
    Reset(Box<ResetArgs>),
}

/// `offsets reset` flags.
#[derive(Debug, Args)]
pub struct ResetArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Consumer group whose offsets move.
    #[arg(long, env = "KAFKA_GROUP_ID")]
    pub group: String,
    /// Topic.
    #[arg(long, env = "KAFKA_TOPIC")]
    pub topic: String,
    /// Where to move them.
    #[command(flatten)]
    pub to: ResetTo,
    /// Only these partitions (comma-separated; default: all).
    #[arg(long, env = "RESET_PARTITIONS", value_delimiter = ',')]
    pub partitions: Vec<i32>,
    /// Apply the plan. Without it nothing changes; refused while the group has members.
    #[arg(long, env = "RESET_EXECUTE")]
    pub execute: bool,
    /// Print JSON instead of a table.
    #[arg(long, env = "RESET_JSON")]
    pub json: bool,
}

/// Exactly one target of `offsets reset`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ResetTo {
    /// The oldest offset still in the log.
    #[arg(long, env = "RESET_TO_EARLIEST")]
    pub to_earliest: bool,
    /// The log end: skip everything not yet read.
    #[arg(long, env = "RESET_TO_LATEST")]
    pub to_latest: bool,
    /// This offset on every selected partition (clamped to each partition's range).
    #[arg(long, env = "RESET_TO_OFFSET", value_name = "N")]
    pub to_offset: Option<i64>,
    /// The first message at or after this RFC 3339 time (the log end if none).
    #[arg(long, env = "RESET_TO_DATETIME", value_name = "RFC3339", value_parser = parse_datetime)]
    pub to_datetime: Option<chrono::DateTime<chrono::Utc>>,
    /// Move the committed offset by ±N messages.
    #[arg(
        long,
        env = "RESET_SHIFT_BY",
        value_name = "±N",
        allow_negative_numbers = true
    )]
    pub shift_by: Option<i64>,
    /// The first message at or after this long ago (e.g. `1h`).
    #[arg(long, env = "RESET_BY_DURATION", value_name = "DURATION", value_parser = parse_duration)]
    pub by_duration: Option<Duration>,
}

impl ResetTo {
    /// The target, with `--by-duration` read against `now`.
    pub fn target(&self, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<ResetTarget> {
        Ok(if self.to_earliest {
            ResetTarget::Earliest
        } else if self.to_latest {
            ResetTarget::Latest
        } else if let Some(n) = self.to_offset {
            ResetTarget::Offset(n)
        } else if let Some(at) = self.to_datetime {
            ResetTarget::Datetime(at)
        } else if let Some(by) = self.shift_by {
            ResetTarget::ShiftBy(by)
        } else if let Some(ago) = self.by_duration {
            let ago = chrono::Duration::from_std(ago)
                .map_err(|_| anyhow::anyhow!("--by-duration {ago:?} is too long"))?;
            ResetTarget::Datetime(now - ago)
        } else {
            unreachable!("clap requires one reset target")
        })
    }
}

/// An RFC 3339 time (`2026-12-03T10:00:00Z`).
pub(crate) fn parse_datetime(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("{e} (expected RFC 3339, e.g. 2026-12-03T10:00:00Z)"))
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

/// `mapping` subcommands.
#[derive(Debug, Subcommand)]
pub enum MappingCommand {
    /// Check a mapping file against the live database and print the SQL each batch runs;
    /// exit code 2 with one line per problem if it cannot work.
    Check {
        /// The mapping file.
        #[arg(long, env = "MAPPING_FILE")]
        mapping: std::path::PathBuf,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Print a starting route for an existing table (every column it can fill, its key).
    Init {
        /// The table (`name` or `schema.name`).
        #[arg(long, env = "MAPPING_TABLE")]
        table: String,
        /// The topic the route reads (default: the table's name).
        #[arg(long, env = "KAFKA_TOPIC")]
        topic: Option<String>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

/// `migrate` flags.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
}
