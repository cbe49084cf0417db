//! Decoding a fetched message into an event to apply, a dead letter, or a skip: the value
//! becomes a JSON document (from JSON or Avro), which the mapping's plan turns into rows for
//! Postgres; the HTTP sink gets the review event itself. The raw bytes are kept so a row the
//! sink later rejects still reaches the DLQ byte for byte.

use super::WorkerContext;
use crate::registry::Lookup;
use std::future::Future;
use streamsre_event::{
    confluent_frame, decode, decode_avro, decode_avro_json, decode_json, decode_json_with,
    dlq_event_id, AvroSchema, InvalidEvent,
};
use streamsre_kafka::source::Fetched;
use streamsre_mapping::{Doc, Meta, Plan};
use streamsre_sink::{DeadLetter, Sink, SourcePos, ValidEvent};

/// One message of a batch after decoding: an event to apply, a DLQ record, or neither (a
/// message the mapping skips), plus the raw value and key so a row the sink rejects can
/// still be sent to the DLQ byte for byte.
pub(crate) struct Item {
    pos: SourcePos,
    pub(super) valid: Option<ValidEvent>,
    /// Boxed: most items have none, and every item is moved through several queues.
    pub(super) dlq: Option<Box<DeadLetter>>,
    /// The message value, unless `valid` keeps it (its rows may point into it).
    raw: Option<Vec<u8>>,
    key: Option<Vec<u8>>,
    /// DLQ id carried by a replayed message, so its DLQ record is updated, not duplicated.
    dlq_id: Option<uuid::Uuid>,
}

impl Item {
    pub(super) fn pos(&self) -> &SourcePos {
        &self.pos
    }

    /// Matched no route, and the mapping says skip.
    pub(super) fn skipped(&self) -> bool {
        self.valid.is_none() && self.dlq.is_none()
    }

    /// The message value, byte for byte.
    fn raw(&self) -> Option<&[u8]> {
        match &self.valid {
            Some(valid) => valid.value.as_deref(),
            None => self.raw.as_deref(),
        }
    }

    /// A DLQ record for this item, failed for `error: reason` after `attempts` attempts.
    pub(super) fn to_dlq(&self, error: &str, reason: &str, attempts: u32) -> DeadLetter {
        if let Some(d) = &self.dlq {
            return (**d).clone();
        }
        let id = self
            .valid
            .as_ref()
            .map_or_else(|| position_id(self.raw(), &self.pos), |v| v.id);
        let mut letter = DeadLetter::new(
            self.dlq_id.unwrap_or(id),
            error,
            format!("{error}: {reason}"),
            self.pos.clone(),
        );
        letter.key = self.key.clone();
        letter.value = self.raw().map(<[u8]>::to_vec);
        letter.attempts = attempts;
        letter
    }
}

/// The DLQ id of a message with no event id of its own: from its bytes, else its position.
fn position_id(raw: Option<&[u8]>, pos: &SourcePos) -> uuid::Uuid {
    dlq_event_id(raw, &pos.topic, pos.partition, pos.offset)
}

impl WorkerContext {
    /// What [`WorkerContext::decode`] needs before it can decode `msg`: with Avro, the
    /// writer's schema, fetched from the registry unless cached (waiting out an outage).
    pub(crate) fn prepare(&self, msg: &Fetched) -> impl Future<Output = ()> + 'static {
        let needed = self.registry.as_ref().and_then(|registry| {
            let (id, _) =
                confluent_frame(msg.record.value.as_deref(), self.max_message_bytes).ok()?;
            registry
                .cached(id)
                .is_none()
                .then(|| (registry.clone(), id))
        });
        async move {
            if let Some((registry, id)) = needed {
                registry.ensure(id).await;
            }
        }
    }

    /// The value in the configured format: `json` without a registry, otherwise Confluent
    /// Avro with the writer's schema `prepare` fetched.
    fn decode_as<'v, T>(
        &self,
        value: Option<&'v [u8]>,
        json: fn(Option<&'v [u8]>, usize) -> Result<T, InvalidEvent>,
        avro: fn(u32, &AvroSchema, &[u8]) -> Result<T, InvalidEvent>,
    ) -> Result<T, InvalidEvent> {
        let Some(registry) = &self.registry else {
            return json(value, self.max_message_bytes);
        };
        let (id, body) = confluent_frame(value, self.max_message_bytes)?;
        match registry.cached(id) {
            Some(Lookup::Found(schema)) => avro(id, &schema, body),
            Some(Lookup::Unusable(reason)) => Err(InvalidEvent::UnknownSchema(reason)),
            // `prepare` waits until the registry answered for every id it lets through.
            None => unreachable!("schema id {id} decoded before the registry answered"),
        }
    }

    /// What the sink gets for this message: `Ok(None)` when the mapping skips it, and a DLQ
    /// `(kind, reason)` when it cannot be applied.
    fn to_valid(
        &self,
        msg: &Fetched,
        pos: &SourcePos,
        raw: Option<&[u8]>,
    ) -> Result<Option<ValidEvent>, (&'static str, String)> {
        let invalid = |e: InvalidEvent| (e.kind(), e.reason());
        let plan: Option<&Plan> = match &self.sink {
            Sink::Postgres(pg) => pg.plan(),
            Sink::Http(_) => None,
        };
        let Some(plan) = plan else {
            let event = self.decode_as(raw, decode, decode_avro).map_err(invalid)?;
            return Ok(Some(ValidEvent::review(event, pos.clone())));
        };
        // JSON is read in one pass that keeps only the fields the plan reads, strings borrowed
        // from `raw`; an Avro record is decoded into a `serde_json::Value` they are looked up in.
        let avro: serde_json::Value;
        let fields = match &self.registry {
            None => {
                decode_json_with(raw, self.max_message_bytes, |d| plan.read(d)).map_err(invalid)?
            }
            Some(_) => {
                avro = self
                    .decode_as(raw, decode_json, decode_avro_json)
                    .map_err(invalid)?;
                plan.fields(&Doc::from(&avro))
            }
        };
        let meta = Meta {
            topic: &pos.topic,
            partition: pos.partition,
            offset: pos.offset,
            key: msg.record.key.as_deref(),
            timestamp_ms: msg.record.timestamp_ms,
            headers: &msg.record.headers,
            // JSON text, which the item keeps: text columns may be spans of it.
            value: raw.filter(|_| self.registry.is_none()),
        };
        ValidEvent::map(plan, &fields, &meta, pos).map_err(|r| (r.kind, r.reason))
    }

    pub(crate) fn decode(&self, msg: &mut Fetched) -> Item {
        // Per-message logs are sampled (1 in 1,000) and only at debug level: at 70k events/s a
        // line per message would cost more than the work itself.
        if tracing::enabled!(tracing::Level::DEBUG) && msg.record.offset % 1000 == 0 {
            tracing::debug!(
                partition = msg.record.partition,
                offset = msg.record.offset,
                bytes = msg.record.value.as_ref().map_or(0, Vec::len),
                "sampled message"
            );
        }
        let pos = SourcePos {
            topic: msg.topic.clone(),
            partition: msg.record.partition,
            offset: msg.record.offset,
        };
        let raw = msg.record.value.take();
        let key = msg.record.key.clone();
        let dlq_id = msg.record.dlq_id;
        match self.to_valid(msg, &pos, raw.as_deref()) {
            Ok(Some(mut valid)) => {
                // Kept with the event: its rows may be spans of it.
                valid.value = raw;
                Item {
                    pos,
                    valid: Some(valid),
                    dlq: None,
                    raw: None,
                    key,
                    dlq_id,
                }
            }
            Ok(None) => Item {
                pos,
                valid: None,
                dlq: None,
                raw,
                key,
                dlq_id,
            },
            Err((kind, reason)) => {
                let event_id = dlq_id.unwrap_or_else(|| position_id(raw.as_deref(), &pos));
                tracing::warn!(
                    partition = pos.partition,
                    offset = pos.offset,
                    %event_id,
                    %reason,
                    "invalid message sent to the DLQ"
                );
                Item {
                    dlq: Some(Box::new(DeadLetter {
                        key: key.clone(),
                        value: raw.clone(),
                        ..DeadLetter::new(event_id, kind, reason, pos.clone())
                    })),
                    pos,
                    valid: None,
                    raw,
                    key,
                    dlq_id,
                }
            }
        }
    }
}
