//! Memcached: the token and API caches (upstream `memcached` chart).

use super::model::{CORE_AND_COMPUTE, Chart, Service};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "memcached",
    aliases: &[],
    stage: 0,
    stateful: false,
    project: "memcached",
    feature: None,
    charts: &[Chart::infra("memcached")],
    credentials: &[],
    presets: CORE_AND_COMPUTE,
};
