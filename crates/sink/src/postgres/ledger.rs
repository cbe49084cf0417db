//! Keeping the dedup ledger bounded (`--ledger-retention`): a ledger row may go once it is
//! older than the retention *and* its offset is below the group's committed offset for its
//! partition, because then Kafka will not redeliver it. Deleted in small batches so a pass
//! never holds long locks or a long transaction.
//!
//! The trade: an event older than the retention that comes back anyway (a DLQ replay, a
//! producer re-sending it) is applied again. `dlq replay` warns and needs `--force` for such
//! records.
//!
//! Pruning finds old rows through a BRIN index on `processed_at`, built on demand by the first
//! consumer started with a retention ([`PgSink::ensure_prune_index`]): without retention nothing
//! reads it, and each ledger insert would pay for it.

use super::PgSink;
use crate::SinkError;
use std::time::Duration;

/// Rows deleted per statement.
pub const PRUNE_BATCH: i64 = 5_000;

/// The index pruning reads (rows arrive in `processed_at` order, so a few bytes per 128 pages
/// find the old ones as well as a btree would).
const PRUNE_INDEX: &str = "processed_events_processed_at_brin";

/// Arbitrary constant naming the index builders' advisory lock ("STRMIDX").
pub const PRUNE_INDEX_LOCK_KEY: i64 = 0x0053_5452_4d49_4458;

impl PgSink {
    /// Builds the pruning index if it is missing, without blocking writers (`CREATE INDEX
    /// CONCURRENTLY`). Returns `false` when another consumer holds the builders' lock: it is
    /// building the index now, and the caller asks again later.
    ///
    /// Builders take a session advisory lock, so an invalid index seen under the lock is what a
    /// failed or killed build left behind, not one in progress: it is dropped and built again.
    pub async fn ensure_prune_index(&self) -> Result<bool, SinkError> {
        let client = self.client().await?;
        let locked: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&PRUNE_INDEX_LOCK_KEY])
            .await?
            .get(0);
        if !locked {
            return Ok(false);
        }
        let built = async {
            let valid: Option<bool> = client
                .query_opt(
                    "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)",
                    &[&PRUNE_INDEX],
                )
                .await?
                .map(|row| row.get(0));
            match valid {
                Some(true) => return Ok(()),
                Some(false) => {
                    tracing::warn!(
                        index = PRUNE_INDEX,
                        "dropping an invalid index a failed build left; building it again"
                    );
                    client
                        .batch_execute(&format!("DROP INDEX CONCURRENTLY IF EXISTS {PRUNE_INDEX}"))
                        .await?;
                }
                None => {}
            }
            tracing::info!(
                index = PRUNE_INDEX,
                "building the ledger's pruning index (CONCURRENTLY: writers go on)"
            );
            client
                .batch_execute(&format!(
                    "CREATE INDEX CONCURRENTLY IF NOT EXISTS {PRUNE_INDEX} ON processed_events \
                     USING brin (processed_at) WITH (autosummarize = on)"
                ))
                .await?;
            Ok::<_, SinkError>(())
        }
        .await;
        // A broken connection has released the lock with its session.
        let _ = client
            .execute("SELECT pg_advisory_unlock($1)", &[&PRUNE_INDEX_LOCK_KEY])
            .await;
        built.map(|()| true)
    }

    /// Deletes ledger rows of `topic` older than `retention` and below `committed` (partition,
    /// committed offset) in batches of `batch`; returns how many went and the ledger's
    /// estimated size after.
    pub async fn prune_ledger(
        &self,
        topic: &str,
        committed: &[(i32, i64)],
        retention: Duration,
        batch: i64,
    ) -> Result<(u64, i64), SinkError> {
        let client = self.client().await?;
        let (partitions, offsets): (Vec<i32>, Vec<i64>) = committed.iter().copied().unzip();
        let stmt = client
            .prepare_cached(
                "DELETE FROM processed_events WHERE event_id IN (
                     SELECT p.event_id
                     FROM processed_events p
                     JOIN unnest($2::int4[], $3::int8[]) AS c(part, off)
                       ON p.source_partition = c.part
                     WHERE p.source_topic = $1
                       AND p.source_offset < c.off
                       AND p.processed_at < now() - make_interval(secs => $4)
                     LIMIT $5)",
            )
            .await?;
        let mut pruned = 0;
        if !committed.is_empty() {
            loop {
                let n = client
                    .execute(
                        &stmt,
                        &[
                            &topic,
                            &partitions,
                            &offsets,
                            &retention.as_secs_f64(),
                            &batch,
                        ],
                    )
                    .await?;
                pruned += n;
                if (n as i64) < batch {
                    break;
                }
            }
        }
        let rows: i64 = client
            .query_one(
                "SELECT greatest(reltuples, 0)::int8 FROM pg_class \
                 WHERE oid = 'processed_events'::regclass",
                &[],
            )
            .await?
            .get(0);
        Ok((pruned, rows))
    }
}
