//! The Kubernetes plumbing every binary of the suite runs on.
//!
//! Dependency direction: `rockoon-runtime` → `rockoon-core`, never the reverse. The domain
//! crate (`rockoon-core`: CRD types, render, values, credentials, Ceph, catalog, names) knows
//! nothing of watches, servers or metrics; this crate knows the domain only for its error-kind
//! trait, the version and the well-known names.
//!
//! Module map:
//!
//! - [`settings`]: command-line and environment settings shared by all binaries.
//! - [`telemetry`]: structured logs (plain or JSON).
//! - [`metrics`]: Prometheus registry per binary and the reconcile metrics.
//! - [`admin`]: the admin HTTP server (`/metrics`, `/livez`, `/readyz`).
//! - [`error`]: the runtime's own errors and the stable kinds of kube client errors.
//! - [`backoff`]: the one retry policy (capped exponential).
//! - [`client`]: the Kubernetes client and waiting for CRDs.
//! - [`guard`]: decoding each watched object on its own (one unreadable object is reported,
//!   never blinds a watch); [`depth`] measures nesting without recursion.
//! - [`watch`]: the one watch cache (reflector + readiness gate + change counter).
//! - [`controller`]: running watch-driven controllers with metrics, readiness and shutdown.
//! - [`mirror`]: read-only caches of objects a reconcile reads, whose changes trigger it.
//! - [`owner`]: the namespace's OSDPLs by metadata and which of them owns the namespace.
//! - [`ssa`]: the one server-side apply helper (field manager, force, status or object).
//! - [`events`]: the one event writer (Kubernetes events with bounded notes).
//! - [`hash_key`]: the installation's key for the hashes published in status.
//! - [`leader`]: leader election over a Lease, and the gate every write passes (fencing).
//! - [`runtime`]: what every binary starts with (admin server, client, signals).
//! - [`shutdown`]: SIGTERM/SIGINT handling.

pub mod admin;
pub mod backoff;
pub mod client;
pub mod controller;
pub mod depth;
pub mod error;
pub mod events;
pub mod guard;
pub mod hash_key;
pub mod leader;
pub mod metrics;
pub mod mirror;
pub mod owner;
pub mod runtime;
pub mod settings;
pub mod shutdown;
pub mod ssa;
pub mod telemetry;
pub mod watch;
