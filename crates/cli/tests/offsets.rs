//! Reprocessing from a point in time, with real processes on a real broker: `offsets reset`
//! (dry run, refusal while the group has a member, `--execute`) and `consume --start-from`,
//! each followed by a consumer into a fresh database that must apply exactly the events
//! produced after that time.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::time::Duration;
use streamsre_testkit::{
    brokers, committed_offsets, read_topic, wait_for, Proc, ReadRecord, TestDb,
};

const FIRST: u64 = 300;
const SECOND: u64 = 200;

/// Two waves of events with a time between them: returns that time (RFC 3339) and the
/// records of the second wave, read back from the topic.
async fn two_waves(topic: &str) -> (String, Vec<ReadRecord>) {
    produce_all(topic, FIRST, 1).await;
    let first = read_topic(topic, FIRST as usize, Duration::from_secs(60)).await;
    let last_ms = first
        .iter()
        .filter_map(|r| r.timestamp_ms)
        .max()
        .expect("records carry timestamps");
    let cut = chrono::DateTime::from_timestamp_millis(last_ms + 1).expect("a valid time");
    // The second wave must be stamped after the cut: wait for the clock to pass it.
    wait_for(
        "the clock to pass the cut",
        Duration::from_secs(5),
        || async {
            (chrono::Utc::now() > cut)
                .then_some(())
                .ok_or_else(|| "not yet".to_string())
        },
    )
    .await;
    produce_all(topic, SECOND, 2).await;
    let all = read_topic(topic, (FIRST + SECOND) as usize, Duration::from_secs(60)).await;
    let second: Vec<ReadRecord> = all
        .into_iter()
        .filter(|r| r.timestamp_ms.is_some_and(|t| t > last_ms))
        .collect();
    assert_eq!(second.len() as u64, SECOND, "the waves overlap in time");
    (cut.to_rfc3339(), second)
}

fn event_ids(records: &[ReadRecord]) -> BTreeSet<String> {
    records
        .iter()
        .map(|r| {
            let v: serde_json::Value =
                serde_json::from_slice(r.value.as_deref().expect("a value")).expect("JSON");
            v["event_id"].as_str().expect("an event_id").to_string()
        })
        .collect()
}

async fn applied_ids(db: &TestDb) -> BTreeSet<String> {
    db.client()
        .await
        .query("SELECT event_id::text FROM reviews", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Runs `streamsre offsets …` to its end; with whether it succeeded.
async fn offsets(args: &[&str]) -> (Proc, bool) {
    let mut all = vec!["offsets"];
    all.extend_from_slice(args);
    let mut p = Proc::spawn(BIN, "offsets", &all, &[("KAFKA_BROKERS", &brokers())]);
    let status = p.wait_exit(Duration::from_secs(60)).await.unwrap();
    (p, status.success())
}

/// Consumes `group` into `db` until it has no lag, and checks the rows are exactly `expected`.
async fn consume_exactly(
    topic: &str,
    group: &str,
    db: &TestDb,
    extra: &[&str],
    expected: &[ReadRecord],
) {
    let (mut c, _) = consumer(topic, group, db, extra);
    wait_rows(db, expected.len() as i64, Duration::from_secs(90)).await;
    wait_no_lag(group, topic).await;
    stop_gracefully(&mut c).await;
    assert_exactly_once(db, expected.len() as i64).await;
    assert_eq!(applied_ids(db).await, event_ids(expected));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_to_a_time_between_two_waves_replays_exactly_the_second() {
    let (topic, group, db) = fixture().await;
    let (cut, second) = two_waves(&topic).await;
    let reset = [
        "reset",
        "--group",
        &group,
        "--topic",
        &topic,
        "--to-datetime",
        &cut,
    ];

    let (dry, ok) = offsets(&reset).await;
    assert!(
        ok && dry.stdout().contains("dry run: nothing changed"),
        "{}\n{}",
        dry.stdout(),
        dry.stderr_tail()
    );
    let before = committed_offsets(&group, &topic).await.unwrap();
    assert!(
        before.iter().all(|(_, c)| c.is_none()),
        "a dry run committed: {before:?}"
    );

    // A member in the group: refused, nothing moves.
    let busy = TestDb::create().await;
    let (mut member, addr) = consumer(&topic, &group, &busy, &[]);
    wait_assigned(&addr, &mut member).await;
    wait_no_lag(&group, &topic).await;
    let held = committed_offsets(&group, &topic).await.unwrap();
    let mut executed: Vec<&str> = reset.to_vec();
    executed.push("--execute");
    let (refused, ok) = offsets(&executed).await;
    assert!(
        !ok && refused.stderr().contains("has 1 active member(s)"),
        "not refused:\n{}\n{}",
        refused.stdout(),
        refused.stderr_tail()
    );
    assert_eq!(committed_offsets(&group, &topic).await.unwrap(), held);
    stop_gracefully(&mut member).await;
    busy.drop_db().await;

    // The group is empty again: the reset applies, to the second wave's first offsets.
    let (done, ok) = offsets(&executed).await;
    assert!(
        ok && done.stdout().contains("reset applied"),
        "{}\n{}",
        done.stdout(),
        done.stderr_tail()
    );
    let starts = committed_offsets(&group, &topic).await.unwrap();
    for (partition, committed) in &starts {
        let first_of_second = second
            .iter()
            .filter(|r| r.partition == *partition)
            .map(|r| r.offset)
            .min();
        let end = held
            .iter()
            .find(|(p, _)| p == partition)
            .and_then(|(_, c)| *c);
        assert_eq!(
            *committed,
            first_of_second.or(end),
            "partition {partition}: the second wave's first offset, or the end without one"
        );
    }

    consume_exactly(&topic, &group, &db, &[], &second).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_group_started_from_a_time_applies_only_what_came_after_it() {
    let (topic, group, db) = fixture().await;
    let (cut, second) = two_waves(&topic).await;
    consume_exactly(&topic, &group, &db, &["--start-from", &cut], &second).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_reset_requests_are_refused_with_the_reason() {
    let (topic, group, _db) = fixture().await;
    produce_all(&topic, 20, 3).await;
    let cases: [(&[&str], &str); 4] = [
        (
            &["reset", "--group", &group, "--topic", &topic],
            "the following required arguments",
        ),
        (
            &[
                "reset",
                "--group",
                &group,
                "--topic",
                &topic,
                "--to-earliest",
                "--to-latest",
            ],
            "cannot be used with",
        ),
        (
            &[
                "reset",
                "--group",
                &group,
                "--topic",
                &topic,
                "--shift-by",
                "-5",
            ],
            "has no committed offset to shift from",
        ),
        (
            &[
                "reset",
                "--group",
                &group,
                "--topic",
                &topic,
                "--to-latest",
                "--partitions",
                "0,99",
            ],
            "has no partition 99",
        ),
    ];
    for (args, says) in cases {
        let (p, ok) = offsets(args).await;
        assert!(
            !ok && p.stderr().contains(says),
            "{args:?} should say {says:?}:\n{}",
            p.stderr_tail()
        );
    }
    // Clamped offsets are a warning, and the plan shows where they land.
    let (clamp, ok) = offsets(&[
        "reset",
        "--group",
        &group,
        "--topic",
        &topic,
        "--to-offset",
        "1000000",
        "--json",
    ])
    .await;
    assert!(
        ok && clamp.stderr().contains("is past the log end: clamped"),
        "{}",
        clamp.stderr_tail()
    );
    let plan: serde_json::Value = serde_json::from_str(clamp.stdout().trim()).unwrap();
    for p in plan["partitions"].as_array().unwrap() {
        assert_eq!(p["new"], p["log_end"]);
    }
    assert_eq!(plan["executed"], false);
}
