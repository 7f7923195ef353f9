//! Masakari: instance high availability (upstream `masakari` chart).

use super::model::Credential::{Database, Identity, MemcacheKey, Messaging, Secret};
use super::model::{Chart, NO_PRESET, PublicApi, SERVICE_API, Service};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "instance-ha",
    aliases: &[],
    stage: 2,
    stateful: false,
    project: "masakari",
    feature: Some("masakari"),
    charts: &[Chart {
        public_apis: &[PublicApi::new(
            "instance_ha",
            "masakari-api",
            "api",
            15868,
            SERVICE_API,
        )],
        ..Chart::openstack("masakari")
    }],
    credentials: &[
        Database,
        Messaging,
        Identity,
        MemcacheKey,
        Secret("test_password"),
    ],
    presets: NO_PRESET,
};
