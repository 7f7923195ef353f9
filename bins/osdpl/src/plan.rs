//! Deciding what to do, without doing it: the rendered deployment and what Helm has
//! installed → per release skip or apply (recovering a stuck release first), and which of our
//! releases to uninstall. Pure.
//!
//! A release is skipped when its latest revision is `deployed` with the hash of the values,
//! chart and namespace we would apply now: re-reconciling an unchanged OSDPL calls helm zero
//! times. Only releases labelled as ours are ever uninstalled, and never those of a service that
//! is still enabled but cannot render right now (waiting for a credential or Ceph).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rockoon_core::render::catalog::SERVICES;
use rockoon_core::render::{ChartGroup, Release, Rendered, ServiceOutcome};
use sha2::{Digest, Sha256};

use crate::helm::installed::Installed;

/// A release to converge, with where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// The rendered release.
    pub release: Release,
    /// Its desired hash (values, chart identity, namespace).
    pub hash: String,
    /// What to do.
    pub action: Action,
}

/// What to do with one release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Installed and identical.
    Skip,
    /// Install or upgrade, after clearing a stuck operation if there is one.
    Apply(Option<Recovery>),
}

/// How to clear a release a killed helm left `pending-*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Roll back to the previous revision (a stuck upgrade or rollback).
    Rollback,
    /// Uninstall (a stuck first install has nothing to roll back to).
    Uninstall,
}

/// One enabled service's part of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct ServicePlan {
    /// Service name.
    pub service: String,
    /// Apply stage (0 infra, 1 identity, 2 the rest).
    pub stage: u8,
    /// Its releases, or why it waits.
    pub work: Work,
}

/// A service's work.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    /// Releases in order.
    Releases(Vec<Desired>),
    /// It cannot render yet.
    Waiting(String),
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Enabled services in apply order.
    pub services: Vec<ServicePlan>,
    /// Our releases no longer wanted, latest stage first.
    pub removals: Vec<Installed>,
}

impl Plan {
    /// Whether the plan runs any helm command.
    pub fn has_work(&self) -> bool {
        !self.removals.is_empty()
            || self.services.iter().any(|s| match &s.work {
                Work::Releases(releases) => releases.iter().any(|d| d.action != Action::Skip),
                Work::Waiting(_) => false,
            })
    }
}

/// Hash of what would be applied: values fingerprint, chart identity and namespace. 32 hex
/// characters, so it fits a label value.
pub fn desired_hash(release: &Release, chart_identity: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [
        release.fingerprint.as_str(),
        chart_identity,
        release.namespace.as_str(),
        release.chart.as_str(),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let hex = rockoon_core::values::fingerprint::hex(&hasher.finalize());
    hex[..32].to_owned()
}

/// Apply stage of a service (unknown names, e.g. from an older version, last).
pub fn stage_of(service: &str) -> u8 {
    SERVICES
        .iter()
        .find(|s| s.name == service)
        .map_or(2, |s| s.stage)
}

/// The identity of each chart a render uses (part of every desired hash), computed before
/// planning so the plan does no I/O: a local chart's identity is a digest of its directory,
/// read once per chart per reconcile (the four RabbitMQ releases share one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identities(HashMap<(ChartGroup, String, Option<String>), String>);

impl Identities {
    /// The identity of every chart of `rendered`, by `identify`, called once per chart.
    pub fn of(rendered: &Rendered, identify: impl Fn(&Release) -> String) -> Self {
        let mut identities = HashMap::new();
        for release in rendered.releases() {
            identities
                .entry(key(release))
                .or_insert_with(|| identify(release));
        }
        Self(identities)
    }

    /// The identity of `release`'s chart (empty for a chart that was not identified).
    pub fn get(&self, release: &Release) -> &str {
        self.0.get(&key(release)).map_or("", String::as_str)
    }
}

fn key(release: &Release) -> (ChartGroup, String, Option<String>) {
    (
        release.group,
        release.chart.clone(),
        release.version.clone(),
    )
}

/// The plan for OSDPL `osdpl`.
pub fn plan(
    osdpl: &str,
    rendered: &Rendered,
    installed: &BTreeMap<String, Installed>,
    identities: &Identities,
) -> Plan {
    let mut services = Vec::new();
    let mut wanted: BTreeSet<&str> = BTreeSet::new();
    let mut waiting: BTreeSet<&str> = BTreeSet::new();
    for (service, outcome) in &rendered.services {
        let work = match outcome {
            ServiceOutcome::Waiting { reason } => {
                waiting.insert(service);
                Work::Waiting(reason.clone())
            }
            ServiceOutcome::Ready { releases } => Work::Releases(
                releases
                    .iter()
                    .map(|release| {
                        wanted.insert(&release.name);
                        let hash = desired_hash(release, identities.get(release));
                        let action = action(installed.get(&release.name), &hash);
                        Desired {
                            release: release.clone(),
                            hash,
                            action,
                        }
                    })
                    .collect(),
            ),
        };
        services.push(ServicePlan {
            service: service.clone(),
            stage: stage_of(service),
            work,
        });
    }
    let mut removals: Vec<Installed> = installed
        .values()
        .filter(|r| r.osdpl.as_deref() == Some(osdpl) && !wanted.contains(r.name.as_str()))
        .filter(|r| !r.service.as_deref().is_some_and(|s| waiting.contains(s)))
        .cloned()
        .collect();
    removals.sort_by_key(|r| std::cmp::Reverse(stage_of(r.service.as_deref().unwrap_or(""))));
    Plan { services, removals }
}

fn action(installed: Option<&Installed>, hash: &str) -> Action {
    match installed {
        None => Action::Apply(None),
        Some(r) if r.is_stuck() => Action::Apply(Some(if r.revision > 1 {
            Recovery::Rollback
        } else {
            Recovery::Uninstall
        })),
        Some(r) if r.is_deployed() && r.hash.as_deref() == Some(hash) => Action::Skip,
        Some(_) => Action::Apply(None),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rockoon_core::render::ChartGroup;
    use serde_json::json;

    fn release(name: &str, fingerprint: &str) -> Release {
        Release {
            name: name.into(),
            chart: "chart".into(),
            group: ChartGroup::Openstack,
            version: None,
            namespace: "openstack".into(),
            values: json!({}),
            fingerprint: fingerprint.into(),
        }
    }

    fn rendered(services: Vec<(&str, ServiceOutcome)>) -> Rendered {
        Rendered {
            fingerprint: "f".into(),
            services: services
                .into_iter()
                .map(|(s, o)| (s.to_owned(), o))
                .collect(),
            precache: vec![],
        }
    }

    fn ready(releases: Vec<Release>) -> ServiceOutcome {
        ServiceOutcome::Ready { releases }
    }

    fn installed(name: &str, revision: u32, status: &str, hash: &str, service: &str) -> Installed {
        Installed {
            name: name.into(),
            revision,
            status: status.into(),
            hash: Some(hash.into()),
            osdpl: Some("osh".into()),
            service: Some(service.into()),
        }
    }

    fn by_name(list: Vec<Installed>) -> BTreeMap<String, Installed> {
        list.into_iter().map(|r| (r.name.clone(), r)).collect()
    }

    fn identity(_: &Release) -> String {
        "chart-v1".into()
    }

    fn actions(plan: &Plan) -> Vec<(String, Action)> {
        plan.services
            .iter()
            .flat_map(|s| match &s.work {
                Work::Releases(r) => r
                    .iter()
                    .map(|d| (d.release.name.clone(), d.action))
                    .collect(),
                Work::Waiting(_) => vec![],
            })
            .collect()
    }

    #[test]
    fn an_identical_deployed_release_is_skipped_and_a_changed_one_applied() {
        let keystone = release("openstack-keystone", "a");
        let nova = release("openstack-nova", "b");
        let hash_keystone = desired_hash(&keystone, "chart-v1");
        let world = by_name(vec![
            installed(
                "openstack-keystone",
                3,
                "deployed",
                &hash_keystone,
                "identity",
            ),
            installed("openstack-nova", 3, "deployed", "stale", "compute"),
        ]);
        let r = rendered(vec![
            ("identity", ready(vec![keystone])),
            ("compute", ready(vec![nova])),
        ]);
        let plan = plan("osh", &r, &world, &Identities::of(&r, identity));
        assert_eq!(
            actions(&plan),
            vec![
                ("openstack-keystone".into(), Action::Skip),
                ("openstack-nova".into(), Action::Apply(None))
            ]
        );
        assert!(plan.has_work());
    }

    #[test]
    fn a_new_chart_changes_the_hash_so_the_release_is_upgraded() {
        let keystone = release("openstack-keystone", "a");
        let world = by_name(vec![installed(
            "openstack-keystone",
            1,
            "deployed",
            &desired_hash(&keystone, "chart-v1"),
            "identity",
        )]);
        let r = rendered(vec![("identity", ready(vec![keystone]))]);
        let plan = plan(
            "osh",
            &r,
            &world,
            &Identities::of(&r, |_| "chart-v2".into()),
        );
        assert_eq!(actions(&plan)[0].1, Action::Apply(None));
    }

    #[test]
    fn nothing_to_do_when_everything_is_deployed_as_rendered() {
        let keystone = release("openstack-keystone", "a");
        let world = by_name(vec![installed(
            "openstack-keystone",
            1,
            "deployed",
            &desired_hash(&keystone, "chart-v1"),
            "identity",
        )]);
        let r = rendered(vec![("identity", ready(vec![keystone]))]);
        assert!(!plan("osh", &r, &world, &Identities::of(&r, identity)).has_work());
    }

    #[test]
    fn stuck_releases_are_rolled_back_or_cleared_before_applying() {
        let world = by_name(vec![
            installed("openstack-keystone", 4, "pending-upgrade", "x", "identity"),
            installed("openstack-glance", 1, "pending-install", "x", "image"),
        ]);
        let r = rendered(vec![
            ("identity", ready(vec![release("openstack-keystone", "a")])),
            ("image", ready(vec![release("openstack-glance", "a")])),
        ]);
        assert_eq!(
            actions(&plan("osh", &r, &world, &Identities::of(&r, identity))),
            vec![
                (
                    "openstack-keystone".into(),
                    Action::Apply(Some(Recovery::Rollback))
                ),
                (
                    "openstack-glance".into(),
                    Action::Apply(Some(Recovery::Uninstall))
                )
            ]
        );
    }

    #[test]
    fn a_failed_release_is_applied_again_even_with_the_same_hash() {
        let keystone = release("openstack-keystone", "a");
        let hash = desired_hash(&keystone, "chart-v1");
        let world = by_name(vec![installed(
            "openstack-keystone",
            2,
            "failed",
            &hash,
            "identity",
        )]);
        let r = rendered(vec![("identity", ready(vec![keystone]))]);
        assert_eq!(
            actions(&plan("osh", &r, &world, &Identities::of(&r, identity)))[0].1,
            Action::Apply(None)
        );
    }

    #[test]
    fn only_our_unwanted_releases_are_removed_latest_stage_first() {
        let world = by_name(vec![
            installed("openstack-memcached", 1, "deployed", "h", "memcached"),
            installed("openstack-heat", 1, "deployed", "h", "orchestration"),
            installed("openstack-nova-rabbitmq", 1, "deployed", "h", "messaging"),
            Installed {
                osdpl: Some("another".into()),
                ..installed("other-osdpl-release", 1, "deployed", "h", "orchestration")
            },
            Installed {
                osdpl: None,
                ..installed("hand-made", 1, "deployed", "h", "x")
            },
        ]);
        let r = rendered(vec![(
            "messaging",
            ready(vec![release("openstack-rabbitmq", "a")]),
        )]);
        let removed: Vec<String> = plan("osh", &r, &world, &Identities::of(&r, identity))
            .removals
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(
            removed,
            vec![
                "openstack-heat",
                "openstack-memcached",
                "openstack-nova-rabbitmq"
            ]
        );
    }

    #[test]
    fn releases_of_an_enabled_service_that_waits_are_kept() {
        let world = by_name(vec![installed(
            "openstack-nova",
            1,
            "deployed",
            "h",
            "compute",
        )]);
        let r = rendered(vec![(
            "compute",
            ServiceOutcome::Waiting {
                reason: "waiting for Ceph".into(),
            },
        )]);
        let plan = plan("osh", &r, &world, &Identities::of(&r, identity));
        assert!(plan.removals.is_empty());
        assert!(!plan.has_work());
    }
}
