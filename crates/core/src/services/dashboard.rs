//! Horizon: the web dashboard (upstream `horizon` chart).

use super::model::Credential::{Database, MemcacheKey, Secret};
use super::model::{CORE_AND_COMPUTE, Chart, PublicApi, Service};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "dashboard",
    aliases: &[],
    stage: 2,
    stateful: false,
    project: "horizon",
    feature: Some("horizon"),
    charts: &[Chart {
        public_apis: &[PublicApi::new(
            "dashboard",
            "horizon-int",
            "web",
            80,
            &[("/manifests/service", "true", "true")],
        )
        .internal_port()],
        ..Chart::openstack("horizon")
    }],
    credentials: &[&[Database, MemcacheKey, Secret("secret_key")]],
    presets: CORE_AND_COMPUTE,
};
