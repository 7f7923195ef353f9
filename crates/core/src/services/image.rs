//! Glance: the image service (upstream `glance` chart).

use super::model::{
    API, CORE_AND_COMPUTE, Chart, NOTIFYING, PublicApi, SERVICE_API, Service, TESTED,
};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "image",
    aliases: &[],
    stage: 2,
    stateful: false,
    project: "glance",
    feature: Some("glance"),
    charts: &[Chart {
        public_apis: &[PublicApi::new(
            "image",
            "glance-api",
            "api",
            9292,
            SERVICE_API,
        )],
        ..Chart::openstack("glance")
    }],
    credentials: &[API, TESTED, NOTIFYING],
    presets: CORE_AND_COMPUTE,
};
