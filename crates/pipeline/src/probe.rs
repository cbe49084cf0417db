//! Readiness: the group is joined or joining, the schema registry (with Avro values) answers, the sink (Postgres or the HTTP service) answers a ping in time, no partition of
//! this member is stuck, and no partition with lag has gone without an owner.

use crate::registry::SchemaRegistry;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use streamsre_kafka::lag::{GroupCheck, SharedLagView};
use streamsre_kafka::source::{GroupState, KafkaHealth};
use streamsre_sink::Sink;
use streamsre_telemetry::{DependencyStatus, ReadinessProbe};

pub(crate) struct Probe {
    health: Arc<KafkaHealth>,
    lag: SharedLagView,
    /// Name of the sink dependency (`postgres` or `http_sink`).
    sink_name: &'static str,
    /// Set once the sink is usable (Postgres reached and migrated, or the HTTP client built);
    /// until then "not ready".
    sink: OnceLock<Sink>,
    timeout: Duration,
    /// With Avro values: the schema registry, a dependency of its own.
    registry: Option<Arc<SchemaRegistry>>,
}

impl Probe {
    pub(crate) fn new(
        health: Arc<KafkaHealth>,
        lag: SharedLagView,
        sink_name: &'static str,
        timeout: Duration,
        registry: Option<Arc<SchemaRegistry>>,
    ) -> Self {
        Self {
            health,
            lag,
            sink_name,
            sink: OnceLock::new(),
            timeout,
            registry,
        }
    }

    pub(crate) fn set_sink(&self, sink: Sink) {
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
                (
                    false,
                    format!(
                        "no progress for --stuck-after on partition(s) {}",
                        with_lag(&view.stuck)
                    ),
                )
            };
            let group = group_status(&view.group);
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
            let mut deps = vec![
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
                group,
            ];
            if let Some(registry) = &self.registry {
                let (ok, detail) = registry.health();
                deps.push(DependencyStatus {
                    name: "schema_registry",
                    ok,
                    detail,
                });
            }
            deps
        })
    }
}

/// Partitions for a human: `0 (lag 120), 3 (lag 7)`.
fn with_lag(partitions: &[(i32, i64)]) -> String {
    partitions
        .iter()
        .map(|(p, lag)| format!("{p} (lag {lag})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `group` dependency: not ready while partitions with lag have no live owner.
fn group_status(check: &GroupCheck) -> DependencyStatus {
    let (ok, detail) = if check.unowned.is_empty() {
        let detail = match &check.error {
            // Not a readiness failure by itself: the `kafka` dependency covers the broker.
            Some(e) => format!("cannot describe the group to check ownership: {e}"),
            None => "every partition with lag has an owner or is making progress".to_string(),
        };
        (true, detail)
    } else {
        let mut detail = format!(
            "partition(s) {} have had lag and no live owner for --stuck-after; ",
            with_lag(&check.unowned)
        );
        match (&check.members, &check.error) {
            (Some(members), _) => {
                detail.push_str(&format!("the coordinator lists members: {members}"));
                if !check.assignments_reported {
                    detail.push_str(" (it reports no assignments, so only this member's own are known)");
                }
            }
            (None, error) => detail.push_str(&format!(
                "the coordinator could not be asked who owns them ({}), so this is this member's view: they are not its own and nobody moves them",
                error.as_deref().unwrap_or("no answer")
            )),
        }
        if check.gave_up {
            detail.push_str(&format!(
                "; rejoined the group {} times without getting them: the group coordinator needs attention",
                check.rejoins
            ));
        } else if check.rejoins > 0 {
            detail.push_str(&format!(
                "; rejoined the group {} time(s) so far",
                check.rejoins
            ));
        }
        (false, detail)
    };
    DependencyStatus {
        name: "group",
        ok,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_is_ready_unless_partitions_are_unowned() {
        let healthy = group_status(&GroupCheck::default());
        assert!(healthy.ok, "{}", healthy.detail);
        let failed_describe = group_status(&GroupCheck {
            error: Some("timed out".into()),
            ..GroupCheck::default()
        });
        assert!(failed_describe.ok && failed_describe.detail.contains("timed out"));

        let stuck = group_status(&GroupCheck {
            unowned: vec![(0, 120), (3, 7)],
            members: Some("c-1@127.0.0.1".into()),
            assignments_reported: false,
            rejoins: 5,
            gave_up: true,
            error: None,
        });
        assert!(!stuck.ok);
        assert_eq!(stuck.name, "group");
        for part in [
            "0 (lag 120)",
            "3 (lag 7)",
            "c-1@127.0.0.1",
            "5 times",
            "reports no assignments",
        ] {
            assert!(
                stuck.detail.contains(part),
                "{part} missing from {}",
                stuck.detail
            );
        }
    }
}
