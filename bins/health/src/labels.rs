//! MariaDB primary/backup labels: the reconciler of each `mariadb-server` StatefulSet
//! (labels `application=mariadb`, `component=server`), run whenever one of its pods or the
//! MariaDB Services change.
//!
//! It reads the StatefulSet's pods from the pod mirror, asks [`mariadb::plan`] for the label
//! writes in their safe order and performs them one by one, stopping at the first that does
//! not go through: a demotion is acknowledged by the API server before any promotion is sent,
//! so no reader of the API ever sees two primaries. Each write is a merge patch carrying the
//! pod's uid as a precondition, so a pod re-created under the same name (a new uid) is never
//! labelled on the strength of what its predecessor was; and the role written is remembered
//! until the cache shows a newer pod, so a lagging cache cannot make it pick a second primary.
//! Finally the MariaDB Service clients use (`--mariadb-service`, unless it is headless) gets
//! `<label>: primary` in its selector (a merge patch: the selector is an atomic map, which
//! server-side apply would take over whole).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Api, Client, ResourceExt};
use rockoon_runtime::controller::Reconciler;
use rockoon_runtime::mirror::Mirror;
use serde_json::json;

use crate::error::Error;
use crate::mariadb::{self, Member, Role};
use crate::metrics::{HealthMetrics, Outcome};
use crate::status::{FIELD_MANAGER, resource_version};

/// Label selector of the MariaDB server StatefulSets, their pods and Services.
pub const MARIADB_SERVER: &str = "application=mariadb,component=server";

/// Reconciler of MariaDB server StatefulSets: labels their pods primary or backup.
pub struct PrimaryLabeller {
    client: Client,
    pods: Mirror<Pod>,
    services: Mirror<Service>,
    label: String,
    metrics: HealthMetrics,
    /// Role last written per pod uid, with the resource version the write produced.
    written: Mutex<HashMap<String, (Role, u64)>>,
}

impl PrimaryLabeller {
    /// A labeller writing the role under the label key `label`.
    pub fn new(
        client: Client,
        pods: Mirror<Pod>,
        services: Mirror<Service>,
        label: String,
        metrics: HealthMetrics,
    ) -> Self {
        Self {
            client,
            pods,
            services,
            label,
            metrics,
            written: Mutex::default(),
        }
    }

    fn written(&self) -> MutexGuard<'_, HashMap<String, (Role, u64)>> {
        self.written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How the rule sees `pod`: its role is our last write until the cache shows the pod at
    /// that write's version or later.
    fn member(&self, pod: &Pod) -> Member {
        let uid = pod.uid().unwrap_or_default();
        let labelled = pod
            .labels()
            .get(&self.label)
            .and_then(|v| Role::from_word(v));
        let version = resource_version(pod);
        let mut written = self.written();
        let role = match written.get(&uid) {
            Some((role, at)) if version < *at => Some(*role),
            Some(_) => {
                written.remove(&uid);
                labelled
            }
            None => labelled,
        };
        let ready = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        Member {
            name: pod.name_any(),
            ready,
            terminating: pod.metadata.deletion_timestamp.is_some(),
            role,
        }
    }

    /// Writes `role` on `pod`. `Ok(false)`: the pod is gone or was re-created meanwhile.
    async fn label(&self, pod: &Pod, role: Role) -> Result<bool, Error> {
        let name = pod.name_any();
        let api: Api<Pod> =
            Api::namespaced(self.client.clone(), &pod.namespace().unwrap_or_default());
        let uid = pod.uid().unwrap_or_default();
        let patch = json!({"metadata": {"uid": uid, "labels": {&self.label: role.word()}}});
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        match api.patch(&name, &params, &Patch::Merge(&patch)).await {
            Ok(written) => {
                self.written()
                    .insert(uid, (role, resource_version(&written)));
                self.metrics.label_write(role, Outcome::Written);
                if role == Role::Primary {
                    tracing::info!(pod = %name, "MariaDB primary");
                } else {
                    tracing::debug!(pod = %name, "MariaDB backup");
                }
                Ok(true)
            }
            // 404: deleted; 409: the uid precondition failed (re-created). Its watch event
            // brings a new reconcile with the pod as it is now.
            Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => {
                tracing::debug!(pod = %name, code = status.code, "MariaDB pod changed under the write");
                Ok(false)
            }
            Err(source) => {
                self.metrics.label_write(role, Outcome::Failed);
                Err(Error::Label { pod: name, source })
            }
        }
    }

    /// Adds `<label>: primary` to the selector of the clients' MariaDB Service (the services
    /// mirror holds only that one), unless it is headless.
    async fn point_services(&self, namespace: &str) -> Result<(), Error> {
        for service in self.services.state() {
            let spec = service.spec.as_ref();
            let headless = spec.and_then(|s| s.cluster_ip.as_deref()) == Some("None");
            let selects = spec
                .and_then(|s| s.selector.as_ref())
                .and_then(|s| s.get(&self.label))
                .map(String::as_str)
                == Some(Role::Primary.word());
            if headless || selects || service.namespace().as_deref() != Some(namespace) {
                continue;
            }
            let name = service.name_any();
            let api: Api<Service> = Api::namespaced(self.client.clone(), namespace);
            let patch = json!({"spec": {"selector": {&self.label: Role::Primary.word()}}});
            let params = PatchParams {
                field_manager: Some(FIELD_MANAGER.to_owned()),
                ..PatchParams::default()
            };
            match api.patch(&name, &params, &Patch::Merge(&patch)).await {
                Ok(_) => tracing::info!(service = %name, "Service selects the MariaDB primary"),
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(source) => {
                    return Err(Error::Service {
                        service: name,
                        source,
                    });
                }
            }
        }
        Ok(())
    }
}

impl Reconciler<StatefulSet> for PrimaryLabeller {
    type Error = Error;

    async fn reconcile(&self, statefulset: Arc<StatefulSet>) -> Result<Action, Error> {
        self.pods.synced().await;
        self.services.synced().await;
        let uid = statefulset.uid();
        let pods: Vec<Arc<Pod>> = self
            .pods
            .state()
            .into_iter()
            .filter(|p| {
                p.owner_references()
                    .iter()
                    .any(|o| o.controller == Some(true) && Some(&o.uid) == uid.as_ref())
            })
            .collect();
        let members: Vec<Member> = pods.iter().map(|p| self.member(p)).collect();
        for change in mariadb::plan(&members) {
            if !self.label(&pods[change.member], change.role).await? {
                // Stop: a later write (the promotion) may rely on this one.
                break;
            }
        }
        self.point_services(&statefulset.namespace().unwrap_or_default())
            .await?;
        Ok(Action::await_change())
    }
}
