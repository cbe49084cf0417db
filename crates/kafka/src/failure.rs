//! Why a client cannot talk to the cluster, in one sentence an operator can act on.
//!
//! librdkafka reports a bad password, an untrusted certificate or a wrong port as a stream of
//! retries ("1/1 brokers are down", FAIL lines every backoff), and reports a certificate for
//! the wrong host exactly like one from an unknown CA. Here its error and log lines become a
//! [`Cause`]: permanent ones (only the operator can fix them) and the transient one (the
//! broker is down; it comes back). A certificate failure is settled by looking at the
//! broker's certificate ourselves ([`crate::tls_check`]).

use crate::security::{KafkaSecurity, SecurityProtocol};
use rdkafka::error::RDKafkaErrorCode;
use std::fmt;

/// What is wrong with the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The broker rejected the SASL credentials (bad password, unknown user, wrong mechanism).
    Authentication,
    /// The broker's certificate is not signed by a CA the client trusts.
    UntrustedCertificate,
    /// The broker's certificate is valid but names other hosts.
    WrongHostCertificate,
    /// The broker's certificate failed verification for another reason (expired, …).
    RejectedCertificate,
    /// The listener requires a client certificate (mTLS) and none, or a refused one, was sent.
    ClientCertificateRequired,
    /// A plaintext client reached a TLS listener: the broker hung up at the first request.
    TlsListener,
    /// A TLS client reached a listener that does not answer TLS.
    NotTlsListener,
    /// No connection: refused, unresolvable or timed out. Transient.
    Unreachable,
}

impl Cause {
    /// Whether only the operator can fix it (credentials, certificates, protocol). The client
    /// keeps retrying either way, so a fix at the broker is picked up without a restart.
    pub fn permanent(&self) -> bool {
        !matches!(self, Self::Unreachable)
    }

    /// Short label for metrics and tests.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Authentication => "authentication",
            Self::UntrustedCertificate => "untrusted_certificate",
            Self::WrongHostCertificate => "wrong_host_certificate",
            Self::RejectedCertificate => "rejected_certificate",
            Self::ClientCertificateRequired => "client_certificate_required",
            Self::TlsListener => "tls_listener",
            Self::NotTlsListener => "not_tls_listener",
            Self::Unreachable => "unreachable",
        }
    }
}

/// A classified failure: the cause, the broker it concerns and the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What is wrong.
    pub cause: Cause,
    /// `host:port` of the broker, when the line named one.
    pub broker: Option<String>,
    /// librdkafka's own words (or the certificate check's), without retry counters.
    pub detail: String,
}

impl Failure {
    /// The one line logged and shown by `/readyz`: cause, the fix, then the evidence.
    pub fn message(&self, security: &KafkaSecurity) -> String {
        let broker = self.broker.as_deref().unwrap_or("the broker");
        let p = security.protocol;
        let what = match self.cause {
            Cause::Authentication => format!(
                "authentication failed: {broker} rejected {} for user {:?}; check --sasl-username, \
                 --sasl-password and --sasl-mechanism",
                security.sasl_mechanism.map_or("SASL", |m| m.as_str()),
                security.sasl_username.as_deref().unwrap_or("")
            ),
            Cause::UntrustedCertificate => format!(
                "TLS: the certificate of {broker} is not signed by a trusted CA; pass the CA that \
                 signed it with --ssl-ca-location{}",
                security
                    .ssl_ca_location
                    .as_ref()
                    .map(|p| format!(" (now {})", p.display()))
                    .unwrap_or_default()
            ),
            Cause::WrongHostCertificate => format!(
                "TLS: the certificate of {broker} is for another host; connect with a name the \
                 certificate lists (or, knowingly, --ssl-skip-hostname-verification)"
            ),
            Cause::RejectedCertificate => {
                format!("TLS: the certificate of {broker} was rejected")
            }
            Cause::ClientCertificateRequired => format!(
                "TLS: {broker} requires a client certificate it accepts (mTLS); pass \
                 --ssl-certificate-location and --ssl-key-location"
            ),
            Cause::TlsListener => format!(
                "{broker} closed the connection at the first request: it is probably a TLS \
                 listener, and --security-protocol is {p} (use ssl or sasl_ssl)"
            ),
            Cause::NotTlsListener => format!(
                "TLS: {broker} does not answer TLS: it is probably a plaintext listener, and \
                 --security-protocol is {p} (use plaintext or sasl_plaintext)"
            ),
            Cause::Unreachable => format!("{broker} is unreachable (will keep retrying)"),
        };
        format!("{what} [{}: {}]", self.cause.label(), self.detail)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.cause.label(), self.detail)
    }
}

/// Classifies one librdkafka error or log line; `None` for lines that are not connection
/// failures (or say nothing new, like "1/1 brokers are down").
pub fn classify(
    code: Option<RDKafkaErrorCode>,
    text: &str,
    protocol: SecurityProtocol,
) -> Option<Failure> {
    let has = |needle: &str| text.contains(needle);
    let cause = if code == Some(RDKafkaErrorCode::Authentication)
        || has("SASL authentication error")
        || has("Authentication failed")
    {
        Cause::Authentication
    } else if has("certificate required") {
        Cause::ClientCertificateRequired
    } else if has("certificate verify failed") {
        // Refined by looking at the certificate (tls_check): librdkafka says the same for an
        // unknown CA and a wrong host.
        Cause::UntrustedCertificate
    } else if has("state SSL_HANDSHAKE") && (has("timed out") || has("wrong version number"))
        || has("packet length too long")
    {
        Cause::NotTlsListener
    } else if !protocol.tls() && has("Disconnected") && has("state APIVERSION_QUERY") {
        Cause::TlsListener
    } else if has("Connection refused")
        || has("Failed to resolve")
        || has("timed out in state CONNECT")
        || (has("Connect to") && has("failed"))
    {
        Cause::Unreachable
    } else {
        return None;
    };
    Some(Failure {
        cause,
        broker: broker_in(text),
        detail: evidence(text),
    })
}

/// `host:port` from a line such as `[thrd:…]: sasl_ssl://kafka-1:9093/bootstrap: SSL …` or
/// `kafka-1:9092/1: Connect to … failed`.
fn broker_in(text: &str) -> Option<String> {
    let line = text.rsplit_once("]: ").map_or(text, |(_, rest)| rest);
    let token = line.split(": ").next()?;
    let token = token.split_once("://").map_or(token, |(_, rest)| rest);
    let addr = token.split('/').next()?;
    (addr.contains(':') && !addr.contains(' ')).then(|| addr.to_string())
}

/// The part of the line after the broker prefix, without librdkafka's timing and
/// suppression counters, so the same failure reads the same every time.
fn evidence(text: &str) -> String {
    let mut s = text.rsplit_once("]: ").map_or(text, |(_, rest)| rest);
    if broker_in(s).is_some() {
        // Drop the "sasl_ssl://host:port/bootstrap: " prefix.
        s = s.split_once(": ").map_or(s, |(_, rest)| rest);
    }
    let s = s.find(" (after ").map_or(s, |i| &s[..i]);
    s.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use SecurityProtocol::*;

    // Lines as librdkafka 2.12 wrote them against Tansu 0.6 with TLS, SCRAM and mTLS.
    const BAD_PASSWORD: &str = "sasl_ssl://localhost:19093/bootstrap: SASL authentication error: SASL SCRAM authentication failed: broker responded with invalid-proof (after 40ms in state AUTH_REQ)";
    const UNKNOWN_CA: &str = "[thrd:sasl_ssl://localhost:19093/bootstrap]: sasl_ssl://localhost:19093/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate verify failed: broker certificate could not be verified, verify that ssl.ca.location is correctly configured or root CA certificates are installed (install ca-certificates package) (after 1ms in state SSL_HANDSHAKE, 1 identical error(s) suppressed)";
    const PLAINTEXT_ON_TLS: &str = "[thrd:localhost:19093/bootstrap]: localhost:19093/bootstrap: Disconnected: connection closed by peer: receive 0 after POLLIN (after 0ms in state APIVERSION_QUERY)";
    const NO_CLIENT_CERT: &str = "ssl://localhost:19096/bootstrap: Receive failed: error:0A00045C:SSL routines::tlsv13 alert certificate required: SSL alert number 116 (after 2ms in state APIVERSION_QUERY)";
    const TLS_ON_PLAINTEXT: &str = "ssl://localhost:19095/bootstrap: Connection setup timed out in state SSL_HANDSHAKE (after 3000ms in state SSL_HANDSHAKE)";
    const DOWN: &str = "[thrd:localhost:19099/bootstrap]: localhost:19099/bootstrap: Connect to ipv4#127.0.0.1:19099 failed: Connection refused (after 0ms in state CONNECT)";

    fn cause(code: Option<RDKafkaErrorCode>, text: &str, p: SecurityProtocol) -> Option<Cause> {
        classify(code, text, p).map(|f| f.cause)
    }

    #[test]
    fn each_failure_gets_its_cause() {
        let auth = Some(RDKafkaErrorCode::Authentication);
        assert_eq!(
            cause(auth, BAD_PASSWORD, SaslSsl),
            Some(Cause::Authentication)
        );
        assert_eq!(
            cause(None, UNKNOWN_CA, SaslSsl),
            Some(Cause::UntrustedCertificate)
        );
        assert_eq!(
            cause(None, PLAINTEXT_ON_TLS, Plaintext),
            Some(Cause::TlsListener)
        );
        assert_eq!(
            cause(None, NO_CLIENT_CERT, Ssl),
            Some(Cause::ClientCertificateRequired)
        );
        assert_eq!(
            cause(None, TLS_ON_PLAINTEXT, Ssl),
            Some(Cause::NotTlsListener)
        );
        assert_eq!(cause(None, DOWN, Plaintext), Some(Cause::Unreachable));
        assert_eq!(cause(None, "1/1 brokers are down", Plaintext), None);
        // A TLS client disconnected during ApiVersion is not a plaintext client on TLS.
        assert_eq!(cause(None, PLAINTEXT_ON_TLS, Ssl), None);
    }

    #[test]
    fn only_unreachable_is_transient() {
        assert!(!Cause::Unreachable.permanent());
        assert!(Cause::Authentication.permanent());
        assert!(Cause::TlsListener.permanent());
    }

    #[test]
    fn evidence_keeps_the_words_and_drops_the_counters() {
        let f = classify(None, UNKNOWN_CA, SaslSsl).unwrap();
        assert_eq!(f.broker.as_deref(), Some("localhost:19093"));
        assert!(f.detail.starts_with("SSL handshake failed"), "{}", f.detail);
        assert!(!f.detail.contains("suppressed"), "{}", f.detail);
        let f = classify(None, DOWN, Plaintext).unwrap();
        assert_eq!(f.broker.as_deref(), Some("localhost:19099"));
        assert!(f.detail.starts_with("Connect to"), "{}", f.detail);
    }

    #[test]
    fn the_message_names_the_cause_and_the_fix_but_not_the_password() {
        let security = KafkaSecurity {
            protocol: SaslSsl,
            sasl_mechanism: Some(crate::SaslMechanism::ScramSha512),
            sasl_username: Some("app".into()),
            sasl_password: Some(crate::Secret::new("hunter2")),
            ..Default::default()
        };
        let f = classify(
            Some(RDKafkaErrorCode::Authentication),
            BAD_PASSWORD,
            SaslSsl,
        )
        .unwrap();
        let m = f.message(&security);
        assert!(m.starts_with("authentication failed"), "{m}");
        assert!(m.contains("SCRAM-SHA-512") && m.contains("\"app\""), "{m}");
        assert!(!m.contains("hunter2"), "{m}");
    }
}
