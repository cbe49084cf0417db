//! Helpers shared by the end-to-end test binaries: spawn the real `streamsre` binary against
//! the per-test topic and database, and wait on observable conditions.
#![allow(dead_code)] // each test binary uses a different subset

mod scenario;
#[allow(unused_imports)] // not every test binary starts a scenario
pub use scenario::Scenario;

use std::time::Duration;
use streamsre_testkit::{
    brokers, create_named_topic, create_topic, free_addr, http_get, scrape, total_lag, unique,
    wait_for, Proc, TestDb, FAST_GROUP_OPTS,
};

pub const BIN: &str = env!("CARGO_BIN_EXE_streamsre");
pub const PARTITIONS: i32 = 6;

/// A fresh topic (and its DLQ topic, `<topic>.dlq`), group id and database: nothing shared
/// with any other test.
pub async fn fixture() -> (String, String, TestDb) {
    let topic = create_topic(PARTITIONS).await;
    create_named_topic(&dlq_topic(&topic), 1).await;
    (topic, unique("g"), TestDb::create().await)
}

pub fn dlq_topic(topic: &str) -> String {
    format!("{topic}.dlq")
}

pub fn consumer(topic: &str, group: &str, db: &TestDb, extra: &[&str]) -> (Proc, String) {
    consumer_at(&brokers(), topic, group, db, extra)
}

/// [`consumer`] writing to the lab's HTTP sink at `sink_addr` instead of Postgres.
pub fn http_consumer(
    topic: &str,
    group: &str,
    db: &TestDb,
    sink_addr: &str,
    extra: &[&str],
) -> (Proc, String) {
    let url = format!("http://{sink_addr}");
    let mut args = vec!["--sink", "http", "--sink-url", &url];
    args.extend_from_slice(extra);
    consumer(topic, group, db, &args)
}

/// [`consumer`] on the broker at `brokers` (e.g. a test's own `OwnBroker`).
pub fn consumer_at(
    brokers: &str,
    topic: &str,
    group: &str,
    db: &TestDb,
    extra: &[&str],
) -> (Proc, String) {
    consumer_env(
        topic,
        group,
        db,
        extra,
        &[("KAFKA_OPTS", FAST_GROUP_OPTS), ("KAFKA_BROKERS", brokers)],
    )
}

/// A consumer whose Kafka settings all come from `env` (brokers, security, options), as an
/// operator would set them.
pub fn consumer_env(
    topic: &str,
    group: &str,
    db: &TestDb,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Proc, String) {
    let addr = free_addr();
    let dlq = dlq_topic(topic);
    let mut args = vec![
        "consume",
        "--topic",
        topic,
        "--dlq-topic",
        &dlq,
        "--group",
        group,
        "--metrics-addr",
        &addr,
        "--summary-format",
        "json",
    ];
    if !extra.contains(&"--debug-addr") {
        // Many consumers share this host; the profile endpoints are tested on their own.
        args.extend_from_slice(&["--debug-addr", "off"]);
    }
    args.extend_from_slice(extra);
    let mut all_env = vec![("DATABASE_URL", db.url.as_str())];
    all_env.extend_from_slice(env);
    let proc = Proc::spawn(BIN, "consume", &args, &all_env);
    (proc, addr)
}

pub fn producer(topic: &str, count: u64, rate: u32, seed: u64) -> Proc {
    producer_at(&brokers(), topic, count, rate, seed)
}

/// [`producer`] on the broker at `brokers`.
pub fn producer_at(brokers: &str, topic: &str, count: u64, rate: u32, seed: u64) -> Proc {
    producer_with(brokers, topic, count, rate, seed, &[])
}

/// [`producer_at`] with `extra` flags (e.g. `--compression zstd`).
pub fn producer_with(
    brokers: &str,
    topic: &str,
    count: u64,
    rate: u32,
    seed: u64,
    extra: &[&str],
) -> Proc {
    let (count, rate, seed) = (count.to_string(), rate.to_string(), seed.to_string());
    let mut args = vec![
        "produce",
        "--topic",
        topic,
        "--count",
        &count,
        "--rate",
        &rate,
        "--seed",
        &seed,
        "--hot-key-pct",
        "80",
    ];
    args.extend_from_slice(extra);
    Proc::spawn(BIN, "produce", &args, &[("KAFKA_BROKERS", brokers)])
}

pub async fn produce_all(topic: &str, count: u64, seed: u64) {
    produce_all_at(&brokers(), topic, count, seed).await
}

/// [`produce_all`] on the broker at `brokers`.
pub async fn produce_all_at(brokers: &str, topic: &str, count: u64, seed: u64) {
    let mut p = producer_at(brokers, topic, count, 0, seed);
    let status = p.wait_exit(Duration::from_secs(120)).await.unwrap();
    assert!(
        status.success(),
        "produce failed: {}\n{}",
        p.stdout(),
        p.stderr_tail()
    );
    assert!(
        p.stdout().contains(&format!("acked={count} failed=0")),
        "{}",
        p.stdout()
    );
}

/// [`wait_for`] on a child process: fails at once, with its log, if the process exits first.
pub async fn wait_alive<T, F, Fut>(
    proc: &mut Proc,
    what: &str,
    timeout: Duration,
    mut check: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    wait_for(what, timeout, || {
        let running = proc.is_running();
        let tail = proc.stderr_tail();
        let checked = check();
        async move {
            assert!(running, "exited while waiting for {what}\n{tail}");
            checked.await
        }
    })
    .await
}

/// Waits for a producer to deliver everything it was asked to.
pub async fn wait_produced(prod: &mut Proc) {
    let status = prod.wait_exit(Duration::from_secs(120)).await.unwrap();
    assert!(status.success(), "{}", prod.stderr_tail());
}

pub async fn wait_assigned(addr: &str, proc: &mut Proc) {
    wait_alive(
        proc,
        "consumer to get partitions",
        Duration::from_secs(90),
        || async {
            match scrape(addr, "assigned_partitions").await {
                Ok(n) if n > 0.0 => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
}

pub async fn wait_rows(db: &TestDb, at_least: i64, timeout: Duration) -> i64 {
    wait_for(&format!("{at_least} rows in reviews"), timeout, || async {
        // The consumer creates the tables itself at start, so "no such table" means "not yet".
        match db.try_scalar("SELECT count(*) FROM reviews").await {
            Ok(n) if n >= at_least => Ok(n),
            Ok(n) => Err(format!("{n} rows")),
            Err(e) => Err(e),
        }
    })
    .await
}

pub async fn wait_no_lag(group: &str, topic: &str) {
    wait_for("group lag to reach 0", Duration::from_secs(120), || async {
        match total_lag(group, topic).await {
            Ok(0) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await
}

pub async fn stop_gracefully(proc: &mut Proc) -> serde_json::Value {
    proc.sigterm();
    let status = proc.wait_exit(Duration::from_secs(20)).await.unwrap();
    assert!(
        status.success(),
        "consumer exit {status:?}\n{}",
        proc.stderr_tail()
    );
    let out = proc.stdout();
    serde_json::from_str(out.trim().lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("summary is not JSON ({e}): {out:?}"))
}

/// Every event applied exactly once: ledger, reviews and the aggregate all agree on `n`.
pub async fn assert_exactly_once(db: &TestDb, n: i64) {
    assert_eq!(
        db.scalar("SELECT count(*) FROM reviews").await,
        n,
        "reviews"
    );
    assert_eq!(
        db.scalar("SELECT count(*) FROM processed_events").await,
        n,
        "ledger"
    );
    assert_eq!(
        db.scalar("SELECT coalesce(sum(review_count), 0)::bigint FROM user_stats")
            .await,
        n,
        "sum(user_stats.review_count) must equal the distinct events produced"
    );
}

/// Waits until the group's lag on `topic` is at least `at_least`; returns it.
pub async fn wait_lag_at_least(group: &str, topic: &str, at_least: i64, what: &str) -> i64 {
    wait_for(what, Duration::from_secs(60), || async {
        match total_lag(group, topic).await {
            Ok(lag) if lag >= at_least => Ok(lag),
            other => Err(format!("{other:?}")),
        }
    })
    .await
}

/// Waits until the consumer serves `/readyz`: its ops server is up and it has subscribed, so
/// it is joining the group.
pub async fn wait_serving(addr: &str, proc: &mut Proc) {
    wait_alive(
        proc,
        "the consumer to serve /readyz",
        Duration::from_secs(30),
        || async {
            http_get(addr, "/readyz")
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        },
    )
    .await;
}

/// The dependency `name` of a `/readyz` body (`{"name", "ok", "detail"}`), if listed.
pub fn readyz_dependency(body: &str, name: &str) -> Option<serde_json::Value> {
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    json["dependencies"]
        .as_array()?
        .iter()
        .find(|d| d["name"] == name)
        .cloned()
}

/// Polls `/readyz` until it answers `code`; returns the body.
pub async fn wait_ready(addr: &str, code: u16, what: &str) -> String {
    wait_for(what, Duration::from_secs(60), || async {
        match http_get(addr, "/readyz").await {
            Ok((c, body)) if c == code => Ok(body),
            other => Err(format!("{other:?}")),
        }
    })
    .await
}

/// Starts `streamsre sink` with `args` and waits until it answers.
pub async fn start_sink(args: &[&str]) -> (Proc, String) {
    let addr = free_addr();
    let mut all = vec!["sink", "--listen", &addr];
    all.extend_from_slice(args);
    let mut sink = Proc::spawn(BIN, "sink", &all, &[]);
    wait_for(
        "the sink service to answer",
        Duration::from_secs(20),
        || {
            let running = sink.is_running();
            let addr = addr.clone();
            async move {
                assert!(running, "sink exited");
                http_get(&addr, "/healthz")
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        },
    )
    .await;
    (sink, addr)
}

/// Events the sink service accepted so far.
pub async fn sink_total(addr: &str) -> u64 {
    let (_, body) = http_get(addr, "/counts").await.unwrap();
    serde_json::from_str::<serde_json::Value>(&body).unwrap()["total"]
        .as_u64()
        .unwrap()
}

/// Waits until the sink service has accepted at least `at_least` events.
pub async fn wait_sink_total(addr: &str, at_least: u64, timeout: Duration) {
    wait_for("the sink to hold every event", timeout, || async {
        match sink_total(addr).await {
            t if t >= at_least => Ok(()),
            t => Err(format!("{t} of {at_least} accepted")),
        }
    })
    .await
}

/// Events as records keyed by their `key`, as the producer sends them.
pub fn keyed_records(events: &[streamsre_event::Event]) -> Vec<streamsre_lab::load::RawRecord> {
    events
        .iter()
        .map(|e| {
            (
                Some(e.key.clone().into_bytes()),
                Some(streamsre_event::encode(e)),
            )
        })
        .collect()
}
