//! The Jobs of an upgrade step, around its helm upgrade (the service-specific steps of the
//! upstream charts).
//!
//! The upstream charts run their setup Jobs (db-init, db-sync, rabbit-init, ks-service,
//! ks-user, ks-endpoints, bootstrap, …) as `post-install,post-upgrade` helm hooks in weight
//! order; helm deletes each finished hook Job and runs it again with the new images (its
//! default `before-hook-creation` policy) and waits for it. A chart's Jobs that are *not* hooks
//! (nova's cell-setup and bootstrap, cinder's storage-init, …) keep their finished Job, whose
//! template Kubernetes does not let change: before the step's helm upgrade, [`purge`] deletes
//! those that finished, so helm creates them again and they run with the new release.
//!
//! After helm, the step waits for every Job of its applications to complete ([`pending`]; a
//! Job that does not is the step's blocker, with its failing condition), and records the Jobs
//! that ran in it, in completion order ([`ran`]). Jobs of CronJobs are not the step's.
//!
//! [`list`] and [`purge`] talk to the API; the rest is pure.

use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, ListParams};
use kube::{Api, Client, ResourceExt};

/// Helm's annotation on a hook.
const HOOK: &str = "helm.sh/hook";
/// Helm's annotation ordering hooks (helm runs them by ascending weight, each to completion).
const WEIGHT: &str = "helm.sh/hook-weight";
/// Helm's annotation on an object of a release's manifest (hooks do not carry it).
const RELEASE: &str = "meta.helm.sh/release-name";
/// The upstream charts' label naming the application (the chart), as the health map does.
const APPLICATION: &str = "application";
/// How long [`purge`] waits for deleted Jobs to be gone.
const GONE: Duration = Duration::from_secs(30);

/// A Job as the step sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenJob {
    /// Job name.
    pub name: String,
    /// Its `application` label.
    pub application: String,
    /// The release whose manifest holds it (`None` for a hook).
    pub release: Option<String>,
    /// Whether it is a helm hook.
    pub hook: bool,
    /// Its hook weight (0 when it has none).
    pub weight: i64,
    /// When it was created.
    pub created: Option<Timestamp>,
    /// When it completed (`Complete=True`).
    pub completed: Option<Timestamp>,
    /// Its failing condition (`Failed=True Reason: message`), or what it still does.
    pub state: String,
}

impl SeenJob {
    /// Whether it ended, well or not.
    fn finished(&self) -> bool {
        self.completed.is_some() || self.state.starts_with("Failed=True")
    }
}

/// The Jobs of `namespace` that belong to a chart (those of CronJobs left out).
pub async fn list(client: &Client, namespace: &str) -> Result<Vec<SeenJob>, kube::Error> {
    let api: Api<Job> = Api::namespaced(client.clone(), namespace);
    let jobs = api.list(&ListParams::default().labels(APPLICATION)).await?;
    Ok(jobs.items.iter().filter_map(seen).collect())
}

/// What the step needs of one Job; `None` for a CronJob's.
pub fn seen(job: &Job) -> Option<SeenJob> {
    let by_cron = job.owner_references().iter().any(|o| o.kind == "CronJob");
    if by_cron {
        return None;
    }
    let annotations = job.annotations();
    let status = job.status.clone().unwrap_or_default();
    let conditions = status.conditions.unwrap_or_default();
    let complete = conditions
        .iter()
        .any(|c| c.type_ == "Complete" && c.status == "True");
    let failed = conditions
        .iter()
        .find(|c| c.type_ == "Failed" && c.status == "True");
    let state = match (complete, failed) {
        (true, _) => "Complete".to_owned(),
        (false, Some(c)) => format!(
            "Failed=True {}: {}",
            c.reason.as_deref().unwrap_or_default(),
            c.message.as_deref().unwrap_or_default()
        ),
        (false, None) => format!(
            "not complete (active {}, failed {})",
            status.active.unwrap_or_default(),
            status.failed.unwrap_or_default()
        ),
    };
    Some(SeenJob {
        name: job.name_any(),
        application: job.labels().get(APPLICATION)?.clone(),
        release: annotations.get(RELEASE).cloned(),
        hook: annotations.contains_key(HOOK),
        weight: annotations
            .get(WEIGHT)
            .and_then(|w| w.trim().parse().ok())
            .unwrap_or_default(),
        created: job.metadata.creation_timestamp.as_ref().map(|t| t.0),
        completed: complete
            .then(|| status.completion_time.as_ref().map(|t| t.0))
            .flatten(),
        state,
    })
}

/// The finished Jobs of `releases` that are not hooks: what [`purge`] deletes before their
/// helm upgrade.
pub fn to_purge(jobs: &[SeenJob], releases: &[String]) -> Vec<String> {
    jobs.iter()
        .filter(|j| !j.hook && j.finished())
        .filter(|j| j.release.as_ref().is_some_and(|r| releases.contains(r)))
        .map(|j| j.name.clone())
        .collect()
}

/// Deletes the Jobs `names` (their pods with them) and waits until they are gone, so that
/// helm creates them anew instead of patching a Job being deleted.
pub async fn purge(client: &Client, namespace: &str, names: &[String]) -> Result<(), kube::Error> {
    let api: Api<Job> = Api::namespaced(client.clone(), namespace);
    for name in names {
        tracing::info!(job = %name, "upgrade: deleting a finished Job so it runs again");
        match api.delete(name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(error) => return Err(error),
        }
    }
    let deadline = Instant::now() + GONE;
    for name in names {
        while api.get_opt(name).await?.is_some() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

/// The Jobs of `applications` that have not completed, as blockers
/// (`job <name>: <condition>`).
pub fn pending(jobs: &[SeenJob], applications: &[String]) -> Vec<String> {
    jobs.iter()
        .filter(|j| applications.contains(&j.application) && j.completed.is_none())
        .map(|j| format!("job {}: {}", j.name, j.state))
        .collect()
}

/// The Jobs of `applications` created at or after `since` that completed, in the order they
/// completed; the API's times have whole seconds, so Jobs completed in the same second are
/// ordered by hook weight (helm ran them in that order), then creation, then name.
pub fn ran(jobs: &[SeenJob], applications: &[String], since: Timestamp) -> Vec<String> {
    // The API's times are whole seconds: a Job created in the step's first second counts.
    let since = Timestamp::from_second(since.as_second()).unwrap_or(since);
    let mut done: Vec<&SeenJob> = jobs
        .iter()
        .filter(|j| applications.contains(&j.application))
        .filter(|j| j.completed.is_some() && j.created.is_some_and(|c| c >= since))
        .collect();
    done.sort_by_key(|j| (j.completed, j.weight, j.created, j.name.clone()));
    done.into_iter().map(|j| j.name.clone()).collect()
}

#[cfg(test)]
#[path = "jobs_tests.rs"]
mod tests;
