//! Cinder: block storage (upstream `cinder` chart).

use super::model::{API, COMPUTE_ONLY, Chart, NOTIFYING, PublicApi, SERVICE_API, Service, TESTED};

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
    credentials: &[API, TESTED, NOTIFYING],
    presets: COMPUTE_ONLY,
};
