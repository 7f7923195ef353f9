//! The NodeWorkloadLock `openstack-<node>` of a node with an OpenStack role.
//!
//! Written by [`crate::reconcile`] (present while the node has a role, deleted when the role
//! goes) and by [`crate::cleanup`] (deleted once the Node is gone, unless a
//! NodeDisableNotification names it). The lock carries what Rockoon's does: `controllerName`
//! `openstack`, `nodeName`, `nodeDeletionRequestSupported: true`, the original-node snapshot
//! annotation (the node's roles stay known after the Node is deleted) and `status.state`
//! `active` when first created. A state set later (the maintenance flow's `inactive`) is
//! overwritten only when the cluster release changed (`--cluster-release`, as Rockoon's
//! `OSCTL_CLUSTER_RELEASE`): the lock is then reset to `active` with `status.release`.

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

/// Whether the lock's state must be (re)set: it has none, or it was set for another release
/// than `release` (when one is configured).
fn needs_state(lock: Option<&NodeWorkloadLock>, release: Option<&str>) -> bool {
    match lock.and_then(|l| l.status.as_ref()) {
        None => true,
        Some(status) => release.is_some_and(|r| status.release.as_deref() != Some(r)),
    }
}

/// Whether `lock` already says what [`intent`] would write, with a state for `release`.
pub fn settled(lock: &NodeWorkloadLock, node: &Node, release: Option<&str>) -> bool {
    !needs_state(Some(lock), release)
        && lock.spec.controller_name == CONTROLLER_NAME
        && lock.spec.node_name == node.name_any()
        && lock.spec.node_deletion_request_supported == Some(true)
        && lock.annotations().get(ORIGINAL_NODE_ANNOTATION) == Some(&snapshot(node))
}

/// Makes the lock of `node` present for cluster release `release`. Returns whether its state
/// was (re)set to `active`.
pub async fn ensure(
    api: &Api<NodeWorkloadLock>,
    node: &Node,
    release: Option<&str>,
) -> kube::Result<bool> {
    let name = lock_name(&node.name_any());
    let written = rockoon_runtime::ssa::apply(api, MANAGER, &name, intent(node)).await?;
    let reset = needs_state(Some(&written), release);
    if reset {
        let mut status = json!({"state": "active"});
        if let Some(release) = release {
            status["release"] = json!(release);
        }
        rockoon_runtime::ssa::apply_status(api, MANAGER, &name, &status).await?;
    }
    Ok(reset)
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
        released(node, state, None)
    }

    fn released(node: &Node, state: Option<LockState>, release: Option<&str>) -> NodeWorkloadLock {
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
            release: release.map(str::to_owned),
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
        assert!(settled(
            &lock(&node, Some(LockState::Inactive)),
            &node,
            None
        ));
        assert!(!settled(&lock(&node, None), &node, None));
        let mut relabelled = node.clone();
        relabelled
            .labels_mut()
            .insert("openstack-gateway".into(), "enabled".into());
        assert!(!settled(
            &lock(&node, Some(LockState::Active)),
            &relabelled,
            None
        ));
    }

    #[test]
    fn a_lock_of_another_cluster_release_is_reset_and_one_of_this_release_kept() {
        let node = node();
        let old = released(&node, Some(LockState::Inactive), Some("2.0"));
        assert!(!settled(&old, &node, Some("2.1")));
        assert!(settled(&old, &node, Some("2.0")));
        assert!(settled(&old, &node, None));
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
