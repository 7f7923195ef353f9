//! Fake nodes managed by kwok, labelled for OpenStack placement as the seed describes.

use std::time::Duration;

use anyhow::{Result, bail};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;

use super::components::Component;

/// Annotation kwok selects the nodes it manages by.
pub const KWOK_ANNOTATION: &str = "kwok.x-k8s.io/node";

/// How many fake nodes of each role to create.
#[derive(Debug, Clone, Copy)]
pub struct NodeCounts {
    /// Nodes labelled `openstack-control-plane=enabled`.
    pub control_plane: u32,
    /// Nodes labelled `openstack-compute-node=enabled` and `openvswitch=enabled`.
    pub compute: u32,
    /// Nodes labelled `openstack-gateway=enabled` and `openvswitch=enabled` (a gateway runs
    /// Open vSwitch and, with OVN, the ovn-controller that makes it a gateway chassis).
    pub gateway: u32,
}

impl Default for NodeCounts {
    fn default() -> Self {
        Self {
            control_plane: 3,
            compute: 2,
            gateway: 1,
        }
    }
}

impl NodeCounts {
    /// Name and placement labels of every node.
    pub fn nodes(&self) -> Vec<(String, Vec<(&'static str, &'static str)>)> {
        let mut nodes = Vec::new();
        for i in 0..self.control_plane {
            nodes.push((
                format!("ctl-{i}"),
                vec![("openstack-control-plane", "enabled")],
            ));
        }
        for i in 0..self.compute {
            nodes.push((
                format!("cmp-{i}"),
                vec![
                    ("openstack-compute-node", "enabled"),
                    ("openvswitch", "enabled"),
                ],
            ));
        }
        for i in 0..self.gateway {
            nodes.push((
                format!("gtw-{i}"),
                vec![("openstack-gateway", "enabled"), ("openvswitch", "enabled")],
            ));
        }
        nodes
    }
}

/// Creates (server-side applies) every node with ample fake capacity.
pub async fn create(client: &Client, counts: &NodeCounts) -> Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    let params = PatchParams::apply("rockoon-devcluster").force();
    for (name, placement) in counts.nodes() {
        let mut labels = serde_json::Map::new();
        labels.insert("kubernetes.io/hostname".into(), json!(name));
        labels.insert("kubernetes.io/os".into(), json!("linux"));
        labels.insert("kubernetes.io/arch".into(), json!("amd64"));
        labels.insert("type".into(), json!("kwok"));
        for (key, value) in placement {
            labels.insert(key.into(), json!(value));
        }
        let capacity = json!({"cpu": "32", "memory": "256Gi", "pods": "250"});
        let node = json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": labels,
                "annotations": {KWOK_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            },
            "status": {
                "allocatable": capacity,
                "capacity": capacity,
                "nodeInfo": {
                    "architecture": "amd64",
                    "operatingSystem": "linux",
                    "kubeletVersion": "fake",
                    "kubeProxyVersion": "fake",
                },
            },
        });
        api.patch(&name, &params, &Patch::Apply(&node)).await?;
    }
    Ok(())
}

/// Waits until kwok reports every node Ready.
pub async fn wait_ready(
    client: &Client,
    counts: &NodeCounts,
    components: &mut [Component],
) -> Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    for (name, _) in counts.nodes() {
        let ready = kube::runtime::wait::await_condition(api.clone(), &name, is_node_ready);
        tokio::pin!(ready);
        let mut waited = Duration::ZERO;
        loop {
            tokio::select! {
                result = &mut ready => { result?; break; }
                () = tokio::time::sleep(Duration::from_secs(1)) => {
                    waited += Duration::from_secs(1);
                    for component in components.iter_mut() {
                        component.check_alive()?;
                    }
                    if waited > Duration::from_secs(60) {
                        bail!("node {name} not Ready after 60s (is kwok running? see logs/kwok.log)");
                    }
                }
            }
        }
    }
    Ok(())
}

pub(super) fn is_node_ready(node: Option<&Node>) -> bool {
    node.and_then(|n| n.status.as_ref())
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}
