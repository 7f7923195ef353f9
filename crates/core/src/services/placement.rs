//! Placement: the resource inventory nova schedules against (upstream `placement` chart).

use super::model::Credential::{Database, Identity, MemcacheKey};
use super::model::{CORE_AND_COMPUTE, Chart, PublicApi, Service};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "placement",
    aliases: &[],
    stage: 2,
    stateful: false,
    project: "placement",
    feature: None,
    charts: &[Chart {
        public_apis: &[PublicApi::new(
            "placement",
            "placement-api",
            "api",
            8778,
            &[("/manifests/service", "true", "true")],
        )
        .typed(8778)],
        ..Chart::openstack("placement")
    }],
    credentials: &[&[Database, Identity, MemcacheKey]],
    presets: CORE_AND_COMPUTE,
};
