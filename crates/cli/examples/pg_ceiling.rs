//! The Postgres ceiling for `make bench`: the consumer's own batch SQL, driven straight from
//! Rust on pre-decoded events, with no Kafka, decoding or flow control in the path. Whatever
//! rate this reaches on a database is the most any consumer writing those three tables
//! effectively once can reach there; `make bench` reports streamsre as a share of it.
//!
//! Events come from the same generator and seed as `streamsre produce`, are split over the
//! connections by key exactly as the consumer's lanes split them (so hot keys never contend
//! across connections), and each connection applies its batches in turn, one transaction
//! each. Prints one line of `key=value` figures, including per-batch latency percentiles, so
//! batch sizes can be compared until latency rather than throughput grows.
//!
//!   cargo run --release -p streamsre --example pg_ceiling -- --database-url URL \
//!       [--events 200000] [--batch-size 1000] [--connections 4] [--write-path unnest|copy]

use clap::Parser;
use std::time::{Duration, Instant};
use streamsre_lab::load::{EventGenerator, WorkloadConfig};
use streamsre_sink::{PgSink, PgSinkConfig, SourcePos, ValidEvent, WritePath};

#[derive(Parser)]
struct Args {
    /// Database to write to (its tables are migrated first).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Events to apply.
    #[arg(long, default_value_t = 200_000)]
    events: usize,
    /// Events per transaction.
    #[arg(long, default_value_t = 1000)]
    batch_size: usize,
    /// Connections, each applying its share of the keys.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Approximate encoded event size (as `streamsre produce --msg-size`).
    #[arg(long, default_value_t = 512)]
    msg_size: usize,
    /// Generator seed (as `streamsre produce --seed`).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// unnest or copy.
    #[arg(long, default_value = "unnest")]
    write_path: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.batch_size > 0 && args.connections > 0,
        "--batch-size and --connections must be at least 1"
    );
    let write_path = match args.write_path.as_str() {
        "unnest" => WritePath::Unnest,
        "copy" => WritePath::Copy,
        other => anyhow::bail!("--write-path must be unnest or copy, not {other:?}"),
    };
    // `streamsre produce`'s default key mix.
    let mut generator = EventGenerator::new(WorkloadConfig {
        seed: args.seed,
        hot_key_pct: 80.0,
        hot_keys: 10,
        keys: 10_000,
        msg_size: args.msg_size,
    });
    let sink = PgSink::connect(&PgSinkConfig {
        url: args.database_url.clone(),
        pool_size: args.connections,
        connect_timeout: Duration::from_secs(10),
        write_path,
    })
    .await?;
    sink.migrate().await?;
    let mapping = streamsre_mapping::parse(streamsre_mapping::REVIEWS_MAPPING)
        .map_err(|e| anyhow::anyhow!("the review mapping: {e:?}"))?;
    let sink = sink
        .with_mapping(&mapping)
        .await
        .map_err(|e| anyhow::anyhow!("the review mapping: {e:?}"))?;
    let plan = sink.plan().expect("with_mapping sets the plan");
    let mut lanes: Vec<Vec<ValidEvent>> = vec![Vec::new(); args.connections];
    for offset in 0..args.events {
        let event = generator.next_event();
        let lane = streamsre_flow::lane_for(event.key.as_bytes(), args.connections);
        let pos = SourcePos {
            topic: "pg_ceiling".into(),
            partition: lane as i32,
            offset: offset as i64,
        };
        let mapped = ValidEvent::mapped_review(plan, &event, pos)
            .map_err(|r| anyhow::anyhow!("{}", r.reason))?
            .expect("the review mapping routes every generated event");
        lanes[lane].push(mapped);
    }
    // The key split is uneven (hot keys): the busiest lane bounds the rate, here as anywhere.
    let busiest = lanes.iter().map(Vec::len).max().unwrap_or(0) as f64 / args.events.max(1) as f64;

    let started = Instant::now();
    let tasks: Vec<_> = lanes
        .into_iter()
        .map(|events| {
            let (sink, batch_size) = (sink.clone(), args.batch_size);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut applied = 0;
                for batch in events.chunks(batch_size) {
                    let outcome = sink.apply_batch(batch, &[]).await?;
                    applied += outcome.applied;
                    latencies.push(outcome.elapsed);
                }
                anyhow::Ok((applied, latencies))
            })
        })
        .collect();
    let mut applied = 0;
    let mut latencies = Vec::new();
    for task in tasks {
        let (n, l) = task.await??;
        applied += n;
        latencies.extend(l);
    }
    let elapsed = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        applied == args.events,
        "applied {applied} of {} events: is the database fresh?",
        args.events
    );
    latencies.sort();
    let ms = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "ceiling: write_path={} batch_size={} connections={} events={} eps={:.0} batch_p50_ms={:.1} batch_p99_ms={:.1} busiest_lane_share={:.2}",
        args.write_path,
        args.batch_size,
        args.connections,
        args.events,
        args.events as f64 / elapsed,
        ms(0.5),
        ms(0.99),
        busiest
    );
    Ok(())
}
