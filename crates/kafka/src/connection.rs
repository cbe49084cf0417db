//! The client's connection verdict over time: fed every librdkafka error and log line, it
//! keeps the current [`Failure`], logs a cause once when it appears (not at every retry), lets
//! a transient "broker down" never hide a permanent cause, and clears on success.

use crate::config::KafkaOpts;
use crate::failure::{classify, Cause, Failure};
use crate::security::KafkaSecurity;
use crate::tls_check;
use rdkafka::client::ClientContext;
use rdkafka::config::{FromClientConfigAndContext, RDKafkaLogLevel};
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long the certificate check may take; it runs once per certificate failure.
const TLS_CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// Shared by a client's context (which feeds it) and whoever reports health.
#[derive(Debug)]
pub struct ConnectionWatch {
    security: KafkaSecurity,
    current: Mutex<Option<Failure>>,
    /// Whether a new verdict is logged here; helpers' watches leave that to their caller.
    log: bool,
}

impl ConnectionWatch {
    /// A watch for a client configured with `security` that logs each new verdict.
    pub fn new(security: KafkaSecurity) -> Self {
        Self {
            security,
            current: Mutex::new(None),
            log: true,
        }
    }

    /// A watch that only keeps the verdict, for [`QuietContext`].
    pub fn silent(security: KafkaSecurity) -> Self {
        Self {
            log: false,
            ..Self::new(security)
        }
    }

    /// Whether `code`/`text` is a connection failure (new or already known), so callers
    /// can keep it out of their own error logs.
    pub fn is_connection_failure(&self, code: Option<RDKafkaErrorCode>, text: &str) -> bool {
        matches!(
            code,
            Some(
                RDKafkaErrorCode::AllBrokersDown
                    | RDKafkaErrorCode::Authentication
                    | RDKafkaErrorCode::SSL
                    | RDKafkaErrorCode::BrokerTransportFailure
            )
        ) || classify(code, text, self.security.protocol).is_some()
    }

    /// Feeds one error or log line. Returns the failure's message when the verdict changed
    /// (and was just logged), so the caller can update its health.
    pub fn observe(&self, code: Option<RDKafkaErrorCode>, text: &str) -> Option<String> {
        let mut failure = match classify(code, text, self.security.protocol) {
            Some(f) => f,
            None if code == Some(RDKafkaErrorCode::AllBrokersDown) => Failure {
                cause: Cause::Unreachable,
                broker: None,
                detail: text.to_string(),
            },
            None => return None,
        };
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(now) = current.as_ref() {
            let same = now.cause == failure.cause
                || (is_certificate(&now.cause) && is_certificate(&failure.cause));
            if same || (now.cause.permanent() && !failure.cause.permanent()) {
                return None;
            }
        }
        if failure.cause == Cause::UntrustedCertificate {
            if let (Some(broker), Some(ca)) = (&failure.broker, &self.security.ssl_ca_location) {
                if let Some(v) = tls_check::check(broker, ca, TLS_CHECK_TIMEOUT) {
                    failure.cause = v.cause;
                    failure.detail = format!("{}; librdkafka: {}", v.detail, failure.detail);
                }
            }
        }
        let message = failure.message(&self.security);
        if self.log {
            if failure.cause.permanent() {
                tracing::error!(cause = failure.cause.label(), "kafka: {message}");
            } else {
                tracing::warn!(cause = failure.cause.label(), "kafka: {message}");
            }
        }
        *current = Some(failure);
        Some(message)
    }

    /// The current failure's message, if any.
    pub fn failure(&self) -> Option<String> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|f| f.message(&self.security))
    }

    /// The client worked (a message, an assignment, metadata): forget the failure.
    pub fn clear(&self) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = current.take() {
            tracing::info!(cause = f.cause.label(), "kafka: connection works again");
        }
    }
}

/// The context of every client but the source's consumer (admin, lag, DLQ producers, the
/// commands): librdkafka's lines go to debug, and connection failures to a silent watch
/// that [`QuietContext::explain`] reads when an operation fails.
#[derive(Clone)]
pub struct QuietContext {
    watch: Arc<ConnectionWatch>,
}

impl QuietContext {
    /// Adds the classified cause, if one was seen, to an operation's error: "metadata fetch
    /// timed out" becomes "authentication failed: … rejected SCRAM-SHA-512 for user …".
    pub fn explain(&self, err: anyhow::Error) -> anyhow::Error {
        match self.watch.failure() {
            Some(cause) => err.context(cause),
            None => err,
        }
    }
}

impl ClientContext for QuietContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        if fac == "FAIL" {
            self.watch.observe(None, log_message);
        }
        tracing::debug!(?level, fac, log_message, "librdkafka");
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.watch.observe(error.rdkafka_error_code(), reason);
        tracing::debug!(%error, reason, "librdkafka error");
    }
}

impl ConsumerContext for QuietContext {}

impl KafkaOpts {
    /// Creates a client (admin, consumer or producer) with a [`QuietContext`], `defaults`
    /// applied as in [`KafkaOpts::client_config`].
    pub fn create_quiet<T>(&self, defaults: &[(&str, &str)]) -> KafkaResult<(T, QuietContext)>
    where
        T: FromClientConfigAndContext<QuietContext>,
    {
        let context = QuietContext {
            watch: Arc::new(ConnectionWatch::silent(self.security.clone())),
        };
        let mut config = self.client_config(defaults);
        // INFO carries some failure causes (see `source/client.rs`).
        config.set_log_level(RDKafkaLogLevel::Info);
        let client = config.create_with_context(context.clone())?;
        Ok((client, context))
    }
}

fn is_certificate(cause: &Cause) -> bool {
    matches!(
        cause,
        Cause::UntrustedCertificate | Cause::WrongHostCertificate | Cause::RejectedCertificate
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecurityProtocol;

    const BAD_PASSWORD: &str = "sasl_ssl://b:9093/bootstrap: SASL authentication error: SASL SCRAM authentication failed: broker responded with invalid-proof (after 4ms in state AUTH_REQ)";

    fn watch() -> ConnectionWatch {
        ConnectionWatch::new(KafkaSecurity {
            protocol: SecurityProtocol::SaslSsl,
            ..Default::default()
        })
    }

    #[test]
    fn a_cause_is_reported_once_and_broker_down_does_not_hide_it() {
        let w = watch();
        let auth = Some(RDKafkaErrorCode::Authentication);
        assert!(w.observe(auth, BAD_PASSWORD).is_some());
        assert!(
            w.observe(auth, BAD_PASSWORD).is_none(),
            "the retry is not news"
        );
        let down = Some(RDKafkaErrorCode::AllBrokersDown);
        assert!(w.observe(down, "1/1 brokers are down").is_none());
        assert!(w.failure().unwrap().starts_with("authentication failed"));
        w.clear();
        assert!(w.failure().is_none());
        assert!(w.observe(down, "1/1 brokers are down").is_some());
        assert!(w.failure().unwrap().contains("unreachable"));
        // A permanent cause replaces a transient one.
        assert!(w.observe(auth, BAD_PASSWORD).is_some());
    }

    #[test]
    fn unrelated_lines_change_nothing() {
        let w = watch();
        assert!(w.observe(None, "Group \"g\" joined").is_none());
        assert!(w.failure().is_none());
    }
}
