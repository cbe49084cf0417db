//! Metrics of the lab's own processes: the load generator (`streamsre produce
//! --metrics-addr`) and the slow HTTP sink (`streamsre sink`), so the source and the
//! downstream of an experiment are observable with the same tools as the consumer. Rendered
//! by the same `streamsre_telemetry::metrics::render` as the consumer's, in the Prometheus
//! 0.0.4 text format.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use streamsre_telemetry::metrics::render;

/// Metrics of the load generator (`streamsre produce --metrics-addr`), so the source side of
/// an experiment is observable with the same tools as the consumer.
pub struct ProducerMetrics {
    registry: Registry,
    sent: Counter,
    acked: Counter,
    failed: Counter,
    behind: Gauge<f64, std::sync::atomic::AtomicU64>,
    target_rate: Gauge<f64, std::sync::atomic::AtomicU64>,
}

impl ProducerMetrics {
    /// Creates and registers the producer's metrics.
    pub fn new(target_rate: f64) -> Self {
        let mut registry = Registry::default();
        let m = Self {
            registry: Registry::default(),
            sent: Counter::default(),
            acked: Counter::default(),
            failed: Counter::default(),
            behind: Gauge::default(),
            target_rate: Gauge::default(),
        };
        registry.register(
            "produce_sent",
            "Messages handed to the Kafka client",
            m.sent.clone(),
        );
        registry.register(
            "produce_acked",
            "Messages acknowledged by the broker",
            m.acked.clone(),
        );
        registry.register(
            "produce_failed",
            "Messages whose delivery failed",
            m.failed.clone(),
        );
        registry.register(
            "produce_behind_schedule_seconds",
            "Largest lateness of a send against the open-model schedule so far",
            m.behind.clone(),
        );
        registry.register(
            "produce_target_rate",
            "Requested send rate in events per second (0 = unlimited)",
            m.target_rate.clone(),
        );
        m.target_rate.set(target_rate);
        Self { registry, ..m }
    }

    /// Brings the counters up to the totals reported by the load generator.
    pub fn update(&self, sent: u64, acked: u64, failed: u64, behind_seconds: f64) {
        for (counter, total) in [
            (&self.sent, sent),
            (&self.acked, acked),
            (&self.failed, failed),
        ] {
            counter.inc_by(total.saturating_sub(counter.get()));
        }
        self.behind.set(behind_seconds);
    }

    /// Renders the registry in the Prometheus text format (version 0.0.4).
    pub fn encode(&self) -> String {
        render(&self.registry)
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: &'static str,
    code: u16,
}

/// Metrics of the slow HTTP sink service (`streamsre sink`).
pub struct SinkServiceMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    accepted: Counter,
    rejected: Counter,
    rate_limit: Gauge,
    paused: Gauge,
    stalling: Gauge,
    keys: Gauge,
}

impl Default for SinkServiceMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl SinkServiceMetrics {
    /// Creates and registers the sink service's metrics.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let m = Self {
            registry: Registry::default(),
            requests: Family::default(),
            accepted: Counter::default(),
            rejected: Counter::default(),
            rate_limit: Gauge::default(),
            paused: Gauge::default(),
            stalling: Gauge::default(),
            keys: Gauge::default(),
        };
        registry.register(
            "sink_service_requests",
            "HTTP requests to the sink service, by endpoint and status code",
            m.requests.clone(),
        );
        registry.register(
            "sink_service_events_accepted",
            "Events the sink service accepted",
            m.accepted.clone(),
        );
        registry.register(
            "sink_service_events_rejected",
            "Events refused with 429 (over the rate limit, stalled or paused)",
            m.rejected.clone(),
        );
        registry.register(
            "sink_service_rate_limit",
            "Current rate limit in events per second (0 = unlimited)",
            m.rate_limit.clone(),
        );
        registry.register(
            "sink_service_paused",
            "1 while paused through the control API",
            m.paused.clone(),
        );
        registry.register(
            "sink_service_stalling",
            "1 during a scheduled stall",
            m.stalling.clone(),
        );
        registry.register(
            "sink_service_distinct_keys",
            "Distinct event keys accepted so far",
            m.keys.clone(),
        );
        for (endpoint, code) in [
            ("single", 200),
            ("batch", 200),
            ("single", 429),
            ("batch", 429),
        ] {
            drop(m.requests.get_or_create(&RequestLabels { endpoint, code }));
        }
        Self { registry, ..m }
    }

    /// Counts one request.
    pub fn request(&self, endpoint: &'static str, code: u16) {
        self.requests
            .get_or_create(&RequestLabels { endpoint, code })
            .inc();
    }

    /// Counts accepted or rejected events.
    pub fn events(&self, accepted: bool, n: u64) {
        if accepted {
            self.accepted.inc_by(n);
        } else {
            self.rejected.inc_by(n);
        }
    }

    /// Publishes the service's state.
    pub fn state(&self, rate_limit: u32, paused: bool, stalling: bool, distinct_keys: usize) {
        self.rate_limit.set(i64::from(rate_limit));
        self.paused.set(i64::from(paused));
        self.stalling.set(i64::from(stalling));
        self.keys.set(distinct_keys as i64);
    }

    /// Renders the registry in the Prometheus text format (version 0.0.4).
    pub fn encode(&self) -> String {
        render(&self.registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn producer_counters_follow_the_reported_totals() {
        let m = ProducerMetrics::new(5000.0);
        m.update(10, 8, 0, 0.0);
        m.update(25, 20, 1, 0.3);
        let text = m.encode();
        for needle in [
            "produce_sent_total 25",
            "produce_acked_total 20",
            "produce_failed_total 1",
            "produce_behind_schedule_seconds 0.3",
            "produce_target_rate 5000",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }
}
