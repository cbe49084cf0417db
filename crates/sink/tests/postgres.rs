//! The sink against a real PostgreSQL, one fresh database per test.

use chrono::Utc;
use std::time::Duration;
use streamsre_event::{Event, ReviewPayload};
use streamsre_retry::RetryAction;
use streamsre_sink::{DeadLetter, PgSink, PgSinkConfig, SinkError, SourcePos, ValidEvent};
use streamsre_testkit::TestDb;
use uuid::Uuid;

/// A review event and where it was read.
type Review = (Event, SourcePos);

fn review(i: u32, key: &str, rating: i32) -> Review {
    let event_id = Uuid::new_v4();
    let event = Event {
        event_id,
        event_type: "review_created".into(),
        key: key.into(),
        ts: Utc::now(),
        schema_version: 1,
        payload: ReviewPayload {
            review_id: format!("rev-{event_id}"),
            rating,
            text: format!("review {i}"),
        },
    };
    let pos = SourcePos {
        topic: "t".into(),
        partition: (i % 3) as i32,
        offset: i as i64,
    };
    (event, pos)
}

fn reviews(n: u32) -> Vec<Review> {
    (0..n)
        .map(|i| review(i, &format!("user:{}", i % 7), (i % 5) as i32 + 1))
        .collect()
}

/// The reviews as the consumer maps them (the built-in review mapping).
fn mapped(sink: &PgSink, reviews: &[Review]) -> Vec<ValidEvent> {
    let plan = sink.plan().expect("the sink has the review mapping");
    reviews
        .iter()
        .map(|(e, pos)| {
            ValidEvent::mapped_review(plan, e, pos.clone())
                .unwrap()
                .unwrap()
        })
        .collect()
}

async fn sink(db: &TestDb, pool: usize) -> PgSink {
    let mapping = streamsre_mapping::parse(streamsre_mapping::REVIEWS_MAPPING).unwrap();
    PgSink::connect(&PgSinkConfig {
        url: db.url.clone(),
        pool_size: pool,
        connect_timeout: Duration::from_secs(5),
        write_path: Default::default(),
    })
    .await
    .expect("connect sink")
    .with_mapping(&mapping)
    .await
    .expect("the review mapping fits the migrated tables")
}

#[tokio::test]
async fn applying_the_same_batch_twice_changes_nothing_the_second_time() {
    let db = TestDb::migrated().await;
    let sink = sink(&db, 2).await;
    let reviews = reviews(200);
    let expected_rating_sum: i64 = reviews.iter().map(|(e, _)| e.payload.rating as i64).sum();
    let events = mapped(&sink, &reviews);

    let first = sink.apply_batch(&events, &[]).await.unwrap();
    assert_eq!((first.applied, first.duplicates), (200, 0));
    let second = sink.apply_batch(&events, &[]).await.unwrap();
    assert_eq!((second.applied, second.duplicates), (0, 200));

    assert_eq!(db.scalar("SELECT count(*) FROM reviews").await, 200);
    assert_eq!(
        db.scalar("SELECT count(*) FROM processed_events").await,
        200
    );
    assert_eq!(
        db.scalar("SELECT sum(review_count)::bigint FROM user_stats")
            .await,
        200
    );
    assert_eq!(
        db.scalar("SELECT sum(rating_sum)::bigint FROM user_stats")
            .await,
        expected_rating_sum
    );
    db.drop_db().await;
}

#[tokio::test]
async fn a_repeated_event_inside_one_batch_counts_once() {
    let db = TestDb::migrated().await;
    let sink = sink(&db, 1).await;
    let mut events = mapped(&sink, &reviews(10));
    events.push(events[3].clone());
    let outcome = sink.apply_batch(&events, &[]).await.unwrap();
    assert_eq!((outcome.applied, outcome.duplicates), (10, 1));
    assert_eq!(
        db.scalar("SELECT sum(review_count)::bigint FROM user_stats")
            .await,
        10
    );
    db.drop_db().await;
}

#[tokio::test]
async fn concurrent_overlapping_batches_count_each_event_once() {
    let db = TestDb::migrated().await;
    let sink = sink(&db, 4).await;
    // 1,000 events; four writers each apply an overlapping window of 500, all at once,
    // several rounds, so transactions contend on the same ledger ids and aggregate keys.
    let events = mapped(&sink, &reviews(1000));
    let mut handles = Vec::new();
    for w in 0..4usize {
        let sink = sink.clone();
        let window: Vec<ValidEvent> = events[w * 166..w * 166 + 500].to_vec();
        handles.push(tokio::spawn(async move {
            let mut applied = 0;
            for _round in 0..3 {
                // Deadlocks and serialization failures are retriable by design; retry them here
                // exactly as the pipeline does.
                loop {
                    match sink.apply_batch(&window, &[]).await {
                        Ok(o) => {
                            applied += o.applied;
                            break;
                        }
                        Err(e) if e.is_retriable() => continue,
                        Err(e) => panic!("permanent error: {e}"),
                    }
                }
            }
            applied
        }));
    }
    let mut applied_total = 0;
    for h in handles {
        applied_total += h.await.unwrap();
    }
    let covered = 3 * 166 + 500; // union of the four windows
    assert_eq!(
        applied_total, covered,
        "every event applied by exactly one writer"
    );
    assert_eq!(
        db.scalar("SELECT count(*) FROM reviews").await,
        covered as i64
    );
    assert_eq!(
        db.scalar("SELECT sum(review_count)::bigint FROM user_stats")
            .await,
        covered as i64
    );
    db.drop_db().await;
}

#[tokio::test]
async fn a_constraint_violation_is_permanent_and_names_the_constraint() {
    let db = TestDb::migrated().await;
    let sink = sink(&db, 1).await;
    let mut reviews = reviews(5);
    // A different event reusing an existing review id: a data problem, not a duplicate event.
    let mut clash = review(99, "user:1", 3);
    clash.0.payload.review_id = reviews[0].0.payload.review_id.clone();
    reviews.push(clash);
    let events = mapped(&sink, &reviews);
    let err = sink.apply_batch(&events, &[]).await.unwrap_err();
    match &err {
        SinkError(RetryAction::DontRetry(reason)) => {
            assert!(reason.contains("23505"), "{reason}");
            assert!(reason.contains("reviews_pkey"), "{reason}");
        }
        other => panic!("expected a permanent error, got {other:?}"),
    }
    // Nothing of the failed batch was committed.
    assert_eq!(db.scalar("SELECT count(*) FROM processed_events").await, 0);
    db.drop_db().await;
}

fn dlq_record(kind: &str, raw: Option<&[u8]>, offset: i64) -> DeadLetter {
    let pos = SourcePos {
        topic: "t".into(),
        partition: 0,
        offset,
    };
    DeadLetter {
        key: Some(b"user:1".to_vec()),
        value: raw.map(<[u8]>::to_vec),
        ..DeadLetter::new(Uuid::new_v4(), kind, format!("{kind}: details"), pos)
    }
}

#[tokio::test]
async fn dlq_rows_keep_raw_bytes_and_are_idempotent() {
    let db = TestDb::migrated().await;
    let sink = sink(&db, 1).await;
    let records = vec![
        dlq_record("not_utf8", Some(&[0xff, 0x00, 0xfe]), 1),
        dlq_record(
            "rating_out_of_range",
            Some(br#"{"payload":{"rating":9}}"#),
            2,
        ),
        // JSON with a NUL escape: jsonb cannot hold it, raw bytes still can.
        dlq_record("wrong_type", Some(br#"{"text":"a\u0000b"}"#), 3),
        dlq_record("missing_value", None, 4),
    ];
    assert_eq!(sink.write_dlq(&records).await.unwrap(), 4);
    assert_eq!(
        sink.write_dlq(&records).await.unwrap(),
        0,
        "redelivery from the same position writes nothing"
    );
    let client = db.client().await;
    let raw: Vec<u8> = client
        .query_one(
            "SELECT raw_payload FROM dlq_events WHERE source_offset = 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(raw, vec![0xff, 0x00, 0xfe]);
    let json_rows = db
        .scalar("SELECT count(*) FROM dlq_events WHERE original_payload IS NOT NULL")
        .await;
    assert_eq!(
        json_rows, 1,
        "only the NUL-free JSON value is stored as jsonb"
    );
    assert_eq!(
        db.scalar("SELECT count(*) FROM dlq_events WHERE error_kind = 'not_utf8' AND original_key = 'user:1'")
            .await,
        1
    );
    db.drop_db().await;
}

#[tokio::test]
async fn a_dead_letter_reads_back_as_it_was_written() {
    let db = TestDb::migrated().await;
    let sink = sink(&db, 1).await;
    let written = [
        dlq_record("not_utf8", Some(&[0xff, 0x00, 0xfe]), 1),
        dlq_record("missing_value", None, 2),
    ];
    sink.write_dlq(&written).await.unwrap();
    let read = sink
        .dlq_list(&streamsre_sink::DlqFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(read.len(), 2);
    for w in &written {
        let r = read.iter().find(|r| r.id == w.id).expect("read back");
        assert_eq!(
            (&r.kind, &r.reason, &r.key, &r.value, &r.pos, r.returns),
            (&w.kind, &w.reason, &w.key, &w.value, &w.pos, 0)
        );
        assert_eq!(r.replayed_at, None);
    }
    db.drop_db().await;
}

#[tokio::test]
async fn a_dlq_record_failing_again_from_a_new_position_counts_a_return() {
    let db = TestDb::migrated().await;
    let sink = sink(&db, 1).await;
    let first = dlq_record("rating_out_of_range", Some(b"{}"), 10);
    sink.write_dlq(std::slice::from_ref(&first)).await.unwrap();
    // Replayed to the main topic, read again at offset 99, still invalid.
    let mut again = first.clone();
    again.pos.offset = 99;
    assert_eq!(
        sink.write_dlq(&[again.clone(), again.clone()])
            .await
            .unwrap(),
        1
    );
    assert_eq!(db.scalar("SELECT count(*) FROM dlq_events").await, 1);
    assert_eq!(
        db.scalar("SELECT retry_count::bigint FROM dlq_events")
            .await,
        1
    );
    assert_eq!(db.scalar("SELECT source_offset FROM dlq_events").await, 99);
    db.drop_db().await;
}

#[tokio::test]
async fn migrations_are_idempotent_and_safe_to_race() {
    let db = TestDb::create().await;
    let mut handles = Vec::new();
    for _ in 0..4 {
        let url = db.url.clone();
        handles.push(tokio::spawn(async move {
            let sink = PgSink::connect(&PgSinkConfig {
                url,
                pool_size: 1,
                connect_timeout: Duration::from_secs(5),
                write_path: Default::default(),
            })
            .await
            .unwrap();
            sink.migrate().await.unwrap()
        }));
    }
    let mut applied = Vec::new();
    for h in handles {
        applied.push(h.await.unwrap());
    }
    let recorded = db.scalar("SELECT count(*) FROM schema_migrations").await as usize;
    assert!(recorded >= 2, "all migrations recorded");
    applied.sort_unstable();
    assert_eq!(
        applied,
        vec![0, 0, 0, recorded],
        "exactly one process applies every migration, the others none"
    );
    db.drop_db().await;
}
