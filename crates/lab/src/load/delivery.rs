//! The producer's librdkafka context: counts delivery reports (from librdkafka's background
//! thread) into the run's report, and says once why the connection fails.

use super::LoadReport;
use rdkafka::client::ClientContext;
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use streamsre_kafka::KafkaOpts;

/// Counts delivery reports from librdkafka's background thread, and says once why the
/// connection fails (bad credentials, untrusted certificate, …) instead of librdkafka's
/// retries.
#[derive(Default)]
pub(super) struct DeliveryCounter {
    acked: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
    connection: Option<streamsre_kafka::connection::ConnectionWatch>,
}

impl DeliveryCounter {
    /// A counter for a producer configured with `kafka`.
    pub(super) fn for_client(kafka: &KafkaOpts) -> Self {
        Self {
            connection: Some(streamsre_kafka::connection::ConnectionWatch::new(
                kafka.security.clone(),
            )),
            ..Self::default()
        }
    }
}

impl ClientContext for DeliveryCounter {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        if let (Some(c), "FAIL") = (&self.connection, fac) {
            c.observe(None, log_message);
        }
        tracing::debug!(?level, fac, log_message, "librdkafka");
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        if let Some(c) = &self.connection {
            c.observe(error.rdkafka_error_code(), reason);
        }
        tracing::debug!(%error, reason, "librdkafka error");
    }
}

impl ProducerContext for DeliveryCounter {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.acked.fetch_add(1, Ordering::Relaxed);
            }
            Err((err, msg)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut first = self.first_error.lock().unwrap_or_else(|e| e.into_inner());
                first.get_or_insert_with(|| {
                    format!(
                        "{err} (partition {}, offset {})",
                        msg.partition(),
                        msg.offset()
                    )
                });
            }
        }
    }
}

pub(super) fn fill_counts(report: &mut LoadReport, counter: &DeliveryCounter, start: Instant) {
    report.acked = counter.acked.load(Ordering::Relaxed);
    report.failed = counter.failed.load(Ordering::Relaxed);
    report.elapsed = start.elapsed();
    report.first_error = counter
        .first_error
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
}
