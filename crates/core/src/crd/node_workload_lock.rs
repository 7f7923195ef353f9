//! `NodeWorkloadLock`: tells the cluster's LCM whether OpenStack lets it touch a node.
//!
//! Cluster-scoped and camelCase, as the Mirantis LCM defines it; `node` owns these objects
//! (`openstack-<node>`), created when a node carries an OpenStack role.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::osdpl::Extra;

/// Which controller holds the lock, on which node.
// clippy reads the repeated `type_ = "string"` of separate printcolumn(...) entries as one
// duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "lcm.mirantis.com",
    version = "v1alpha1",
    kind = "NodeWorkloadLock",
    plural = "nodeworkloadlocks",
    singular = "nodeworkloadlock",
    status = "NodeWorkloadLockStatus",
    doc = "A workload lock on one node, held by a controller (OpenStack: controllerName=openstack).",
    printcolumn(name = "Node", type_ = "string", json_path = ".spec.nodeName"),
    printcolumn(
        name = "Controller",
        type_ = "string",
        json_path = ".spec.controllerName"
    ),
    printcolumn(name = "State", type_ = "string", json_path = ".status.state"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct NodeWorkloadLockSpec {
    /// Controller holding the lock (`openstack` for this suite).
    pub controller_name: String,
    /// Name of the locked Node.
    pub node_name: String,
    /// Whether the controller handles NodeDeletionRequests for this node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_deletion_request_supported: Option<bool>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// State of a lock.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodeWorkloadLockStatus {
    /// `active`: workloads run, hands off; `inactive`: the node may be maintained; `failed`.
    pub state: LockState,
    /// Why the lock failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Progress of making the node inactive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inactivation_progress: Option<InactivationProgress>,
    /// Cluster release that last set the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Other keys (e.g. `statusObjectReference`), preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status.state` of a lock.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum LockState {
    Inactive,
    Active,
    Failed,
}

/// `status.inactivationProgress`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct InactivationProgress {
    /// What is happening.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How far along, 0 to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub percentage: Option<i32>,
}
