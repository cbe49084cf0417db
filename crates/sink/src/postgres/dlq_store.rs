//! Reading the DLQ table back: what `streamsre dlq list|show|replay` operate on.

use super::{PgSink, SinkError};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One `dlq_events` row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DlqRow {
    /// Record id.
    pub event_id: Uuid,
    /// Stable kind, e.g. `rating_out_of_range`.
    pub error_kind: Option<String>,
    /// Full reason.
    pub reason: String,
    /// The original value as JSON, when it was JSON.
    pub original_payload: Option<serde_json::Value>,
    /// The original value's exact bytes.
    #[serde(skip)]
    pub raw_payload: Option<Vec<u8>>,
    /// The original key's bytes.
    #[serde(skip)]
    pub original_key: Option<Vec<u8>>,
    /// Where it was last read from.
    pub source_topic: Option<String>,
    /// Partition it was last read from.
    pub source_partition: Option<i32>,
    /// Offset it was last read from.
    pub source_offset: Option<i64>,
    /// When it (last) failed.
    pub failed_at: DateTime<Utc>,
    /// How often it came back after a replay.
    pub retry_count: i32,
    /// When it was last replayed.
    pub replayed_at: Option<DateTime<Utc>>,
}

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
    pub async fn dlq_list(&self, filter: &DlqFilter) -> Result<Vec<DlqRow>, SinkError> {
        let client = self.pool().get().await?;
        let rows = client
            .query(
                SELECT_DLQ,
                &[&filter.kind, &filter.since, &filter.ids, &filter.limit],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| DlqRow {
                event_id: r.get(0),
                error_kind: r.get(1),
                reason: r.get(2),
                original_payload: r.get(3),
                raw_payload: r.get(4),
                original_key: r.get(5),
                source_topic: r.get(6),
                source_partition: r.get(7),
                source_offset: r.get(8),
                failed_at: r.get(9),
                retry_count: r.get(10),
                replayed_at: r.get(11),
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
