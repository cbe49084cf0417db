//! The DLQ table, `dlq_events`: dead letters written in the batch's transaction (or on their
//! own after a bisection), and read back for `streamsre dlq list|show|replay`.

use super::PgSink;
use crate::{DeadLetter, SinkError, SourcePos};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use uuid::Uuid;

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

/// Which DLQ rows to select.
#[derive(Debug, Clone, Default)]
pub struct DlqFilter {
    /// Only this kind (the part of the reason before the first colon).
    pub kind: Option<String>,
    /// Only rows that failed at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only these ids (empty: any).
    pub ids: Vec<Uuid>,
    /// At most this many rows, oldest failure first.
    pub limit: i64,
}

const SELECT_DLQ: &str = "
SELECT event_id, error_kind, reason, original_payload, raw_payload, original_key,
       source_topic, source_partition, source_offset, failed_at, retry_count, replayed_at
FROM dlq_events
WHERE ($1::text IS NULL OR coalesce(error_kind, split_part(reason, ':', 1)) = $1)
  AND ($2::timestamptz IS NULL OR failed_at >= $2)
  AND (cardinality($3::uuid[]) = 0 OR event_id = ANY($3))
ORDER BY failed_at, event_id
LIMIT $4";

impl PgSink {
    /// DLQ rows matching `filter`, oldest failure first.
    pub async fn dlq_list(&self, filter: &DlqFilter) -> Result<Vec<DeadLetter>, SinkError> {
        let client = self.pool().get().await?;
        let rows = client
            .query(
                SELECT_DLQ,
                &[&filter.kind, &filter.since, &filter.ids, &filter.limit],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let topic: Option<String> = r.get(6);
                let partition: Option<i32> = r.get(7);
                let offset: Option<i64> = r.get(8);
                let kind: Option<String> = r.get(1);
                let reason: String = r.get(2);
                let returns: i32 = r.get(10);
                DeadLetter {
                    id: r.get(0),
                    // Rows written before error_kind existed carry the kind in the reason.
                    kind: kind.unwrap_or_else(|| {
                        reason.split(':').next().unwrap_or_default().to_string()
                    }),
                    reason,
                    value: r.get(4),
                    key: r.get(5),
                    attempts: 0,
                    pos: match (topic, partition, offset) {
                        (Some(topic), Some(partition), Some(offset)) => SourcePos {
                            topic: topic.into(),
                            partition,
                            offset,
                        },
                        _ => SourcePos::none(),
                    },
                    failed_at: r.get(9),
                    returns: u32::try_from(returns).unwrap_or(0),
                    replayed_at: r.get(11),
                }
            })
            .collect())
    }

    /// Records that `ids` were sent back to the main topic now.
    pub async fn dlq_mark_replayed(&self, ids: &[Uuid]) -> Result<u64, SinkError> {
        let client = self.pool().get().await?;
        Ok(client
            .execute(
                "UPDATE dlq_events SET replayed_at = now() WHERE event_id = ANY($1)",
                &[&ids],
            )
            .await?)
    }
}

/// Writes DLQ rows in the caller's transaction; returns how many rows changed.
pub(super) async fn insert(
    tx: &deadpool_postgres::Transaction<'_>,
    dlq: &[DeadLetter],
) -> Result<u64, SinkError> {
    // ON CONFLICT DO UPDATE may touch a row only once per statement: keep the first record
    // of an id that appears twice in one batch (the same poison event sent twice).
    let mut seen = HashSet::with_capacity(dlq.len());
    let dlq: Vec<&DeadLetter> = dlq.iter().filter(|d| seen.insert(d.id)).collect();
    let ids: Vec<Uuid> = dlq.iter().map(|d| d.id).collect();
    let kinds: Vec<&str> = dlq.iter().map(|d| d.kind.as_str()).collect();
    let reasons: Vec<&str> = dlq.iter().map(|d| d.reason.as_str()).collect();
    let json: Vec<Option<serde_json::Value>> = dlq.iter().map(|d| d.json()).collect();
    let raw: Vec<Option<&[u8]>> = dlq.iter().map(|d| d.value.as_deref()).collect();
    let keys: Vec<Option<&[u8]>> = dlq.iter().map(|d| d.key.as_deref()).collect();
    let topics: Vec<&str> = dlq.iter().map(|d| &*d.pos.topic).collect();
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
