//! The three workload kinds seen through one lens: an [`Observation`] of spec and status for
//! the rules, and the OpenStack-Helm labels that name its health entry.

use std::fmt::Debug;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;

use crate::rules::{self, Observation};

/// Deployment `Progressing` reason of a completed rollout.
const ROLLOUT_COMPLETE: &str = "NewReplicaSetAvailable";
/// Deployment `Progressing` reason of a rollout past its deadline.
const ROLLOUT_STALLED: &str = "ProgressDeadlineExceeded";
/// Field manager of Helm's writes (helm's default, the name of its binary).
const HELM_MANAGER: &str = "helm";

/// A Deployment, StatefulSet or DaemonSet.
pub trait Workload:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + Debug
    + Send
    + Sync
    + 'static
{
    /// Kind, the `kind` label of metrics.
    const KIND: &'static str;

    /// Spec and status in the rules' terms.
    fn observe(&self) -> Observation;

    /// `(application, component)` of its health entry ([`rules::ident`]).
    fn ident(&self) -> (String, String) {
        let labels = self.labels();
        rules::ident(
            &self.name_any(),
            labels.get("application").map(String::as_str),
            labels.get("component").map(String::as_str),
        )
    }
}

impl Workload for Deployment {
    const KIND: &'static str = "Deployment";

    fn observe(&self) -> Observation {
        let status = self.status.clone().unwrap_or_default();
        let progressing = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Progressing");
        let reason = progressing.and_then(|c| c.reason.as_deref());
        let replicas = self.spec.as_ref().and_then(|s| s.replicas);
        Observation {
            generation: self.metadata.generation.unwrap_or(0),
            observed_generation: status.observed_generation.unwrap_or(0),
            desired: replicas.unwrap_or(1),
            ready: status.ready_replicas.unwrap_or(0),
            updated: status.updated_replicas.unwrap_or(0),
            rolling: progressing.is_some_and(|c| c.status == "True")
                && reason != Some(ROLLOUT_COMPLETE),
            stalled: reason == Some(ROLLOUT_STALLED),
            scaled_to_zero: scaled_to_zero(&self.metadata, replicas),
        }
    }
}

impl Workload for StatefulSet {
    const KIND: &'static str = "StatefulSet";

    fn observe(&self) -> Observation {
        let status = self.status.clone().unwrap_or_default();
        let replicas = self.spec.as_ref().and_then(|s| s.replicas);
        Observation {
            generation: self.metadata.generation.unwrap_or(0),
            observed_generation: status.observed_generation.unwrap_or(0),
            desired: replicas.unwrap_or(1),
            ready: status.ready_replicas.unwrap_or(0),
            updated: status.updated_replicas.unwrap_or(0),
            rolling: status.update_revision.is_some()
                && status.current_revision != status.update_revision,
            stalled: false,
            scaled_to_zero: scaled_to_zero(&self.metadata, replicas),
        }
    }
}

impl Workload for DaemonSet {
    const KIND: &'static str = "DaemonSet";

    fn observe(&self) -> Observation {
        let status = self.status.clone().unwrap_or_default();
        let on_delete = self
            .spec
            .as_ref()
            .and_then(|s| s.update_strategy.as_ref())
            .and_then(|u| u.type_.as_deref())
            == Some("OnDelete");
        let desired = status.desired_number_scheduled;
        Observation {
            generation: self.metadata.generation.unwrap_or(0),
            observed_generation: status.observed_generation.unwrap_or(0),
            desired,
            ready: status.number_ready,
            updated: if on_delete {
                desired
            } else {
                status.updated_number_scheduled.unwrap_or(0)
            },
            rolling: false,
            stalled: false,
            // A DaemonSet has no replica count: no pods is no matching node.
            scaled_to_zero: false,
        }
    }
}

/// Whether `replicas` is 0 although the release did not ask for that. Helm writes the
/// rendered count under its field manager; `kubectl scale`, an edit or another controller
/// take the field over, so 0 that Helm does not own is a hand-made scale-down (the charts'
/// rendered values want pods there).
fn scaled_to_zero(meta: &ObjectMeta, replicas: Option<i32>) -> bool {
    if replicas != Some(0) {
        return false;
    }
    let helm_owns_replicas = meta.managed_fields.iter().flatten().any(|entry| {
        entry.manager.as_deref() == Some(HELM_MANAGER)
            && entry
                .fields_v1
                .as_ref()
                .is_some_and(|fields| fields.0.pointer("/f:spec/f:replicas").is_some())
    });
    !helm_owns_replicas
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{
        DaemonSetSpec, DaemonSetStatus, DaemonSetUpdateStrategy, DeploymentCondition,
        DeploymentSpec, DeploymentStatus, StatefulSetStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};

    fn meta(name: &str, labels: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_owned()),
            generation: Some(4),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    fn progressing(status: &str, reason: &str) -> DeploymentCondition {
        DeploymentCondition {
            type_: "Progressing".to_owned(),
            status: status.to_owned(),
            reason: Some(reason.to_owned()),
            ..Default::default()
        }
    }

    fn deployment(condition: Option<DeploymentCondition>) -> Deployment {
        Deployment {
            metadata: meta("keystone-api", &[("application", "keystone")]),
            spec: Some(DeploymentSpec::default()),
            status: Some(DeploymentStatus {
                observed_generation: Some(4),
                ready_replicas: Some(1),
                updated_replicas: Some(1),
                conditions: condition.map(|c| vec![c]),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn a_deployment_without_replicas_wants_one_pod() {
        let o = deployment(None).observe();
        assert_eq!((o.desired, o.ready, o.updated), (1, 1, 1));
        assert_eq!((o.generation, o.observed_generation), (4, 4));
        assert!(!o.rolling && !o.stalled);
    }

    #[test]
    fn a_deployment_rolls_while_its_progressing_reason_is_not_complete() {
        let o = deployment(Some(progressing("True", "ReplicaSetUpdated"))).observe();
        assert!(o.rolling && !o.stalled);
        let o = deployment(Some(progressing("True", ROLLOUT_COMPLETE))).observe();
        assert!(!o.rolling);
    }

    #[test]
    fn a_deployment_past_its_deadline_is_stalled_not_rolling() {
        let o = deployment(Some(progressing("False", ROLLOUT_STALLED))).observe();
        assert!(o.stalled && !o.rolling);
    }

    #[test]
    fn a_statefulset_rolls_while_its_revisions_differ() {
        let mut sts = StatefulSet {
            metadata: meta("mariadb-server", &[]),
            status: Some(StatefulSetStatus {
                current_revision: Some("a".to_owned()),
                update_revision: Some("b".to_owned()),
                replicas: 3,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(sts.observe().rolling);
        assert_eq!(sts.observe().desired, 1);
        if let Some(status) = sts.status.as_mut() {
            status.current_revision = Some("b".to_owned());
        }
        assert!(!sts.observe().rolling);
    }

    fn daemonset(strategy: &str) -> DaemonSet {
        DaemonSet {
            metadata: meta("nova-compute-default", &[]),
            spec: Some(DaemonSetSpec {
                update_strategy: Some(DaemonSetUpdateStrategy {
                    type_: Some(strategy.to_owned()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            status: Some(DaemonSetStatus {
                desired_number_scheduled: 3,
                number_ready: 3,
                updated_number_scheduled: Some(1),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn a_rolling_daemonset_counts_its_updated_pods() {
        let o = daemonset("RollingUpdate").observe();
        assert_eq!((o.desired, o.ready, o.updated), (3, 3, 1));
    }

    #[test]
    fn an_on_delete_daemonset_counts_every_pod_as_updated() {
        let o = daemonset("OnDelete").observe();
        assert_eq!(o.updated, 3);
    }

    #[test]
    fn a_daemonset_without_status_wants_nothing_yet() {
        let o = DaemonSet::default().observe();
        assert_eq!((o.desired, o.ready, o.updated), (0, 0, 0));
    }

    fn zero_replicas_set_by(manager: &str) -> Deployment {
        let mut d = deployment(None);
        d.spec = Some(DeploymentSpec {
            replicas: Some(0),
            ..Default::default()
        });
        d.metadata.managed_fields = Some(vec![ManagedFieldsEntry {
            manager: Some(manager.to_owned()),
            fields_v1: Some(FieldsV1(serde_json::json!({"f:spec": {"f:replicas": {}}}))),
            ..Default::default()
        }]);
        d
    }

    #[test]
    fn zero_replicas_taken_over_from_helm_are_a_scale_down_against_the_release() {
        assert!(zero_replicas_set_by("kubectl").observe().scaled_to_zero);
        assert!(DaemonSet::default().observe().desired == 0);
        assert!(!DaemonSet::default().observe().scaled_to_zero);
    }

    #[test]
    fn zero_replicas_helm_wrote_are_what_the_release_wants() {
        assert!(!zero_replicas_set_by(HELM_MANAGER).observe().scaled_to_zero);
        assert!(!deployment(None).observe().scaled_to_zero);
    }

    #[test]
    fn the_ident_reads_the_openstack_helm_labels() {
        let d = deployment(None);
        assert_eq!(d.ident(), ("keystone".to_owned(), "api".to_owned()));
    }
}
