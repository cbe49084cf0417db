//! Keeping the dedup ledger bounded (`--ledger-retention`): a ledger row may go once it is
//! older than the retention *and* its offset is below the group's committed offset for its
//! partition, because then Kafka will not redeliver it. Deleted in small batches so a pass
//! never holds long locks or a long transaction.
//!
//! The trade: an event older than the retention that comes back anyway (a DLQ replay, a
//! producer re-sending it) is applied again. `dlq replay` warns and needs `--force` for such
//! records.

use super::PgSink;
use crate::SinkError;
use std::time::Duration;

/// Rows deleted per statement.
pub const PRUNE_BATCH: i64 = 5_000;

impl PgSink {
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
