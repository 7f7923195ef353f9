//! The three workload kinds seen through one lens: desired versus ready replicas.

use std::fmt::Debug;
use std::sync::Arc;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use rockoon_core::controller::Reconciler;
use rockoon_core::error::CoreError;
use serde::de::DeserializeOwned;

/// Replica counts of a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replicas {
    /// Pods the workload wants.
    pub desired: i32,
    /// Pods that are ready.
    pub ready: i32,
}

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
    /// Desired and ready pods, from spec and status.
    fn replicas(&self) -> Replicas;
}

impl Workload for Deployment {
    fn replicas(&self) -> Replicas {
        Replicas {
            desired: self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
            ready: self
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0),
        }
    }
}

impl Workload for StatefulSet {
    fn replicas(&self) -> Replicas {
        Replicas {
            desired: self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
            ready: self
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0),
        }
    }
}

impl Workload for DaemonSet {
    fn replicas(&self) -> Replicas {
        let status = self.status.as_ref();
        Replicas {
            desired: status.map_or(0, |s| s.desired_number_scheduled),
            ready: status.map_or(0, |s| s.number_ready),
        }
    }
}

/// Logs each workload it sees with its OpenStack-Helm labels and replica counts.
pub struct WorkloadObserver;

impl<K: Workload> Reconciler<K> for WorkloadObserver {
    type Error = CoreError;

    async fn reconcile(&self, workload: Arc<K>) -> Result<Action, CoreError> {
        let replicas = workload.replicas();
        let labels = workload.labels();
        tracing::info!(
            workload = %workload.name_any(),
            application = labels.get("application").map(String::as_str).unwrap_or("-"),
            component = labels.get("component").map(String::as_str).unwrap_or("-"),
            desired = replicas.desired,
            ready = replicas.ready,
            "workload seen"
        );
        Ok(Action::await_change())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{DaemonSetStatus, DeploymentSpec, DeploymentStatus};

    #[test]
    fn deployment_without_replicas_wants_one_pod() {
        let deployment = Deployment {
            spec: Some(DeploymentSpec::default()),
            status: Some(DeploymentStatus {
                ready_replicas: Some(1),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            deployment.replicas(),
            Replicas {
                desired: 1,
                ready: 1
            }
        );
    }

    #[test]
    fn daemonset_without_status_wants_nothing_yet() {
        assert_eq!(
            DaemonSet::default().replicas(),
            Replicas {
                desired: 0,
                ready: 0
            }
        );
        let ds = DaemonSet {
            status: Some(DaemonSetStatus {
                desired_number_scheduled: 3,
                number_ready: 2,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            ds.replicas(),
            Replicas {
                desired: 3,
                ready: 2
            }
        );
    }
}
