//! Reconcile of one Node: today, log its OpenStack roles and readiness.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use rockoon_core::names::openstack_role_labels;
use rockoon_runtime::controller::Reconciler;
use rockoon_runtime::error::RuntimeError;

/// OpenStack roles a node's labels give it (`<label>=enabled`, the seed's placement labels).
pub fn openstack_roles(labels: &BTreeMap<String, String>) -> Vec<&'static str> {
    openstack_role_labels()
        .filter(|(label, _)| labels.get(*label).is_some_and(|v| v == "enabled"))
        .map(|(_, role)| role)
        .collect()
}

/// Logs each Node it sees.
pub struct NodeObserver;

impl Reconciler<Node> for NodeObserver {
    type Error = RuntimeError;

    async fn reconcile(&self, node: Arc<Node>) -> Result<Action, RuntimeError> {
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.status.as_str());
        tracing::info!(
            node = %node.name_any(),
            roles = ?openstack_roles(node.labels()),
            ready = ready.unwrap_or("Unknown"),
            "Node seen"
        );
        Ok(Action::await_change())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_enabled_placement_labels_only() {
        let labels = BTreeMap::from([
            ("openstack-compute-node".to_owned(), "enabled".to_owned()),
            ("openvswitch".to_owned(), "enabled".to_owned()),
            ("openstack-gateway".to_owned(), "disabled".to_owned()),
        ]);
        assert_eq!(openstack_roles(&labels), vec!["compute"]);
    }
}
