//! Decoding a fetched message into an event to apply or a dead letter, keeping the raw bytes
//! so a row the sink later rejects still reaches the DLQ byte for byte.

use super::WorkerContext;
use crate::registry::Lookup;
use std::future::Future;
use streamsre_event::{confluent_frame, decode, decode_avro, dlq_event_id, Event, InvalidEvent};
use streamsre_kafka::source::Fetched;
use streamsre_sink::{DeadLetter, SourcePos, ValidEvent};

/// One message of a batch after decoding: either an event to apply or a DLQ record, plus the
/// raw value and key so a row the sink rejects can still be sent to the DLQ byte for byte.
pub(crate) struct Item {
    pub(super) valid: Option<ValidEvent>,
    pub(super) dlq: Option<DeadLetter>,
    raw: Option<Vec<u8>>,
    key: Option<Vec<u8>>,
    /// DLQ id carried by a replayed message, so its DLQ record is updated, not duplicated.
    dlq_id: Option<uuid::Uuid>,
}

impl Item {
    pub(super) fn pos(&self) -> &SourcePos {
        match (&self.valid, &self.dlq) {
            (Some(v), _) => &v.pos,
            (None, Some(d)) => &d.pos,
            (None, None) => unreachable!("an item is valid or a DLQ record"),
        }
    }

    /// A DLQ record for this item, failed for `error: reason` after `attempts` attempts.
    pub(super) fn to_dlq(&self, error: &str, reason: &str, attempts: u32) -> DeadLetter {
        if let Some(d) = &self.dlq {
            return d.clone();
        }
        let valid = self
            .valid
            .as_ref()
            .expect("an item is valid or a DLQ record");
        let mut letter = DeadLetter::new(
            self.dlq_id.unwrap_or(valid.event.event_id),
            error,
            format!("{error}: {reason}"),
            valid.pos.clone(),
        );
        letter.key = self.key.clone();
        letter.value = self.raw.clone();
        letter.attempts = attempts;
        letter
    }
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

    /// The value as an event, in the configured format.
    fn decode_value(&self, value: Option<&[u8]>) -> Result<Event, InvalidEvent> {
        let Some(registry) = &self.registry else {
            return decode(value, self.max_message_bytes);
        };
        let (id, body) = confluent_frame(value, self.max_message_bytes)?;
        match registry.cached(id) {
            Some(Lookup::Found(schema)) => decode_avro(id, &schema, body),
            Some(Lookup::Unusable(reason)) => Err(InvalidEvent::UnknownSchema(reason)),
            // `prepare` waits until the registry answered for every id it lets through.
            None => unreachable!("schema id {id} decoded before the registry answered"),
        }
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
            topic: msg.topic.to_string(),
            partition: msg.record.partition,
            offset: msg.record.offset,
        };
        let raw = msg.record.value.take();
        let key = msg.record.key.clone();
        match self.decode_value(raw.as_deref()) {
            Ok(event) => Item {
                valid: Some(ValidEvent { event, pos }),
                dlq: None,
                raw,
                key,
                dlq_id: msg.record.dlq_id,
            },
            Err(invalid) => {
                let event_id = msg.record.dlq_id.unwrap_or_else(|| {
                    dlq_event_id(raw.as_deref(), &pos.topic, pos.partition, pos.offset)
                });
                tracing::warn!(
                    partition = pos.partition,
                    offset = pos.offset,
                    %event_id,
                    reason = %invalid.reason(),
                    "invalid message sent to the DLQ"
                );
                Item {
                    valid: None,
                    dlq: Some(DeadLetter {
                        key: key.clone(),
                        value: raw.clone(),
                        ..DeadLetter::new(event_id, invalid.kind(), invalid.reason(), pos)
                    }),
                    raw,
                    key,
                    dlq_id: msg.record.dlq_id,
                }
            }
        }
    }
}
