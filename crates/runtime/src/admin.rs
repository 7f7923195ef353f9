//! Admin HTTP server of every binary: `/metrics`, `/livez`, `/readyz`.
//!
//! - `/livez` answers 200 while the async runtime keeps ticking a heartbeat; a stalled event
//!   loop (no tick for [`LIVENESS_STALL`]) answers 503 so the kubelet restarts the container.
//! - `/readyz` answers 503 with the list of pending gates (a CRD not installed yet, a watch
//!   whose first list has not completed, shutting down) and 200 once none is left.
//! - `/metrics` renders the binary's own registry in the Prometheus text format.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use prometheus::Registry;
use serde_json::json;

use crate::error::RuntimeError;
use crate::shutdown::Shutdown;

/// How long the heartbeat may stop before `/livez` fails.
pub const LIVENESS_STALL: Duration = Duration::from_secs(10);
const HEARTBEAT_PERIOD: Duration = Duration::from_secs(1);

/// Gates that must all open before the binary reports ready.
#[derive(Clone, Default, Debug)]
pub struct Readiness {
    pending: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Readiness {
    /// Adds (or updates) a gate with the reason it is closed.
    pub fn pending(&self, gate: &str, reason: impl Into<String>) {
        self.lock().insert(gate.to_owned(), reason.into());
    }

    /// Opens a gate.
    pub fn ready(&self, gate: &str) {
        self.lock().remove(gate);
    }

    /// Whether every gate is open.
    pub fn is_ready(&self) -> bool {
        self.lock().is_empty()
    }

    /// The closed gates and why.
    pub fn pending_gates(&self) -> BTreeMap<String, String> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Proof of life of the async runtime, ticked by a background task.
#[derive(Clone, Debug)]
pub struct Heartbeat {
    origin: Instant,
    last_tick_ms: Arc<AtomicU64>,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
            last_tick_ms: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Heartbeat {
    /// Records a tick now.
    pub fn tick(&self) {
        self.last_tick_ms
            .store(self.origin.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Time since the last tick.
    pub fn age(&self) -> Duration {
        let now = self.origin.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_tick_ms.load(Ordering::Relaxed)))
    }

    /// Spawns the task that ticks every second.
    pub fn spawn(&self) {
        let this = self.clone();
        this.tick();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(HEARTBEAT_PERIOD);
            loop {
                interval.tick().await;
                this.tick();
            }
        });
    }
}

/// What the admin handlers share.
#[derive(Clone)]
pub struct AdminState {
    /// The binary's metrics registry.
    pub registry: Registry,
    /// Readiness gates.
    pub readiness: Readiness,
    /// Event-loop heartbeat.
    pub heartbeat: Heartbeat,
}

/// The admin router.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .with_state(state)
}

async fn metrics(State(state): State<AdminState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(&state.registry),
    )
        .into_response()
}

async fn livez(State(state): State<AdminState>) -> Response {
    let age = state.heartbeat.age();
    if age > LIVENESS_STALL {
        let body =
            json!({"live": false, "reason": format!("event loop stalled for {}s", age.as_secs())});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    (StatusCode::OK, Json(json!({"live": true}))).into_response()
}

async fn readyz(State(state): State<AdminState>) -> Response {
    let pending = state.readiness.pending_gates();
    if pending.is_empty() {
        (StatusCode::OK, Json(json!({"ready": true}))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"ready": false, "pending": pending})),
        )
            .into_response()
    }
}

/// Binds the admin address (failing fast if it is taken) and serves until `shutdown` fires.
pub async fn serve(
    addr: SocketAddr,
    state: AdminState,
    shutdown: Shutdown,
) -> Result<tokio::task::JoinHandle<()>, RuntimeError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| RuntimeError::AdminBind { addr, source })?;
    let local = listener.local_addr().unwrap_or(addr);
    tracing::info!(addr = %local, "admin server listening");
    let app = router(state);
    Ok(tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.wait().await })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "admin server failed");
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn state() -> AdminState {
        let heartbeat = Heartbeat::default();
        heartbeat.tick();
        AdminState {
            registry: crate::metrics::registry("test"),
            readiness: Readiness::default(),
            heartbeat,
        }
    }

    async fn get(app: Router, path: &str) -> (StatusCode, String) {
        let response = app
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn readyz_lists_pending_gates_until_all_are_open() {
        let state = state();
        state
            .readiness
            .pending("watch:Secret", "initial list in progress");
        let (status, body) = get(router(state.clone()), "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("initial list in progress"), "{body}");
        state.readiness.ready("watch:Secret");
        let (status, _) = get(router(state), "/readyz").await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test]
    async fn livez_fails_when_the_heartbeat_stalls() {
        let state = state();
        let (status, _) = get(router(state.clone()), "/livez").await;
        assert_eq!(status, StatusCode::OK);
        let stalled = AdminState {
            heartbeat: Heartbeat {
                origin: Instant::now() - LIVENESS_STALL * 2,
                last_tick_ms: Arc::new(AtomicU64::new(0)),
            },
            ..state
        };
        let (status, body) = get(router(stalled), "/livez").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("stalled"));
    }

    #[tokio::test]
    async fn metrics_are_served_in_text_format() {
        let state = state();
        let metrics = crate::metrics::ReconcileMetrics::register(&state.registry).unwrap();
        drop(metrics.start("Node"));
        let (status, body) = get(router(state), "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("# TYPE rockoon_reconcile_total counter"));
        // Every sample line is `name{labels} value` with a number, as the text format says.
        for line in body
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (series, value) = line.rsplit_once(' ').expect("sample has a value");
            assert!(value.parse::<f64>().is_ok(), "not a number in {line:?}");
            let name = series.split('{').next().unwrap();
            assert!(name.starts_with("rockoon_"), "unprefixed metric {name}");
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "bad name {name}"
            );
            if let Some(labels) = series.strip_prefix(name) {
                assert!(labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')));
                assert!(
                    labels.is_empty() || labels.contains("controller=\"test\""),
                    "{line}"
                );
            }
        }
    }
}
