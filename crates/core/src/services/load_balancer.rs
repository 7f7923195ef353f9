//! Octavia: load balancing (upstream `octavia` chart).

use super::model::Credential::Secret;
use super::model::{API, COMPUTE_ONLY, Chart, NOTIFYING, PublicApi, SERVICE_API, Service, TESTED};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "load-balancer",
    aliases: &[],
    stage: 2,
    stateful: false,
    project: "octavia",
    feature: Some("octavia"),
    charts: &[Chart {
        public_apis: &[PublicApi::new(
            "load_balancer",
            "octavia-api",
            "api",
            9876,
            SERVICE_API,
        )],
        ..Chart::openstack("octavia")
    }],
    credentials: &[
        API,
        &[Secret("heartbeat_key"), Secret("ca_passphrase")],
        TESTED,
        NOTIFYING,
    ],
    presets: COMPUTE_ONLY,
};
