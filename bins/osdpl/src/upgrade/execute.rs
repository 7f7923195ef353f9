//! Executing the upgrade plan, one step per reconcile pass (pure: the record, the rollout's
//! outcome, the health and the time in; the record and what to do next out).
//!
//! Before the rollout ([`before`]): the record's steps are merged with the plan's (finished
//! steps stay finished, so a restarted osdpl resumes at the step it stopped at), the first
//! unfinished step becomes `UPGRADING`, and the services of later steps are held (`WAITING`,
//! their releases untouched). A step applies nothing until its workloads are healthy at the
//! old release (`checked`): wait healthy → steps → apply → wait healthy, as Rockoon does.
//! After the rollout ([`after`]): once helm has applied the step's releases, its workloads must
//! be Ready in the osdplst's health (written by the health container) and its Jobs complete
//! ([`super::jobs`]) — then the step is `APPLIED`, with the Jobs it ran, and the next one
//! starts. A step not done within its stall time is `STALLED`, naming what blocks it; it goes
//! on by itself once that is healthy. Nothing is rolled back.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use rockoon_core::crd::osdpl_status::WorkloadHealth;
use rockoon_core::crd::upgrade_status::{UpgradeStatus, UpgradeStep};

use super::jobs::{self, SeenJob};
use super::record::{RUNNING, STALLED};
use super::steps::{FINAL, Step};
use crate::state::ServiceState;

/// Step states.
pub const WAITING: &str = "WAITING";
/// The step's releases are being upgraded, or its health awaited.
pub const UPGRADING: &str = "UPGRADING";
/// The step is done.
pub const APPLIED: &str = "APPLIED";

/// How long after helm a step's health is first trusted: the health container must have seen
/// the workloads' new generation, or it still shows the old pods as Ready.
pub const SETTLE: Duration = Duration::from_secs(5);
/// How often a step waiting for health looks again (osdplst health changes do not trigger
/// the reconcile).
pub const POLL: Duration = Duration::from_secs(5);

/// `status.health` of the osdplst: application → component → health.
pub type Health = BTreeMap<String, BTreeMap<String, WorkloadHealth>>;

/// What the reconcile does after this pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The step finished: start the next one now.
    Again,
    /// Look again after this long.
    Wait(Duration),
    /// The upgrade's steps are all done.
    Done,
}

/// Where an upgrade starts a pass: the release pair, the services' applications and their
/// health, the time.
pub struct Start<'a> {
    /// Release upgraded from.
    pub from: &'a str,
    /// Release upgraded to.
    pub to: &'a str,
    /// Service → its applications (chart names) in the health map.
    pub applications: &'a BTreeMap<String, Vec<String>>,
    /// The osdplst's health.
    pub health: &'a Health,
    /// Now.
    pub now: Timestamp,
}

/// Merges `steps` into `record` (from/to set, finished steps kept), starts the first unfinished
/// step, and returns the held services with their cause: those of later steps, and the current
/// step's own until its workloads are healthy before its upgrade.
pub fn before(
    record: &mut UpgradeStatus,
    steps: &[Step],
    start: &Start<'_>,
) -> BTreeMap<String, String> {
    let (from, to, now) = (start.from, start.to, start.now);
    // Steps of an earlier upgrade (done, refused, or to another release) start over.
    let continuing = record.to.as_deref() == Some(to)
        && matches!(record.state.as_deref(), Some(RUNNING | STALLED));
    if !continuing {
        record.steps = None;
        record.state = None;
        record.cause = None;
        record.current = None;
    }
    let known: BTreeMap<String, UpgradeStep> = record
        .steps
        .take()
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s.name.clone(), s))
        .collect();
    let mut merged: Vec<UpgradeStep> = steps
        .iter()
        .map(|step| {
            known
                .get(&step.name)
                .cloned()
                .unwrap_or_else(|| UpgradeStep {
                    name: step.name.clone(),
                    state: Some(WAITING.into()),
                    ..UpgradeStep::default()
                })
        })
        .collect();
    record.from = Some(from.into());
    record.to = Some(to.into());
    if record.state.as_deref() != Some(STALLED) {
        record.state = Some(RUNNING.into());
    }
    let current = merged
        .iter()
        .position(|s| s.state.as_deref() != Some(APPLIED));
    record.current = current.map(|i| merged[i].name.clone());
    let mut held = BTreeMap::new();
    if let Some(index) = current {
        let step = &mut merged[index];
        if step.state.as_deref() != Some(UPGRADING) {
            step.state = Some(UPGRADING.into());
            step.started = Some(now.to_string());
        }
        if step.checked.is_none() {
            let plan = &steps[index];
            if plan.name == FINAL || unready(plan, start.applications, start.health).is_empty() {
                step.checked = Some(now.to_string());
            } else {
                let cause = format!(
                    "upgrade {from} → {to}: step {} waits for its workloads to be healthy \
                     before its upgrade",
                    step.name
                );
                for service in &plan.services {
                    held.insert(service.clone(), cause.clone());
                }
            }
        }
        let cause = format!("upgrade {from} → {to}: waits for step {}", step.name);
        for later in &steps[index + 1..] {
            for service in &later.services {
                held.insert(service.clone(), cause.clone());
            }
        }
    }
    record.steps = Some(merged);
    held
}

/// What one step looks at after the rollout.
pub struct Observed<'a> {
    /// The steps, as planned.
    pub steps: &'a [Step],
    /// Service states the rollout ended with.
    pub states: &'a BTreeMap<String, ServiceState>,
    /// Service → its applications (chart names) in the health map.
    pub applications: &'a BTreeMap<String, Vec<String>>,
    /// The osdplst's health.
    pub health: &'a Health,
    /// `application/component` → its workload's failing condition ([`super::why`]).
    pub conditions: &'a BTreeMap<String, String>,
    /// The namespace's Jobs ([`super::jobs::list`]).
    pub jobs: &'a [SeenJob],
    /// Time this pass spent in the rollout (helm).
    pub helm: Duration,
    /// Time after which an unfinished step is stalled.
    pub stall: Duration,
    /// Now.
    pub now: Timestamp,
}

/// Updates the current step of `record` from what the rollout and the health show.
pub fn after(record: &mut UpgradeStatus, seen: &Observed<'_>) -> Next {
    let Some(current) = record.current.clone() else {
        return Next::Done;
    };
    let Some(plan) = seen.steps.iter().find(|s| s.name == current) else {
        return Next::Done;
    };
    let Some(step) = record
        .steps
        .as_mut()
        .and_then(|steps| steps.iter_mut().find(|s| s.name == current))
    else {
        return Next::Done;
    };
    let helm = step.helm_seconds.unwrap_or_default() + seen.helm.as_secs_f64();
    step.helm_seconds = Some(round(helm));
    let not_applied: Vec<String> = plan
        .services
        .iter()
        .filter_map(|service| match seen.states.get(service) {
            Some(ServiceState::Applied) | None => None,
            Some(state) => Some(match state.cause() {
                Some(cause) => format!("{service}: {} ({})", state.word(), headline(cause)),
                None => format!("{service}: {}", state.word()),
            }),
        })
        .collect();
    let since_start = elapsed(step.started.as_deref(), seen.now);
    let described = |unready: Vec<(String, String)>| -> Vec<String> {
        unready
            .into_iter()
            .map(|(name, status)| match seen.conditions.get(&name) {
                Some(condition) => format!("{name}: {status} ({condition})"),
                None => format!("{name}: {status}"),
            })
            .collect()
    };
    if step.checked.is_none() {
        // Held before its helm upgrade: its workloads are not healthy at the old release.
        let unhealthy = described(unready(plan, seen.applications, seen.health));
        let blocker = if unhealthy.is_empty() {
            "health not yet observed".to_owned()
        } else {
            unhealthy.join("; ")
        };
        let blocker = format!("not healthy before its upgrade: {blocker}");
        return hold(record, &current, blocker, since_start, seen.stall);
    }
    let applications: Vec<String> = plan
        .services
        .iter()
        .flat_map(|s| seen.applications.get(s).into_iter().flatten().cloned())
        .collect();
    if !not_applied.is_empty() {
        return hold(
            record,
            &current,
            not_applied.join("; "),
            since_start,
            seen.stall,
        );
    }
    let helm_done = step
        .helm_done
        .get_or_insert_with(|| seen.now.to_string())
        .clone();
    let waited = elapsed(Some(&helm_done), seen.now);
    let blockers = if current == FINAL {
        Vec::new()
    } else if waited < SETTLE {
        vec!["health not yet observed after helm".to_owned()]
    } else {
        let mut blockers = described(unready(plan, seen.applications, seen.health));
        blockers.extend(jobs::pending(seen.jobs, &applications));
        blockers
    };
    if !blockers.is_empty() {
        // No running wait_seconds here: a number that grows each poll would rewrite the status
        // every few seconds; `helm_done` already says since when the step waits.
        return hold(
            record,
            &current,
            blockers.join("; "),
            since_start,
            seen.stall,
        );
    }
    let started = step.started.as_deref().and_then(|s| s.parse().ok());
    let ran = jobs::ran(seen.jobs, &applications, started.unwrap_or(seen.now));
    step.jobs = (!ran.is_empty()).then_some(ran);
    step.state = Some(APPLIED.into());
    step.finished = Some(seen.now.to_string());
    step.wait_seconds = Some(round(waited.as_secs_f64()));
    step.blocker = None;
    record.state = Some(RUNNING.into());
    record.cause = None;
    if current == FINAL {
        record.current = None;
        Next::Done
    } else {
        Next::Again
    }
}

/// The step waits on `blocker`; STALLED once it has waited longer than `stall`.
fn hold(
    record: &mut UpgradeStatus,
    current: &str,
    blocker: String,
    waited: Duration,
    stall: Duration,
) -> Next {
    if let Some(step) = record
        .steps
        .as_mut()
        .and_then(|s| s.iter_mut().find(|s| s.name == current))
    {
        step.blocker = Some(blocker.clone());
    }
    if waited > stall {
        record.state = Some(STALLED.into());
        record.cause = Some(format!(
            "step {current} not done after {} s (stall time {} s): {blocker}; later services \
             are untouched, the upgrade goes on once this is healthy (or fix the service's spec)",
            waited.as_secs(),
            stall.as_secs()
        ));
    } else {
        record.state = Some(RUNNING.into());
        record.cause = None;
    }
    Next::Wait(POLL)
}

/// The components of `step`'s applications that are not Ready, as (`application/component`,
/// health).
pub fn unready(
    step: &Step,
    applications: &BTreeMap<String, Vec<String>>,
    health: &Health,
) -> Vec<(String, String)> {
    step.services
        .iter()
        .flat_map(|service| applications.get(service).into_iter().flatten())
        .filter_map(|application| Some((application, health.get(application)?)))
        .flat_map(|(application, components)| {
            components.iter().filter_map(move |(component, entry)| {
                let status = entry.status.as_deref().unwrap_or("Unknown");
                (status != "Ready")
                    .then(|| (format!("{application}/{component}"), status.to_owned()))
            })
        })
        .collect()
}

fn elapsed(since: Option<&str>, now: Timestamp) -> Duration {
    since
        .and_then(|s| s.parse::<Timestamp>().ok())
        .and_then(|t| now.duration_since(t).try_into().ok())
        .unwrap_or_default()
}

fn round(seconds: f64) -> f64 {
    (seconds * 10.0).round() / 10.0
}

fn headline(cause: &str) -> String {
    crate::state::headline(cause)
}

#[cfg(test)]
#[path = "execute_tests.rs"]
mod tests;

/// Events for what changed between two records: `UpgradeStep` (Normal) per step finished, with
/// its helm and health-wait times; `UpgradeStalled` (Warning) when the upgrade stalls, naming
/// the blocker; `UpgradeResumed` (Normal) when it goes on.
pub fn events(before: &UpgradeStatus, after: &UpgradeStatus) -> Vec<(bool, &'static str, String)> {
    let mut events = Vec::new();
    let was = |name: &str| {
        before
            .steps
            .iter()
            .flatten()
            .find(|s| s.name == name)
            .and_then(|s| s.state.clone())
    };
    for step in after.steps.iter().flatten() {
        if step.state.as_deref() == Some(APPLIED) && was(&step.name).as_deref() != Some(APPLIED) {
            events.push((
                false,
                "UpgradeStep",
                format!(
                    "upgrade {} → {}: step {} applied (helm {} s, health wait {} s{})",
                    after.from.as_deref().unwrap_or("?"),
                    after.to.as_deref().unwrap_or("?"),
                    step.name,
                    step.helm_seconds.unwrap_or_default(),
                    step.wait_seconds.unwrap_or_default(),
                    step.jobs
                        .as_ref()
                        .map(|jobs| format!("; jobs: {}", jobs.join(", ")))
                        .unwrap_or_default()
                ),
            ));
        }
    }
    let (then, now) = (before.state.as_deref(), after.state.as_deref());
    if now == Some(STALLED) && then != Some(STALLED) {
        let cause = after.cause.clone().unwrap_or_default();
        events.push((true, "UpgradeStalled", cause));
    }
    if then == Some(STALLED) && now == Some(RUNNING) {
        let step = after.current.as_deref().unwrap_or("?");
        events.push((
            false,
            "UpgradeResumed",
            format!("step {step} is healthy again"),
        ));
    }
    events
}
