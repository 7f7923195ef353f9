//! Tempest: the OpenStack test suite, run as a Job (upstream `tempest` chart).

use super::model::Credential::Identity;
use super::model::{Chart, NO_PRESET, Service};

/// The descriptor.
pub const SERVICE: Service = Service {
    name: "tempest",
    aliases: &[],
    stage: 2,
    stateful: false,
    project: "tempest",
    feature: None,
    charts: &[Chart::openstack("tempest")],
    credentials: &[&[Identity]],
    presets: NO_PRESET,
};
