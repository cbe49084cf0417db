//! Getting the Postgres sink ready before anything is consumed: connect and migrate (waiting
//! out a database that is not up yet), then check the mapping against the catalog, refusing
//! to start if it cannot work.

use crate::ConsumeConfig;
use anyhow::bail;
use std::time::Duration;
use streamsre_retry::RetryAction;
use streamsre_sink::postgres::catalog::PlanError;
use streamsre_sink::{PgSink, PgSinkConfig, SinkError};
use streamsre_telemetry::redact_url;
use tokio_util::sync::CancellationToken;

/// The mapping cannot work against the database's tables: one message per problem. The
/// consumer refuses to start (exit code 2) before it reads anything.
#[derive(Debug)]
pub struct MappingRejected(pub Vec<String>);

impl std::fmt::Display for MappingRejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the mapping does not fit the database:")?;
        for problem in &self.0 {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for MappingRejected {}

/// Connects to Postgres, applies migrations and checks the mapping against the catalog,
/// retrying transient failures (reading the catalog included) until `cancel`.
pub(crate) async fn connect_sink(
    config: &ConsumeConfig,
    cancel: &CancellationToken,
) -> anyhow::Result<PgSink> {
    let pg = PgSinkConfig {
        url: config.database_url.clone(),
        pool_size: config.sink_workers + 2,
        connect_timeout: Duration::from_secs(5),
        write_path: config.write_path,
    };
    let mut attempt = 0;
    loop {
        let result = async {
            let sink = PgSink::connect(&pg).await.map_err(PlanError::Unavailable)?;
            sink.migrate().await.map_err(PlanError::Unavailable)?;
            sink.with_mapping(&config.mapping).await
        }
        .await;
        let unavailable = match result {
            Ok(sink) => {
                for target in sink.plan().map_or(&[][..], |p| &p.targets) {
                    tracing::info!(table = %target.table, mode = %target.mode, columns = target.columns.len(), "mapping ready");
                }
                return Ok(sink);
            }
            Err(PlanError::Rejected(problems)) => return Err(MappingRejected(problems).into()),
            Err(PlanError::Unavailable(SinkError(RetryAction::DontRetry(reason)))) => bail!(
                "cannot use database {}: {reason}",
                redact_url(&config.database_url)
            ),
            Err(PlanError::Unavailable(e)) => e,
        };
        let reason = unavailable.reason().to_string();
        let delay = config.retry.backoff.delay(attempt, &mut rand::thread_rng());
        tracing::warn!(database = %redact_url(&config.database_url), %reason, ?delay, "database not available yet; retrying");
        attempt += 1;
        tokio::select! {
            _ = cancel.cancelled() => bail!("shut down while waiting for the database"),
            _ = tokio::time::sleep(delay) => {}
        }
    }
}
