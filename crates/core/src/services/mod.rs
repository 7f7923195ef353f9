//! The service descriptors: one file per service of `features.services`, declaring everything
//! the suite knows about it (apply stage, the charts it deploys and their public APIs, the
//! credentials it needs, the OpenStack project and `features` section that belong to it, the
//! presets that enable it). Every table elsewhere (enabled services, chart groups, credential
//! needs, usernames, which spec paths affect a service, routes) is derived from [`ALL`].
//!
//! Its template (`templates/services/<name>.yaml`) and its images
//! (`templates/artifacts/<release>/<chart>.yaml`) are found by these names; `docs/services.md`
//! lists the steps of adding a service.

mod accepted;
mod model;
pub mod rockoon;

mod alarming;
mod block_storage;
mod compute;
mod coordination;
mod dashboard;
mod database;
mod dns;
mod identity;
mod image;
mod ingress;
mod instance_ha;
mod key_manager;
mod load_balancer;
mod memcached;
mod messaging;
mod networking;
mod object_storage;
mod orchestration;
mod placement;
mod shared_file_system;
mod tempest;

pub use accepted::{is_known_service_entry, service_entry_rule};
pub use model::{Chart, ChartGroup, Credential, PublicApi, SERVICE_API, Service};

use crate::crd::osdpl::Preset;

/// Every service this version renders, in catalog order (the apply order within a stage).
pub const ALL: &[&Service] = &[
    &database::SERVICE,
    &messaging::SERVICE,
    &memcached::SERVICE,
    &coordination::SERVICE,
    &ingress::SERVICE,
    &identity::SERVICE,
    &placement::SERVICE,
    &image::SERVICE,
    &compute::SERVICE,
    &networking::SERVICE,
    &block_storage::SERVICE,
    &dashboard::SERVICE,
    &orchestration::SERVICE,
    &dns::SERVICE,
    &load_balancer::SERVICE,
    &key_manager::SERVICE,
    &object_storage::SERVICE,
    &instance_ha::SERVICE,
    &shared_file_system::SERVICE,
    &alarming::SERVICE,
    &tempest::SERVICE,
];

/// Every service name Rockoon accepts in `features.services` (its list plus the two its
/// presets add). All are accepted here too, so `~descheduler` can remove one a preset adds;
/// those without a descriptor are `UNSUPPORTED` entries when enabled ([`rockoon`]).
pub const ROCKOON_NAMES: &[&str] = &[
    "alarming",
    "app-gateway",
    "baremetal",
    "block-storage",
    "cloudprober",
    "compute",
    "coordination",
    "dashboard",
    "database",
    "descheduler",
    "dns",
    "dynamic-resource-balancer",
    "event",
    "identity",
    "image",
    "ingress",
    "instance-ha",
    "key-manager",
    "load-balancer",
    "memcached",
    "messaging",
    "metering",
    "metric",
    "metric-storage",
    "networking",
    "object-storage",
    "orchestration",
    "placement",
    "redis",
    "shared-file-system",
    "stepler",
    "tempest",
];

/// The descriptor of a rendered service, by its name or an alias.
pub fn find(name: &str) -> Option<&'static Service> {
    ALL.iter()
        .copied()
        .find(|s| s.name == name || s.aliases.contains(&name))
}

/// The service a `features.services` name stands for (itself, or the aliased service).
pub fn canonical_name(name: &str) -> &str {
    find(name).map_or(name, |s| s.name)
}

/// Every name accepted in `features.services`: rendered services, their aliases and Rockoon's
/// names, sorted.
pub fn known_names() -> &'static [&'static str] {
    // Built once: every render checks each `features.services` entry against it.
    static NAMES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
        let mut names: Vec<&'static str> = ALL
            .iter()
            .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
            .chain(ROCKOON_NAMES.iter().copied())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    });
    &NAMES
}

/// The descriptor of the chart `name` and the service deploying it.
pub fn chart(name: &str) -> Option<(&'static Service, &'static Chart)> {
    ALL.iter()
        .flat_map(|s| s.charts.iter().map(move |c| (*s, c)))
        .find(|(_, c)| c.name == name)
}

/// Group of a chart a service template names; a chart no descriptor declares (from an
/// operator's template override) is an OpenStack chart.
pub fn chart_group(chart_name: &str) -> ChartGroup {
    chart(chart_name).map_or(ChartGroup::Openstack, |(_, c)| c.group)
}

/// The public APIs of a chart.
pub fn public_apis(chart_name: &str) -> &'static [PublicApi] {
    chart(chart_name).map_or(&[], |(_, c)| c.public_apis)
}

/// The OpenStack project behind a credential owner (a service name, `admin` or `shared`), for
/// readable usernames.
pub fn project_name(owner: &str) -> &'static str {
    find(owner).map_or("os", |s| s.project)
}

/// The service owning the `features.<section>` section, if one does.
pub fn feature_owner(section: &str) -> Option<&'static Service> {
    ALL.iter().copied().find(|s| s.feature == Some(section))
}

/// The services `preset` enables, in catalog order; `None` for a preset this version does
/// not render. `compute-tf` enables the `compute` services (Rockoon's lists are the same; its
/// Tungsten Fabric networking is then reported unsupported, see [`rockoon`]).
pub fn preset_services(preset: Preset) -> Option<Vec<&'static str>> {
    let preset = match preset {
        Preset::ComputeTf => Preset::Compute,
        other => other,
    };
    let list: Vec<&'static str> = ALL
        .iter()
        .filter(|s| s.presets.contains(&preset))
        .map(|s| s.name)
        .collect();
    (!list.is_empty()).then_some(list)
}

#[cfg(test)]
mod tests;
