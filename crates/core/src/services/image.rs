//! Glance: the image service (upstream `glance` chart).

use super::model::Credential::{Database, Identity, MemcacheKey, Messaging, Secret, Shared};
use super::model::{CORE_AND_COMPUTE, Chart, PublicApi, SERVICE_API, Service};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "image",
    aliases: &[],
    stage: 2,
    stateful: false,
    project: "glance",
    feature: Some("glance"),
    charts: &[Chart {
        public_apis: &[PublicApi::new(
            "image",
            "glance-api",
            "api",
            9292,
            SERVICE_API,
        )],
        ..Chart::openstack("glance")
    }],
    credentials: &[
        Database,
        Messaging,
        Identity,
        MemcacheKey,
        Secret("test_password"),
        Shared("notifications_password"),
    ],
    presets: CORE_AND_COMPUTE,
};
