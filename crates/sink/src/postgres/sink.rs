use super::apply::{self, Statements, WritePath};
use super::catalog::PlanError;
use super::{dlq_store, migrate, PgConnectOptions};
use crate::{BatchOutcome, DeadLetter, SinkError, ValidEvent};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::borrow::Borrow;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use streamsre_mapping::{Mapping, Plan};

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
    /// What batches run; set by [`PgSink::with_plan`] once the catalog was read.
    statements: Option<Arc<Statements>>,
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
            statements: None,
        };
        drop(sink.pool.get().await?);
        Ok(sink)
    }

    /// The sink writing batches as `plan` says (see [`crate::postgres::catalog::plan`]).
    pub fn with_plan(mut self, plan: Plan) -> Self {
        self.statements = Some(Arc::new(Statements::new(plan, self.write_path)));
        self
    }

    /// Reads `mapping`'s tables from the catalog and returns the sink writing by it, or every
    /// problem found.
    pub async fn with_mapping(self, mapping: &Mapping) -> Result<Self, PlanError> {
        let client = self.client().await?;
        let plan = super::catalog::plan(&client, mapping).await?;
        drop(client);
        Ok(self.with_plan(plan))
    }

    /// The plan batches run, if one was given.
    pub fn plan(&self) -> Option<&Plan> {
        self.statements.as_deref().map(|s| &s.plan)
    }

    /// A pooled connection, for callers that read the catalog.
    pub async fn client(&self) -> Result<deadpool_postgres::Client, SinkError> {
        Ok(self.pool.get().await?)
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
        let statements =
            match &self.statements {
                Some(s) => Some(s.as_ref()),
                None if events.is_empty() => None,
                None => return Err(SinkError::permanent(
                    "the Postgres sink has no mapping plan (a bug: consume builds one at start)",
                )),
            };
        if let (Some(statements), WritePath::Copy) = (statements, self.write_path) {
            apply::prepare_stage(&client, statements).await?;
        }
        let tx = client.transaction().await?;

        // An event id twice in one batch (a producer retry) would give the ledger two rows for
        // one fresh id; keep the first occurrence, count the rest as duplicates.
        let mut seen = HashSet::with_capacity(events.len());
        let unique: Vec<&ValidEvent> = events
            .iter()
            .map(Borrow::borrow)
            .filter(|e| seen.insert(e.id))
            .collect();

        let applied = match statements {
            Some(statements) => apply::apply(&tx, self.write_path, statements, &unique).await?,
            None => 0,
        };

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

    /// One transaction per event, through the same statement: the benchmark baseline
    /// (`--sink-mode single`), which pays a round trip and a commit per event. Returns true if
    /// the event was newly applied.
    pub async fn apply_single(&self, e: &ValidEvent) -> Result<bool, SinkError> {
        Ok(self.apply_batch(&[e], &[]).await?.applied == 1)
    }
}
