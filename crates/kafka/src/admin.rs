//! Topic management and offset inspection (with each partition's owner) through the Kafka
//! admin, metadata and group APIs.

use crate::config::KafkaOpts;
use crate::connection::QuietContext;
use crate::group::{GroupDescriber, GroupMember, GroupView};
use anyhow::{bail, Context};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;

/// A topic as listed by the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Topic name.
    pub name: String,
    /// Number of partitions.
    pub partitions: usize,
}

/// Creates a topic. Returns `false` if it already existed, so callers can be idempotent.
pub async fn create_topic(
    opts: &KafkaOpts,
    name: &str,
    partitions: i32,
    replication: i32,
    timeout: Duration,
) -> anyhow::Result<bool> {
    let (admin, context): (AdminClient<QuietContext>, _) = opts
        .create_quiet(&[])
        .context("creating Kafka admin client")?;
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(replication));
    let options = AdminOptions::new().operation_timeout(Some(timeout));
    let results = admin
        .create_topics([&topic], &options)
        .await
        .with_context(|| format!("creating topic {name} on {}", opts.brokers))
        .map_err(|e| context.explain(e))?;
    match results.into_iter().next() {
        Some(Ok(_)) => Ok(true),
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Ok(false),
        Some(Err((_, code))) => bail!("creating topic {name}: {code}"),
        None => bail!("creating topic {name}: broker returned no result"),
    }
}

/// A consumer for metadata and offsets, and its context (which explains failures).
fn metadata_consumer(
    opts: &KafkaOpts,
    group: Option<&str>,
) -> anyhow::Result<(BaseConsumer<QuietContext>, QuietContext)> {
    let defaults: Vec<(&str, &str)> = group.map(|g| ("group.id", g)).into_iter().collect();
    opts.create_quiet(&defaults)
        .context("creating Kafka client")
}

/// `err` with the connection failure behind it, if one was seen. librdkafka queues its log
/// lines on the client's main queue, which only a poll delivers to the context.
fn explain(
    consumer: &BaseConsumer<QuietContext>,
    context: &QuietContext,
    err: anyhow::Error,
) -> anyhow::Error {
    let _ = consumer.poll(Duration::from_millis(100));
    context.explain(err)
}

/// Lists topics (internal ones included) with their partition counts, sorted by name.
pub fn list_topics(opts: &KafkaOpts, timeout: Duration) -> anyhow::Result<Vec<TopicInfo>> {
    let (consumer, context) = metadata_consumer(opts, None)?;
    let metadata = consumer
        .fetch_metadata(None, timeout)
        .with_context(|| format!("fetching metadata from {}", opts.brokers))
        .map_err(|e| explain(&consumer, &context, e))?;
    let mut topics: Vec<TopicInfo> = metadata
        .topics()
        .iter()
        .map(|t| TopicInfo {
            name: t.name().to_string(),
            partitions: t.partitions().len(),
        })
        .collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(topics)
}

/// Offsets of one partition as seen by a consumer group.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PartitionLag {
    /// Partition id.
    pub partition: i32,
    /// The group's committed offset (next offset to read), if it committed one.
    pub committed: Option<i64>,
    /// Oldest offset still in the log.
    pub low_watermark: i64,
    /// Offset the next produced message will get.
    pub high_watermark: i64,
    /// Messages not yet committed by the group: `high - committed`, or `high - low` when the
    /// group has no commit (it would start from the earliest offset).
    pub lag: i64,
}

/// Committed offsets and watermarks of `group` on every partition of `topic`, sorted by
/// partition. Blocking: call it from a blocking context.
pub fn group_lag(
    opts: &KafkaOpts,
    group: &str,
    topic: &str,
    timeout: Duration,
) -> anyhow::Result<Vec<PartitionLag>> {
    let (consumer, context) = metadata_consumer(opts, Some(group))?;
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .with_context(|| format!("fetching metadata of {topic}"))
        .map_err(|e| explain(&consumer, &context, e))?;
    let mut partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    partitions.sort_unstable();
    if partitions.is_empty() {
        bail!("topic {topic} does not exist or has no partitions");
    }
    let mut tpl = TopicPartitionList::new();
    for p in &partitions {
        tpl.add_partition(topic, *p);
    }
    let committed = consumer
        .committed_offsets(tpl, timeout)
        .with_context(|| format!("fetching committed offsets of group {group}"))?;
    partitions
        .into_iter()
        .map(|p| {
            let committed = committed
                .find_partition(topic, p)
                .and_then(|e| match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                });
            let (low, high) = consumer
                .fetch_watermarks(topic, p, timeout)
                .with_context(|| format!("fetching watermarks of {topic}/{p}"))?;
            Ok(PartitionLag {
                partition: p,
                committed,
                low_watermark: low,
                high_watermark: high,
                lag: (high - committed.unwrap_or(low)).max(0),
            })
        })
        .collect()
}

/// Lag per partition with each partition's owner, as `streamsre lag` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupLag {
    /// The group as its coordinator describes it (`None` if it could not be described).
    pub group: Option<GroupView>,
    /// Why the group could not be described.
    pub describe_error: Option<String>,
    /// Offsets and owner per partition.
    pub partitions: Vec<OwnedPartition>,
}

/// One partition's offsets and owner.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OwnedPartition {
    /// Offsets and lag.
    #[serde(flatten)]
    pub offsets: PartitionLag,
    /// The owning member as `id@host`; `None` when no member owns it, or when the owner is
    /// unknown (see [`GroupLag::owner_cell`]).
    pub owner: Option<String>,
}

impl GroupLag {
    /// The owner column: `id@host`, `-` when nobody owns the partition, `?` when the
    /// coordinator did not say (it could not be described, or, like Tansu 0.6, it reports
    /// members without their assignments).
    pub fn owner_cell(&self, partition: &OwnedPartition) -> String {
        match (&partition.owner, &self.group) {
            (Some(owner), _) => owner.clone(),
            (None, Some(g)) if g.assignments_reported() || g.members.is_empty() => "-".into(),
            (None, _) => "?".into(),
        }
    }
}

/// [`group_lag`] plus the owner of every partition from DescribeGroups. Blocking.
pub fn group_lag_with_owners(
    opts: &KafkaOpts,
    group: &str,
    topic: &str,
    timeout: Duration,
) -> anyhow::Result<GroupLag> {
    let rows = group_lag(opts, group, topic, timeout)?;
    let (view, describe_error) =
        match GroupDescriber::new(opts, group).and_then(|d| d.describe(topic, timeout)) {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(format!("{e:#}"))),
        };
    let partitions = rows
        .into_iter()
        .map(|offsets| OwnedPartition {
            owner: view
                .as_ref()
                .and_then(|v| v.owner(offsets.partition))
                .map(GroupMember::label),
            offsets,
        })
        .collect();
    Ok(GroupLag {
        group: view,
        describe_error,
        partitions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(partition: i32, owner: Option<&str>) -> OwnedPartition {
        OwnedPartition {
            offsets: PartitionLag {
                partition,
                committed: Some(1),
                low_watermark: 0,
                high_watermark: 5,
                lag: 4,
            },
            owner: owner.map(str::to_string),
        }
    }

    fn report(members: Vec<GroupMember>) -> GroupLag {
        GroupLag {
            group: Some(GroupView {
                state: "Stable".into(),
                members,
            }),
            describe_error: None,
            partitions: vec![],
        }
    }

    #[test]
    fn the_owner_column_tells_nobody_from_unknown() {
        let member = |id: &str, parts: Option<Vec<i32>>| GroupMember {
            id: id.into(),
            client_id: "c".into(),
            host: "/10.0.0.7".into(),
            partitions: parts,
        };
        let known = report(vec![member("m1", Some(vec![0]))]);
        assert_eq!(
            known.owner_cell(&row(0, Some("m1@10.0.0.7"))),
            "m1@10.0.0.7"
        );
        assert_eq!(
            known.owner_cell(&row(1, None)),
            "-",
            "reported, and nobody has it"
        );
        let silent = report(vec![member("m1", None)]);
        assert_eq!(
            silent.owner_cell(&row(1, None)),
            "?",
            "members without assignments"
        );
        assert_eq!(
            report(vec![]).owner_cell(&row(1, None)),
            "-",
            "no members at all"
        );
        let failed = GroupLag {
            group: None,
            describe_error: Some("timed out".into()),
            partitions: vec![],
        };
        assert_eq!(failed.owner_cell(&row(1, None)), "?");
    }
}
