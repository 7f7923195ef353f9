//! Public exposure: no release of its own; an HTTPRoute per public API of the enabled charts
//! (see `render::routes`). Rockoon's newer name for it is `app-gateway`.

use super::model::{CORE_AND_COMPUTE, Service};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "ingress",
    aliases: &["app-gateway"],
    stage: 0,
    stateful: false,
    project: "gateway",
    feature: None,
    charts: &[],
    credentials: &[],
    presets: CORE_AND_COMPUTE,
};
