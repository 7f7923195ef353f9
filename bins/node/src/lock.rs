//! The NodeWorkloadLock `openstack-<node>` of a node with an OpenStack role.
//!
//! Written by [`crate::reconcile`] (present while the node has a role, deleted when the role
//! goes) and by [`crate::cleanup`] (deleted once the Node is gone, unless a
//! NodeDisableNotification names it). The lock carries what Rockoon's does: `controllerName`
//! `openstack`, `nodeName`, `nodeDeletionRequestSupported: true`, the original-node snapshot
//! annotation (the node's roles stay known after the Node is deleted) and `status.state`
//! `active` when first created. A state set later (the maintenance flow's `inactive`) is
//! never overwritten here.

use k8s_openapi::api::core::v1::Node;
use kube::api::DeleteParams;
use kube::{Api, ResourceExt};
use rockoon_core::crd::NodeWorkloadLock;
use serde_json::{Value, json};

use crate::node_write::MANAGER;

/// `spec.controllerName` of this suite's locks.
pub const CONTROLLER_NAME: &str = "openstack";
/// Annotation with a JSON snapshot of the Node (apiVersion, kind, name, labels, spec).
pub const ORIGINAL_NODE_ANNOTATION: &str = "openstack.lcm.mirantis.com/original-node";

/// Name of the lock of `node`.
pub fn lock_name(node: &str) -> String {
    format!("{CONTROLLER_NAME}-{node}")
}

/// The original-node snapshot of `node`.
pub fn snapshot(node: &Node) -> String {
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": node.name_any(), "labels": node.labels()},
        "spec": node.spec,
    })
    .to_string()
}

/// The lock's spec and metadata as `rockoon-node` intends them for `node`.
fn intent(node: &Node) -> Value {
    json!({
        "metadata": {"annotations": {ORIGINAL_NODE_ANNOTATION: snapshot(node)}},
        "spec": {
            "controllerName": CONTROLLER_NAME,
            "nodeName": node.name_any(),
            "nodeDeletionRequestSupported": true,
        },
    })
}

/// Whether `lock` already says what [`intent`] would write, and has a state.
pub fn settled(lock: &NodeWorkloadLock, node: &Node) -> bool {
    lock.spec.controller_name == CONTROLLER_NAME
        && lock.spec.node_name == node.name_any()
        && lock.spec.node_deletion_request_supported == Some(true)
        && lock.annotations().get(ORIGINAL_NODE_ANNOTATION) == Some(&snapshot(node))
        && lock.status.is_some()
}

/// Makes the lock of `node` present; `existing` is the cached lock. Returns whether it was
/// created (it had no state before).
pub async fn ensure(
    api: &Api<NodeWorkloadLock>,
    node: &Node,
    existing: Option<&NodeWorkloadLock>,
) -> kube::Result<bool> {
    let name = lock_name(&node.name_any());
    let written = rockoon_runtime::ssa::apply(api, MANAGER, &name, intent(node)).await?;
    let stateless = written.status.is_none() && existing.is_none_or(|l| l.status.is_none());
    if stateless {
        let status = json!({"state": "active"});
        rockoon_runtime::ssa::apply_status(api, MANAGER, &name, &status).await?;
    }
    Ok(stateless)
}

/// Deletes lock `name`; returns whether it existed.
pub async fn remove(api: &Api<NodeWorkloadLock>, name: &str) -> kube::Result<bool> {
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rockoon_core::crd::NodeWorkloadLockSpec;
    use rockoon_core::crd::node_workload_lock::{LockState, NodeWorkloadLockStatus};

    fn node() -> Node {
        let mut node = Node::default();
        node.metadata.name = Some("cmp-0".into());
        node.labels_mut()
            .insert("openstack-compute-node".into(), "enabled".into());
        node
    }

    fn lock(node: &Node, state: Option<LockState>) -> NodeWorkloadLock {
        let mut lock = NodeWorkloadLock::new(
            "openstack-cmp-0",
            NodeWorkloadLockSpec {
                controller_name: "openstack".into(),
                node_name: "cmp-0".into(),
                node_deletion_request_supported: Some(true),
                extra: Default::default(),
            },
        );
        lock.annotations_mut()
            .insert(ORIGINAL_NODE_ANNOTATION.into(), snapshot(node));
        lock.status = state.map(|state| NodeWorkloadLockStatus {
            state,
            error_message: None,
            inactivation_progress: None,
            release: None,
            extra: Default::default(),
        });
        lock
    }

    #[test]
    fn the_lock_is_named_after_the_node() {
        assert_eq!(lock_name("cmp-0"), "openstack-cmp-0");
    }

    #[test]
    fn a_lock_in_maintenance_is_settled_and_a_stale_snapshot_is_not() {
        let node = node();
        assert!(settled(&lock(&node, Some(LockState::Inactive)), &node));
        assert!(!settled(&lock(&node, None), &node));
        let mut relabelled = node.clone();
        relabelled
            .labels_mut()
            .insert("openstack-gateway".into(), "enabled".into());
        assert!(!settled(&lock(&node, Some(LockState::Active)), &relabelled));
    }

    #[test]
    fn the_snapshot_keeps_the_roles_of_the_node() {
        let snapshot: Value = serde_json::from_str(&snapshot(&node())).unwrap();
        assert_eq!(
            snapshot["metadata"]["labels"]["openstack-compute-node"],
            "enabled"
        );
        assert_eq!(snapshot["kind"], "Node");
    }
}
