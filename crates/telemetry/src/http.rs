//! The ops endpoints every streamsre process serves on `METRICS_ADDR`.
//!
//! - `/healthz`: the process is alive and serving. Never checks dependencies, so a database
//!   outage does not get the process restarted by its supervisor (a restart cannot fix it).
//! - `/readyz`: every dependency answered; 503 with a JSON body naming the failing one.
//! - `/metrics`: Prometheus text format.

use crate::metrics::Metrics;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The state of one dependency as `/readyz` reports it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DependencyStatus {
    /// Dependency name, e.g. `kafka` or `postgres`.
    pub name: &'static str,
    /// Whether it is usable right now.
    pub ok: bool,
    /// What was observed, e.g. `3 partitions assigned` or the error.
    pub detail: String,
}

/// Something that can tell whether the process's dependencies are usable.
///
/// A trait object rather than a closure so the pipeline can hold its own handles (consumer
/// state, connection pool) without this crate knowing their types.
pub trait ReadinessProbe: Send + Sync + 'static {
    /// Checks every dependency; implementations bound each check with a timeout.
    fn check(&self) -> Pin<Box<dyn Future<Output = Vec<DependencyStatus>> + Send + '_>>;
}

/// Shared state of the ops router.
#[derive(Clone)]
struct OpsState {
    metrics: Arc<Metrics>,
    probe: Arc<dyn ReadinessProbe>,
}

/// The live dashboard: one self-contained page (inline JS, no external requests) that polls
/// this process's `/metrics`, so an operator gets charts without Prometheus or Grafana.
const DASHBOARD_HTML: &str = include_str!("dashboard.html");

/// The ops router: `/` and `/dashboard` (live page), `/healthz`, `/readyz`, `/metrics`.
pub fn app(metrics: Arc<Metrics>, probe: Arc<dyn ReadinessProbe>) -> Router {
    Router::new()
        .route("/", get(dashboard))
        .route("/dashboard", get(dashboard))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(OpsState { metrics, probe })
}

/// A router with only `/healthz` and `/metrics`, for processes without dependencies to report
/// (the load generator).
pub fn metrics_only_app(render: Arc<dyn Fn() -> String + Send + Sync>) -> Router {
    Router::new().route("/healthz", get(healthz)).route(
        "/metrics",
        get(move || {
            let render = render.clone();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    render(),
                )
            }
        }),
    )
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn dashboard() -> axum::response::Html<&'static str> {
    axum::response::Html(DASHBOARD_HTML)
}

async fn healthz() -> &'static str {
    "ok\n"
}

#[derive(Serialize)]
struct ReadyBody {
    status: &'static str,
    dependencies: Vec<DependencyStatus>,
}

async fn readyz(State(state): State<OpsState>) -> Response {
    let dependencies = state.probe.check().await;
    let ready = dependencies.iter().all(|d| d.ok);
    let (code, status) = if ready {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    };
    (
        code,
        Json(ReadyBody {
            status,
            dependencies,
        }),
    )
        .into_response()
}

async fn metrics_text(State(state): State<OpsState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tower::ServiceExt;

    struct Toggle(AtomicBool);

    impl ReadinessProbe for Toggle {
        fn check(&self) -> Pin<Box<dyn Future<Output = Vec<DependencyStatus>> + Send + '_>> {
            let ok = self.0.load(Ordering::SeqCst);
            Box::pin(async move {
                vec![
                    DependencyStatus {
                        name: "kafka",
                        ok: true,
                        detail: "joined".into(),
                    },
                    DependencyStatus {
                        name: "postgres",
                        ok,
                        detail: if ok {
                            "ping ok".into()
                        } else {
                            "timed out".into()
                        },
                    },
                ]
            })
        }
    }

    async fn get(router: Router, path: &str) -> (StatusCode, String) {
        let res = router
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let code = res.status();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (code, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn readyz_names_the_failing_dependency_and_healthz_ignores_it() {
        let probe = Arc::new(Toggle(AtomicBool::new(false)));
        let router = app(Arc::new(Metrics::new()), probe.clone());

        let (code, body) = get(router.clone(), "/readyz").await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["status"], "not_ready");
        let pg = &json["dependencies"][1];
        assert_eq!(
            (pg["name"].as_str(), pg["ok"].as_bool()),
            (Some("postgres"), Some(false))
        );

        let (code, _) = get(router.clone(), "/healthz").await;
        assert_eq!(code, StatusCode::OK);

        probe.0.store(true, Ordering::SeqCst);
        let (code, body) = get(router.clone(), "/readyz").await;
        assert_eq!(code, StatusCode::OK, "{body}");

        let (code, body) = get(router.clone(), "/metrics").await;
        assert_eq!(code, StatusCode::OK);
        assert!(body.contains("events_consumed_total"));

        for path in ["/", "/dashboard"] {
            let (code, body) = get(router.clone(), path).await;
            assert_eq!(code, StatusCode::OK);
            assert!(body.contains("fetch(\"/metrics\""), "{path} polls /metrics");
            assert!(
                !body.contains("http://") && !body.contains("https://"),
                "no external resources"
            );
        }
    }
}
