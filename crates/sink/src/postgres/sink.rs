use super::apply::{self, WritePath};
use super::{migrate, SinkError};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::borrow::Borrow;
use std::collections::HashSet;
use std::str::FromStr;
use std::time::{Duration, Instant};
use streamsre_event::Event;
use tokio_postgres::NoTls;
use uuid::Uuid;

/// Where a message came from; stored with its rows for audits and offset checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePos {
    /// Kafka topic.
    pub topic: String,
    /// Kafka partition.
    pub partition: i32,
    /// Kafka offset.
    pub offset: i64,
}

/// A decoded, validated event and its position.
#[derive(Debug, Clone)]
pub struct ValidEvent {
    /// The event.
    pub event: Event,
    /// Where it was read.
    pub pos: SourcePos,
}

/// A message that will never be applied, as it is stored in `dlq_events`.
#[derive(Debug, Clone)]
pub struct DlqRecord {
    /// Id of the DLQ row (the event's own id when it had a valid one).
    pub event_id: Uuid,
    /// Stable kind, e.g. `rating_out_of_range`, `sink_rejected`.
    pub error: String,
    /// `kind: explanation`, e.g. `rating_out_of_range: payload.rating 6 is outside 1..=5`.
    pub reason: String,
    /// The message key, kept so a replay goes to the same partition and lane.
    pub key: Option<Vec<u8>>,
    /// The exact bytes of the message value, if it had one.
    pub raw: Option<Vec<u8>>,
    /// Write attempts made before giving up (0 for messages that failed validation).
    pub attempts: u32,
    /// Where it was read.
    pub pos: SourcePos,
}

impl DlqRecord {
    /// The value as JSON when it is JSON that Postgres' `jsonb` can store (no NUL characters);
    /// the raw bytes are kept either way.
    fn json(&self) -> Option<serde_json::Value> {
        let raw = self.raw.as_deref()?;
        let value: serde_json::Value = serde_json::from_slice(raw).ok()?;
        (!value.to_string().contains("\\u0000")).then_some(value)
    }
}

/// Counts from one committed sink transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Events applied for the first time.
    pub applied: usize,
    /// Events already in the ledger (redeliveries); nothing was changed for them.
    pub duplicates: usize,
    /// DLQ rows written (already-present rows of a redelivered poison message are not counted).
    pub dlq_written: usize,
    /// Time spent in the transaction.
    pub elapsed: Duration,
}

/// Connection settings of the sink.
#[derive(Debug, Clone)]
pub struct PgSinkConfig {
    /// libpq-style URL, e.g. `postgres://user@127.0.0.1:5432/streamsre`.
    pub url: String,
    /// Pool size; one connection per sink worker plus room for health checks.
    pub pool_size: usize,
    /// How long to wait for a new connection before calling the attempt failed.
    pub connect_timeout: Duration,
    /// How batches ship their rows.
    pub write_path: WritePath,
}

/// The Postgres sink. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct PgSink {
    pool: Pool,
    write_path: WritePath,
}

/// Writes DLQ rows. A redelivery of the same message (same source position, e.g. after a
/// crash) changes nothing; the same record failing again from a new position (a replay that
/// still fails) updates the row and counts the return in `retry_count`.
const INSERT_DLQ_SQL: &str = "
INSERT INTO dlq_events (event_id, error_kind, reason, original_payload, raw_payload, original_key,
                        source_topic, source_partition, source_offset, failed_at)
SELECT event_id, error_kind, reason, original_payload, raw_payload, original_key,
       src_topic, src_partition, src_offset, now()
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::bytea[], $6::bytea[],
            $7::text[], $8::int[], $9::bigint[])
    AS t(event_id, error_kind, reason, original_payload, raw_payload, original_key,
         src_topic, src_partition, src_offset)
ORDER BY event_id
ON CONFLICT (event_id) DO UPDATE
    SET error_kind = EXCLUDED.error_kind,
        reason = EXCLUDED.reason,
        retry_count = dlq_events.retry_count + 1,
        source_topic = EXCLUDED.source_topic,
        source_partition = EXCLUDED.source_partition,
        source_offset = EXCLUDED.source_offset,
        failed_at = EXCLUDED.failed_at
    WHERE (dlq_events.source_topic, dlq_events.source_partition, dlq_events.source_offset)
          IS DISTINCT FROM (EXCLUDED.source_topic, EXCLUDED.source_partition, EXCLUDED.source_offset)";

impl PgSink {
    /// Builds the pool and checks that a connection can be opened.
    pub async fn connect(config: &PgSinkConfig) -> Result<Self, SinkError> {
        let mut pg = tokio_postgres::Config::from_str(&config.url)
            .map_err(|e| SinkError::Permanent(format!("invalid DATABASE_URL: {e}")))?;
        pg.connect_timeout(config.connect_timeout);
        pg.application_name("streamsre");
        let manager = Manager::from_config(
            pg,
            NoTls,
            ManagerConfig {
                // Fast recycling skips a test query per checkout; a broken connection surfaces
                // as a retriable error on first use and is then dropped by the pool.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(config.connect_timeout))
            .create_timeout(Some(config.connect_timeout))
            .build()
            .map_err(|e| SinkError::Permanent(format!("building connection pool: {e}")))?;
        let sink = Self {
            pool,
            write_path: config.write_path,
        };
        drop(sink.pool.get().await?);
        Ok(sink)
    }

    /// The connection pool, for the other query modules of this sink.
    pub(super) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<usize, SinkError> {
        let mut client = self.pool.get().await?;
        migrate(&mut client).await
    }

    /// Checks that Postgres answers a trivial query within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), SinkError> {
        let attempt = async {
            let client = self.pool.get().await?;
            client.simple_query("SELECT 1").await?;
            Ok::<_, SinkError>(())
        };
        tokio::time::timeout(timeout, attempt)
            .await
            .map_err(|_| SinkError::Retriable(format!("no answer within {timeout:?}")))?
    }

    /// Applies `events` and writes `dlq` rows in one transaction.
    ///
    /// Either everything commits or nothing does; on any error the caller may retry the same
    /// batch (it is idempotent) or split it to isolate a permanently failing row.
    pub async fn apply_batch<E: Borrow<ValidEvent>>(
        &self,
        events: &[E],
        dlq: &[DlqRecord],
    ) -> Result<BatchOutcome, SinkError> {
        let started = Instant::now();
        let mut client = self.pool.get().await?;
        if self.write_path == WritePath::Copy {
            apply::prepare_stage(&client).await?;
        }
        let tx = client.transaction().await?;

        // An event id twice in one batch (a producer retry) would make the reviews insert see
        // two rows for one fresh id; keep the first occurrence, count the rest as duplicates.
        let mut seen = HashSet::with_capacity(events.len());
        let unique: Vec<&ValidEvent> = events
            .iter()
            .map(Borrow::borrow)
            .filter(|e| seen.insert(e.event.event_id))
            .collect();

        let applied = apply::apply(&tx, self.write_path, &unique).await?;

        let mut dlq_written = 0;
        if !dlq.is_empty() {
            dlq_written = insert_dlq(&tx, dlq).await? as usize;
        }
        tx.commit().await?;
        Ok(BatchOutcome {
            applied,
            duplicates: events.len() - applied,
            dlq_written,
            elapsed: started.elapsed(),
        })
    }

    /// Writes DLQ rows on their own (for messages found permanently failing by bisection).
    pub async fn write_dlq(&self, dlq: &[DlqRecord]) -> Result<usize, SinkError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = insert_dlq(&tx, dlq).await?;
        tx.commit().await?;
        Ok(n as usize)
    }

    /// The seed's per-event pattern (`ProcessEventTx`): one transaction per event that checks
    /// the ledger, inserts the review, updates the aggregate and marks the event processed.
    ///
    /// Kept as the benchmark baseline (`--sink-mode single`); it is correct but pays several
    /// round trips and a commit per event. Returns true if the event was newly applied.
    pub async fn apply_single(&self, e: &ValidEvent) -> Result<bool, SinkError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let id = e.event.event_id;
        if tx
            .query_opt("SELECT 1 FROM processed_events WHERE event_id = $1", &[&id])
            .await?
            .is_some()
        {
            tx.commit().await?;
            return Ok(false);
        }
        let p = &e.event.payload;
        tx.execute(
            "INSERT INTO reviews (review_id, event_id, user_key, rating, text, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &p.review_id,
                &id,
                &e.event.key,
                &p.rating,
                &p.text,
                &e.event.ts,
            ],
        )
        .await?;
        tx.execute(
            "INSERT INTO user_stats (user_key, review_count, rating_sum) VALUES ($1, 1, $2)
             ON CONFLICT (user_key) DO UPDATE
                 SET review_count = user_stats.review_count + 1,
                     rating_sum = user_stats.rating_sum + EXCLUDED.rating_sum,
                     updated_at = now()",
            &[&e.event.key, &(p.rating as i64)],
        )
        .await?;
        tx.execute(
            "INSERT INTO processed_events (event_id, source_topic, source_partition, source_offset)
             VALUES ($1, $2, $3, $4)",
            &[&id, &e.pos.topic, &e.pos.partition, &e.pos.offset],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

async fn insert_dlq(
    tx: &deadpool_postgres::Transaction<'_>,
    dlq: &[DlqRecord],
) -> Result<u64, SinkError> {
    // ON CONFLICT DO UPDATE may touch a row only once per statement: keep the first record
    // of an id that appears twice in one batch (the same poison event sent twice).
    let mut seen = HashSet::with_capacity(dlq.len());
    let dlq: Vec<&DlqRecord> = dlq.iter().filter(|d| seen.insert(d.event_id)).collect();
    let ids: Vec<Uuid> = dlq.iter().map(|d| d.event_id).collect();
    let kinds: Vec<&str> = dlq.iter().map(|d| d.error.as_str()).collect();
    let reasons: Vec<&str> = dlq.iter().map(|d| d.reason.as_str()).collect();
    let json: Vec<Option<serde_json::Value>> = dlq.iter().map(|d| d.json()).collect();
    let raw: Vec<Option<&[u8]>> = dlq.iter().map(|d| d.raw.as_deref()).collect();
    let keys: Vec<Option<&[u8]>> = dlq.iter().map(|d| d.key.as_deref()).collect();
    let topics: Vec<&str> = dlq.iter().map(|d| d.pos.topic.as_str()).collect();
    let partitions: Vec<i32> = dlq.iter().map(|d| d.pos.partition).collect();
    let offsets: Vec<i64> = dlq.iter().map(|d| d.pos.offset).collect();
    let stmt = tx.prepare_cached(INSERT_DLQ_SQL).await?;
    Ok(tx
        .execute(
            &stmt,
            &[
                &ids,
                &kinds,
                &reasons,
                &json,
                &raw,
                &keys,
                &topics,
                &partitions,
                &offsets,
            ],
        )
        .await?)
}
