//! `--ledger-retention` against a real database: only rows that are both older than the
//! retention and below their partition's committed offset go, whatever the batch size.

use std::time::Duration;
use streamsre_sink::postgres::PRUNE_INDEX_LOCK_KEY;
use streamsre_sink::{PgSink, PgSinkConfig};
use streamsre_testkit::TestDb;

#[tokio::test]
async fn pruning_never_goes_above_the_committed_offset_or_below_the_retention() {
    let db = TestDb::migrated().await;
    let client = db.client().await;
    // Partitions 0 and 1 of "t" and partition 0 of "other", offsets 0..100 each; offsets below
    // 80 were processed two hours ago, the rest just now.
    client
        .batch_execute(
            "INSERT INTO processed_events (event_id, processed_at, source_topic, source_partition, source_offset)
             SELECT gen_random_uuid(),
                    CASE WHEN o < 80 THEN now() - interval '2 hours' ELSE now() END,
                    t, p, o
             FROM (VALUES ('t', 0), ('t', 1), ('other', 0)) AS tp(t, p),
                  generate_series(0, 99) AS o",
        )
        .await
        .unwrap();
    let sink = PgSink::connect(&PgSinkConfig {
        url: db.url.clone(),
        pool_size: 1,
        connect_timeout: Duration::from_secs(5),
        write_path: Default::default(),
    })
    .await
    .unwrap();
    // Committed: partition 0 at 50, partition 1 at 95 (its rows 80..95 are too recent);
    // "other" is not this consumer's topic. Batches of 7 make the loop run many times.
    let (pruned, _) = sink
        .prune_ledger("t", &[(0, 50), (1, 95)], Duration::from_secs(3600), 7)
        .await
        .unwrap();
    assert_eq!(pruned, 50 + 80);
    let left = |q: &'static str| {
        let db = &db;
        async move { db.scalar(q).await }
    };
    assert_eq!(
        left("SELECT min(source_offset) FROM processed_events WHERE source_topic = 't' AND source_partition = 0").await,
        50,
        "nothing at or above the committed offset"
    );
    assert_eq!(
        left("SELECT min(source_offset) FROM processed_events WHERE source_topic = 't' AND source_partition = 1").await,
        80,
        "nothing younger than the retention"
    );
    assert_eq!(
        left("SELECT count(*) FROM processed_events WHERE source_topic = 'other'").await,
        100
    );
    // With no committed offsets known yet, nothing goes.
    let (pruned, _) = sink
        .prune_ledger("other", &[], Duration::from_secs(1), 7)
        .await
        .unwrap();
    assert_eq!(pruned, 0);
    db.drop_db().await;
}

/// The index pruning reads exists only where a consumer prunes: migrations leave the ledger
/// without it (each insert would pay for it), the first pruning consumer builds it, a leftover
/// of a failed build is replaced, and a build held by another session is waited for.
#[tokio::test]
async fn the_pruning_index_is_built_on_demand_and_a_failed_build_is_redone() {
    let db = TestDb::migrated().await;
    let index_state = || async {
        db.client()
            .await
            .query_opt(
                "SELECT indisvalid FROM pg_index \
                 WHERE indexrelid = to_regclass('processed_events_processed_at_brin')",
                &[],
            )
            .await
            .unwrap()
            .map(|row| row.get::<_, bool>(0))
    };
    assert_eq!(
        index_state().await,
        None,
        "migrations leave no processed_at index"
    );
    let sink = PgSink::connect(&PgSinkConfig {
        url: db.url.clone(),
        pool_size: 2,
        connect_timeout: Duration::from_secs(5),
        write_path: Default::default(),
    })
    .await
    .unwrap();
    assert!(sink.ensure_prune_index().await.unwrap());
    assert_eq!(index_state().await, Some(true));
    // What a killed CREATE INDEX CONCURRENTLY leaves: the index, marked invalid.
    db.client()
        .await
        .batch_execute(
            "UPDATE pg_index SET indisvalid = false \
             WHERE indexrelid = 'processed_events_processed_at_brin'::regclass",
        )
        .await
        .unwrap();
    assert_eq!(index_state().await, Some(false));
    assert!(sink.ensure_prune_index().await.unwrap());
    assert_eq!(index_state().await, Some(true), "the leftover is rebuilt");
    // Another session building (holding the builders' lock): not this one's turn.
    let other = db.client().await;
    other
        .execute("SELECT pg_advisory_lock($1)", &[&PRUNE_INDEX_LOCK_KEY])
        .await
        .unwrap();
    assert!(!sink.ensure_prune_index().await.unwrap());
    other
        .execute("SELECT pg_advisory_unlock($1)", &[&PRUNE_INDEX_LOCK_KEY])
        .await
        .unwrap();
    assert!(sink.ensure_prune_index().await.unwrap());
    db.drop_db().await;
}
