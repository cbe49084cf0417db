use super::apply::{self, WritePath};
use super::{dlq_store, migrate, PgConnectOptions};
use crate::{BatchOutcome, DeadLetter, SinkError, ValidEvent};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::borrow::Borrow;
use std::collections::HashSet;
use std::time::{Duration, Instant};

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

impl PgSink {
    /// Builds the pool and checks that a connection can be opened.
    pub async fn connect(config: &PgSinkConfig) -> Result<Self, SinkError> {
        let PgConnectOptions {
            config: mut pg,
            tls,
            ..
        } = PgConnectOptions::parse(&config.url).map_err(SinkError::permanent)?;
        pg.connect_timeout(config.connect_timeout);
        pg.application_name("streamsre");
        let manager = Manager::from_config(
            pg,
            tls,
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
            .map_err(|e| SinkError::permanent(format!("building connection pool: {e}")))?;
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
            .map_err(|_| SinkError::retriable(format!("no answer within {timeout:?}")))?
    }

    /// Applies `events` and writes `dlq` rows in one transaction.
    ///
    /// Either everything commits or nothing does; on any error the caller may retry the same
    /// batch (it is idempotent) or split it to isolate a permanently failing row.
    pub async fn apply_batch<E: Borrow<ValidEvent>>(
        &self,
        events: &[E],
        dlq: &[DeadLetter],
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
            dlq_written = dlq_store::insert(&tx, dlq).await? as usize;
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
    pub async fn write_dlq(&self, dlq: &[DeadLetter]) -> Result<usize, SinkError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = dlq_store::insert(&tx, dlq).await?;
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
