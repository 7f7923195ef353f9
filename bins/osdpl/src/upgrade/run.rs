//! One reconcile pass of an upgrade, around the rollout: [`Pass::begin`] plans the steps,
//! starts the current one and holds the services of later steps in the plan (and the current
//! step's own until they are healthy before their upgrade); [`Pass::purge_jobs`] deletes the
//! finished Jobs of the step's releases that must run again ([`super::jobs`]);
//! [`Pass::end`] judges the step from the rollout's outcome, the osdplst's health and the
//! Jobs ([`super::execute`]) and says when to look again.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::jiff::Timestamp;
use rockoon_core::crd::OpenStackDeploymentSpec;
use rockoon_core::crd::upgrade_status::UpgradeStatus;

use super::execute::{self, Health, Next, Observed, Start};
use super::jobs::{self, SeenJob};
use super::steps::{self, FINAL, INFRA, Step};
use crate::plan::{Action, Plan, Work};
use crate::state::ServiceState;

/// Rockoon's default readiness wait of a health group (`wait_application_ready_timeout`).
pub const DEFAULT_STALL: Duration = Duration::from_secs(1200);

/// An upgrade pass under way.
pub struct Pass {
    record: UpgradeStatus,
    steps: Vec<Step>,
    applications: BTreeMap<String, Vec<String>>,
    /// Releases of the current OpenStack service step that this pass upgrades.
    upgrading: Vec<String>,
    started: Instant,
}

impl Pass {
    /// Plans `from` → `to` over `plan`, continuing `record`; holds later steps' services in
    /// `plan`, and the current step's while `health` shows them unhealthy. Returns the pass
    /// and the record to show during the rollout.
    pub fn begin(
        record: Option<UpgradeStatus>,
        plan: &mut Plan,
        (from, to): (&str, &str),
        health: &Health,
    ) -> Self {
        let mut record = record.unwrap_or_default();
        let steps = steps::steps(plan);
        let applications = plan
            .services
            .iter()
            .map(|s| {
                let charts = match &s.work {
                    Work::Releases(releases) => {
                        releases.iter().map(|d| d.release.chart.clone()).collect()
                    }
                    Work::Waiting(_) => Vec::new(),
                };
                (s.service.clone(), charts)
            })
            .collect();
        let start = Start {
            from,
            to,
            applications: &applications,
            health,
            now: Timestamp::now(),
        };
        let held = execute::before(&mut record, &steps, &start);
        for service in &mut plan.services {
            if let Some(cause) = held.get(&service.service) {
                service.work = Work::Waiting(cause.clone());
            }
        }
        // The service-specific steps belong to the OpenStack services, not to the infra
        // releases or the final apply.
        let current = record.current.as_deref();
        let service_step = steps
            .iter()
            .find(|s| Some(s.name.as_str()) == current)
            .filter(|s| s.name != INFRA && s.name != FINAL);
        let upgrading = service_step
            .map(|step| {
                plan.services
                    .iter()
                    .filter(|s| step.services.contains(&s.service))
                    .flat_map(|s| match &s.work {
                        Work::Releases(releases) => releases.as_slice(),
                        Work::Waiting(_) => &[],
                    })
                    .filter(|d| d.action != Action::Skip)
                    .map(|d| d.release.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        Self {
            record,
            steps,
            applications,
            upgrading,
            started: Instant::now(),
        }
    }

    /// Before the step's helm upgrade: deletes the finished Jobs of its releases that are not
    /// helm hooks, so they run again with the new release; records them in the step.
    pub async fn purge_jobs(&mut self, client: &kube::Client, namespace: &str) {
        if self.upgrading.is_empty() {
            return;
        }
        let names = match jobs::list(client, namespace).await {
            Ok(found) => jobs::to_purge(&found, &self.upgrading),
            Err(error) => {
                tracing::warn!(%error, "upgrade: listing Jobs failed; helm's retry on an immutable Job remains");
                return;
            }
        };
        if names.is_empty() {
            return;
        }
        if let Err(error) = jobs::purge(client, namespace, &names).await {
            tracing::warn!(%error, "upgrade: deleting finished Jobs failed; helm's retry on an immutable Job remains");
        }
        let current = self.record.current.clone();
        if let Some(step) = self
            .record
            .steps
            .iter_mut()
            .flatten()
            .find(|s| Some(&s.name) == current.as_ref())
        {
            step.purged.get_or_insert_with(Vec::new).extend(names);
        }
    }

    /// The record as this pass shows it.
    pub fn record(&self) -> &UpgradeStatus {
        &self.record
    }

    /// The components of the current step's applications that are not Ready, as
    /// `(application, component)`: whose failing condition [`super::why`] reads.
    pub fn unready(&self, health: &Health) -> Vec<(String, String)> {
        let current = self.record.current.as_deref();
        let Some(step) = self.steps.iter().find(|s| Some(s.name.as_str()) == current) else {
            return Vec::new();
        };
        execute::unready(step, &self.applications, health)
            .into_iter()
            .filter_map(|(name, _)| {
                let (application, component) = name.split_once('/')?;
                Some((application.to_owned(), component.to_owned()))
            })
            .collect()
    }

    /// After the rollout: the step judged; the record and what to do next. `conditions`
    /// holds the failing condition of unready workloads, by `application/component`.
    pub fn end(
        mut self,
        spec: &OpenStackDeploymentSpec,
        states: &BTreeMap<String, ServiceState>,
        health: &Health,
        conditions: &BTreeMap<String, String>,
        jobs: &[SeenJob],
    ) -> (UpgradeStatus, Next) {
        let stall = self
            .record
            .current
            .as_deref()
            .and_then(|c| self.steps.iter().find(|s| s.name == c))
            .map_or(DEFAULT_STALL, |step| {
                stall_time(spec, step, &self.applications)
            });
        let seen = Observed {
            steps: &self.steps,
            states,
            applications: &self.applications,
            health,
            conditions,
            jobs,
            helm: self.started.elapsed(),
            stall,
            now: Timestamp::now(),
        };
        let next = execute::after(&mut self.record, &seen);
        (self.record, next)
    }
}

/// The stall time of `step`: the longest `spec.timeouts.application_readiness.<application>
/// .timeout` of its applications, [`DEFAULT_STALL`] for those without one.
pub fn stall_time(
    spec: &OpenStackDeploymentSpec,
    step: &Step,
    applications: &BTreeMap<String, Vec<String>>,
) -> Duration {
    let configured = spec
        .timeouts
        .as_ref()
        .and_then(|t| t.application_readiness.as_ref());
    step.services
        .iter()
        .flat_map(|s| applications.get(s).into_iter().flatten())
        .map(|application| {
            configured
                .and_then(|c| c.get(application)?.timeout)
                .and_then(|t| u64::try_from(t).ok())
                .map_or(DEFAULT_STALL, Duration::from_secs)
        })
        .max()
        .unwrap_or(DEFAULT_STALL)
}
