//! How a batch of events reaches the tables: the ledger insert, then `reviews` and the per-key
//! aggregate for the newly inserted ids only, all in one statement inside the caller's
//! transaction. Two ways to ship the rows, one SQL body:
//!
//! - [`WritePath::Unnest`]: the rows travel as nine array parameters of one prepared
//!   statement (one round trip).
//! - [`WritePath::Copy`]: the rows travel by binary `COPY` into a per-connection temporary
//!   staging table (`ON COMMIT DELETE ROWS`), then the same statement reads the stage.
//!
//! `make bench` measures both against batch size (`pg_ceiling --write-path`); the README's
//! Performance section has the figures behind the default.

use crate::{SinkError, ValidEvent};
use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use uuid::Uuid;

/// How rows are shipped to Postgres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WritePath {
    /// Array parameters of one prepared statement.
    #[default]
    Unnest,
    /// Binary `COPY` into a temporary staging table, then the same statement.
    Copy,
}

/// The statement body after `WITH input AS (<source>)`. Rows are sorted (ids, keys) so
/// concurrent transactions take row locks in the same order and do not deadlock each other.
macro_rules! apply_from {
    ($source:literal) => {
        concat!(
            "WITH input AS (",
            $source,
            "),
fresh AS (
    INSERT INTO processed_events (event_id, processed_at, source_topic, source_partition, source_offset)
    SELECT event_id, now(), src_topic, src_partition, src_offset FROM input ORDER BY event_id
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
),
applied AS (
    INSERT INTO reviews (review_id, event_id, user_key, rating, text, created_at)
    SELECT i.review_id, i.event_id, i.user_key, i.rating, i.text, i.created_at
    FROM input i JOIN fresh f USING (event_id)
    RETURNING user_key, rating
),
stats AS (
    INSERT INTO user_stats (user_key, review_count, rating_sum, updated_at)
    SELECT user_key, count(*), sum(rating), now() FROM applied GROUP BY user_key ORDER BY user_key
    ON CONFLICT (user_key) DO UPDATE
        SET review_count = user_stats.review_count + EXCLUDED.review_count,
            rating_sum   = user_stats.rating_sum + EXCLUDED.rating_sum,
            updated_at   = EXCLUDED.updated_at
    RETURNING 1
)
SELECT count(*) FROM fresh"
        )
    };
}

const APPLY_UNNEST_SQL: &str = apply_from!(
    "SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[],
                         $6::timestamptz[], $7::text[], $8::int[], $9::bigint[])
        AS t(event_id, review_id, user_key, rating, text, created_at, src_topic, src_partition, src_offset)"
);

const APPLY_STAGED_SQL: &str = apply_from!("SELECT * FROM pg_temp.streamsre_stage");

/// Created once per connection, the first time it stages a batch.
const CREATE_STAGE_SQL: &str = "CREATE TEMP TABLE IF NOT EXISTS streamsre_stage (
    event_id uuid, review_id text, user_key text, rating int, text text,
    created_at timestamptz, src_topic text, src_partition int, src_offset bigint
) ON COMMIT DELETE ROWS";

const COPY_STAGE_SQL: &str = "COPY pg_temp.streamsre_stage (event_id, review_id, user_key, \
    rating, text, created_at, src_topic, src_partition, src_offset) FROM STDIN BINARY";

const STAGE_TYPES: [Type; 9] = [
    Type::UUID,
    Type::TEXT,
    Type::TEXT,
    Type::INT4,
    Type::TEXT,
    Type::TIMESTAMPTZ,
    Type::TEXT,
    Type::INT4,
    Type::INT8,
];

/// Applies `events` (ids unique within the batch) inside `tx`; returns how many were new.
pub(super) async fn apply(
    tx: &Transaction<'_>,
    path: WritePath,
    events: &[&ValidEvent],
) -> Result<usize, SinkError> {
    if events.is_empty() {
        return Ok(0);
    }
    let fresh: i64 = match path {
        WritePath::Unnest => unnest(tx, events).await?,
        WritePath::Copy => staged(tx, events).await?,
    };
    Ok(fresh as usize)
}

async fn unnest(tx: &Transaction<'_>, events: &[&ValidEvent]) -> Result<i64, SinkError> {
    let col = |f: fn(&ValidEvent) -> String| events.iter().map(|e| f(e)).collect::<Vec<_>>();
    let ids: Vec<Uuid> = events.iter().map(|e| e.event.event_id).collect();
    let review_ids = col(|e| e.event.payload.review_id.clone());
    let keys = col(|e| e.event.key.clone());
    let ratings: Vec<i32> = events.iter().map(|e| e.event.payload.rating).collect();
    let texts = col(|e| e.event.payload.text.clone());
    let created: Vec<DateTime<Utc>> = events.iter().map(|e| e.event.ts).collect();
    let topics = col(|e| e.pos.topic.clone());
    let partitions: Vec<i32> = events.iter().map(|e| e.pos.partition).collect();
    let offsets: Vec<i64> = events.iter().map(|e| e.pos.offset).collect();
    let stmt = tx.prepare_cached(APPLY_UNNEST_SQL).await?;
    let row = tx
        .query_one(
            &stmt,
            &[
                &ids,
                &review_ids,
                &keys,
                &ratings,
                &texts,
                &created,
                &topics,
                &partitions,
                &offsets,
            ],
        )
        .await?;
    Ok(row.get(0))
}

/// Makes sure this connection has its staging table; call outside a transaction (a failed
/// prepare inside one would abort it). The cached statement that reads the stage is proof it
/// exists (parsing it resolves the table; parsing the `COPY` does not), so after the first
/// batch this costs nothing.
pub(super) async fn prepare_stage(client: &deadpool_postgres::Client) -> Result<(), SinkError> {
    if client.prepare_cached(APPLY_STAGED_SQL).await.is_err() {
        client.batch_execute(CREATE_STAGE_SQL).await?;
        client.prepare_cached(APPLY_STAGED_SQL).await?;
    }
    Ok(())
}

async fn staged(tx: &Transaction<'_>, events: &[&ValidEvent]) -> Result<i64, SinkError> {
    let copy = tx.prepare_cached(COPY_STAGE_SQL).await?;
    let sink = tx.copy_in(&copy).await?;
    let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &STAGE_TYPES));
    for e in events {
        let row: [&(dyn ToSql + Sync); 9] = [
            &e.event.event_id,
            &e.event.payload.review_id,
            &e.event.key,
            &e.event.payload.rating,
            &e.event.payload.text,
            &e.event.ts,
            &e.pos.topic,
            &e.pos.partition,
            &e.pos.offset,
        ];
        writer.as_mut().write(&row).await?;
    }
    writer.finish().await?;
    let stmt = tx.prepare_cached(APPLY_STAGED_SQL).await?;
    Ok(tx.query_one(&stmt, &[]).await?.get(0))
}
