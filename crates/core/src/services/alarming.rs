//! Aodh: alarms on telemetry and events (upstream `aodh` chart).

use super::model::{API, Chart, NO_PRESET, PublicApi, SERVICE_API, Service};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "alarming",
    aliases: &[],
    stage: 2,
    stateful: false,
    project: "aodh",
    feature: None,
    charts: &[Chart {
        public_apis: &[PublicApi::new(
            "alarming",
            "aodh-api",
            "api",
            8042,
            SERVICE_API,
        )],
        ..Chart::openstack("aodh")
    }],
    credentials: &[API],
    presets: NO_PRESET,
};
