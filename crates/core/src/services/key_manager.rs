//! Barbican: key management (upstream `barbican` chart).

use super::model::Credential::Secret;
use super::model::{API, COMPUTE_ONLY, Chart, NOTIFYING, PublicApi, SERVICE_API, Service};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "key-manager",
    aliases: &[],
    stage: 2,
    stateful: false,
    project: "barbican",
    feature: Some("barbican"),
    charts: &[Chart {
        public_apis: &[
            PublicApi::new("key_manager", "barbican-api", "api", 9311, SERVICE_API).typed(9311),
        ],
        ..Chart::openstack("barbican")
    }],
    // NOTIFYING: the CADF audit events of features.logging.cadf go to the notifications
    // RabbitMQ.
    credentials: &[API, &[Secret("kek")], NOTIFYING],
    presets: COMPUTE_ONLY,
};
