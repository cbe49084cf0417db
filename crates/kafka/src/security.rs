//! How a client proves who it is and checks who the broker is: TLS, mTLS and SASL, from
//! first-class flags. Turned into librdkafka properties here, in one place, so `consume`,
//! `produce`, `topic`, `lag` and `dlq replay` connect the same way, and checked before any
//! client is built so a half-set configuration fails with a sentence instead of a timeout.

use std::fmt;
use std::path::PathBuf;

/// `security.protocol`: whether the connection is encrypted and whether SASL runs on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SecurityProtocol {
    /// No TLS, no SASL: the local stack and the demo.
    #[default]
    Plaintext,
    /// TLS; with a client certificate this is mTLS.
    Ssl,
    /// SASL over plain TCP (the password crosses the wire in clear with PLAIN).
    SaslPlaintext,
    /// SASL over TLS: what MSK, Confluent Cloud, Aiven and Redpanda Cloud ask for.
    SaslSsl,
}

impl SecurityProtocol {
    /// librdkafka's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Ssl => "ssl",
            Self::SaslPlaintext => "sasl_plaintext",
            Self::SaslSsl => "sasl_ssl",
        }
    }

    /// Whether the connection is TLS.
    pub fn tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    /// Whether SASL authentication runs on the connection.
    pub fn sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `sasl.mechanism`. GSSAPI (Kerberos) and OAUTHBEARER are not built in: they stay reachable
/// through `--kafka-opt` on a librdkafka built with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanism {
    /// Username and password as they are; only sensible over TLS.
    Plain,
    /// Salted challenge-response with SHA-256.
    ScramSha256,
    /// Salted challenge-response with SHA-512.
    ScramSha512,
}

impl SaslMechanism {
    /// librdkafka's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

impl fmt::Display for SaslMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A password that never prints: `Debug` and `Display` show `***`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The password itself, for the one place that hands it to librdkafka.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Everything about authentication and encryption towards the brokers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KafkaSecurity {
    /// `security.protocol`.
    pub protocol: SecurityProtocol,
    /// `sasl.mechanism`; required with a SASL protocol.
    pub sasl_mechanism: Option<SaslMechanism>,
    /// `sasl.username`.
    pub sasl_username: Option<String>,
    /// `sasl.password`.
    pub sasl_password: Option<Secret>,
    /// `ssl.ca.location`: the CA bundle that signed the brokers' certificates. Without it the
    /// system's trust store is used (managed clusters with public CAs need nothing here).
    pub ssl_ca_location: Option<PathBuf>,
    /// `ssl.certificate.location`: the client certificate for mTLS.
    pub ssl_certificate_location: Option<PathBuf>,
    /// `ssl.key.location`: the client certificate's private key.
    pub ssl_key_location: Option<PathBuf>,
    /// Skip checking that the broker's certificate names the host connected to. Only for
    /// brokers whose certificates do not list the address clients use; logged as a warning.
    pub ssl_skip_hostname_verification: bool,
}

impl KafkaSecurity {
    /// Rejects combinations librdkafka would accept and then fail on at connect time, or
    /// silently ignore, with the flag to fix.
    pub fn validate(&self) -> Result<(), String> {
        let p = self.protocol;
        if p.sasl() {
            if self.sasl_mechanism.is_none() {
                return Err(format!(
                    "--security-protocol {p} needs --sasl-mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)"
                ));
            }
            if self.sasl_username.as_deref().unwrap_or("").is_empty() {
                return Err(format!("--security-protocol {p} needs --sasl-username"));
            }
            if self.sasl_password.is_none() {
                return Err(format!(
                    "--security-protocol {p} needs --sasl-password (or KAFKA_SASL_PASSWORD)"
                ));
            }
        } else if self.sasl_mechanism.is_some()
            || self.sasl_username.is_some()
            || self.sasl_password.is_some()
        {
            return Err(format!(
                "SASL settings are given but --security-protocol is {p}; use sasl_ssl (or sasl_plaintext)"
            ));
        }
        let tls_file = self.ssl_ca_location.is_some()
            || self.ssl_certificate_location.is_some()
            || self.ssl_key_location.is_some()
            || self.ssl_skip_hostname_verification;
        if tls_file && !p.tls() {
            return Err(format!(
                "TLS settings are given but --security-protocol is {p}; use ssl or sasl_ssl"
            ));
        }
        if self.ssl_certificate_location.is_some() != self.ssl_key_location.is_some() {
            return Err(
                "mTLS needs both --ssl-certificate-location and --ssl-key-location".to_string(),
            );
        }
        for path in [
            &self.ssl_ca_location,
            &self.ssl_certificate_location,
            &self.ssl_key_location,
        ]
        .into_iter()
        .flatten()
        {
            if !path.is_file() {
                return Err(format!("{} is not a readable file", path.display()));
            }
        }
        Ok(())
    }

    /// The librdkafka properties for these settings. Only non-default settings are listed, so a
    /// plaintext client's configuration is exactly what it was before these flags existed.
    pub fn properties(&self) -> Vec<(&'static str, String)> {
        let mut props = Vec::new();
        if self.protocol != SecurityProtocol::Plaintext {
            props.push(("security.protocol", self.protocol.as_str().to_string()));
        }
        if let Some(m) = self.sasl_mechanism {
            props.push(("sasl.mechanism", m.as_str().to_string()));
        }
        if let Some(u) = &self.sasl_username {
            props.push(("sasl.username", u.clone()));
        }
        if let Some(p) = &self.sasl_password {
            props.push(("sasl.password", p.expose().to_string()));
        }
        let paths = [
            ("ssl.ca.location", &self.ssl_ca_location),
            ("ssl.certificate.location", &self.ssl_certificate_location),
            ("ssl.key.location", &self.ssl_key_location),
        ];
        for (key, path) in paths {
            if let Some(path) = path {
                props.push((key, path.display().to_string()));
            }
        }
        if self.ssl_skip_hostname_verification {
            props.push(("ssl.endpoint.identification.algorithm", "none".to_string()));
        }
        props
    }

    /// One line for the startup log: protocol, mechanism and user, never the password.
    pub fn summary(&self) -> String {
        let mut s = self.protocol.to_string();
        if let (Some(m), Some(u)) = (self.sasl_mechanism, &self.sasl_username) {
            s.push_str(&format!(" {m} as {u}"));
        }
        if self.ssl_certificate_location.is_some() {
            s.push_str(" with a client certificate");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scram() -> KafkaSecurity {
        KafkaSecurity {
            protocol: SecurityProtocol::SaslSsl,
            sasl_mechanism: Some(SaslMechanism::ScramSha512),
            sasl_username: Some("app".into()),
            sasl_password: Some(Secret::new("hunter2")),
            ..Default::default()
        }
    }

    #[test]
    fn plaintext_adds_no_properties() {
        assert!(KafkaSecurity::default().properties().is_empty());
        assert_eq!(KafkaSecurity::default().validate(), Ok(()));
    }

    #[test]
    fn sasl_ssl_maps_to_librdkafka_properties() {
        let props = scram().properties();
        let get = |k: &str| {
            props
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(get("sasl.username"), Some("app"));
        assert_eq!(get("sasl.password"), Some("hunter2"));
        assert_eq!(get("ssl.endpoint.identification.algorithm"), None);
    }

    #[test]
    fn half_set_configurations_name_the_missing_flag() {
        let mut s = scram();
        s.sasl_mechanism = None;
        assert!(s.validate().unwrap_err().contains("--sasl-mechanism"));
        let mut s = scram();
        s.sasl_password = None;
        assert!(s.validate().unwrap_err().contains("--sasl-password"));
        let mut s = scram();
        s.protocol = SecurityProtocol::Ssl;
        assert!(s.validate().unwrap_err().contains("sasl_ssl"));
        let tls_on_plaintext = KafkaSecurity {
            ssl_skip_hostname_verification: true,
            ..Default::default()
        };
        assert!(tls_on_plaintext.validate().unwrap_err().contains("ssl"));
        let cert_without_key = KafkaSecurity {
            protocol: SecurityProtocol::Ssl,
            ssl_certificate_location: Some("Cargo.toml".into()),
            ..Default::default()
        };
        assert!(cert_without_key
            .validate()
            .unwrap_err()
            .contains("--ssl-key-location"));
        let missing_ca = KafkaSecurity {
            protocol: SecurityProtocol::Ssl,
            ssl_ca_location: Some("/nonexistent/ca.pem".into()),
            ..Default::default()
        };
        assert!(missing_ca
            .validate()
            .unwrap_err()
            .contains("/nonexistent/ca.pem"));
    }

    #[test]
    fn the_password_never_prints() {
        let s = scram();
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!s.summary().contains("hunter2"));
        assert_eq!(s.summary(), "sasl_ssl SCRAM-SHA-512 as app");
    }
}
