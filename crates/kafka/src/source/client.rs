//! The librdkafka consumer settings: what the source needs from the client (manual, durable-only
//! commits; fast fetches on Tansu) and the prefetch sized by the memory budget.

use super::rebalance::SourceContext;
use super::{SourceConfig, StartFrom};
use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};

/// Creates the consumer and subscribes it to the source's topic.
pub(super) fn subscribe(
    config: &SourceConfig,
    context: SourceContext,
) -> anyhow::Result<BaseConsumer<SourceContext>> {
    // librdkafka's prefetch and its fetch responses count against the memory budget
    // (`MemoryBudget` sizes both). The fetch size matters as much as the queue cap: the cap
    // only stops *new* fetches, and one fetch response decompresses to its compressed size
    // times the compression ratio, all of it held until consumed (measured with
    // 50×-compressible payloads and 16 MiB fetches: librdkafka held 90 MiB under a 64 MiB
    // budget).
    let (prefetch_kb, fetch_max) = match config.flow.memory_budget {
        Some(budget) => (budget.prefetch_kib(), budget.fetch_max_bytes()),
        None => (65_536, 52_428_800),
    };
    // A `--kafka-opt fetch.max.bytes=…` override wins, and librdkafka then needs a receive
    // buffer to match (it refuses to start otherwise).
    let fetch_max = config
        .kafka
        .extra_value("fetch.max.bytes")
        .and_then(|v| v.parse().ok())
        .unwrap_or(fetch_max);
    let prefetch_kb = prefetch_kb.to_string();
    let fetch_max_bytes = fetch_max.to_string();
    let receive_max = (fetch_max + (1 << 20)).to_string();
    let max_poll = config.max_poll_interval.as_millis().to_string();
    let mut client_config = config.kafka.client_config(&[
        ("group.id", config.group.as_str()),
        // Offsets are committed by us, and only for messages whose effects are durable.
        ("enable.auto.commit", "false"),
        // Never let librdkafka store a position on its own: a stored offset is a promise
        // that everything before it is done, and only the tracker knows that.
        ("enable.auto.offset.store", "false"),
        // Where a partition without a committed offset starts (`--start-from`). A time is
        // looked up when the partition is assigned (`rebalance.rs`); should that fail, the
        // beginning loses nothing (the ledger skips what was already applied).
        (
            "auto.offset.reset",
            match config.start_from {
                StartFrom::Latest => "latest",
                StartFrom::Earliest | StartFrom::At(_) => "earliest",
            },
        ),
        // Detect a dead member within 10 s. Brokers such as Tansu also complete a join
        // only after about this long, so a shorter value speeds up rebalances there.
        ("session.timeout.ms", "10000"),
        ("heartbeat.interval.ms", "3000"),
        // Surface end-of-partition as nothing rather than as an error event.
        ("enable.partition.eof", "false"),
        // Upper bound on how long the broker may hold a fetch. Tansu holds it the full
        // time even when data is there: measured at 2,000 events/s, p50 end-to-end
        // latency was 420 ms with librdkafka's 500 ms default and 159 ms with 100 ms. The
        // cost is at most ~10 empty fetches per second per broker when idle.
        ("fetch.wait.max.ms", "100"),
        // Prefetch is memory too: see the sizing above.
        ("queued.max.messages.kbytes", prefetch_kb.as_str()),
        // When the prefetch is full, librdkafka postpones that partition's next fetch by
        // this long (default 1 s). A bounded budget keeps the prefetch full whenever there
        // is a backlog, so the default stalled every partition for a second at a time:
        // measured at a 64 MiB budget, 20 ms took the drain from 26.6k to 41.3k events/s,
        // level with a 128 MiB budget (docs/perf/sweep.md, sweep 8). librdkafka checks again
        // after this long, not sooner, so the cost is a timer per paused partition.
        ("fetch.queue.backoff.ms", "20"),
        ("fetch.max.bytes", fetch_max_bytes.as_str()),
        ("receive.message.max.bytes", receive_max.as_str()),
        // The decoupled poll loop polls at least every 100 ms whatever the sink does, so
        // this only ever fires in the lab's blocking mode.
        ("max.poll.interval.ms", max_poll.as_str()),
    ]);
    // INFO carries the lines that say why a connection failed (a plaintext client hung up on
    // by a TLS listener is only an INFO "Disconnected"); the context classifies them.
    client_config.set_log_level(rdkafka::config::RDKafkaLogLevel::Info);
    let consumer: BaseConsumer<SourceContext> = client_config
        .create_with_context(context)
        .with_context(|| format!("creating Kafka consumer for {}", config.kafka.brokers))?;
    consumer
        .subscribe(&[&config.topic])
        .with_context(|| format!("subscribing to {}", config.topic))?;
    Ok(consumer)
}
