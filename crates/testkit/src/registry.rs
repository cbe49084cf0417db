//! A stand-in for a Confluent-compatible schema registry. No such server is packaged for these
//! machines, so the Avro tests run this: the smallest part of the documented REST API that
//! the real Python `AvroSerializer` (registering) and streamsre (fetching) call, with the
//! registry's error shape. It is fed by the real client, so the framing and the requests are
//! not ours.
//!
//! - `POST /subjects/{subject}/versions` `{"schema": "…"}` → `{"id": N}` (the same schema
//!   text gets the same id, as in the real registry);
//! - `GET /schemas/ids/{id}` → `{"schema": "…"}`, or 404 `{"error_code": 40403, "message": …}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

#[derive(Default)]
struct Store {
    /// Schema text by id - 1.
    schemas: Mutex<Vec<String>>,
    /// `GET /schemas/ids/{id}` requests answered.
    lookups: AtomicU64,
}

/// A running stand-in on 127.0.0.1; [`RegistryStandIn::stop`] and
/// [`RegistryStandIn::start_again`] make it unreachable and back, on the same port.
pub struct RegistryStandIn {
    /// `host:port`.
    pub addr: String,
    store: Arc<Store>,
    server: Option<JoinHandle<()>>,
}

impl RegistryStandIn {
    /// Starts it on a free port.
    pub async fn start() -> Self {
        let mut registry = Self {
            addr: crate::free_addr(),
            store: Arc::new(Store::default()),
            server: None,
        };
        registry.start_again().await;
        registry
    }

    /// `http://host:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many schema lookups by id it has answered.
    pub fn lookups(&self) -> u64 {
        self.store.lookups.load(Ordering::SeqCst)
    }

    /// Registers `schema` directly (as a registry holding it from an earlier producer would);
    /// returns its id.
    pub fn register(&self, schema: &str) -> u32 {
        register(&self.store, schema)
    }

    /// Stops serving: connections are refused until [`RegistryStandIn::start_again`].
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }

    /// Serves again on the same address, with the same schemas.
    pub async fn start_again(&mut self) {
        self.stop();
        let app = Router::new()
            .route("/subjects/{subject}/versions", post(register_handler))
            .route("/schemas/ids/{id}", get(lookup_handler))
            .with_state(self.store.clone());
        let listener = tokio::net::TcpListener::bind(&self.addr)
            .await
            .expect("bind the registry stand-in");
        self.server = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    }
}

impl Drop for RegistryStandIn {
    fn drop(&mut self) {
        self.stop();
    }
}

fn register(store: &Store, schema: &str) -> u32 {
    let mut schemas = store.schemas.lock().unwrap_or_else(|e| e.into_inner());
    let index = match schemas.iter().position(|s| s == schema) {
        Some(i) => i,
        None => {
            schemas.push(schema.to_string());
            schemas.len() - 1
        }
    };
    index as u32 + 1
}

async fn register_handler(
    State(store): State<Arc<Store>>,
    Path(subject): Path<String>,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    match body.get("schema").and_then(Value::as_str) {
        Some(schema) => {
            let id = register(&store, schema);
            (
                StatusCode::OK,
                Json(json!({"id": id, "subject": subject, "version": id, "schema": schema})),
            )
        }
        None => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error_code": 42201, "message": "Invalid schema: no \"schema\" field"})),
        ),
    }
}

async fn lookup_handler(
    State(store): State<Arc<Store>>,
    Path(id): Path<u32>,
) -> (StatusCode, Json<Value>) {
    store.lookups.fetch_add(1, Ordering::SeqCst);
    let schemas = store.schemas.lock().unwrap_or_else(|e| e.into_inner());
    match id.checked_sub(1).and_then(|i| schemas.get(i as usize)) {
        Some(schema) => (StatusCode::OK, Json(json!({"schema": schema}))),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error_code": 40403, "message": format!("Schema {id} not found")})),
        ),
    }
}
