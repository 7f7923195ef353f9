//! Heat: orchestration (upstream `heat` chart).

use super::model::Credential::{Database, Identity, MemcacheKey, Messaging, Secret, Shared};
use super::model::{COMPUTE_ONLY, Chart, PublicApi, SERVICE_API, Service};

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
    credentials: &[
        Database,
        Messaging,
        Identity,
        MemcacheKey,
        Secret("test_password"),
        Shared("notifications_password"),
    ],
    presets: COMPUTE_ONLY,
};
