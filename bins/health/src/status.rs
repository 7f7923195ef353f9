//! Writing health: the reconciler of each `OpenStackDeploymentStatus`, run whenever a
//! workload changes (the workload mirrors are its triggers).
//!
//! A reconcile waits until the last write to that osdplst is `--min-write-interval-ms` old
//! (so churn makes at most one write per interval, each with everything that changed
//! meanwhile), computes the [`Report`] from the mirrors, and applies `status.health` and
//! `status.osdpl.health` only when they differ from what the object shows; then the OSDPL's
//! `status.health_summary` when the summary changed. Entries of workloads that are gone drop
//! out of the apply (server-side apply removes fields its manager stops sending); entries
//! another writer left (Rockoon's merge patches) are removed with a merge patch of nulls.
//!
//! Only the osdplst of the OSDPL that owns the namespace ([`rockoon_core::ownership`]) gets
//! health: the workloads are that OSDPL's; another OSDPL's osdplst says CONFLICT (osdpl's).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Api, Client, Resource, ResourceExt};
use rockoon_core::crd::{OpenStackDeployment, OpenStackDeploymentStatus};
use rockoon_runtime::controller::Reconciler;
use rockoon_runtime::mirror::Mirror;
use rockoon_runtime::owner::Osdpls;
use rockoon_runtime::ssa;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::error::Error;
use crate::metrics::{HealthMetrics, Outcome};
use crate::report::Report;
use crate::workload::Workload;

/// Field manager of everything health writes.
pub use rockoon_core::names::HEALTH_MANAGER as FIELD_MANAGER;

/// How long a reconcile waits for its own write to reach the cache before giving up waiting
/// (the next reconcile then compares against an older object and at worst writes again).
const CATCH_UP: Duration = Duration::from_secs(5);

/// The workload caches health is computed from.
#[derive(Clone)]
pub struct Workloads {
    /// Deployments of the namespace.
    pub deployments: Mirror<Deployment>,
    /// StatefulSets of the namespace.
    pub statefulsets: Mirror<StatefulSet>,
    /// DaemonSets of the namespace.
    pub daemonsets: Mirror<DaemonSet>,
}

impl Workloads {
    /// Waits for the first list of each kind.
    pub async fn synced(&self) {
        self.deployments.synced().await;
        self.statefulsets.synced().await;
        self.daemonsets.synced().await;
    }

    /// Health of everything in the caches now.
    pub fn report(&self) -> Report {
        let mut report = Report::default();
        add(&mut report, &self.deployments);
        add(&mut report, &self.statefulsets);
        add(&mut report, &self.daemonsets);
        report
    }
}

fn add<K: Workload>(report: &mut Report, mirror: &Mirror<K>) {
    for workload in mirror.state() {
        report.add(K::KIND, workload.ident(), &workload.observe());
    }
}

/// Memory of the reconciler, shared by the reconciles of every osdplst.
#[derive(Default)]
struct Memory {
    /// When each osdplst (by uid) was last written.
    written_at: HashMap<String, Instant>,
    /// Summary last written to each OSDPL (by uid, or name without an owner reference).
    summaries: HashMap<String, String>,
    /// The report computed last, for transition metrics.
    previous: Option<Report>,
}

/// Reconciler of OpenStackDeploymentStatus objects: writes their health.
pub struct StatusWriter {
    client: Client,
    workloads: Workloads,
    statuses: Mirror<OpenStackDeploymentStatus>,
    osdpls: Osdpls,
    metrics: HealthMetrics,
    interval: Duration,
    memory: Mutex<Memory>,
}

impl StatusWriter {
    /// A writer spacing writes to one osdplst by at least `interval`.
    pub fn new(
        client: Client,
        workloads: Workloads,
        statuses: Mirror<OpenStackDeploymentStatus>,
        osdpls: Osdpls,
        metrics: HealthMetrics,
        interval: Duration,
    ) -> Self {
        Self {
            client,
            workloads,
            statuses,
            osdpls,
            metrics,
            interval,
            memory: Mutex::default(),
        }
    }

    fn memory(&self) -> MutexGuard<'_, Memory> {
        self.memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sleeps until the last write to `uid` is `interval` old.
    async fn pace(&self, uid: &str) {
        let last = self.memory().written_at.get(uid).copied();
        if let Some(last) = last {
            tokio::time::sleep_until(last + self.interval).await;
        }
    }

    /// Computes the report now and records its metrics.
    fn report(&self) -> Report {
        let report = self.workloads.report();
        let mut memory = self.memory();
        if memory.previous.as_ref() != Some(&report) {
            self.metrics.observe(&report, memory.previous.as_ref());
            memory.previous = Some(report.clone());
        }
        report
    }

    /// Applies the health fields to the osdplst unless it already shows them.
    async fn write_osdplst(
        &self,
        current: &OpenStackDeploymentStatus,
        report: &Report,
        summary: &str,
    ) -> Result<(), Error> {
        let name = current.name_any();
        let status = current.status.as_ref();
        let shown = status.and_then(|s| s.health.as_ref());
        let shown_summary = status
            .and_then(|s| s.osdpl.as_ref())
            .and_then(|o| o.health.as_deref());
        if report.same_as(shown) && shown_summary == Some(summary) {
            self.metrics.status_write("osdplst", Outcome::Unchanged);
            return Ok(());
        }
        let api: Api<OpenStackDeploymentStatus> = Api::namespaced(
            self.client.clone(),
            &current.namespace().unwrap_or_default(),
        );
        let status = json!({"health": report.status(), "osdpl": {"health": summary}});
        let written = match ssa::apply_status(&api, FIELD_MANAGER, &name, &status).await {
            Ok(written) => written,
            // Deleted while this reconcile waited: nothing to report to.
            Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
            Err(source) => {
                self.metrics.status_write("osdplst", Outcome::Failed);
                return Err(Error::Status { name, source });
            }
        };
        self.metrics.status_write("osdplst", Outcome::Written);
        let uid = current.uid().unwrap_or_default();
        self.memory().written_at.insert(uid.clone(), Instant::now());
        tracing::info!(osdplst = %name, health = summary, "health written");

        // Entries another manager wrote (not ours, so the apply could not drop them).
        let leftover = report.stale(written.status.as_ref().and_then(|s| s.health.as_ref()));
        if !leftover.is_empty() {
            let mut nulls = serde_json::Map::new();
            for (application, component) in &leftover {
                match component {
                    None => {
                        nulls.insert(application.clone(), Value::Null);
                    }
                    Some(component) => {
                        let entry = nulls
                            .entry(application.clone())
                            .or_insert_with(|| json!({}));
                        if let Some(map) = entry.as_object_mut() {
                            map.insert(component.clone(), Value::Null);
                        }
                    }
                }
            }
            let patch = json!({"status": {"health": nulls}});
            let params = PatchParams {
                field_manager: Some(FIELD_MANAGER.to_owned()),
                ..PatchParams::default()
            };
            api.patch_status(&name, &params, &Patch::Merge(&patch))
                .await
                .map_err(|source| Error::Status {
                    name: name.clone(),
                    source,
                })?;
            tracing::info!(osdplst = %name, entries = leftover.len(), "stale health entries removed");
        }

        // The next reconcile compares against the cache: let it see this write first.
        let version = resource_version(&written);
        self.statuses
            .wait_until(CATCH_UP, |all| {
                all.iter().any(|o| {
                    o.uid().as_deref() == Some(&uid) && resource_version(o.as_ref()) >= version
                })
            })
            .await;
        Ok(())
    }

    /// Applies the OSDPL's `status.health_summary` when it changed since the last write.
    async fn write_summary(
        &self,
        osdplst: &OpenStackDeploymentStatus,
        summary: &str,
    ) -> Result<(), Error> {
        let owner = osdplst
            .owner_references()
            .iter()
            .find(|o| o.kind == OpenStackDeployment::kind(&()))
            .map(|o| (o.name.clone(), o.uid.clone()));
        let (name, key) = owner.unwrap_or_else(|| (osdplst.name_any(), osdplst.name_any()));
        if self.memory().summaries.get(&key).map(String::as_str) == Some(summary) {
            self.metrics.status_write("osdpl", Outcome::Unchanged);
            return Ok(());
        }
        let api: Api<OpenStackDeployment> = Api::namespaced(
            self.client.clone(),
            &osdplst.namespace().unwrap_or_default(),
        );
        let status = json!({"health_summary": summary});
        match ssa::apply_status(&api, FIELD_MANAGER, &name, &status).await {
            Ok(_) => {
                self.metrics.status_write("osdpl", Outcome::Written);
                self.memory().summaries.insert(key, summary.to_owned());
                Ok(())
            }
            // The OSDPL is gone (its osdplst follows by garbage collection): nothing to show.
            Err(kube::Error::Api(status)) if status.code == 404 => {
                tracing::debug!(osdpl = %name, "OSDPL gone; health summary not written");
                Ok(())
            }
            Err(source) => {
                self.metrics.status_write("osdpl", Outcome::Failed);
                Err(Error::Summary { name, source })
            }
        }
    }
}

/// The resource version as a number, for "at least as new as" (0 when it is not one).
pub(crate) fn resource_version<K: Resource>(object: &K) -> u64 {
    object
        .meta()
        .resource_version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

impl Reconciler<OpenStackDeploymentStatus> for StatusWriter {
    type Error = Error;

    async fn reconcile(&self, object: Arc<OpenStackDeploymentStatus>) -> Result<Action, Error> {
        self.workloads.synced().await;
        self.statuses.synced().await;
        let osdpl = object
            .owner_references()
            .iter()
            .find(|o| o.kind == OpenStackDeployment::kind(&()))
            .map(|o| o.uid.as_str());
        if !self.osdpls.owns_namespace(&object.name_any(), osdpl).await {
            tracing::debug!(osdplst = %object.name_any(), "its OSDPL does not own the namespace; no health written");
            return Ok(Action::await_change());
        }
        let uid = object.uid().unwrap_or_default();
        self.pace(&uid).await;
        // Read after the pause: everything that changed meanwhile goes into this write. The
        // cache may not have the object yet (just created); then the controller's copy is newer.
        let cached = self.statuses.find(|o| o.uid().as_deref() == Some(&uid));
        let current = match cached {
            Some(cached)
                if resource_version(cached.as_ref()) >= resource_version(object.as_ref()) =>
            {
                cached
            }
            _ => object,
        };
        let report = self.report();
        let summary = report.summary();
        self.write_osdplst(&current, &report, &summary).await?;
        self.write_summary(&current, &summary).await?;
        Ok(Action::await_change())
    }
}
