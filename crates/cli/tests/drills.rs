//! Failure drills (issue "Failure handling"): a slow database, a row the database rejects
//! inside a large batch, and a DLQ replay. Real processes, real broker and PostgreSQL.
//! Figures are printed with `eprintln!` (see them with `--nocapture`); the runbooks quote them.

mod common;

use common::*;
use std::time::{Duration, Instant};
use streamsre_event::encode;
use streamsre_lab::load::{send_raw, EventGenerator, RawRecord, WorkloadConfig};
use streamsre_testkit::{
    create_named_topic, create_topic, http_get, metric_value, read_topic, scrape, unique, wait_for,
    Proc, TestDb,
};

fn workload(seed: u64) -> EventGenerator {
    EventGenerator::new(WorkloadConfig {
        seed,
        hot_key_pct: 50.0,
        hot_keys: 5,
        keys: 200,
        msg_size: 300,
    })
}

/// A histogram's `sum` and `count` from one `/metrics` response. Two scrapes would let a batch
/// finish between them and land in one figure but not the other: a mean of 4 slow batches
/// over a count of 5 reads 0.4 s, and the drill below failed that way when run alongside others.
async fn sum_and_count(addr: &str, sum: &str, count: &str) -> (f64, f64) {
    let (_, body) = http_get(addr, "/metrics").await.unwrap();
    let get =
        |sample| metric_value(&body, sample).unwrap_or_else(|| panic!("{sample} not in /metrics"));
    (get(sum), get(count))
}

/// Seed drill 2: every insert statement into `reviews` sleeps 0.5 s. Throughput collapses and
/// lag builds on the broker (not in memory); the latency metric shows where the time goes;
/// nothing is lost, and once the trigger is dropped the lag drains.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_database_builds_lag_not_memory_and_drains_after_recovery() {
    const N: u64 = 12_000;
    // A small in-flight cap, so the 12,000 events cannot all sit in flight: the overload must
    // show as lag on the broker while in-flight work stays at the cap.
    let Scenario {
        topic,
        group,
        db,
        consumer: mut c,
        addr,
        producer,
    } = Scenario::builder()
        .consumer_args(&["--max-inflight", "64"])
        .load(N, 1_000, 21)
        .until_rows(1_000, Duration::from_secs(60))
        .start()
        .await;
    let mut prod = producer.unwrap();

    let client = db.client().await;
    client
        .batch_execute(
            "CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN PERFORM pg_sleep(0.5); RETURN NULL; END $$;
             CREATE TRIGGER slow_insert AFTER INSERT ON reviews
                 FOR EACH STATEMENT EXECUTE FUNCTION slow_insert();",
        )
        .await
        .unwrap();
    let sum = "db_query_duration_seconds_sum{query=\"apply_batch\"}";
    let count = "db_query_duration_seconds_count{query=\"apply_batch\"}";
    // A write that began before the trigger existed can still be recorded after it (CI saw a
    // mean of 0.467 s from one such fast batch among five). Each of the 4 lanes writes one batch
    // at a time, so once 4 more are recorded the window below holds only slow ones.
    let settled = scrape(&addr, count).await.unwrap() + 4.0;
    wait_for(
        "the writes begun before the trigger to be recorded",
        Duration::from_secs(60),
        || async {
            match scrape(&addr, count).await {
                Ok(n) if n >= settled => Ok(()),
                other => Err(format!("{other:?} of {settled}")),
            }
        },
    )
    .await;
    let (sum0, count0) = sum_and_count(&addr, sum, count).await;
    let slow_start = Instant::now();
    let rows_at_slow = db.scalar("SELECT count(*) FROM reviews").await;

    let peak_lag = wait_lag_at_least(&group, &topic, 2_000, "lag to build up on the broker").await;
    let slow_secs = slow_start.elapsed().as_secs_f64();
    let rows_slow = db.scalar("SELECT count(*) FROM reviews").await - rows_at_slow;
    let (sum1, count1) = sum_and_count(&addr, sum, count).await;
    let mean_batch = (sum1 - sum0) / (count1 - count0).max(1.0);
    let inflight = scrape(&addr, "inflight_workers").await.unwrap();
    eprintln!(
        "drill slow-db: {rows_slow} rows in {slow_secs:.1}s while slow ({:.0}/s against 1000/s produced), \
         mean apply_batch {mean_batch:.3}s, lag {peak_lag}, inflight {inflight}",
        rows_slow as f64 / slow_secs
    );
    assert!(
        mean_batch >= 0.5,
        "the latency metric shows the slow inserts: {mean_batch}"
    );
    assert!(
        inflight <= 64.0,
        "in-flight stays bounded by MAX_INFLIGHT while lag grows: {inflight}"
    );

    client
        .batch_execute("DROP TRIGGER slow_insert ON reviews")
        .await
        .unwrap();
    let recovered = Instant::now();
    assert!(prod
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    wait_rows(&db, N as i64, Duration::from_secs(120)).await;
    wait_no_lag(&group, &topic).await;
    eprintln!(
        "drill slow-db: lag drained {:.1}s after the trigger was dropped",
        recovered.elapsed().as_secs_f64()
    );
    stop_gracefully(&mut c).await;
    assert_exactly_once(&db, N as i64).await;
    db.drop_db().await;
}

/// One row the database rejects (a rating the `reviews` CHECK refuses: SQLSTATE 23514,
/// permanent; the mapping cannot see it, the column is a plain integer) inside a batch of
/// 1,000: bisection commits the 999 good rows and sends exactly the bad one to the DLQ.
#[tokio::test(flavor = "multi_thread")]
async fn one_bad_row_in_a_batch_of_1000_is_isolated_by_bisection() {
    let topic = create_topic(1).await;
    create_named_topic(&dlq_topic(&topic), 1).await;
    let (group, db) = (unique("g"), TestDb::create().await);
    let mut generator = workload(31);
    let mut events: Vec<_> = (0..1_000).map(|_| generator.next_event()).collect();
    events[500].payload.rating = 9;
    let bad_id = events[500].event_id;
    let records: Vec<_> = keyed_records(&events);
    send_raw(
        &streamsre_testkit::kafka_opts(),
        &topic,
        &records,
        Duration::from_secs(60),
    )
    .unwrap();

    // One lane, room for the whole batch, and time to fill it.
    let (mut c, addr) = consumer(
        &topic,
        &group,
        &db,
        &[
            "--sink-workers",
            "1",
            "--max-inflight",
            "1000",
            "--batch-size",
            "1000",
            "--batch-linger",
            "3s",
        ],
    );
    wait_rows(&db, 999, Duration::from_secs(120)).await;
    wait_no_lag(&group, &topic).await;
    assert_eq!(
        scrape(&addr, "events_processed_total{result=\"dlq\"}")
            .await
            .unwrap(),
        1.0
    );
    stop_gracefully(&mut c).await;

    assert_exactly_once(&db, 999).await;
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT event_id, error_kind, reason, raw_payload IS NOT NULL FROM dlq_events",
            &[],
        )
        .await
        .unwrap();
    let (id, kind, reason, has_raw): (uuid::Uuid, String, String, bool) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(id, bad_id);
    assert_eq!(kind, "sink_rejected");
    assert!(reason.contains("23514"), "{reason}");
    assert!(has_raw);
    let log = std::fs::read_to_string(&c.stderr_path).unwrap();
    let first_bisect = log
        .lines()
        .find(|l| l.contains("batch rejected; bisecting"))
        .expect("the batch was bisected");
    let rows: u64 = first_bisect
        .split("\"rows\":")
        .nth(1)
        .and_then(|r| r.split(|ch: char| !ch.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .expect("rows field in the bisect log line");
    eprintln!("drill bad-row: first rejected batch had {rows} rows; 999 landed, 1 in the DLQ");
    assert!(
        rows >= 500,
        "the bad row sat inside a large batch ({rows} rows)"
    );
    db.drop_db().await;
}

/// Replay the whole DLQ without fixing anything: every poison record comes back to the DLQ
/// (its row counts the return, the topic gets it again), an already-applied event that sat in
/// the DLQ is skipped by the ledger, and no valid row changes.
#[tokio::test(flavor = "multi_thread")]
async fn replaying_the_dlq_returns_poison_and_changes_no_valid_row() {
    let (topic, group, db) = fixture().await;
    let mut generator = workload(41);
    let valid: Vec<_> = (0..2_000).map(|_| generator.next_event()).collect();
    let mut clash = valid[7].clone();
    clash.event_id = uuid::Uuid::new_v4();
    let mut rating = valid[9].clone();
    rating.event_id = uuid::Uuid::new_v4();
    rating.payload.rating = 6;
    let poison: Vec<RawRecord> = vec![
        (None, Some(b"not json at all".to_vec())),
        (None, Some(vec![0xff, 0xfe, 0x00])),
        (Some(b"user:3".to_vec()), None),
        (Some(rating.key.clone().into_bytes()), Some(encode(&rating))),
        (Some(clash.key.clone().into_bytes()), Some(encode(&clash))),
    ];
    let mut records: Vec<_> = keyed_records(&valid);
    records.extend(poison.iter().cloned());
    send_raw(
        &streamsre_testkit::kafka_opts(),
        &topic,
        &records,
        Duration::from_secs(60),
    )
    .unwrap();
    let (mut c, addr) = consumer(&topic, &group, &db, &[]);
    wait_rows(&db, valid.len() as i64, Duration::from_secs(120)).await;
    wait_no_lag(&group, &topic).await;
    assert_eq!(
        db.scalar("SELECT count(*) FROM dlq_events").await,
        poison.len() as i64
    );

    // An event that sits in the DLQ although it was applied (e.g. sent there by
    // --on-retries-exhausted=dlq during an outage, then redelivered and applied).
    let applied = &valid[0];
    db.client()
        .await
        .execute(
            "INSERT INTO dlq_events (event_id, error_kind, reason, raw_payload, original_key)
             VALUES ($1, 'retries_exhausted', 'retries_exhausted: drill', $2, $3)",
            &[&applied.event_id, &encode(applied), &applied.key.as_bytes()],
        )
        .await
        .unwrap();
    let checksum = "SELECT ('x' || substr(md5(string_agg(review_id || ':' || rating || ':' || user_key || ':' || text, ',' ORDER BY review_id)), 1, 15))::bit(60)::bigint FROM reviews";
    let before = db.scalar(checksum).await;
    let sum_before = db
        .scalar("SELECT sum(review_count)::bigint FROM user_stats")
        .await;

    let mut replay = Proc::spawn(
        BIN,
        "dlq-replay",
        &["dlq", "replay", "--topic", &topic, "--rate", "50"],
        &[("DATABASE_URL", &db.url)],
    );
    let status = replay.wait_exit(Duration::from_secs(60)).await.unwrap();
    assert!(status.success(), "{}", replay.stderr_tail());
    assert!(
        replay.stdout().contains("replayed 6 record(s)"),
        "{}",
        replay.stdout()
    );

    wait_for(
        "every poison record to return to the DLQ",
        Duration::from_secs(60),
        || async {
            match db
                .try_scalar("SELECT count(*) FROM dlq_events WHERE retry_count = 1")
                .await
            {
                Ok(n) if n == poison.len() as i64 => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    wait_no_lag(&group, &topic).await;
    let duplicates = scrape(&addr, "events_processed_total{result=\"duplicate\"}")
        .await
        .unwrap();
    assert_eq!(
        duplicates, 1.0,
        "the applied event was skipped by the ledger"
    );
    stop_gracefully(&mut c).await;

    assert_eq!(db.scalar(checksum).await, before, "no valid row changed");
    assert_eq!(
        db.scalar("SELECT sum(review_count)::bigint FROM user_stats")
            .await,
        sum_before
    );
    assert_exactly_once(&db, valid.len() as i64).await;
    assert_eq!(
        db.scalar("SELECT count(*) FROM dlq_events").await,
        poison.len() as i64 + 1,
        "returns update their rows; nothing is added"
    );
    assert_eq!(
        db.scalar("SELECT count(*) FROM dlq_events WHERE replayed_at IS NOT NULL")
            .await,
        poison.len() as i64 + 1
    );
    // The topic received each poison record twice: first failure and return.
    let topic_records = read_topic(
        &dlq_topic(&topic),
        2 * poison.len(),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(topic_records.len(), 2 * poison.len());

    // The operator views work on the same data.
    let mut list = Proc::spawn(
        BIN,
        "dlq-list",
        &["dlq", "list", "--json"],
        &[("DATABASE_URL", &db.url)],
    );
    assert!(list
        .wait_exit(Duration::from_secs(30))
        .await
        .unwrap()
        .success());
    assert_eq!(list.stdout().lines().count(), poison.len() + 1);
    let mut show = Proc::spawn(
        BIN,
        "dlq-show",
        &["dlq", "show", &rating.event_id.to_string()],
        &[("DATABASE_URL", &db.url)],
    );
    assert!(show
        .wait_exit(Duration::from_secs(30))
        .await
        .unwrap()
        .success());
    let shown = show.stdout();
    assert!(shown.contains("reviews_rating_check"), "{shown}");
    assert!(shown.contains("returns      1"), "{shown}");
    db.drop_db().await;
}
