//! The headers each generated record carries: with `--default-headers`, what a consumer routes
//! or audits by without decoding the value (`event-type`, `schema-version`, `produced-at`);
//! `priority=high` on the `--priority-pct` share; then every `--header KEY=VALUE` in order.
//!
//! The defaults are opt-in because of the local broker: Tansu 0.6's sqlite storage has no
//! index on its header table and looks a record's headers up with a full scan of it, once per
//! record fetched, so a topic of records with headers slows every fetch of the broker as it
//! grows (measured: 345,000 header rows kept the broker at 100% CPU and starved consumers).

use chrono::{SecondsFormat, Utc};
use rdkafka::message::{Header, OwnedHeaders};
use streamsre_event::Event;

/// The header naming the event's type.
pub const EVENT_TYPE: &str = "event-type";
/// The header carrying the event's schema version.
pub const SCHEMA_VERSION: &str = "schema-version";
/// The header carrying when the generator made the record (RFC 3339, microseconds).
pub const PRODUCED_AT: &str = "produced-at";
/// The header the `priority` partitioner reads; its high value is [`HIGH`].
pub const PRIORITY: &str = "priority";
/// The value of [`PRIORITY`] that marks a high-priority record.
pub const HIGH: &str = "high";

/// The headers of one record.
pub fn for_event(
    event: &Event,
    defaults: bool,
    high: bool,
    extra: &[(String, String)],
) -> OwnedHeaders {
    let mut headers = OwnedHeaders::new_with_capacity(4 + extra.len());
    if defaults {
        let version = event.schema_version.to_string();
        let produced_at = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
        headers = headers
            .insert(Header {
                key: EVENT_TYPE,
                value: Some(event.event_type.as_str()),
            })
            .insert(Header {
                key: SCHEMA_VERSION,
                value: Some(version.as_str()),
            })
            .insert(Header {
                key: PRODUCED_AT,
                value: Some(produced_at.as_str()),
            });
    }
    if high {
        headers = headers.insert(Header {
            key: PRIORITY,
            value: Some(HIGH),
        });
    }
    for (key, value) in extra {
        headers = headers.insert(Header {
            key: key.as_str(),
            value: Some(value.as_str()),
        });
    }
    headers
}

/// Parses `--header KEY=VALUE` (the value may hold `=`; the key may not be empty).
pub fn parse_header(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!(
            "expected KEY=VALUE with a non-empty key, got {text:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::message::Headers;

    #[test]
    fn defaults_then_priority_then_extras_in_order() {
        let event = crate::load::EventGenerator::new(crate::load::WorkloadConfig {
            seed: 1,
            hot_key_pct: 0.0,
            hot_keys: 1,
            keys: 10,
            msg_size: 256,
        })
        .next_event();
        let extra = vec![("team".to_string(), "sre=yes".to_string())];
        let headers = for_event(&event, true, true, &extra);
        let pairs: Vec<(String, String)> = headers
            .iter()
            .map(|h| {
                let value = String::from_utf8(h.value.unwrap().to_vec()).unwrap();
                (h.key.to_string(), value)
            })
            .collect();
        let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [EVENT_TYPE, SCHEMA_VERSION, PRODUCED_AT, PRIORITY, "team"]
        );
        assert_eq!(pairs[0].1, "review_created");
        assert_eq!(pairs[1].1, "1");
        assert!(chrono::DateTime::parse_from_rfc3339(&pairs[2].1).is_ok());
        assert_eq!(pairs[3].1, HIGH);
        assert_eq!(pairs[4].1, "sre=yes");
        assert_eq!(for_event(&event, true, false, &[]).count(), 3);
        assert_eq!(for_event(&event, false, false, &extra).count(), 1);
    }

    #[test]
    fn header_flags_need_a_key() {
        assert_eq!(
            parse_header("a=b=c"),
            Ok(("a".to_string(), "b=c".to_string()))
        );
        assert_eq!(parse_header("a="), Ok(("a".to_string(), String::new())));
        assert!(parse_header("=b").is_err());
        assert!(parse_header("novalue").is_err());
    }
}
