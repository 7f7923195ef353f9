//! The domain of the Rockoon controller suite: what an OpenStackDeployment means, with no
//! Kubernetes plumbing (no watches, servers or metrics; those are in `rockoon-runtime`, which
//! depends on this crate, never the reverse). Module map:
//!
//! - [`crd`]: the custom resource types; the source of `deploy/crds/`.
//! - [`ceph`]: Ceph's published data (`openstack-ceph-keys`) as the templates' `ceph` value.
//! - [`services`]: one descriptor per service; every per-service table is derived from them.
//! - [`error`]: the stable error-kind trait every error of the suite implements.
//! - [`names`]: well-known names (CRD, Secrets, labels, field managers, placement labels).
//! - [`ownership`]: which OpenStackDeployment owns a namespace (the oldest); the others conflict.
//! - [`enabled`]: the services an OSDPL enables, from its preset and spec, without templates.
//! - [`credentials`]: generated credential Secrets: names, layout, what each service needs.
//! - [`certificates`]: generated certificate Secrets (libvirt TLS, VeNCrypt): names, keys,
//!   which a spec needs, generation.
//! - [`secret_text`]: a Secret's data as text (non-UTF-8 values left out).
//! - [`render`]: the pure render engine (OSDPL + context → Helm releases with values).
//! - [`values`]: pure merge and fingerprint of values layers (render engine foundation).

pub mod ceph;
pub mod certificates;
pub mod crd;
pub mod credentials;
pub mod enabled;
pub mod error;
pub mod names;
pub mod ownership;
pub mod render;
pub mod secret_text;
pub mod services;
pub mod values;

/// Version of the suite, reported in status and `--version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
