//! End-to-end tests of `streamsre consume` as a real process against a real Kafka-protocol
//! broker and PostgreSQL: one topic, group and database per test.

mod common;

use common::*;
use serde_json::json;
use std::time::Duration;
use streamsre_event::encode;
use streamsre_lab::load::{send_raw, EventGenerator, WorkloadConfig};
use streamsre_testkit::{
    brokers, committed_offsets, http_get, read_topic, scrape, wait_for, TestDb,
};

#[tokio::test(flavor = "multi_thread")]
async fn seeded_run_lands_every_event_exactly_once() {
    const N: u64 = 20_000;
    let (topic, group, db) = fixture().await;
    produce_all(&topic, N, 7).await;
    let (mut c, addr) = consumer(&topic, &group, &db, &[]);
    wait_rows(&db, N as i64, Duration::from_secs(120)).await;
    wait_no_lag(&group, &topic).await;

    let processed = scrape(&addr, "events_processed_total{result=\"success\"}")
        .await
        .unwrap();
    assert_eq!(processed, N as f64);
    let summary = stop_gracefully(&mut c).await;
    assert_eq!(summary["applied"], json!(N));
    assert_eq!(summary["duplicates"], json!(0));
    assert_eq!(summary["dlq"], json!(0));
    assert_exactly_once(&db, N as i64).await;
    db.drop_db().await;
}

/// Every record-batch codec reaches the database: librdkafka must be built with each (zstd is
/// a build feature) for the producer to write it and the consumer to read it. Snappy needs the
/// local broker's fix: Tansu 0.6.0 as published stores snappy batches but cannot serve them
/// (tools/tansu/README.md).
#[tokio::test(flavor = "multi_thread")]
async fn events_in_every_compression_codec_are_applied_exactly_once() {
    const PER_CODEC: u64 = 500;
    const CODECS: [&str; 5] = ["none", "gzip", "snappy", "lz4", "zstd"];
    let (topic, group, db) = fixture().await;
    for (i, codec) in CODECS.iter().enumerate() {
        let seed = 300 + i as u64;
        let mut p = producer_with(
            &brokers(),
            &topic,
            PER_CODEC,
            0,
            seed,
            &["--compression", codec],
        );
        wait_produced(&mut p).await;
        assert!(
            p.stdout().contains(&format!("acked={PER_CODEC} failed=0")),
            "{codec}: {}",
            p.stdout()
        );
    }
    let n = PER_CODEC * CODECS.len() as u64;
    let (mut c, _) = consumer(&topic, &group, &db, &[]);
    wait_rows(&db, n as i64, Duration::from_secs(120)).await;
    wait_no_lag(&group, &topic).await;
    let summary = stop_gracefully(&mut c).await;
    assert_eq!(summary["applied"], json!(n));
    assert_eq!(summary["dlq"], json!(0));
    assert_exactly_once(&db, n as i64).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_sigkill_loses_nothing_and_applies_nothing_twice() {
    const N: u64 = 20_000;
    const KILLS: usize = 5;
    // One of the kills lands while the fresh member is still joining the group. The group
    // checks run fast so that a coordinator left stuck by it heals within the test.
    const JOINING_KILL: usize = 2;
    let fast_group_checks = ["--stuck-after", "10s", "--lag-interval", "1s"];
    let (topic, group, db) = fixture().await;
    // A steady producer (250/s for 80 s) so every kill lands while events are still arriving.
    let mut prod = producer(&topic, N, 250, 8);
    let (mut c, _) = consumer(&topic, &group, &db, &fast_group_checks);
    for kill in 0..KILLS {
        let before = db
            .try_scalar("SELECT count(*) FROM reviews")
            .await
            .unwrap_or(0);
        let now = wait_rows(&db, before + 300, Duration::from_secs(120)).await;
        c.sigkill();
        assert!(
            now < N as i64,
            "kill {kill} came after the run finished ({now} rows)"
        );
        let addr;
        (c, addr) = consumer(&topic, &group, &db, &fast_group_checks);
        if kill == JOINING_KILL {
            wait_serving(&addr, &mut c).await;
            let assigned = scrape(&addr, "assigned_partitions").await.unwrap_or(0.0);
            c.sigkill();
            assert_eq!(assigned, 0.0, "the joining member already had partitions");
            (c, _) = consumer(&topic, &group, &db, &fast_group_checks);
        }
    }
    wait_produced(&mut prod).await;
    wait_rows(&db, N as i64, Duration::from_secs(180)).await;
    wait_no_lag(&group, &topic).await;
    stop_gracefully(&mut c).await;
    assert_exactly_once(&db, N as i64).await;
    db.drop_db().await;
}

/// A second member joins while events are flowing. The first member's revoke must finish its
/// in-flight work and commit before releasing the partitions, so the new owner starts exactly
/// after it: the two members' work adds up to N with no event applied twice.
#[tokio::test(flavor = "multi_thread")]
async fn a_member_joining_mid_run_splits_the_work_without_duplicates() {
    const N: u64 = 20_000;
    let (topic, group, db) = fixture().await;
    let (mut a, addr_a) = consumer(&topic, &group, &db, &[]);
    wait_assigned(&addr_a, &mut a).await;
    let mut prod = producer(&topic, N, 1_000, 9);
    wait_rows(&db, 2_000, Duration::from_secs(60)).await;

    let (mut b, addr_b) = consumer(&topic, &group, &db, &[]);
    wait_for(
        "partitions split between both members",
        Duration::from_secs(60),
        || async {
            let pa = scrape(&addr_a, "assigned_partitions").await.unwrap_or(-1.0);
            let pb = scrape(&addr_b, "assigned_partitions").await.unwrap_or(-1.0);
            if pa > 0.0 && pb > 0.0 && pa + pb == PARTITIONS as f64 {
                Ok(())
            } else {
                Err(format!("a={pa} b={pb}"))
            }
        },
    )
    .await;
    let rows_at_split = db.scalar("SELECT count(*) FROM reviews").await;
    assert!(
        rows_at_split < N as i64,
        "the split came after the run ended"
    );
    let revokes = scrape(&addr_a, "rebalances_total{kind=\"revoke\"}")
        .await
        .unwrap();
    assert!(revokes >= 1.0, "member a never had partitions revoked");

    assert!(prod
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    wait_rows(&db, N as i64, Duration::from_secs(120)).await;
    wait_no_lag(&group, &topic).await;
    let sa = stop_gracefully(&mut a).await;
    let sb = stop_gracefully(&mut b).await;
    let (ra, rb) = (
        sa["applied"].as_u64().unwrap(),
        sb["applied"].as_u64().unwrap(),
    );
    assert!(
        ra > 0 && rb > 0,
        "both members must have done work: a={ra} b={rb}"
    );
    assert_eq!(
        sa["duplicates"].as_u64().unwrap() + sb["duplicates"].as_u64().unwrap(),
        0
    );
    assert_eq!(ra + rb, N, "the members' work adds up to exactly N");
    assert_exactly_once(&db, N as i64).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn poison_messages_go_to_the_dlq_with_reasons_and_nothing_stalls() {
    let (topic, group, db) = fixture().await;
    let mut generator = EventGenerator::new(WorkloadConfig {
        seed: 11,
        hot_key_pct: 50.0,
        hot_keys: 5,
        keys: 200,
        msg_size: 300,
    });
    let valid: Vec<_> = (0..10_000).map(|_| generator.next_event()).collect();
    let variant = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = serde_json::to_value(&valid[0]).unwrap();
        v["event_id"] = json!(uuid::Uuid::new_v4());
        f(&mut v);
        Some(serde_json::to_vec(&v).unwrap())
    };
    let big = {
        let mut e = valid[1].clone();
        e.payload.text = "x".repeat(100_000);
        Some(encode(&e))
    };
    // A valid event whose review_id clashes with valid[5]: only the database can reject it.
    // Same key as valid[5], so it is applied after it (same partition and lane).
    let mut clash = valid[5].clone();
    clash.event_id = uuid::Uuid::new_v4();
    type Raw = Option<Vec<u8>>;
    let poison: Vec<(&str, Raw, Raw)> = vec![
        ("not json", None, Some(b"this is not json".to_vec())),
        ("truncated", None, Some(encode(&valid[0])[..60].to_vec())),
        ("non-utf8", None, Some(vec![0x7b, 0xc3, 0x28, 0xff, 0xfe])),
        ("empty", None, Some(vec![])),
        ("tombstone", Some(b"user:1".to_vec()), None),
        ("too large", None, big),
        (
            "missing key",
            None,
            variant(&|v| {
                v.as_object_mut().unwrap().remove("key");
            }),
        ),
        (
            "wrong type",
            None,
            variant(&|v| v["payload"]["rating"] = json!("five")),
        ),
        (
            "rating 0",
            None,
            variant(&|v| v["payload"]["rating"] = json!(0)),
        ),
        (
            "rating 6",
            None,
            variant(&|v| v["payload"]["rating"] = json!(6)),
        ),
        (
            "schema v9",
            None,
            variant(&|v| v["schema_version"] = json!(9)),
        ),
        (
            "bad uuid",
            None,
            variant(&|v| v["event_id"] = json!("not-a-uuid")),
        ),
        (
            "null payload",
            None,
            variant(&|v| v["payload"] = json!(null)),
        ),
        (
            "db clash",
            Some(clash.key.clone().into_bytes()),
            Some(encode(&clash)),
        ),
    ];
    let mut records = Vec::new();
    let mut poison_iter = poison.iter();
    for (i, e) in valid.iter().enumerate() {
        records.push((Some(e.key.clone().into_bytes()), Some(encode(e))));
        if i >= 5 && i % 700 == 5 {
            if let Some((_, k, v)) = poison_iter.next() {
                records.push((k.clone(), v.clone()));
            }
        }
    }
    assert!(
        poison_iter.next().is_none(),
        "every poison kind was interleaved"
    );
    let report = send_raw(
        &streamsre_testkit::kafka_opts(),
        &topic,
        &records,
        Duration::from_secs(60),
    )
    .unwrap();
    assert_eq!(report.acked, records.len() as u64);

    let (mut c, addr) = consumer(&topic, &group, &db, &["--max-message-bytes", "65536"]);
    wait_rows(&db, valid.len() as i64, Duration::from_secs(120)).await;
    wait_no_lag(&group, &topic).await;
    let dlq = scrape(&addr, "events_processed_total{result=\"dlq\"}")
        .await
        .unwrap();
    assert_eq!(dlq, poison.len() as f64);
    stop_gracefully(&mut c).await;

    assert_exactly_once(&db, valid.len() as i64).await;
    assert_eq!(
        db.scalar("SELECT count(*) FROM dlq_events").await,
        poison.len() as i64
    );
    assert_eq!(
        db.scalar("SELECT count(DISTINCT reason) FROM dlq_events")
            .await,
        poison.len() as i64,
        "each poison message carries its own reason"
    );
    let client = db.client().await;
    let kinds: Vec<String> = client
        .query(
            "SELECT DISTINCT split_part(reason, ':', 1) FROM dlq_events ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for kind in [
        "invalid_json",
        "truncated_json",
        "not_utf8",
        "empty_value",
        "missing_value",
        "too_large",
        // Through the review mapping: an absent NOT NULL column, a value its column's type
        // cannot take (rating "five", event_id "not-a-uuid"), a schema version no route
        // accepts, and rows the database refuses (rating 0 and 6 by its CHECK, the clash by
        // its primary key).
        "missing_field",
        "type_mismatch",
        "unrouted",
        "sink_rejected",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "no DLQ record of kind {kind}: {kinds:?}"
        );
    }
    let raw: Vec<u8> = client
        .query_one(
            "SELECT raw_payload FROM dlq_events WHERE reason LIKE 'not_utf8%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        raw,
        vec![0x7b, 0xc3, 0x28, 0xff, 0xfe],
        "raw bytes are preserved"
    );

    // The DLQ topic has exactly one record per poison message, with the reason headers, and
    // the same ids as the table.
    let records = read_topic(&dlq_topic(&topic), poison.len(), Duration::from_secs(30)).await;
    let mut topic_ids: Vec<String> = records
        .iter()
        .map(|r| r.headers["x-streamsre-dlq-id"].clone())
        .collect();
    topic_ids.sort();
    topic_ids.dedup();
    assert_eq!(
        topic_ids.len(),
        poison.len(),
        "one DLQ topic record per poison message"
    );
    let mut table_ids: Vec<String> = client
        .query("SELECT event_id::text FROM dlq_events", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    table_ids.sort();
    assert_eq!(topic_ids, table_ids);
    for r in &records {
        for header in [
            "error",
            "reason",
            "retry_count",
            "original_topic",
            "original_partition",
            "original_offset",
            "failed_at",
        ] {
            assert!(
                r.headers.contains_key(header),
                "DLQ record lacks header {header}: {:?}",
                r.headers
            );
        }
        assert_eq!(r.headers["original_topic"], topic);
        assert!(r.headers["reason"].starts_with(&r.headers["error"]));
    }
    let non_utf8 = records
        .iter()
        .find(|r| r.headers["error"] == "not_utf8")
        .unwrap();
    assert_eq!(
        non_utf8.value.as_deref(),
        Some(&[0x7b, 0xc3, 0x28, 0xff, 0xfe][..])
    );
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_commits_and_a_restart_resumes_without_duplicates() {
    const N: u64 = 20_000;
    let (topic, group, db) = fixture().await;
    let mut prod = producer(&topic, N, 2_000, 10);
    let (mut c, _) = consumer(&topic, &group, &db, &[]);
    wait_rows(&db, 3_000, Duration::from_secs(120)).await;

    let started = std::time::Instant::now();
    let first = stop_gracefully(&mut c).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?} to stop",
        started.elapsed()
    );
    assert_eq!(first["abandoned"], json!(0));

    // Everything written is covered by the committed offsets.
    let committed = committed_offsets(&group, &topic).await.unwrap();
    let client = db.client().await;
    for row in client
        .query(
            "SELECT source_partition, max(source_offset) FROM processed_events GROUP BY 1",
            &[],
        )
        .await
        .unwrap()
    {
        let (p, max): (i32, i64) = (row.get(0), row.get(1));
        let c = committed
            .iter()
            .find(|(cp, _)| *cp == p)
            .and_then(|(_, o)| *o);
        assert!(
            c.is_some_and(|c| c > max),
            "partition {p}: wrote up to {max}, committed {c:?}"
        );
    }

    // A restart picks up exactly where the first run stopped: no event is seen twice.
    assert!(prod
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    let (mut c, _) = consumer(&topic, &group, &db, &[]);
    wait_rows(&db, N as i64, Duration::from_secs(120)).await;
    wait_no_lag(&group, &topic).await;
    let second = stop_gracefully(&mut c).await;
    assert_eq!(
        second["duplicates"],
        json!(0),
        "the restart re-applied committed work"
    );
    assert_eq!(
        first["applied"].as_u64().unwrap() + second["applied"].as_u64().unwrap(),
        N
    );
    assert_exactly_once(&db, N as i64).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_names_a_failing_database_while_healthz_stays_up() {
    let (topic, group, db) = fixture().await;
    let (mut c, addr) = consumer(&topic, &group, &db, &[]);
    wait_assigned(&addr, &mut c).await;
    let (status, body) = http_get(&addr, "/readyz").await.unwrap();
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["dependencies"][0]["name"], "kafka");
    assert_eq!(json["dependencies"][1]["name"], "postgres");

    let (_, metrics) = http_get(&addr, "/metrics").await.unwrap();
    for name in [
        "events_consumed_total",
        "events_processed_total",
        "processing_duration_seconds_bucket",
        "inflight_workers",
        "db_query_duration_seconds",
        "retries_total",
    ] {
        assert!(metrics.contains(name), "/metrics lacks {name}");
    }

    // The database disappears under the consumer: not ready, and the body names postgres.
    // /healthz stays 200, because restarting the process would not bring the database back.
    let name = db.name.clone();
    db.drop_db().await;
    let probe = TestDb::create().await;
    let exists = probe
        .scalar(&format!(
            "SELECT count(*) FROM pg_database WHERE datname = '{name}'"
        ))
        .await;
    assert_eq!(exists, 0, "test database was dropped");
    wait_for("/readyz to turn 503", Duration::from_secs(30), || async {
        match http_get(&addr, "/readyz").await {
            Ok((503, body)) if body.contains("\"postgres\"") && body.contains("\"ok\":false") => {
                Ok(())
            }
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let (health, _) = http_get(&addr, "/healthz").await.unwrap();
    assert_eq!(health, 200);
    c.sigterm();
    let _ = c.wait_exit(Duration::from_secs(30)).await;
    probe.drop_db().await;
}

/// `--ledger-retention`: the consumer builds the ledger's pruning index (migrations leave it
/// out), then deletes ledger rows once they are older than the retention and committed, and
/// never the data they vouch for.
#[tokio::test(flavor = "multi_thread")]
async fn ledger_retention_empties_the_committed_ledger_and_keeps_the_rows() {
    const N: u64 = 2_000;
    let (topic, group, db) = fixture().await;
    produce_all(&topic, N, 41).await;
    let (mut c, addr) = consumer(&topic, &group, &db, &["--ledger-retention", "1s"]);
    wait_rows(&db, N as i64, Duration::from_secs(120)).await;
    wait_no_lag(&group, &topic).await;
    wait_for(
        "every committed ledger row pruned",
        Duration::from_secs(60),
        || async {
            let left = db
                .try_scalar("SELECT count(*) FROM processed_events")
                .await?;
            let pruned = scrape(&addr, "ledger_pruned_rows_total")
                .await
                .unwrap_or(-1.0);
            if left == 0 && pruned == N as f64 {
                Ok(())
            } else {
                Err(format!("ledger rows {left}, pruned {pruned}"))
            }
        },
    )
    .await;
    assert_eq!(
        db.scalar(
            "SELECT count(*) FROM pg_index WHERE indisvalid \
             AND indexrelid = to_regclass('processed_events_processed_at_brin')"
        )
        .await,
        1,
        "the pruning index was built"
    );
    let summary = stop_gracefully(&mut c).await;
    assert_eq!(summary["applied"], json!(N));
    assert_eq!(db.scalar("SELECT count(*) FROM reviews").await, N as i64);
    assert_eq!(
        db.scalar("SELECT coalesce(sum(review_count), 0)::bigint FROM user_stats")
            .await,
        N as i64
    );
    db.drop_db().await;
}
