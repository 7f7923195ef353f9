//! Manila: shared file systems (upstream `manila` chart).

use super::model::Credential::{Database, Identity, MemcacheKey, Messaging, Secret, Shared};
use super::model::{Chart, NO_PRESET, PublicApi, SERVICE_API, Service};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "shared-file-system",
    aliases: &[],
    stage: 2,
    stateful: false,
    project: "manila",
    feature: Some("manila"),
    charts: &[Chart {
        public_apis: &[
            PublicApi::new("sharev2", "manila-api", "api", 8786, SERVICE_API).typed(8786),
        ],
        ..Chart::openstack("manila")
    }],
    credentials: &[
        Database,
        Messaging,
        Identity,
        MemcacheKey,
        Secret("service_instance_password"),
        Secret("test_password"),
        Shared("notifications_password"),
    ],
    presets: NO_PRESET,
};
