//! Masakari: instance high availability (upstream `masakari` chart).

use super::model::{API, Chart, NO_PRESET, PublicApi, SERVICE_API, Service, TESTED};

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
    credentials: &[API, TESTED],
    presets: NO_PRESET,
};
