//! Topic management and offset inspection through the Kafka admin and metadata APIs.

use crate::config::KafkaOpts;
use anyhow::{bail, Context};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
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
    let admin: AdminClient<DefaultClientContext> = opts
        .client_config(&[])
        .create()
        .context("creating Kafka admin client")?;
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(replication));
    let options = AdminOptions::new().operation_timeout(Some(timeout));
    let results = admin
        .create_topics([&topic], &options)
        .await
        .with_context(|| format!("creating topic {name} on {}", opts.brokers))?;
    match results.into_iter().next() {
        Some(Ok(_)) => Ok(true),
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Ok(false),
        Some(Err((_, code))) => bail!("creating topic {name}: {code}"),
        None => bail!("creating topic {name}: broker returned no result"),
    }
}

fn metadata_consumer(opts: &KafkaOpts, group: Option<&str>) -> anyhow::Result<BaseConsumer> {
    let mut config = opts.client_config(&[]);
    if let Some(g) = group {
        config.set("group.id", g);
    }
    config.create().context("creating Kafka client")
}

/// Lists topics (internal ones included) with their partition counts, sorted by name.
pub fn list_topics(opts: &KafkaOpts, timeout: Duration) -> anyhow::Result<Vec<TopicInfo>> {
    let consumer = metadata_consumer(opts, None)?;
    let metadata = consumer
        .fetch_metadata(None, timeout)
        .with_context(|| format!("fetching metadata from {}", opts.brokers))?;
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

/// Per partition of `topic`: the group's committed offset (`None` if it has none) and the
/// high watermark. The difference is the group's lag.
pub fn group_offsets(
    opts: &KafkaOpts,
    group: &str,
    topic: &str,
    timeout: Duration,
) -> anyhow::Result<Vec<(i32, Option<i64>, i64)>> {
    let consumer = metadata_consumer(opts, Some(group))?;
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .with_context(|| format!("fetching metadata of {topic}"))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    let mut tpl = TopicPartitionList::new();
    for p in &partitions {
        tpl.add_partition(topic, *p);
    }
    let committed = consumer
        .committed_offsets(tpl, timeout)
        .with_context(|| format!("fetching committed offsets of group {group}"))?;
    let mut out = Vec::with_capacity(partitions.len());
    for p in partitions {
        let offset = committed
            .find_partition(topic, p)
            .and_then(|e| match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            });
        let (_, high) = consumer
            .fetch_watermarks(topic, p, timeout)
            .with_context(|| format!("fetching watermarks of {topic}/{p}"))?;
        out.push((p, offset, high));
    }
    out.sort_unstable();
    Ok(out)
}
