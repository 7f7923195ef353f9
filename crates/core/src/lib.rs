//! Shared core of the Rockoon controller suite.
//!
//! Every binary (`osdpl`, `secrets`, `health`, `node`, `ceph-exchange`) is a thin `main` over
//! this crate. Module map:
//!
//! - [`crd`]: the custom resource types; the source of `deploy/crds/`.
//! - [`ceph`]: Ceph's published data (`openstack-ceph-keys`) as the templates' `ceph` value.
//! - [`catalog`]: service names accepted in `features.services`.
//! - [`settings`]: command-line and environment settings shared by all binaries.
//! - [`telemetry`]: structured logs (plain or JSON).
//! - [`metrics`]: Prometheus registry per binary and the reconcile metrics.
//! - [`admin`]: the admin HTTP server (`/metrics`, `/livez`, `/readyz`).
//! - [`error`]: stable error kinds and the per-object backoff policy.
//! - [`client`]: the Kubernetes client and waiting for CRDs.
//! - [`credentials`]: generated credential Secrets: names, layout, what each service needs.
//! - [`controller`]: running watch-driven controllers with metrics, readiness and shutdown.
//! - [`mirror`]: read-only caches of objects a reconcile reads, whose changes trigger it.
//! - [`runtime`]: what every binary starts with (admin server, client, signals).
//! - [`shutdown`]: SIGTERM/SIGINT handling.
//! - [`render`]: the pure render engine (OSDPL + context → Helm releases with values).
//! - [`values`]: pure merge and fingerprint of values layers (render engine foundation).

pub mod admin;
pub mod catalog;
pub mod ceph;
pub mod client;
pub mod controller;
pub mod crd;
pub mod credentials;
pub mod error;
pub mod metrics;
pub mod mirror;
pub mod render;
pub mod runtime;
pub mod settings;
pub mod shutdown;
pub mod telemetry;
pub mod values;

/// Version of the suite, reported in status and `--version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
