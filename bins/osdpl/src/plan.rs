//! Deciding what to do, without doing it: the rendered deployment and what Helm has
//! installed → per release skip or apply (recovering a stuck release first), and which of our
//! releases to uninstall. Pure.
//!
//! A release is skipped when its latest revision is `deployed` with the hash of the values,
//! chart and namespace we would apply now: re-reconciling an unchanged OSDPL calls helm zero
//! times. Since anyone can copy a label, skipped releases are then checked against the values
//! their revision stores ([`crate::helm::stored`]); those that drifted are upgraded back
//! ([`Plan::undo_drift`]). Only releases labelled as ours are ever uninstalled, and never those of a service that
//! is still enabled but cannot render right now (waiting for a credential or Ceph).
//!
//! Ownership of releases: one labelled as another living OSDPL's is never upgraded, rolled
//! back or uninstalled; its service waits, saying whose it is. A release of the same name
//! that nobody living owns (no label: installed by hand or by an older Rockoon; or labelled
//! for an OSDPL that no longer exists) is adopted: upgraded like any other, which labels it
//! as ours ([`adoptions`] lists them for the `Adopted` event).

use std::collections::{BTreeMap, BTreeSet, HashMap};

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

impl Plan {
    /// The releases the labels say are converged (their stored values are checked for drift).
    pub fn skipped(&self) -> impl Iterator<Item = &Desired> {
        self.services
            .iter()
            .flat_map(|s| match &s.work {
                Work::Releases(releases) => releases.as_slice(),
                Work::Waiting(_) => &[],
            })
            .filter(|d| d.action == Action::Skip)
    }

    /// Upgrades, back to what is rendered, the skipped releases among `drifted` (their stored
    /// values differ from the render although their labels match); returns their names.
    pub fn undo_drift(&mut self, drifted: &BTreeSet<String>) -> Vec<String> {
        let mut undone = Vec::new();
        for service in &mut self.services {
            let Work::Releases(releases) = &mut service.work else {
                continue;
            };
            for desired in releases {
                if desired.action == Action::Skip && drifted.contains(&desired.release.name) {
                    desired.action = Action::Apply(None);
                    undone.push(desired.release.name.clone());
                }
            }
        }
        undone
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
    rockoon_core::services::find(service).map_or(2, |s| s.stage)
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
            // Reported with its reason (see `report::Progressing`); nothing of it is applied,
            // and nothing it may have installed is removed.
            ServiceOutcome::Unsupported { .. } => {
                waiting.insert(service);
                continue;
            }
            ServiceOutcome::Ready { releases } => {
                wanted.extend(releases.iter().map(|r| r.name.as_str()));
                match foreign(osdpl, releases, installed) {
                    // Nothing of the service is touched, its other releases included.
                    Some(reason) => Work::Waiting(reason),
                    None => Work::Releases(
                        releases
                            .iter()
                            .map(|release| desired(release, installed, identities))
                            .collect(),
                    ),
                }
            }
        };
        services.push(ServicePlan {
            service: service.clone(),
            stage: stage_of(service),
            work,
        });
    }
    // A held main release (`migration.<chart>.deploy_main_service: false`) is neither
    // applied nor removed: whatever is installed under its name stays.
    wanted.extend(rendered.held.iter().map(|h| h.release.as_str()));
    let mut removals: Vec<Installed> = installed
        .values()
        .filter(|r| r.osdpl.as_deref() == Some(osdpl) && !wanted.contains(r.name.as_str()))
        .filter(|r| !r.service.as_deref().is_some_and(|s| waiting.contains(s)))
        .cloned()
        .collect();
    removals.sort_by_key(|r| std::cmp::Reverse(stage_of(r.service.as_deref().unwrap_or(""))));
    Plan { services, removals }
}

fn desired(
    release: &Release,
    installed: &BTreeMap<String, Installed>,
    identities: &Identities,
) -> Desired {
    let hash = desired_hash(release, identities.get(release));
    let action = action(installed.get(&release.name), &hash);
    Desired {
        release: release.clone(),
        hash,
        action,
    }
}

/// Why a service cannot be applied when one of its releases is labelled as another OSDPL's.
fn foreign(
    osdpl: &str,
    releases: &[Release],
    installed: &BTreeMap<String, Installed>,
) -> Option<String> {
    releases.iter().find_map(|release| {
        let owner = installed.get(&release.name)?.osdpl.as_deref()?;
        (owner != osdpl).then(|| {
            format!(
                "release {} belongs to OpenStackDeployment {owner}: not upgraded, rolled back \
                 or uninstalled by this one",
                release.name
            )
        })
    })
}

/// What Helm has installed, with the owner label of a release dropped when it names an OSDPL
/// that does not exist (`living`): such a release is nobody's, to be adopted.
pub fn without_dead_owners(
    mut installed: BTreeMap<String, Installed>,
    living: impl Fn(&str) -> bool,
) -> BTreeMap<String, Installed> {
    for release in installed.values_mut() {
        if release.osdpl.as_deref().is_some_and(|o| !living(o)) {
            release.osdpl = None;
        }
    }
    installed
}

/// The installed releases without an owner that `plan` applies: they are adopted.
pub fn adoptions(plan: &Plan, installed: &BTreeMap<String, Installed>) -> Vec<String> {
    plan.services
        .iter()
        .filter_map(|s| match &s.work {
            Work::Releases(releases) => Some(releases),
            Work::Waiting(_) => None,
        })
        .flatten()
        .filter(|d| d.action != Action::Skip)
        .filter(|d| {
            installed
                .get(&d.release.name)
                .is_some_and(|r| r.osdpl.is_none())
        })
        .map(|d| d.release.name.clone())
        .collect()
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
#[path = "plan_tests.rs"]
mod tests;
