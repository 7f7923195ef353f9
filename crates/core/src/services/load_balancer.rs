//! Octavia: load balancing (upstream `octavia` chart).

use super::model::Credential::{Database, Identity, MemcacheKey, Messaging, Secret, Shared};
use super::model::{COMPUTE_ONLY, Chart, PublicApi, SERVICE_API, Service};

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
        Database,
        Messaging,
        Identity,
        MemcacheKey,
        Secret("heartbeat_key"),
        Secret("ca_passphrase"),
        Secret("test_password"),
        Shared("notifications_password"),
    ],
    presets: COMPUTE_ONLY,
};
