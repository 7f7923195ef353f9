//! Carrying out a plan's helm work for one release at a time, safely:
//! - at most one helm command per release (a per-release lock), and at most
//!   `--helm-concurrency` commands in all;
//! - a release left `pending-*` by a killed helm is rolled back (or, for a first install,
//!   uninstalled) before the upgrade;
//! - an upgrade refused because a Job's template is immutable deletes those Jobs (only Jobs)
//!   and tries once more, so db-sync style Jobs re-run with the new image or config;
//! - a failing release backs off exponentially, per release, until its values change; a
//!   failure to reach the API (helm's `connection refused` while the API server restarts)
//!   is retried within seconds instead, as it says nothing about the release;
//! - after a successful command, the release cache is awaited until it shows the result, so
//!   the next decision never acts on a stale view.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Secret;
use kube::api::DeleteParams;
use kube::core::PartialObjectMeta;
use kube::{Api, Client};
use rockoon_core::render::{ChartGroup, Release};
use rockoon_runtime::backoff;
use tokio::sync::Semaphore;

use crate::helm::installed::{HASH_LABEL, OSDPL_LABEL, SERVICE_LABEL, installed};
use crate::helm::stored::{Check, StoredValues};
use crate::helm::{ChartSource, Helm, HelmError, Upgrade};
use crate::plan::{Action, Desired, Recovery};
use crate::rollout::Releases;
use rockoon_runtime::mirror::Mirror;

/// How long to wait for the release cache to show a finished helm command. The watch retries
/// within seconds ([`rockoon_runtime::backoff::WatchBackoff`]), and a cache that is still
/// behind triggers a reconcile when it catches up, so a short wait is enough.
const SETTLE: Duration = Duration::from_secs(5);

/// Cap of the retry delay after a transient helm failure (the API was away).
const TRANSIENT_MAX: Duration = Duration::from_secs(5);

/// Runs helm for plans.
pub struct Applier {
    helm: Helm,
    openstack: ChartSource,
    infra: ChartSource,
    client: Client,
    releases: Mirror<PartialObjectMeta<Secret>>,
    slots: Semaphore,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    failures: Mutex<HashMap<String, Failure>>,
    backoff: (Duration, Duration),
    stored: StoredValues,
}

/// The last failure of a release.
#[derive(Debug, Clone)]
struct Failure {
    hash: String,
    count: u32,
    retry_at: Instant,
    error: HelmError,
}

/// Chart sources and limits of an [`Applier`].
pub struct ApplierConfig {
    /// Source of the `openstack` chart group.
    pub openstack: ChartSource,
    /// Source of the `infra` chart group.
    pub infra: ChartSource,
    /// Helm commands allowed at once.
    pub concurrency: usize,
    /// First retry delay of a failing release, and the cap.
    pub backoff: (Duration, Duration),
}

impl Applier {
    /// An applier running `helm` against the cluster of `client`.
    pub fn new(
        helm: Helm,
        config: ApplierConfig,
        client: Client,
        releases: Mirror<PartialObjectMeta<Secret>>,
    ) -> Self {
        Self {
            helm,
            openstack: config.openstack,
            infra: config.infra,
            stored: StoredValues::new(client.clone()),
            client,
            releases,
            slots: Semaphore::new(config.concurrency.max(1)),
            locks: Mutex::default(),
            failures: Mutex::default(),
            backoff: config.backoff,
        }
    }

    /// The chart source of a release's group.
    pub fn source(&self, group: ChartGroup) -> &ChartSource {
        match group {
            ChartGroup::Openstack => &self.openstack,
            ChartGroup::Infra => &self.infra,
        }
    }

    /// Identity of the chart a release would be installed from (part of its desired hash).
    pub fn identity(&self, release: &Release) -> String {
        self.source(release.group)
            .identity(&release.chart, release.version.as_deref())
    }

    /// Converges one release of `service` of OSDPL `osdpl`.
    pub async fn apply(
        &self,
        osdpl: &str,
        service: &str,
        desired: &Desired,
    ) -> Result<(), HelmError> {
        let Action::Apply(recovery) = desired.action else {
            return Ok(());
        };
        let release = &desired.release;
        if let Some(failure) = self.backing_off(&release.name, &desired.hash) {
            return Err(failure);
        }
        let _slot = self.slots.acquire().await;
        let lock = self.lock(&release.name);
        let _guard = lock.lock().await;

        let result = self
            .upgrade_with_recovery(osdpl, service, desired, recovery)
            .await;
        match &result {
            Ok(()) => {
                self.failures_lock().remove(&release.name);
                let (name, hash) = (release.name.clone(), desired.hash.clone());
                let shown = self
                    .releases
                    .wait_until(SETTLE, |all| {
                        installed(all.iter().map(|m| &m.metadata))
                            .get(&name)
                            .is_some_and(|r| r.is_deployed() && r.hash.as_deref() == Some(&hash))
                    })
                    .await;
                match self.revision(&name).filter(|_| shown) {
                    // The revision we just wrote holds what we rendered: no need to read it.
                    Some(revision) => {
                        self.stored.ours(&name, revision, &release.fingerprint);
                    }
                    None => {
                        tracing::warn!(release = %name, "release cache did not show the upgrade in time");
                    }
                }
            }
            Err(error) => {
                tracing::warn!(release = %release.name, error.kind = error.kind(), "helm failed");
                self.record_failure(&release.name, &desired.hash, error);
            }
        }
        result
    }

    async fn upgrade_with_recovery(
        &self,
        osdpl: &str,
        service: &str,
        desired: &Desired,
        recovery: Option<Recovery>,
    ) -> Result<(), HelmError> {
        let release = &desired.release;
        if let Some(recovery) = recovery {
            self.recover(release, recovery).await?;
        }
        let labels = [
            (OSDPL_LABEL, osdpl.to_owned()),
            (SERVICE_LABEL, service.to_owned()),
            (HASH_LABEL, desired.hash.clone()),
        ];
        let request = Upgrade {
            release: &release.name,
            namespace: &release.namespace,
            chart: self
                .source(release.group)
                .helm_args(&release.chart, release.version.as_deref()),
            values: &release.values,
            labels: &labels,
        };
        match self.helm.upgrade(&request).await {
            Err(HelmError::ImmutableField { objects, message }) => {
                let jobs: Vec<&String> = objects
                    .iter()
                    .filter(|(kind, _)| kind == "Job")
                    .map(|(_, name)| name)
                    .collect();
                // Only Jobs are safe to delete and re-create; anything else needs a person.
                if jobs.len() != objects.len() || jobs.is_empty() {
                    return Err(HelmError::ImmutableField { objects, message });
                }
                let api: Api<Job> = Api::namespaced(self.client.clone(), &release.namespace);
                for job in jobs {
                    tracing::info!(release = %release.name, job = %job, "deleting Job with an immutable change");
                    match api.delete(job, &DeleteParams::background()).await {
                        Ok(_) => {}
                        Err(kube::Error::Api(status)) if status.code == 404 => {}
                        Err(error) => {
                            return Err(HelmError::Failed {
                                message: format!("deleting Job {job}: {error}"),
                            });
                        }
                    }
                }
                self.helm.upgrade(&request).await
            }
            Err(HelmError::InProgress { .. }) => {
                // Our cache had not seen the stuck state yet; clear it the same way.
                let revision = self.revision(&release.name).unwrap_or(0);
                let recovery = if revision > 1 {
                    Recovery::Rollback
                } else {
                    Recovery::Uninstall
                };
                self.recover(release, recovery).await?;
                self.helm.upgrade(&request).await
            }
            other => other,
        }
    }

    async fn recover(&self, release: &Release, recovery: Recovery) -> Result<(), HelmError> {
        tracing::warn!(release = %release.name, ?recovery, "clearing a release a helm process left pending");
        match recovery {
            Recovery::Rollback => {
                self.helm
                    .rollback(&release.name, &release.namespace)
                    .await?
            }
            Recovery::Uninstall => {
                self.helm
                    .uninstall(&release.name, &release.namespace)
                    .await?
            }
        }
        let name = release.name.clone();
        self.releases
            .wait_until(SETTLE, |all| {
                installed(all.iter().map(|m| &m.metadata))
                    .get(&name)
                    .is_none_or(|r| !r.is_stuck())
            })
            .await;
        Ok(())
    }

    /// Uninstalls a release and waits until the cache no longer shows it.
    pub async fn uninstall(&self, name: &str, namespace: &str) -> Result<(), HelmError> {
        let _slot = self.slots.acquire().await;
        let lock = self.lock(name);
        let _guard = lock.lock().await;
        self.helm.uninstall(name, namespace).await?;
        self.failures_lock().remove(name);
        let name = name.to_owned();
        self.releases
            .wait_until(SETTLE, |all| {
                !installed(all.iter().map(|m| &m.metadata)).contains_key(&name)
            })
            .await;
        Ok(())
    }

    /// Releases of `plan` the labels call converged whose stored values (or chart) differ
    /// from the render: changed outside osdpl.
    pub async fn drifted(&self, plan: &crate::plan::Plan) -> std::collections::BTreeSet<String> {
        let all = self.releases.state();
        let world = installed(all.iter().map(|m| &m.metadata));
        let checks: Vec<Check<'_>> = plan
            .skipped()
            .filter_map(|desired| {
                let release = &desired.release;
                Some(Check {
                    name: &release.name,
                    namespace: &release.namespace,
                    revision: world.get(&release.name)?.revision,
                    chart: &release.chart,
                    fingerprint: &release.fingerprint,
                    values: &release.values,
                })
            })
            .collect();
        self.stored.drifted(&checks).await
    }

    /// Time until the earliest backed-off release may be retried.
    pub fn next_retry(&self) -> Option<Duration> {
        let now = Instant::now();
        self.failures_lock()
            .values()
            .map(|f| f.retry_at.saturating_duration_since(now))
            .min()
    }

    fn revision(&self, name: &str) -> Option<u32> {
        let all = self.releases.state();
        installed(all.iter().map(|m| &m.metadata))
            .get(name)
            .map(|r| r.revision)
    }

    /// The last error of a release that failed with these values and waits out its backoff.
    pub fn backing_off(&self, name: &str, hash: &str) -> Option<HelmError> {
        let failures = self.failures_lock();
        let failure = failures.get(name)?;
        // New values deserve an immediate try; the same values wait out the backoff.
        (failure.hash == hash && Instant::now() < failure.retry_at).then(|| failure.error.clone())
    }

    fn record_failure(&self, name: &str, hash: &str, error: &HelmError) {
        let mut failures = self.failures_lock();
        let count = failures
            .get(name)
            .filter(|f| f.hash == hash)
            .map_or(0, |f| f.count)
            + 1;
        let (base, max) = self.backoff;
        let max = if error.is_transient() {
            max.min(TRANSIENT_MAX)
        } else {
            max
        };
        let delay = backoff::delay(base, max, count);
        failures.insert(
            name.to_owned(),
            Failure {
                hash: hash.to_owned(),
                count,
                retry_at: Instant::now() + delay,
                error: error.clone(),
            },
        );
    }

    fn lock(&self, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        locks.entry(name.to_owned()).or_default().clone()
    }

    fn failures_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failure>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The rollout's helm work is this applier's.
impl Releases for Applier {
    async fn apply(&self, osdpl: &str, service: &str, desired: &Desired) -> Result<(), HelmError> {
        Applier::apply(self, osdpl, service, desired).await
    }

    async fn uninstall(&self, name: &str, namespace: &str) -> Result<(), HelmError> {
        Applier::uninstall(self, name, namespace).await
    }

    fn backing_off(&self, name: &str, hash: &str) -> Option<HelmError> {
        Applier::backing_off(self, name, hash)
    }
}
