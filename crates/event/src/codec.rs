use crate::model::Event;
use crate::validate::{validate, InvalidEvent};

/// Largest message value accepted by default. Anything larger is rejected before parsing so a
/// single huge record cannot make the consumer allocate without bound.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// Encodes an event as JSON, the wire format on the topic.
pub fn encode(event: &Event) -> Vec<u8> {
    // Serializing this struct cannot fail: every field is a plain string, number or timestamp.
    serde_json::to_vec(event).expect("Event always serializes to JSON")
}

/// The checks every format makes first: a value is there, is not empty, and is within
/// `max_bytes` (rejected before parsing, so one huge record cannot make us allocate).
pub(crate) fn present_and_bounded(
    value: Option<&[u8]>,
    max_bytes: usize,
) -> Result<&[u8], InvalidEvent> {
    let bytes = match value {
        None => return Err(InvalidEvent::MissingValue),
        Some([]) => return Err(InvalidEvent::EmptyValue),
        Some(b) => b,
    };
    if bytes.len() > max_bytes {
        return Err(InvalidEvent::TooLarge {
            size: bytes.len(),
            max: max_bytes,
        });
    }
    Ok(bytes)
}

/// Decodes one message value as any JSON document, for a mapping to read: the same checks as
/// [`decode`] up to the JSON shape, none of the review event's field rules. `T` is the
/// document type: a `serde_json::Value`, or one that borrows from `value`.
pub fn decode_json<'a, T: serde::Deserialize<'a>>(
    value: Option<&'a [u8]>,
    max_bytes: usize,
) -> Result<T, InvalidEvent> {
    decode_json_with(value, max_bytes, |d| T::deserialize(d))
}

/// [`decode_json`] with the reading done by `read`: a mapping's planned reader, which keeps
/// only the fields its routes use (`streamsre_mapping::Plan::read`). Text after the document
/// is refused, as `serde_json::from_str` refuses it.
pub fn decode_json_with<'a, T>(
    value: Option<&'a [u8]>,
    max_bytes: usize,
    read: impl FnOnce(
        &mut serde_json::Deserializer<serde_json::de::StrRead<'a>>,
    ) -> serde_json::Result<T>,
) -> Result<T, InvalidEvent> {
    let bytes = present_and_bounded(value, max_bytes)?;
    let text = std::str::from_utf8(bytes).map_err(|e| InvalidEvent::NotUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    let mut d = serde_json::Deserializer::from_str(text);
    read(&mut d)
        .and_then(|t| d.end().map(|()| t))
        .map_err(InvalidEvent::from_json_error)
}

/// Decodes and validates one message value.
///
/// Checks run cheapest first (absent, size, UTF-8, JSON shape, then field rules) so the reason
/// reported is the most basic thing wrong with the message.
pub fn decode(value: Option<&[u8]>, max_bytes: usize) -> Result<Event, InvalidEvent> {
    let bytes = present_and_bounded(value, max_bytes)?;
    let text = std::str::from_utf8(bytes).map_err(|e| InvalidEvent::NotUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    let event: Event = serde_json::from_str(text).map_err(InvalidEvent::from_json_error)?;
    validate(&event)?;
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ReviewPayload, EVENT_TYPE_REVIEW_CREATED, SCHEMA_VERSION};
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    fn sample() -> Event {
        Event {
            event_id: Uuid::from_u128(0x1234),
            event_type: EVENT_TYPE_REVIEW_CREATED.into(),
            key: "user:7".into(),
            ts: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
            schema_version: SCHEMA_VERSION,
            payload: ReviewPayload {
                review_id: "r-1".into(),
                rating: 4,
                text: "quoted \" and unicode é".into(),
            },
        }
    }

    #[test]
    fn round_trip_preserves_every_field() {
        let event = sample();
        let bytes = encode(&event);
        assert_eq!(decode(Some(&bytes), DEFAULT_MAX_MESSAGE_BYTES), Ok(event));
    }

    #[test]
    fn wire_format_uses_seed_field_names() {
        let json: serde_json::Value = serde_json::from_slice(&encode(&sample())).unwrap();
        for field in [
            "event_id",
            "event_type",
            "key",
            "ts",
            "schema_version",
            "payload",
        ] {
            assert!(json.get(field).is_some(), "missing {field}");
        }
        for field in ["review_id", "rating", "text"] {
            assert!(
                json["payload"].get(field).is_some(),
                "missing payload.{field}"
            );
        }
        assert_eq!(json["ts"], "2026-01-02T03:04:05Z");
    }

    #[test]
    fn unknown_fields_are_ignored_for_forward_compatibility() {
        let mut json: serde_json::Value = serde_json::from_slice(&encode(&sample())).unwrap();
        json["added_later"] = serde_json::json!(true);
        let bytes = serde_json::to_vec(&json).unwrap();
        assert_eq!(
            decode(Some(&bytes), DEFAULT_MAX_MESSAGE_BYTES),
            Ok(sample())
        );
    }
}
