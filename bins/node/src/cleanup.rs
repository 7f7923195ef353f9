//! Level-based lock cleanup: a NodeWorkloadLock whose Node is gone is deleted on the next
//! sync, unless a NodeDisableNotification names the node.
//!
//! This replaces Rockoon's finalizer on every Node: nothing blocks a Node's deletion, and a
//! Node deleted while `node` was stopped loses its lock at start-up, when every lock is
//! reconciled. Reconciled per lock, and for all locks on any Node or notification change.
//! Absence is decided only after both caches listed once and confirmed with a read of the
//! Node, so a lagging cache never deletes a live node's lock.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;
use kube::runtime::controller::Action;
use kube::{Api, Resource, ResourceExt};
use rockoon_core::crd::NodeWorkloadLock;
use rockoon_runtime::controller::Reconciler;

use crate::error::Error;
use crate::lock::{self, CONTROLLER_NAME};
use crate::reconcile::Shared;

/// Reconciles each NodeWorkloadLock.
pub struct LockCleaner {
    /// Shared caches and clients.
    pub shared: Shared,
}

impl Reconciler<NodeWorkloadLock> for LockCleaner {
    type Error = Error;

    async fn reconcile(&self, lock: Arc<NodeWorkloadLock>) -> Result<Action, Error> {
        let shared = &self.shared;
        shared.metrics.observe_locks(&shared.locks.state());
        if lock.spec.controller_name != CONTROLLER_NAME || lock.meta().deletion_timestamp.is_some()
        {
            return Ok(Action::await_change());
        }
        if !in_scope(shared, &lock) {
            return Ok(Action::await_change());
        }
        shared.nodes.synced().await;
        let node = &lock.spec.node_name;
        if shared.nodes.find(|n| n.name_any() == *node).is_some() {
            return Ok(Action::await_change());
        }
        let nodes: Api<Node> = Api::all(shared.client.clone());
        let present = nodes
            .get_opt(node)
            .await
            .map_err(|source| Error::ReadNode {
                node: node.clone(),
                source,
            })?;
        if present.is_none() {
            release_lock(shared, node).await?;
        }
        Ok(Action::await_change())
    }
}

/// Whether the lock's node is one this binary manages, judged by the labels of the lock's
/// original-node snapshot (the Node may be gone). Without a snapshot, only a binary managing
/// every Node touches it.
fn in_scope(shared: &Shared, lock: &NodeWorkloadLock) -> bool {
    if shared.scope.is_all() {
        return true;
    }
    lock.annotations()
        .get(lock::ORIGINAL_NODE_ANNOTATION)
        .and_then(|snapshot| serde_json::from_str::<serde_json::Value>(snapshot).ok())
        .and_then(|snapshot| {
            serde_json::from_value::<BTreeMap<String, String>>(
                snapshot["metadata"]["labels"].clone(),
            )
            .ok()
        })
        .is_some_and(|labels| shared.scope.matches(&labels))
}

/// Deletes the lock of the gone (or going) Node `node`, unless a NodeDisableNotification
/// names it.
pub async fn release_lock(shared: &Shared, node: &str) -> Result<(), Error> {
    shared.notifications.synced().await;
    let name = lock::lock_name(node);
    if shared.notifications.find(|n| n.names(node)).is_some() {
        tracing::info!(node, lock = %name, "node gone but disabled: lock kept");
        shared.metrics.write("lock", "kept");
        return Ok(());
    }
    let api: Api<NodeWorkloadLock> = Api::all(shared.client.clone());
    let cached = shared.locks.find(|l| l.name_any() == name);
    match lock::remove(&api, &name).await {
        Ok(existed) => {
            shared.metrics.write("lock", "removed");
            if let (true, Some(lock)) = (existed, cached) {
                let note = format!("Node {node} is gone");
                shared
                    .events
                    .normal(&lock.object_ref(&()), "LockRemoved", note.as_str())
                    .await;
            }
            tracing::info!(node, lock = %name, existed, "lock of a gone node removed");
            Ok(())
        }
        Err(source) => {
            shared.metrics.write("lock", "failed");
            Err(Error::Lock { lock: name, source })
        }
    }
}
