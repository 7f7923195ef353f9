//! RabbitMQ: the message buses, one instance per service that has its own (upstream `rabbitmq` chart).

use super::model::Credential::Secret;
use super::model::{CORE_AND_COMPUTE, Chart, NOTIFYING, Service};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "messaging",
    aliases: &[],
    stage: 0,
    stateful: true,
    project: "rabbitmq",
    feature: Some("messaging"),
    charts: &[Chart::infra("rabbitmq")],
    // `guest_password`: the chart's built-in `guest` administrator, never its well-known
    // default; NOTIFYING: the one user of the notifications instance every service publishes as.
    credentials: &[
        &[Secret("erlang_cookie"), Secret("guest_password")],
        NOTIFYING,
    ],
    presets: CORE_AND_COMPUTE,
};
