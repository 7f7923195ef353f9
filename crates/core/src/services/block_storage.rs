//! Cinder: block storage (upstream `cinder` chart).

use super::model::Credential::{Database, Identity, MemcacheKey, Messaging, Secret, Shared};
use super::model::{COMPUTE_ONLY, Chart, PublicApi, SERVICE_API, Service};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "block-storage",
    aliases: &[],
    stage: 2,
    stateful: false,
    project: "cinder",
    feature: Some("cinder"),
    charts: &[Chart {
        public_apis: &[PublicApi::new(
            "volumev3",
            "cinder-api",
            "api",
            8776,
            SERVICE_API,
        )],
        ..Chart::openstack("cinder")
    }],
    credentials: &[
        Database,
        Messaging,
        Identity,
        MemcacheKey,
        Secret("test_password"),
        Shared("notifications_password"),
    ],
    presets: COMPUTE_ONLY,
};
