//! librdkafka client configuration shared by every client streamsre creates.

use crate::security::KafkaSecurity;
use rdkafka::ClientConfig;

/// Broker list, security settings, and arbitrary librdkafka properties from
/// `--kafka-opt key=value`.
///
/// The passthrough is applied last, so an operator can override any default streamsre sets
/// (fetch sizes, timeouts, even a security property) without a new flag per property.
#[derive(Debug, Clone, Default)]
pub struct KafkaOpts {
    /// `bootstrap.servers`, e.g. `127.0.0.1:9092`.
    pub brokers: String,
    /// TLS and SASL, applied after streamsre's defaults and before the passthrough.
    pub security: KafkaSecurity,
    /// Extra properties, applied last.
    pub extra: Vec<(String, String)>,
}

impl KafkaOpts {
    /// Plaintext options for `brokers`, as the local stack and the tests use.
    pub fn plaintext(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            ..Self::default()
        }
    }

    /// A config with the brokers set, `defaults` applied, then security, then the passthrough.
    ///
    /// `ClientConfig`'s `Debug` prints every property, the SASL password included: never log
    /// the result.
    pub fn client_config(&self, defaults: &[(&str, &str)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (k, v) in defaults {
            config.set(*k, *v);
        }
        for (k, v) in self.security.properties() {
            config.set(k, v);
        }
        for (k, v) in &self.extra {
            config.set(k, v);
        }
        config
    }

    /// The last `--kafka-opt` value given for `key`, if any.
    pub fn extra_value(&self, key: &str) -> Option<&str> {
        self.extra
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses one `--kafka-opt` argument of the form `key=value`.
pub fn parse_kafka_opt(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!(
            "expected key=value (a librdkafka property), got {raw:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_override_of_a_key_wins() {
        let opts = KafkaOpts {
            brokers: "b".into(),
            security: KafkaSecurity::default(),
            extra: vec![
                ("fetch.max.bytes".into(), "1".into()),
                ("acks".into(), "all".into()),
                ("fetch.max.bytes".into(), "2".into()),
            ],
        };
        assert_eq!(opts.extra_value("fetch.max.bytes"), Some("2"));
        assert_eq!(opts.extra_value("linger.ms"), None);
    }

    #[test]
    fn parses_key_value_and_rejects_garbage() {
        assert_eq!(
            parse_kafka_opt("fetch.max.bytes=1048576"),
            Ok(("fetch.max.bytes".into(), "1048576".into()))
        );
        assert_eq!(
            parse_kafka_opt("sasl.password=a=b"),
            Ok(("sasl.password".into(), "a=b".into()))
        );
        assert!(parse_kafka_opt("novalue").is_err());
        assert!(parse_kafka_opt("=x").is_err());
    }

    #[test]
    fn passthrough_overrides_defaults() {
        let opts = KafkaOpts {
            brokers: "b:9092".into(),
            security: KafkaSecurity::default(),
            extra: vec![("session.timeout.ms".into(), "6000".into())],
        };
        let c = opts.client_config(&[("session.timeout.ms", "45000"), ("acks", "all")]);
        assert_eq!(c.get("session.timeout.ms"), Some("6000"));
        assert_eq!(c.get("acks"), Some("all"));
        assert_eq!(c.get("bootstrap.servers"), Some("b:9092"));
        assert_eq!(c.get("security.protocol"), None);
    }

    #[test]
    fn security_sits_between_defaults_and_the_passthrough() {
        let mut opts = KafkaOpts::plaintext("b:9093");
        opts.security = KafkaSecurity {
            protocol: crate::SecurityProtocol::Ssl,
            ..Default::default()
        };
        assert_eq!(
            opts.client_config(&[("security.protocol", "plaintext")])
                .get("security.protocol"),
            Some("ssl")
        );
        opts.extra = vec![("security.protocol".into(), "sasl_ssl".into())];
        assert_eq!(
            opts.client_config(&[]).get("security.protocol"),
            Some("sasl_ssl")
        );
    }
}
