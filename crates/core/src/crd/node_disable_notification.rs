//! `NodeDisableNotification`: the cluster's LCM saying a node is being disabled, not removed.
//!
//! Cluster-scoped and camelCase, as the Mirantis LCM defines it. `node` only reads these: while
//! one names a node, that node's NodeWorkloadLock is kept after the Node object goes, so the
//! OpenStack side of the host is not cleaned up.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::osdpl::Extra;

/// Which node is being disabled.
#[derive(CustomResource, JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "lcm.mirantis.com",
    version = "v1alpha1",
    kind = "NodeDisableNotification",
    plural = "nodedisablenotifications",
    singular = "nodedisablenotification",
    doc = "Notice that a node is being disabled: its OpenStack lock and data are kept.",
    printcolumn(name = "Node", type_ = "string", json_path = ".spec.nodeName")
)]
#[serde(rename_all = "camelCase")]
pub struct NodeDisableNotificationSpec {
    /// Name of the Node (only the short host name, before the first `.`, is compared).
    pub node_name: String,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

impl NodeDisableNotification {
    /// Whether this notification is about `node`, comparing short host names as Rockoon does.
    pub fn names(&self, node: &str) -> bool {
        short_name(&self.spec.node_name) == short_name(node)
    }
}

/// The host name before the first `.`.
fn short_name(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_names_a_node_by_its_short_host_name() {
        let notification = NodeDisableNotification::new(
            "n",
            NodeDisableNotificationSpec {
                node_name: "cmp-0.example.org".into(),
                extra: Default::default(),
            },
        );
        assert!(notification.names("cmp-0"));
        assert!(notification.names("cmp-0.other"));
        assert!(!notification.names("cmp-01"));
    }
}
