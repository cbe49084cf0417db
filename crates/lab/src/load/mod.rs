//! The open-model load generator behind `streamsre produce`.
//!
//! Open model: message `i` is due at `start + i / rate`, whatever happened to earlier ones. If
//! the broker is slower than the schedule, the generator does not quietly slow down (that would
//! hide the overload the lab is meant to show); it keeps sending as fast as it can and reports
//! how far behind schedule it fell.

mod acks;
mod compression;
mod delivery;
pub mod headers;
mod partition;
pub use acks::Acks;
pub use compression::Compression;
use delivery::{fill_counts, DeliveryCounter};
pub use partition::{murmur2, Hashing, Partitioning};

use anyhow::Context;
use chrono::Utc;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use streamsre_event::{encode, Event, ReviewPayload, EVENT_TYPE_REVIEW_CREATED, SCHEMA_VERSION};
use streamsre_kafka::KafkaOpts;
use uuid::Uuid;

/// Shape of the generated workload.
#[derive(Debug, Clone)]
pub struct WorkloadConfig {
    /// Seed of the generator: the same seed gives the same ids, keys and payloads in order.
    pub seed: u64,
    /// Percentage (0 to 100) of events that go to the hot keys.
    pub hot_key_pct: f64,
    /// Number of hot keys.
    pub hot_keys: u64,
    /// Number of cold keys (cardinality of the long tail).
    pub keys: u64,
    /// Target size of one encoded event in bytes; `text` is padded to reach it.
    pub msg_size: usize,
}

/// Deterministic event generator.
pub struct EventGenerator {
    config: WorkloadConfig,
    rng: ChaCha8Rng,
}

/// Words the review text is drawn from. Drawn at random (seeded), not repeated as one
/// phrase: a cyclic filler compresses ~50× under lz4, far beyond real text, and a consumer's
/// memory per fetched byte grows with the compression ratio, so the load would not be
/// representative.
const WORDS: &[&str] = &[
    "the",
    "service",
    "was",
    "quick",
    "and",
    "staff",
    "friendly",
    "would",
    "order",
    "again",
    "food",
    "arrived",
    "cold",
    "late",
    "great",
    "value",
    "price",
    "too",
    "high",
    "delivery",
    "driver",
    "polite",
    "package",
    "damaged",
    "fresh",
    "taste",
    "portion",
    "small",
    "large",
    "recommend",
    "never",
    "always",
    "app",
    "crashed",
    "refund",
    "support",
    "helpful",
    "slow",
    "perfect",
    "okay",
    "not",
    "bad",
    "excellent",
    "terrible",
    "average",
    "box",
    "missing",
    "item",
    "extra",
    "sauce",
    "spicy",
    "sweet",
    "salty",
    "warm",
    "menu",
    "changed",
    "order",
    "wrong",
    "right",
    "time",
    "minutes",
    "hour",
    "waited",
    "pleasant",
    "experience",
];

/// A timestamp whose RFC 3339 form is as long as any the clock gives (nine fraction digits).
const WIDEST_TS: chrono::DateTime<Utc> =
    match chrono::DateTime::from_timestamp(1_700_000_000, 123_456_789) {
        Some(ts) => ts,
        None => panic!("a valid timestamp"),
    };

impl EventGenerator {
    /// A generator at the start of the sequence for `config.seed`.
    pub fn new(config: WorkloadConfig) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(config.seed);
        Self { config, rng }
    }

    /// The next event of the sequence.
    pub fn next_event(&mut self) -> Event {
        let mut bytes = [0u8; 16];
        self.rng.fill(&mut bytes);
        let event_id = uuid::Builder::from_random_bytes(bytes).into_uuid();
        let hot = self.rng.gen_range(0.0..100.0) < self.config.hot_key_pct;
        let key_index = if hot || self.config.keys == 0 {
            self.rng.gen_range(0..self.config.hot_keys.max(1))
        } else {
            self.config.hot_keys + self.rng.gen_range(0..self.config.keys)
        };
        let rating = self.rng.gen_range(1..=5);
        let mut event = Event {
            event_id,
            event_type: EVENT_TYPE_REVIEW_CREATED.to_string(),
            key: format!("user:{key_index}"),
            ts: Utc::now(),
            schema_version: SCHEMA_VERSION,
            payload: ReviewPayload {
                review_id: format!("rev-{}", event_id.simple()),
                rating,
                text: String::new(),
            },
        };
        let pad = padding(self.config.msg_size, &mut event);
        let mut text = String::with_capacity(pad + 16);
        while text.len() < pad {
            text.push_str(WORDS[self.rng.gen_range(0..WORDS.len())]);
            text.push(' ');
        }
        text.truncate(pad);
        event.payload.text = text;
        event
    }
}

/// How many bytes of `text` bring `event` to `msg_size`, sized against a timestamp of the
/// widest form (nanoseconds), not the event's own: RFC 3339 drops trailing zero digits, so a
/// clock timestamp is 20 to 30 characters long, and a pad computed from it would make `text`,
/// and every draw after it, depend on the clock instead of only on the seed. Events may come
/// out up to 9 bytes short of `msg_size`.
fn padding(msg_size: usize, event: &mut Event) -> usize {
    let ts = std::mem::replace(&mut event.ts, WIDEST_TS);
    let base = encode(event).len();
    event.ts = ts;
    msg_size.saturating_sub(base)
}

/// How much to send and how fast.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Brokers and librdkafka passthrough.
    pub kafka: KafkaOpts,
    /// Destination topic.
    pub topic: String,
    /// Events per second; 0 means as fast as possible.
    pub rate: f64,
    /// Stop after this many events.
    pub count: Option<u64>,
    /// Stop after this long (with a rate, this fixes the count at `rate × duration`).
    pub duration: Option<Duration>,
    /// The workload.
    pub workload: WorkloadConfig,
    /// How long to wait at the end for outstanding acknowledgements.
    pub flush_timeout: Duration,
    /// When set and non-zero, the current target rate (events/s as `f64` bits), changed while
    /// running by `--adaptive` to follow the consumer's sustainable rate.
    pub rate_override: Option<Arc<AtomicU64>>,
    /// How produce requests are compressed.
    pub compression: Compression,
    /// Where records go.
    pub partitioning: Partitioning,
    /// How much acknowledgement a send waits for.
    pub acks: Acks,
    /// Whether retries are deduplicated by the broker (already checked against `acks`).
    pub idempotence: bool,
    /// Share (0 to 100) of events marked `priority=high`, drawn from the seed.
    pub priority_pct: f64,
    /// Whether records carry `event-type`, `schema-version` and `produced-at`.
    pub default_headers: bool,
    /// Headers every record carries after the defaults, in order.
    pub headers: Vec<(String, String)>,
}

/// Outcome of a load run.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Messages handed to the client.
    pub sent: u64,
    /// Messages the broker acknowledged.
    pub acked: u64,
    /// Messages that failed delivery.
    pub failed: u64,
    /// Wall time from first send to the last acknowledgement.
    pub elapsed: Duration,
    /// Largest lateness of a send against its scheduled time.
    pub max_behind: Duration,
    /// First delivery error seen, if any.
    pub first_error: Option<String>,
}

impl LoadReport {
    /// Acknowledged messages per second.
    pub fn achieved_rate(&self) -> f64 {
        self.acked as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Whether every message sent was acknowledged.
    pub fn all_acked(&self) -> bool {
        self.failed == 0 && self.acked == self.sent
    }
}

/// Lateness beyond which the generator counts as behind schedule.
pub const BEHIND_THRESHOLD: Duration = Duration::from_millis(250);

/// Sends the workload. `progress` is called about every 200 ms with the report so far.
///
/// Blocking: run it on its own thread (librdkafka's queue-full wait blocks). Stops early, still
/// flushing, when `stop` is set.
pub fn run_load(
    config: &LoadConfig,
    stop: &AtomicBool,
    mut progress: impl FnMut(&LoadReport),
) -> anyhow::Result<LoadReport> {
    let producer: ThreadedProducer<DeliveryCounter> = config
        .kafka
        .client_config(&[
            // `--acks all` (the default) waits for the full in-sync replica set: a lost
            // acknowledged message would make every downstream count wrong.
            ("acks", config.acks.librdkafka_value()),
            (
                "enable.idempotence",
                if config.idempotence { "true" } else { "false" },
            ),
            (
                "partitioner",
                match config.partitioning {
                    Partitioning::Hash(h) => h.librdkafka_name(),
                    // Set explicitly per record; the key hash is never consulted.
                    _ => Hashing::Consistent.librdkafka_name(),
                },
            ),
            // Batch for up to 50 ms: fewer, larger produce requests. Brokers with a high cost
            // per request need it (measured with the demo's 5,000/s on Tansu's sqlite storage:
            // 5 ms and 20 ms reached ~4,000 acks/s with p50 end-to-end latency above 2 s, 50 ms
            // reached ~4,740/s at 340 to 720 ms). The price is up to 50 ms more end-to-end
            // latency at low rates; `--kafka-opt linger.ms=…` overrides it.
            ("linger.ms", "50"),
            ("batch.num.messages", "10000"),
            ("compression.type", config.compression.librdkafka_name()),
            // Bound the client-side queue (memory); a full queue makes us wait, not drop.
            ("queue.buffering.max.messages", "200000"),
            // Give up on a message after 60 s; a failure is counted and fails the run.
            ("message.timeout.ms", "60000"),
        ])
        .set_log_level(rdkafka::config::RDKafkaLogLevel::Info)
        .create_with_context(DeliveryCounter::for_client(&config.kafka))
        .with_context(|| format!("creating Kafka producer for {}", config.kafka.brokers))?;

    let partitions = match config.partitioning {
        Partitioning::Hash(_) => 0,
        chosen => {
            let count = partition_count(&producer, &config.topic)?;
            chosen
                .check(&config.topic, count)
                .map_err(anyhow::Error::msg)?;
            count
        }
    };
    // Its own stream, so the events stay those of the seed whatever the share.
    let mut priority_rng = ChaCha8Rng::seed_from_u64(config.workload.seed ^ PRIORITY_STREAM);
    let high_share = (config.priority_pct / 100.0).clamp(0.0, 1.0);

    let adaptive = config.rate_override.is_some();
    let total = match (config.count, config.duration) {
        (Some(n), _) => Some(n),
        // An adaptive run's rate changes, so a duration is a deadline, not a count.
        (None, Some(d)) if config.rate > 0.0 && !adaptive => {
            Some((config.rate * d.as_secs_f64()).round() as u64)
        }
        _ => None,
    };
    let current_rate = || {
        config
            .rate_override
            .as_ref()
            .map(|r| f64::from_bits(r.load(Ordering::Relaxed)))
            .filter(|r| *r > 0.0)
            .unwrap_or(config.rate)
    };
    let deadline = config.duration.map(|d| Instant::now() + d);
    let mut generator = EventGenerator::new(config.workload.clone());
    let mut report = LoadReport::default();
    let start = Instant::now();
    let mut last_progress = start;
    // Message i is due one interval (at the rate in force) after message i-1 was due,
    // whatever happened meanwhile: an open-model schedule that also follows rate changes.
    let mut next_due = start;

    'send: while total.is_none_or(|t| report.sent < t) {
        if stop.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let rate = current_rate();
        if rate > 0.0 {
            let now = Instant::now();
            if next_due > now {
                // Sleep in slices so stop, progress and rate changes stay responsive.
                std::thread::sleep((next_due - now).min(Duration::from_millis(50)));
                continue;
            }
            report.max_behind = report.max_behind.max(now - next_due);
            next_due += Duration::from_secs_f64(1.0 / rate);
        }
        let event = generator.next_event();
        let value = encode(&event);
        let high = high_share > 0.0 && priority_rng.gen_bool(high_share);
        let mut record = BaseRecord::to(&config.topic)
            .key(event.key.as_bytes())
            .payload(&value)
            .headers(headers::for_event(
                &event,
                config.default_headers,
                high,
                &config.headers,
            ));
        if let Some(p) = config
            .partitioning
            .choose(event.key.as_bytes(), high, partitions)
        {
            record = record.partition(p);
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    // The broker is slower than the schedule: wait for room, never drop.
                    record = r;
                    std::thread::sleep(Duration::from_millis(1));
                    if stop.load(Ordering::SeqCst) {
                        break 'send;
                    }
                }
                Err((e, _)) => return Err(e).context("producing a message"),
            }
        }
        report.sent += 1;
        if last_progress.elapsed() >= Duration::from_millis(200) {
            fill_counts(&mut report, producer.context(), start);
            progress(&report);
            last_progress = Instant::now();
        }
    }
    producer
        .flush(config.flush_timeout)
        .context("waiting for outstanding acknowledgements")?;
    fill_counts(&mut report, producer.context(), start);
    progress(&report);
    Ok(report)
}

/// Seed offset of the priority draw (any constant: it only has to differ from the events').
const PRIORITY_STREAM: u64 = 0x7072_696f_7269_7479;

/// The number of partitions of `topic`, for the partitioners that choose one themselves.
fn partition_count(
    producer: &ThreadedProducer<DeliveryCounter>,
    topic: &str,
) -> anyhow::Result<i32> {
    let metadata = producer
        .client()
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .with_context(|| format!("reading the partitions of {topic}"))?;
    let count = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none())
        .map_or(0, |t| t.partitions().len());
    anyhow::ensure!(
        count > 0,
        "topic {topic} does not exist (or has no partitions)"
    );
    Ok(count as i32)
}

/// A record as raw bytes: optional key, optional value (`None` is a tombstone).
pub type RawRecord = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Produces raw records (for poison tests and replays), in order.
pub fn send_raw(
    kafka: &KafkaOpts,
    topic: &str,
    records: &[RawRecord],
    timeout: Duration,
) -> anyhow::Result<LoadReport> {
    let producer: ThreadedProducer<DeliveryCounter> = kafka
        .client_config(&[
            ("acks", "all"),
            ("linger.ms", "5"),
            ("message.max.bytes", "4000000"),
        ])
        .set_log_level(rdkafka::config::RDKafkaLogLevel::Info)
        .create_with_context(DeliveryCounter::for_client(kafka))
        .context("creating Kafka producer")?;
    let start = Instant::now();
    let mut report = LoadReport::default();
    for (key, value) in records {
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic);
        if let Some(k) = key {
            record = record.key(k.as_slice());
        }
        if let Some(v) = value {
            record = record.payload(v.as_slice());
        }
        producer
            .send(record)
            .map_err(|(e, _)| e)
            .context("producing a raw record")?;
        report.sent += 1;
    }
    producer.flush(timeout).context("flushing raw records")?;
    fill_counts(&mut report, producer.context(), start);
    Ok(report)
}

/// The default seed used when none is given: derived from the clock so separate runs produce
/// distinct event ids unless a seed is pinned.
pub fn clock_seed() -> u64 {
    Uuid::new_v4().as_u64_pair().0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(seed: u64) -> WorkloadConfig {
        WorkloadConfig {
            seed,
            hot_key_pct: 80.0,
            hot_keys: 10,
            keys: 10_000,
            msg_size: 512,
        }
    }

    #[test]
    fn same_seed_same_sequence() {
        let mut a = EventGenerator::new(workload(42));
        let mut b = EventGenerator::new(workload(42));
        let mut c = EventGenerator::new(workload(43));
        for _ in 0..100 {
            let (x, y, z) = (a.next_event(), b.next_event(), c.next_event());
            assert_eq!(
                (x.event_id, &x.key, &x.payload),
                (y.event_id, &y.key, &y.payload)
            );
            assert_ne!(x.event_id, z.event_id);
        }
    }

    #[test]
    fn padding_does_not_depend_on_the_clock() {
        let mut event = EventGenerator::new(workload(7)).next_event();
        event.payload.text.clear();
        let pads: Vec<usize> = [0, 100_000_000, 123_000, 123_456_789]
            .into_iter()
            .map(|nanos| {
                event.ts = chrono::DateTime::from_timestamp(1_800_000_000, nanos).unwrap();
                padding(512, &mut event)
            })
            .collect();
        assert!(pads.iter().all(|p| *p == pads[0]), "pads {pads:?}");
    }

    #[test]
    fn events_are_valid_sized_and_hot_keys_dominate() {
        let mut g = EventGenerator::new(workload(1));
        let mut hot = 0;
        for _ in 0..10_000 {
            let e = g.next_event();
            let bytes = encode(&e);
            assert!(
                (500..=530).contains(&bytes.len()),
                "encoded size {} far from 512",
                bytes.len()
            );
            streamsre_event::decode(Some(&bytes), 1 << 20).expect("generated event is valid");
            let idx: u64 = e.key.trim_start_matches("user:").parse().unwrap();
            if idx < 10 {
                hot += 1;
            }
        }
        // 80% hot by construction; allow sampling noise.
        assert!((7_700..=8_300).contains(&hot), "hot share {hot}");
    }
}
