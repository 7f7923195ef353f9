//! The plan of an OpenStack upgrade (pure): which services go in which step, in Rockoon's
//! order. First `infra` (the stage-0 services: MariaDB, RabbitMQ, memcached, …; only their
//! releases whose images or values change are upgraded, as the plan skips the rest), then the
//! OpenStack services one at a time in [`ORDER`], then `final-apply`: the normal apply of
//! everything, so an upgraded deployment ends as a fresh install of the new release would.

use crate::plan::Plan;

/// Rockoon's upgrade order of the OpenStack services (`OPENSTACK_SERVICES_UPGRADE_ORDER`).
pub const ORDER: &[&str] = &[
    "identity",
    "placement",
    "image",
    "networking",
    "compute",
    "block-storage",
    "load-balancer",
    "dns",
    "key-manager",
    "orchestration",
    "dashboard",
    "object-storage",
    "instance-ha",
    "shared-file-system",
];

/// Name of the first step (the infra services).
pub const INFRA: &str = "infra";
/// Name of the last step (everything, as a normal apply).
pub const FINAL: &str = "final-apply";

/// One step: its name and the services it applies (besides those of earlier steps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// `infra`, a service name, or `final-apply`.
    pub name: String,
    /// The services this step releases.
    pub services: Vec<String>,
}

/// The steps for the services of `plan`: `infra`, each service of [`ORDER`] the plan has,
/// `final-apply` with the rest.
pub fn steps(plan: &Plan) -> Vec<Step> {
    let infra: Vec<String> = plan
        .services
        .iter()
        .filter(|s| s.stage == 0)
        .map(|s| s.service.clone())
        .collect();
    let ordered = ORDER
        .iter()
        .filter(|name| plan.services.iter().any(|s| s.service == **name))
        .map(|name| Step {
            name: (*name).to_owned(),
            services: vec![(*name).to_owned()],
        });
    let rest: Vec<String> = plan
        .services
        .iter()
        .filter(|s| s.stage != 0 && !ORDER.contains(&s.service.as_str()))
        .map(|s| s.service.clone())
        .collect();
    std::iter::once(Step {
        name: INFRA.into(),
        services: infra,
    })
    .chain(ordered)
    .chain(std::iter::once(Step {
        name: FINAL.into(),
        services: rest,
    }))
    .collect()
}
