//! `/debug/pprof/heap` and `/debug/pprof/profile?seconds=N`: heap (jemalloc) and CPU profiles
//! in pprof's protobuf format (`go tool pprof` or `pprof` read them). Served on their own
//! address, loopback by default, because profiles expose internals and cost CPU.

use axum::extract::Query;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::time::Duration;

/// jemalloc with heap profiling on: sample one allocation per 512 KiB on average (cheap
/// enough to leave on), so `/debug/pprof/heap` always has data. jemalloc is unprefixed
/// (it is the process's malloc), so its options symbol is plain `malloc_conf`.
#[allow(non_upper_case_globals)]
#[export_name = "malloc_conf"]
pub static malloc_conf: &[u8] = b"prof:true,prof_active:true,lg_prof_sample:19\0";

/// The heap right now, according to jemalloc: bytes allocated and bytes resident.
pub fn heap_stats() -> Option<streamsre_telemetry::HeapStats> {
    use tikv_jemalloc_ctl::{epoch, stats};
    epoch::advance().ok()?;
    Some(streamsre_telemetry::HeapStats {
        allocated: stats::allocated::read().ok()? as u64,
        resident: stats::resident::read().ok()? as u64,
    })
}

async fn heap() -> Response {
    let Some(ctl) = jemalloc_pprof::PROF_CTL.as_ref() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "jemalloc heap profiling is not available\n",
        )
            .into_response();
    };
    let mut ctl = ctl.lock().await;
    if !ctl.activated() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "jemalloc heap profiling is not active\n",
        )
            .into_response();
    }
    match ctl.dump_pprof() {
        Ok(pprof) => ([(header::CONTENT_TYPE, "application/octet-stream")], pprof).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("heap profile failed: {e}\n"),
        )
            .into_response(),
    }
}

#[derive(serde::Deserialize)]
struct ProfileQuery {
    seconds: Option<u64>,
}

async fn profile(Query(q): Query<ProfileQuery>) -> Response {
    let seconds = q.seconds.unwrap_or(10).clamp(1, 120);
    let guard = match pprof::ProfilerGuardBuilder::default()
        .frequency(99)
        .blocklist(&["libc", "libgcc", "pthread", "vdso"])
        .build()
    {
        Ok(g) => g,
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot start the profiler: {e}\n"),
            )
                .into_response()
        }
    };
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let encoded = guard
        .report()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|report| {
            use pprof::protos::Message;
            let profile = report.pprof().map_err(|e| e.to_string())?;
            profile.write_to_bytes().map_err(|e| e.to_string())
        });
    match encoded {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("CPU profile failed: {e}\n"),
        )
            .into_response(),
    }
}

/// Serves the profile endpoints on `addr` in the background. A debug endpoint must never take
/// the service down, so a failed bind (e.g. a second consumer on the same host) is a warning.
pub async fn serve(addr: SocketAddr) {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(%addr, error = %e, "cannot serve /debug/pprof (set --debug-addr to a free address, or off)");
            return;
        }
    };
    let router = Router::new()
        .route("/debug/pprof/heap", get(heap))
        .route("/debug/pprof/profile", get(profile));
    tracing::info!(%addr, "serving /debug/pprof/heap and /debug/pprof/profile");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "debug server stopped");
        }
    });
}
