//! `node`'s own metrics, beside the shared reconcile metrics: nodes by role, locks by state,
//! writes, evicted pods and dead nodes handled. Labels are roles, states and outcomes, never
//! node or pod names.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;
use kube::ResourceExt;
use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};
use rockoon_core::crd::NodeWorkloadLock;
use rockoon_core::crd::node_workload_lock::LockState;
use rockoon_core::names::openstack_role_labels;

use crate::roles::openstack_roles;

/// `node`'s metrics, registered on the binary's registry (names get the `rockoon_` prefix).
#[derive(Clone)]
pub struct NodeMetrics {
    nodes: IntGaugeVec,
    locks: IntGaugeVec,
    writes: IntCounterVec,
    evictions: IntCounterVec,
    dead: IntCounterVec,
    instance_ha: IntCounterVec,
}

impl NodeMetrics {
    /// Creates the metrics and registers them on `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let nodes = IntGaugeVec::new(
            Opts::new(
                "node_nodes",
                "Nodes by OpenStack role (`none`: no role); a node with two roles counts in both.",
            ),
            &["role"],
        )?;
        let locks = IntGaugeVec::new(
            Opts::new(
                "node_workload_locks",
                "NodeWorkloadLocks of the openstack controller, by status.state (`unset` before \
                 the first status write).",
            ),
            &["state"],
        )?;
        let writes = IntCounterVec::new(
            Opts::new(
                "node_writes_total",
                "Writes by object (labels, finalizers, lock) and action (applied, removed, \
                 kept, failed).",
            ),
            &["object", "action"],
        )?;
        let evictions = IntCounterVec::new(
            Opts::new(
                "node_pod_evictions_total",
                "Pods of dead nodes by outcome (deleted, gone: already deleting or gone, failed).",
            ),
            &["outcome"],
        )?;
        let dead = IntCounterVec::new(
            Opts::new(
                "node_dead_nodes_total",
                "Outages handled (pods deleted once per outage), by whether the node is compute.",
            ),
            &["compute"],
        )?;
        let instance_ha = IntCounterVec::new(
            Opts::new(
                "node_instance_ha_total",
                "Instance-HA steps of dead compute nodes by result (sent, skipped, recheck, \
                 failed) and reason (skip reason, what still looks alive, or the failed step).",
            ),
            &["result", "reason"],
        )?;
        for metric in [&nodes, &locks] {
            registry.register(Box::new(metric.clone()))?;
        }
        for metric in [&writes, &evictions, &dead, &instance_ha] {
            registry.register(Box::new(metric.clone()))?;
        }
        Ok(Self {
            nodes,
            locks,
            writes,
            evictions,
            dead,
            instance_ha,
        })
    }

    /// Sets the node counts by role from the whole cache.
    pub fn observe_nodes(&self, nodes: &[Arc<Node>]) {
        for (_, role) in openstack_role_labels() {
            let count = nodes
                .iter()
                .filter(|n| openstack_roles(n.labels()).contains(&role))
                .count();
            self.nodes.with_label_values(&[role]).set(count as i64);
        }
        let none = nodes
            .iter()
            .filter(|n| openstack_roles(n.labels()).is_empty())
            .count();
        self.nodes.with_label_values(&["none"]).set(none as i64);
    }

    /// Sets the lock counts by state from the whole cache.
    pub fn observe_locks(&self, locks: &[Arc<NodeWorkloadLock>]) {
        for (word, state) in [
            ("active", Some(LockState::Active)),
            ("inactive", Some(LockState::Inactive)),
            ("failed", Some(LockState::Failed)),
            ("unset", None),
        ] {
            let count = locks
                .iter()
                .filter(|l| l.status.as_ref().map(|s| s.state) == state)
                .count();
            self.locks.with_label_values(&[word]).set(count as i64);
        }
    }

    /// Counts one write of `object` (`labels`, `finalizers`, `lock`).
    pub fn write(&self, object: &str, action: &str) {
        self.writes.with_label_values(&[object, action]).inc();
    }

    /// Counts one pod of a dead node.
    pub fn eviction(&self, outcome: &str) {
        self.evictions.with_label_values(&[outcome]).inc();
    }

    /// Counts one outage handled.
    pub fn dead(&self, compute: bool) {
        let word = if compute { "true" } else { "false" };
        self.dead.with_label_values(&[word]).inc();
    }

    /// Counts one instance-HA step of a dead compute node.
    pub fn instance_ha(&self, result: &str, reason: &str) {
        self.instance_ha.with_label_values(&[result, reason]).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_role_lock_state_and_outcome_appear_in_the_registry() {
        let registry = rockoon_runtime::metrics::registry("node");
        let metrics = NodeMetrics::register(&registry).unwrap();
        let mut compute = Node::default();
        compute
            .labels_mut()
            .insert("openstack-compute-node".into(), "enabled".into());
        metrics.observe_nodes(&[Arc::new(compute), Arc::new(Node::default())]);
        metrics.observe_locks(&[]);
        metrics.write("lock", "applied");
        metrics.eviction("deleted");
        metrics.dead(true);
        metrics.instance_ha("skipped", "not_in_segment");
        let text = rockoon_runtime::metrics::render(&registry);
        let has = |name: &str, label: &str, value: &str| {
            text.lines().any(|l| {
                l.starts_with(&format!("{name}{{"))
                    && l.contains("controller=\"node\"")
                    && l.contains(label)
                    && l.ends_with(&format!(" {value}"))
            })
        };
        assert!(has("rockoon_node_nodes", "role=\"compute\"", "1"), "{text}");
        assert!(has("rockoon_node_nodes", "role=\"none\"", "1"), "{text}");
        assert!(has("rockoon_node_nodes", "role=\"gateway\"", "0"), "{text}");
        assert!(
            has("rockoon_node_workload_locks", "state=\"active\"", "0"),
            "{text}"
        );
        assert!(
            has("rockoon_node_writes_total", "action=\"applied\"", "1"),
            "{text}"
        );
        assert!(
            has(
                "rockoon_node_pod_evictions_total",
                "outcome=\"deleted\"",
                "1"
            ),
            "{text}"
        );
        assert!(
            has("rockoon_node_dead_nodes_total", "compute=\"true\"", "1"),
            "{text}"
        );
        assert!(
            has(
                "rockoon_node_instance_ha_total",
                "reason=\"not_in_segment\"",
                "1"
            ),
            "{text}"
        );
    }
}
