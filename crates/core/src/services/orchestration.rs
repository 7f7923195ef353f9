//! Heat: orchestration (upstream `heat` chart).

use super::model::{API, COMPUTE_ONLY, Chart, NOTIFYING, PublicApi, SERVICE_API, Service, TESTED};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "orchestration",
    aliases: &[],
    stage: 2,
    stateful: false,
    project: "heat",
    feature: None,
    charts: &[Chart {
        public_apis: &[
            PublicApi::new("orchestration", "heat-api", "api", 8004, SERVICE_API).typed(8004),
            PublicApi::new(
                "cloudformation",
                "heat-cfn",
                "api",
                8000,
                &[("/manifests/service_cfn", "true", "true")],
            )
            .typed(8000),
        ],
        ..Chart::openstack("heat")
    }],
    credentials: &[API, TESTED, NOTIFYING],
    presets: COMPUTE_ONLY,
};
