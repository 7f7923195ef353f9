//! Step 4 of the osdpl reconcile: carrying out a plan, stage by stage (infra, identity, the
//! rest; concurrent within a stage), then uninstalling what is no longer wanted. A stage
//! starts once every service of the earlier stages has something installed to build on.
//!
//! The rollout decides service states and returns them as an [`Outcome`]; it writes nothing
//! itself. Helm work goes through [`Releases`] (the applier) and each step's states through
//! [`Progress`] (the report step), so the loop runs in unit tests against fakes.

use std::collections::BTreeMap;
use std::future::Future;

use futures::future::join_all;

use crate::error::Error;
use crate::helm::HelmError;
use crate::helm::installed::Installed;
use crate::inputs::scrub;
use crate::plan::{Action, Desired, Plan, Work};
use crate::state::ServiceState;

/// The helm side of a rollout.
pub trait Releases: Sync {
    /// Converges one release of `service` of OSDPL `osdpl`.
    fn apply(
        &self,
        osdpl: &str,
        service: &str,
        desired: &Desired,
    ) -> impl Future<Output = Result<(), HelmError>> + Send;
    /// Uninstalls release `name`.
    fn uninstall(
        &self,
        name: &str,
        namespace: &str,
    ) -> impl Future<Output = Result<(), HelmError>> + Send;
    /// The last error of a release that failed with these values and still backs off.
    fn backing_off(&self, name: &str, hash: &str) -> Option<HelmError>;
}

/// Where a rollout reports as it goes.
pub trait Progress: Sync {
    /// The service states so far (before any helm work, then after each stage).
    fn states(
        &self,
        states: &BTreeMap<String, ServiceState>,
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// A release no longer wanted was uninstalled.
    fn uninstalled(&self, release: &Installed) -> impl Future<Output = ()> + Send;
}

/// What a rollout ends with.
#[derive(Debug, Default)]
pub struct Outcome {
    /// State of every enabled service.
    pub states: BTreeMap<String, ServiceState>,
    /// Releases that could not be uninstalled, with helm's error.
    pub removal_failures: Vec<(String, HelmError)>,
}

impl Outcome {
    /// Whether a service failed (a retry is then scheduled).
    pub fn failed(&self) -> bool {
        self.states
            .values()
            .any(|s| matches!(s, ServiceState::Failed(_)))
    }
}

/// What a rollout works on.
pub struct Rollout<'a> {
    /// The OSDPL's name (the releases' `osdpl` label).
    pub osdpl: &'a str,
    /// Its namespace.
    pub namespace: &'a str,
    /// The plan.
    pub plan: &'a Plan,
    /// What Helm had installed when planning.
    pub world: &'a BTreeMap<String, Installed>,
    /// Values to scrub from helm's messages before users see them.
    pub secret_values: &'a [String],
}

impl Rollout<'_> {
    /// Runs the plan; only a failed status write stops it early.
    pub async fn run(
        &self,
        releases: &impl Releases,
        progress: &impl Progress,
    ) -> Result<Outcome, Error> {
        let plan = self.plan;
        let leaving: Vec<String> = plan
            .removals
            .iter()
            .filter_map(|r| r.service.clone())
            .filter(|service| !plan.services.iter().any(|s| &s.service == service))
            .collect();
        let mut states = initial_states(plan, |desired| {
            let error = releases.backing_off(&desired.release.name, &desired.hash)?;
            Some(self.scrubbed(desired, &error))
        });
        // Services being removed show as DELETING until their releases are gone.
        for service in &leaving {
            states.insert(service.clone(), ServiceState::Deleting);
        }
        progress.states(&states).await?;
        for stage in 0..=2u8 {
            if self.stage(stage, releases, &mut states).await {
                progress.states(&states).await?;
            }
        }
        let removal_failures = self.remove(releases, progress).await;
        for service in &leaving {
            states.remove(service);
        }
        Ok(Outcome {
            states,
            removal_failures,
        })
    }

    /// Runs one stage; returns whether it ran (rather than was empty or blocked).
    async fn stage(
        &self,
        stage: u8,
        releases: &impl Releases,
        states: &mut BTreeMap<String, ServiceState>,
    ) -> bool {
        let in_stage: Vec<_> = self
            .plan
            .services
            .iter()
            .filter(|s| s.stage == stage)
            .collect();
        if in_stage.is_empty() {
            return false;
        }
        if let Some(blocker) = first_blocker(self.plan, stage, states, self.world) {
            for service in &in_stage {
                if !matches!(states.get(&service.service), Some(ServiceState::Waiting(_))) {
                    let reason = format!("waiting for {blocker} to be installed");
                    states.insert(service.service.clone(), ServiceState::Waiting(reason));
                }
            }
            return false;
        }
        let runs = in_stage.iter().filter_map(|service| match &service.work {
            Work::Releases(list) if list.iter().any(|d| d.action != Action::Skip) => {
                Some(async move {
                    for desired in list {
                        let applied = releases.apply(self.osdpl, &service.service, desired);
                        if let Err(error) = applied.await {
                            let failed = ServiceState::Failed(self.scrubbed(desired, &error));
                            return (service.service.clone(), failed);
                        }
                    }
                    (service.service.clone(), ServiceState::Applied)
                })
            }
            _ => None,
        });
        for (service, state) in join_all(runs).await {
            states.insert(service, state);
        }
        true
    }

    /// Uninstalls the plan's removals, latest stage first; returns what failed.
    async fn remove(
        &self,
        releases: &impl Releases,
        progress: &impl Progress,
    ) -> Vec<(String, HelmError)> {
        let mut failures = Vec::new();
        for release in &self.plan.removals {
            match releases.uninstall(&release.name, self.namespace).await {
                Ok(()) => progress.uninstalled(release).await,
                Err(error) => failures.push((release.name.clone(), error)),
            }
        }
        failures
    }

    fn scrubbed(&self, desired: &Desired, error: &HelmError) -> String {
        let message = format!("{}: {error}", desired.release.name);
        scrub(&message, self.secret_values)
    }
}

/// States before any helm command: waiting services wait, untouched ones are applied, those
/// with a release still backing off from a failure stay failed (`backing_off` gives its
/// error), the rest are about to be applied.
fn initial_states(
    plan: &Plan,
    backing_off: impl Fn(&Desired) -> Option<String>,
) -> BTreeMap<String, ServiceState> {
    plan.services
        .iter()
        .map(|s| {
            let state = match &s.work {
                Work::Waiting(reason) => ServiceState::Waiting(reason.clone()),
                Work::Releases(releases) if releases.iter().all(|d| d.action == Action::Skip) => {
                    ServiceState::Applied
                }
                Work::Releases(releases) => match releases.iter().find_map(&backing_off) {
                    Some(error) => ServiceState::Failed(error),
                    None => ServiceState::Applying,
                },
            };
            (s.service.clone(), state)
        })
        .collect()
}

/// The first service of an earlier stage that has nothing installed to build on.
fn first_blocker(
    plan: &Plan,
    stage: u8,
    states: &BTreeMap<String, ServiceState>,
    world: &BTreeMap<String, Installed>,
) -> Option<String> {
    let installed_before = |name: &str| {
        world
            .get(name)
            .is_some_and(|r| r.revision > 1 || r.is_deployed())
    };
    plan.services
        .iter()
        .filter(|s| s.stage < stage)
        .find(|s| match (&s.work, states.get(&s.service)) {
            (_, Some(ServiceState::Applied)) => false,
            (Work::Releases(releases), _) => {
                !releases.iter().all(|d| installed_before(&d.release.name))
            }
            (Work::Waiting(_), _) => !world
                .values()
                .any(|r| r.service.as_deref() == Some(s.service.as_str())),
        })
        .map(|s| s.service.clone())
}

#[cfg(test)]
#[path = "rollout_tests.rs"]
mod tests;
