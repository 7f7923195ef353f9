//! etcd: distributed locks of the services that coordinate (upstream `etcd` chart).

use super::model::{CORE_AND_COMPUTE, Chart, Service};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "coordination",
    aliases: &[],
    stage: 0,
    stateful: false,
    project: "etcd",
    feature: None,
    charts: &[Chart::infra("etcd")],
    credentials: &[],
    presets: CORE_AND_COMPUTE,
};
