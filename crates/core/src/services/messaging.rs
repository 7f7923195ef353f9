//! RabbitMQ: the message buses, one instance per service that has its own (upstream `rabbitmq` chart).

use super::model::Credential::{Secret, Shared};
use super::model::{CORE_AND_COMPUTE, Chart, Service};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "messaging",
    aliases: &[],
    stage: 0,
    stateful: true,
    project: "rabbitmq",
    feature: Some("messaging"),
    charts: &[Chart::infra("rabbitmq")],
    credentials: &[
        Secret("erlang_cookie"),
        // The chart's built-in `guest` administrator: never its well-known default.
        Secret("guest_password"),
        // The one user of the notifications instance that every service publishes as.
        Shared("notifications_password"),
    ],
    presets: CORE_AND_COMPUTE,
};
