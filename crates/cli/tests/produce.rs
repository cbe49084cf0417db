//! `streamsre produce` as a real process against the broker: where each partitioner puts
//! records (librdkafka's murmur2 is the peer that checks Kafka's formula here), the headers
//! records carry, and the settings refused before anything is sent.

mod common;

use common::*;
use std::time::Duration;
use streamsre_lab::load::murmur2;
use streamsre_testkit::{brokers, create_topic, read_topic, ReadRecord};

/// Produces `count` events with `extra` flags and reads them all back.
async fn produced(topic: &str, count: u64, extra: &[&str]) -> Vec<ReadRecord> {
    let mut p = producer_with(&brokers(), topic, count, 0, 5, extra);
    wait_produced(&mut p).await;
    assert!(
        p.stdout().contains(&format!("acked={count} failed=0")),
        "{}",
        p.stdout()
    );
    read_topic(topic, count as usize, Duration::from_secs(60)).await
}

/// Kafka's partition of `key` over `partitions` (the Java client's formula).
fn java_partition(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions
}

#[tokio::test(flavor = "multi_thread")]
async fn priority_records_own_their_partition_and_every_record_carries_its_headers() {
    const N: u64 = 600;
    let topic = create_topic(4).await;
    let records = produced(
        &topic,
        N,
        &[
            "--partitioner",
            "priority",
            "--priority-partition",
            "1",
            "--priority-pct",
            "25",
            "--default-headers",
            "--header",
            "team=sre",
            "--header",
            "trace=a=b",
        ],
    )
    .await;
    let mut high = 0;
    let mut per_partition = [0u32; 4];
    for r in &records {
        let key = r.key.as_deref().expect("generated records have keys");
        let is_high = r.headers.get("priority").map(String::as_str) == Some("high");
        high += usize::from(is_high);
        per_partition[r.partition as usize] += 1;
        if is_high {
            assert_eq!(r.partition, 1, "a high-priority record off its partition");
        } else {
            // murmur2 over partitions 0, 2 and 3.
            let slot = java_partition(key, 3);
            assert_eq!(r.partition, if slot >= 1 { slot + 1 } else { slot });
        }
        assert_eq!(r.headers["event-type"], "review_created");
        assert_eq!(r.headers["schema-version"], "1");
        chrono::DateTime::parse_from_rfc3339(&r.headers["produced-at"])
            .expect("produced-at is RFC 3339");
        assert_eq!(r.headers["team"], "sre");
        assert_eq!(r.headers["trace"], "a=b");
    }
    assert!(
        (100..=200).contains(&high),
        "{high} of {N} marked high at 25%"
    );
    assert_eq!(per_partition[1] as usize, high);
    assert!(
        per_partition.iter().all(|n| *n > 0),
        "every partition used: {per_partition:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn murmur2_places_keys_as_the_java_client_does_and_partition_pins_them() {
    let topic = create_topic(6).await;
    let records = produced(&topic, 300, &["--partitioner", "murmur2"]).await;
    for r in &records {
        let key = r.key.as_deref().unwrap();
        assert_eq!(r.partition, java_partition(key, 6), "key {key:?}");
    }
    let pinned = create_topic(3).await;
    let records = produced(&pinned, 50, &["--partition", "2", "--acks", "1"]).await;
    assert!(records.iter().all(|r| r.partition == 2));
    assert!(
        records.iter().all(|r| r.headers.is_empty()),
        "no headers without --default-headers, --header or --priority-pct"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_that_cannot_work_are_refused_before_anything_is_sent() {
    let topic = create_topic(3).await;
    for (extra, code, says) in [
        (
            &["--acks", "1", "--idempotence"][..],
            Some(2),
            "--idempotence needs --acks all",
        ),
        (
            &["--partition", "3"][..],
            None,
            "--partition 3 does not exist",
        ),
        (
            &["--partitioner", "priority", "--priority-partition", "7"][..],
            None,
            "--priority-partition 7 does not exist",
        ),
    ] {
        let mut p = producer_with(&brokers(), &topic, 10, 0, 5, extra);
        let status = p.wait_exit(Duration::from_secs(60)).await.unwrap();
        assert!(!status.success(), "{extra:?} was accepted");
        if let Some(code) = code {
            assert_eq!(status.code(), Some(code), "{extra:?}");
        }
        assert!(p.stderr().contains(says), "{extra:?}: {}", p.stderr_tail());
    }
    let single = create_topic(1).await;
    let mut p = producer_with(
        &brokers(),
        &single,
        10,
        0,
        5,
        &["--partitioner", "priority"],
    );
    assert!(!p
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap()
        .success());
    assert!(p.stderr().contains("at least 2"), "{}", p.stderr_tail());
    let empty = read_topic_count(&topic).await;
    assert_eq!(empty, 0, "a refused run sent nothing");
}

/// How many records `topic` holds (the sum of its partitions' high watermarks).
async fn read_topic_count(topic: &str) -> i64 {
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        streamsre_kafka::admin::group_lag(
            &streamsre_testkit::kafka_opts(),
            "streamsre-test-nobody",
            &topic,
            Duration::from_secs(10),
        )
    })
    .await
    .unwrap()
    .unwrap()
    .iter()
    .map(|p| p.high_watermark)
    .sum()
}
