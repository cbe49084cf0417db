//! A message on its way from librdkafka to a sink worker: a [`Record`] while it waits for a
//! sink slot (owned bytes, no permit yet), [`Fetched`] once dispatched.

use rdkafka::message::{BorrowedMessage, Headers, Message};
use std::sync::Arc;
use std::time::Instant;
use streamsre_flow::{Cost, MemoryBudget, SlotPermit, Ticket};

/// One message handed to the sink side: the record, its tracker ticket and its sink slot.
#[derive(Debug)]
pub struct Fetched {
    /// Topic it was read from.
    pub topic: Arc<str>,
    /// What was read.
    pub record: Record,
    /// Hand back to [`streamsre_flow::SharedTracker::complete`] once the message's effects
    /// are durable.
    pub ticket: Ticket,
    /// Released (dropped) when the work is finished, freeing its count and byte slots for the
    /// next message.
    pub permit: SlotPermit,
    /// What this message costs against the memory budget ([`MemoryBudget::cost`]) until the
    /// work is finished; hand back to [`super::SourceShared::release_bytes`].
    pub bytes: usize,
}

/// A record as read from librdkafka, owning its bytes: what waits in the queue, and what a
/// dispatched message carries.
#[derive(Debug)]
pub struct Record {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Message key.
    pub key: Option<Vec<u8>>,
    /// Message value.
    pub value: Option<Vec<u8>>,
    /// Producer (create) timestamp in ms since the epoch, when the broker kept one.
    pub timestamp_ms: Option<i64>,
    /// The DLQ record id a replayed message carries (header `x-streamsre-dlq-id`).
    pub dlq_id: Option<uuid::Uuid>,
    /// Its headers, for a mapping's `@header:NAME` (empty, without allocating, when none).
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// When the source read it, for processing-duration metrics.
    pub fetched_at: Instant,
}

impl Cost for Record {
    /// Its bytes, decoded and raw, plus overhead.
    fn cost(&self) -> usize {
        MemoryBudget::cost(
            self.key.as_ref().map_or(0, Vec::len)
                + self.value.as_ref().map_or(0, Vec::len)
                + self
                    .headers
                    .iter()
                    .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
                    .sum::<usize>(),
        )
    }
}

impl Record {
    /// Copies what the pipeline needs out of librdkafka's buffer: every header only when
    /// `keep_headers` (a mapping reads them), else just the DLQ id a replay carries.
    pub fn from_message(m: &BorrowedMessage<'_>, keep_headers: bool) -> Self {
        // librdkafka parses the headers on each call: read them once.
        let borrowed = m.headers();
        let dlq_id = borrowed
            .and_then(|headers| {
                headers
                    .iter()
                    .find(|h| h.key == crate::dlq::DLQ_ID_HEADER)?
                    .value
            })
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| uuid::Uuid::parse_str(v).ok());
        let headers: Vec<(String, Option<Vec<u8>>)> = match borrowed {
            Some(headers) if keep_headers => headers
                .iter()
                .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                .collect(),
            _ => Vec::new(),
        };
        Self {
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(<[u8]>::to_vec),
            value: m.payload().map(<[u8]>::to_vec),
            timestamp_ms: m.timestamp().to_millis(),
            dlq_id,
            headers,
            fetched_at: Instant::now(),
        }
    }

    /// The dispatched form, holding its tracker ticket and sink slot.
    pub fn dispatch(self, topic: Arc<str>, ticket: Ticket, permit: SlotPermit) -> Fetched {
        Fetched {
            topic,
            bytes: self.cost(),
            record: self,
            ticket,
            permit,
        }
    }
}
