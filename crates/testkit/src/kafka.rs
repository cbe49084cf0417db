//! The test broker: its address, fresh topics, group lag and committed offsets, and reading
//! a topic back without joining a group.

use crate::unique;
use std::time::{Duration, Instant};
use streamsre_kafka::KafkaOpts;

/// Kafka bootstrap servers for tests: `KAFKA_BROKERS`, default the local stack's.
pub fn brokers() -> String {
    std::env::var("KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_string())
}

/// Kafka options for the stack's broker, without overrides (consumers started by tests add
/// [`FAST_GROUP_OPTS`]).
pub fn kafka_opts() -> KafkaOpts {
    KafkaOpts::plaintext(brokers())
}

/// librdkafka overrides every test consumer gets (see ARCHITECTURE.md: Tansu answers a join
/// after about the session timeout).
pub const FAST_GROUP_OPTS: &str = "session.timeout.ms=6000;heartbeat.interval.ms=1000";

/// Creates a fresh topic and returns its name.
pub async fn create_topic(partitions: i32) -> String {
    let name = unique("t");
    create_named_topic(&name, partitions).await;
    name
}

/// Creates the topic `name` (it must not be shared with another test).
pub async fn create_named_topic(name: &str, partitions: i32) {
    streamsre_kafka::admin::create_topic(&kafka_opts(), name, partitions, 1, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot create a topic on Kafka at {}: {e:#}\nStart the stack with `make up` (or set KAFKA_BROKERS).",
                brokers()
            )
        });
}

/// Total lag of `group` on `topic` (blocking admin calls run off the async runtime).
pub async fn total_lag(group: &str, topic: &str) -> anyhow::Result<i64> {
    let (group, topic) = (group.to_string(), topic.to_string());
    tokio::task::spawn_blocking(move || {
        streamsre_kafka::admin::group_lag(&kafka_opts(), &group, &topic, Duration::from_secs(10))
            .map(|rows| rows.iter().map(|r| r.lag).sum())
    })
    .await?
}

/// Committed offset per partition of `group` on `topic` (`None` where nothing is committed).
pub async fn committed_offsets(
    group: &str,
    topic: &str,
) -> anyhow::Result<Vec<(i32, Option<i64>)>> {
    let (group, topic) = (group.to_string(), topic.to_string());
    tokio::task::spawn_blocking(move || {
        streamsre_kafka::admin::group_lag(&kafka_opts(), &group, &topic, Duration::from_secs(10))
            .map(|rows| rows.iter().map(|r| (r.partition, r.committed)).collect())
    })
    .await?
}

/// One record read back from a topic, with its headers as strings.
#[derive(Debug, Clone)]
pub struct ReadRecord {
    /// The partition it was read from.
    pub partition: i32,
    /// Its offset there.
    pub offset: i64,
    /// Its timestamp, epoch milliseconds.
    pub timestamp_ms: Option<i64>,
    /// Message key.
    pub key: Option<Vec<u8>>,
    /// Message value.
    pub value: Option<Vec<u8>>,
    /// Headers whose values are UTF-8.
    pub headers: std::collections::HashMap<String, String>,
}

/// Reads `topic` from the beginning of every partition until `expected` records arrived, or
/// fails after `timeout`. Uses manual assignment (no group), so it never disturbs a group.
pub async fn read_topic(topic: &str, expected: usize, timeout: Duration) -> Vec<ReadRecord> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::{Headers, Message};
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = kafka_opts()
            .client_config(&[
                ("group.id", "streamsre-testkit-reader"),
                ("enable.auto.commit", "false"),
            ])
            .create()
            .expect("create reader");
        let metadata = consumer
            .fetch_metadata(Some(&topic), Duration::from_secs(10))
            .expect("topic metadata");
        let mut tpl = rdkafka::TopicPartitionList::new();
        for p in metadata.topics().iter().flat_map(|t| t.partitions()) {
            tpl.add_partition_offset(&topic, p.id(), rdkafka::Offset::Beginning)
                .expect("add partition");
        }
        consumer.assign(&tpl).expect("assign partitions");
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while out.len() < expected {
            assert!(
                Instant::now() < deadline,
                "read {} of {expected} records from {topic} within {timeout:?}",
                out.len()
            );
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .filter_map(|h| {
                                let v = std::str::from_utf8(h.value?).ok()?;
                                Some((h.key.to_string(), v.to_string()))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(ReadRecord {
                    partition: m.partition(),
                    offset: m.offset(),
                    timestamp_ms: m.timestamp().to_millis(),
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec),
                    headers,
                });
            }
        }
        out
    })
    .await
    .expect("reader thread")
}

/// A valid review event for user `user:{i % 7}` with rating `1 + i % 5`.
pub fn review(i: usize) -> streamsre_event::Event {
    let event_id = uuid::Uuid::new_v4();
    streamsre_event::Event {
        event_id,
        event_type: streamsre_event::EVENT_TYPE_REVIEW_CREATED.into(),
        key: format!("user:{}", i % 7),
        ts: chrono::Utc::now(),
        schema_version: streamsre_event::SCHEMA_VERSION,
        payload: streamsre_event::ReviewPayload {
            review_id: format!("rev-{event_id}"),
            rating: 1 + (i % 5) as i32,
            text: format!("review {i}"),
        },
    }
}
