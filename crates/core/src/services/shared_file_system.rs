//! Manila: shared file systems (upstream `manila` chart).

use super::model::Credential::Secret;
use super::model::{API, Chart, NO_PRESET, NOTIFYING, PublicApi, SERVICE_API, Service, TESTED};

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
        API,
        &[Secret("service_instance_password")],
        TESTED,
        NOTIFYING,
    ],
    presets: NO_PRESET,
};
