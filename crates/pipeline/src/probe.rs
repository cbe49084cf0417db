//! Readiness: the group is joined or joining, and Postgres answers a ping in time.

use crate::backend::Backend;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use streamsre_kafka::lag::SharedLagView;
use streamsre_kafka::source::{GroupState, KafkaHealth};
use streamsre_telemetry::{DependencyStatus, ReadinessProbe};

pub(crate) struct Probe {
    health: Arc<KafkaHealth>,
    lag: SharedLagView,
    /// Name of the sink dependency (`postgres` or `http_sink`).
    sink_name: &'static str,
    /// Set once the sink is usable (Postgres reached and migrated); until then "not ready".
    sink: OnceLock<Backend>,
    timeout: Duration,
}

impl Probe {
    pub(crate) fn new(
        health: Arc<KafkaHealth>,
        lag: SharedLagView,
        sink_name: &'static str,
        timeout: Duration,
    ) -> Self {
        Self {
            health,
            lag,
            sink_name,
            sink: OnceLock::new(),
            timeout,
        }
    }

    pub(crate) fn set_sink(&self, sink: Backend) {
        let _ = self.sink.set(sink);
    }
}

impl ReadinessProbe for Probe {
    fn check(&self) -> Pin<Box<dyn Future<Output = Vec<DependencyStatus>> + Send + '_>> {
        Box::pin(async move {
            let view = self.lag.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let kafka = match (self.health.state(), view.metadata) {
                (GroupState::Failed(reason), _) => (false, reason),
                (_, Some(Err(reason))) => (false, reason),
                (GroupState::Joining, _) => (true, "joining the consumer group".to_string()),
                (GroupState::Assigned(n), _) => (true, format!("{n} partitions assigned")),
            };
            let partitions = if view.stuck.is_empty() {
                (
                    true,
                    "every partition with lag is making progress".to_string(),
                )
            } else {
                let list: Vec<String> = view
                    .stuck
                    .iter()
                    .map(|(p, lag)| format!("{p} (lag {lag})"))
                    .collect();
                (
                    false,
                    format!(
                        "no progress for --stuck-after on partition(s) {}",
                        list.join(", ")
                    ),
                )
            };
            let postgres = match self.sink.get() {
                None => (
                    false,
                    "not connected yet (waiting for database / migrations)".to_string(),
                ),
                Some(sink) => match sink.ping(self.timeout).await {
                    Ok(()) => (true, "ping ok".to_string()),
                    Err(e) => (false, e.reason().to_string()),
                },
            };
            vec![
                DependencyStatus {
                    name: "kafka",
                    ok: kafka.0,
                    detail: kafka.1,
                },
                DependencyStatus {
                    name: self.sink_name,
                    ok: postgres.0,
                    detail: postgres.1,
                },
                DependencyStatus {
                    name: "partitions",
                    ok: partitions.0,
                    detail: partitions.1,
                },
            ]
        })
    }
}
