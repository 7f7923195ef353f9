//! Integration tests against the real dev cluster (one cluster for the whole run).
//!
//! Every test gets the shared cluster from `rockoon_tests::harness::cluster()` and works in a
//! namespace of its own. Under `CI=true` a missing cluster fails the run; elsewhere a test
//! without a cluster prints how to get one and returns.

// In tests a failed unwrap is a failed test with its message; that is what we want.
#![allow(clippy::unwrap_used)]

mod api_outage;
mod binaries;
mod ceph_exchange;
mod conformance;
mod corpus;
mod crds;
mod credential_restore;
mod deep_values;
mod deploy;
mod drift;
mod events;
mod gateway_routes;
mod health;
mod held;
mod helm_recovery;
mod instance_ha;
mod leader;
mod lifecycle;
mod memcached_only;
mod node;
mod ownership;
mod pod;
mod prometheus_ui;
mod real_node;
mod render_diff;
mod secrets;
mod small;
mod ssa;
mod status_truth;
mod supervisor;
mod unsupported;
mod upgrade;
mod upgrade_compute;
mod upstream_objects;
mod workloads;

/// The shared cluster, or return from the test (outside CI) when there is none.
#[macro_export]
macro_rules! cluster_or_return {
    () => {
        match rockoon_tests::harness::cluster() {
            Some(cluster) => cluster,
            None => return,
        }
    };
}
