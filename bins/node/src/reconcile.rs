//! Reconcile of one Node: Rockoon's old finalizers, internal role labels, the lock, and a
//! dead node's pods. Each step reads the cached state first and writes only on a difference,
//! so the Node's heartbeats cost no API calls.
//!
//! Flow: [`crate::node_write`] strips finalizers → [`crate::roles`] decides the labels →
//! [`crate::lock`] keeps the lock → [`crate::readiness`] judges the Ready condition →
//! [`crate::evict`] and [`crate::instance_ha`], then the outage is marked handled on the Node.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::runtime::controller::Action;
use kube::{Api, Client, Resource, ResourceExt};
use rockoon_core::crd::{NodeDisableNotification, NodeWorkloadLock};
use rockoon_runtime::controller::Reconciler;
use rockoon_runtime::events::Events;
use rockoon_runtime::mirror::Mirror;

use crate::error::Error;
use crate::instance_ha::{Handled, InstanceHa};
use crate::metrics::NodeMetrics;
use crate::node_write::{self, EVICTED_ANNOTATION};
use crate::readiness::{self, Verdict};
use crate::roles::{self, openstack_roles};
use crate::scope::Scope;
use crate::{cleanup, evict, lock};

/// Caches and clients shared by both reconcilers.
#[derive(Clone)]
pub struct Shared {
    /// Nodes, cluster-wide.
    pub nodes: Mirror<Node>,
    /// This suite's NodeWorkloadLocks.
    pub locks: Mirror<NodeWorkloadLock>,
    /// NodeDisableNotifications.
    pub notifications: Mirror<NodeDisableNotification>,
    /// The Kubernetes client.
    pub client: Client,
    /// Namespace of the OpenStack pods.
    pub namespace: String,
    /// Event writer.
    pub events: Arc<Events>,
    /// The binary's metrics.
    pub metrics: NodeMetrics,
    /// The Nodes this binary manages.
    pub scope: Scope,
}

/// Reconciles each Node.
pub struct NodeReconciler<H> {
    /// Shared caches and clients.
    pub shared: Shared,
    /// How long a node may be NotReady before its pods are deleted.
    pub flapping_timeout: Duration,
    /// What a dead compute node triggers.
    pub instance_ha: H,
    /// Cluster release written into the locks' status, if any.
    pub cluster_release: Option<String>,
}

impl<H: InstanceHa> Reconciler<Node> for NodeReconciler<H> {
    type Error = Error;

    async fn reconcile(&self, node: Arc<Node>) -> Result<Action, Error> {
        let shared = &self.shared;
        shared.metrics.observe_nodes(&shared.nodes.state());
        let name = node.name_any();
        let nodes: Api<Node> = Api::all(shared.client.clone());
        if node
            .finalizers()
            .iter()
            .any(|f| node_write::is_rockoon_finalizer(f))
        {
            self.release(&nodes, &node).await?;
        }
        if node.meta().deletion_timestamp.is_some() {
            return Ok(Action::await_change());
        }
        self.labels(&nodes, &node).await?;
        self.lock(&node).await?;
        match readiness::verdict(
            &node,
            k8s_openapi::jiff::Timestamp::now(),
            self.flapping_timeout,
        ) {
            Verdict::Alive => Ok(Action::await_change()),
            Verdict::Flapping { remaining } => {
                tracing::info!(node = %name, remaining_seconds = remaining.as_secs(), "node not ready; waiting for the flapping timeout");
                Ok(Action::requeue(remaining))
            }
            Verdict::Dead { since } => match self.dead(&nodes, &node, &since).await? {
                Handled::Done => Ok(Action::await_change()),
                Handled::Recheck { after } => Ok(Action::requeue(after)),
            },
        }
    }
}

impl<H: InstanceHa> NodeReconciler<H> {
    /// Honours Rockoon's finalizer (a deleting Node's lock goes, as its delete handler did),
    /// then strips it so the Node stays deletable without Rockoon.
    async fn release(&self, nodes: &Api<Node>, node: &Node) -> Result<(), Error> {
        let name = node.name_any();
        if node.meta().deletion_timestamp.is_some() {
            cleanup::release_lock(&self.shared, &name).await?;
        }
        let result = node_write::strip_finalizers(nodes, node).await;
        self.shared
            .metrics
            .write("finalizers", outcome(&result, "removed"));
        result.map_err(|source| Error::Finalizers { node: name, source })
    }

    /// Brings the internal role labels in line with the role labels.
    async fn labels(&self, nodes: &Api<Node>, node: &Node) -> Result<(), Error> {
        if roles::labels_settled(node.labels()) {
            return Ok(());
        }
        let name = node.name_any();
        let mark = node
            .annotations()
            .get(EVICTED_ANNOTATION)
            .map(String::as_str);
        let desired = roles::desired_internal(node.labels());
        let result = node_write::apply(nodes, &name, &desired, mark).await;
        self.shared
            .metrics
            .write("labels", outcome(&result, "applied"));
        let written = result.map_err(|source| Error::Labels {
            node: name.clone(),
            source,
        })?;
        let stale = roles::stale_internal(written.labels());
        if !stale.is_empty() {
            let result = node_write::remove_labels(nodes, &written, &stale).await;
            self.shared
                .metrics
                .write("labels", outcome(&result, "removed"));
            result.map_err(|source| Error::Labels {
                node: name.clone(),
                source,
            })?;
        }
        tracing::info!(node = %name, labels = ?desired.keys().collect::<Vec<_>>(), "internal role labels set");
        Ok(())
    }

    /// Keeps the lock present while the node has a role, absent otherwise.
    async fn lock(&self, node: &Node) -> Result<(), Error> {
        let shared = &self.shared;
        let name = lock::lock_name(&node.name_any());
        let cached = shared.locks.find(|l| l.name_any() == name);
        let api: Api<NodeWorkloadLock> = Api::all(shared.client.clone());
        let failed = |source| Error::Lock {
            lock: name.clone(),
            source,
        };
        if openstack_roles(node.labels()).is_empty() {
            if cached.is_none() {
                return Ok(());
            }
            let result = lock::remove(&api, &name).await;
            shared.metrics.write("lock", outcome(&result, "removed"));
            if result.map_err(failed)? {
                let note = "the node has no OpenStack role any more";
                shared
                    .events
                    .normal(&node.object_ref(&()), "LockRemoved", note)
                    .await;
            }
            return Ok(());
        }
        let release = self.cluster_release.as_deref();
        if cached
            .as_deref()
            .is_some_and(|l| lock::settled(l, node, release))
        {
            return Ok(());
        }
        let result = lock::ensure(&api, node, release).await;
        shared.metrics.write("lock", outcome(&result, "applied"));
        if result.map_err(failed)? {
            let note = format!("NodeWorkloadLock {name} state set to active");
            shared
                .events
                .normal(&node.object_ref(&()), "LockActive", &note)
                .await;
        }
        Ok(())
    }

    /// Deletes a dead node's pods once for the outage that began at `since`, then runs the
    /// instance-HA step of a compute node; the outage is marked handled only when that step
    /// is [`Handled::Done`].
    async fn dead(&self, nodes: &Api<Node>, node: &Node, since: &str) -> Result<Handled, Error> {
        let name = node.name_any();
        if node
            .annotations()
            .get(EVICTED_ANNOTATION)
            .map(String::as_str)
            == Some(since)
        {
            return Ok(Handled::Done);
        }
        let shared = &self.shared;
        let pods: Api<Pod> = Api::namespaced(shared.client.clone(), &shared.namespace);
        let evicted = evict::evict(&pods, &name, &shared.metrics)
            .await
            .map_err(|source| Error::Evict {
                node: name.clone(),
                source,
            })?;
        let compute = openstack_roles(node.labels()).contains(&"compute");
        if compute {
            let handled = self
                .instance_ha
                .compute_host_down(node, since)
                .await
                .map_err(|message| Error::InstanceHa {
                    node: name.clone(),
                    message,
                })?;
            if handled != Handled::Done {
                return Ok(handled);
            }
        }
        let desired = roles::desired_internal(node.labels());
        node_write::apply(nodes, &name, &desired, Some(since))
            .await
            .map_err(|source| Error::Labels {
                node: name.clone(),
                source,
            })?;
        shared.metrics.dead(compute);
        let note = format!(
            "NotReady since {since}: deleted {} pod(s) in {} ({} already gone)",
            evicted.deleted, shared.namespace, evicted.gone
        );
        tracing::warn!(node = %name, deleted = evicted.deleted, gone = evicted.gone, since, "dead node handled");
        shared
            .events
            .warning(&node.object_ref(&()), "PodsEvicted", &note)
            .await;
        Ok(Handled::Done)
    }
}

/// The write-metric action of a result.
fn outcome<T>(result: &kube::Result<T>, done: &'static str) -> &'static str {
    if result.is_ok() { done } else { "failed" }
}
