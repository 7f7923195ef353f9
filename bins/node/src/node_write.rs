//! Writes to a Node: the internal role labels, the eviction mark, and stripping Rockoon's old
//! finalizers. Nothing here ever replaces a whole label map or finalizer list.
//!
//! Labels and the mark are one server-side apply under `rockoon-node`, which owns only those
//! keys: another writer's labels are never touched, and a label `node` dropped from its
//! intent is removed by the API server. An internal label someone else also owns (Rockoon's
//! strategic-merge writes) survives that apply, so it is removed by a JSON patch that first
//! tests its value. Finalizers go the same way: test, then remove, per entry.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};

/// Field manager of every write of this binary.
pub const MANAGER: &str = "rockoon-node";
/// Annotation holding the `lastTransitionTime` of the outage whose pods were deleted, so one
/// outage deletes pods once, across restarts of `node`.
pub const EVICTED_ANNOTATION: &str = "openstack.lcm.mirantis.com/pods-evicted-for";
/// Node finalizer of Rockoon's node controller (kopf, `rockoon.node` peering name).
pub const ROCKOON_FINALIZER: &str = "lcm.mirantis.com/rockoon.node-finalizer";
/// Prefix of the finalizers of Rockoon's predecessor, openstack-controller.
pub const LEGACY_FINALIZER_PREFIX: &str = "lcm.mirantis.com/openstack-controller";

/// Whether `finalizer` is one Rockoon (or its predecessor) put on Nodes.
pub fn is_rockoon_finalizer(finalizer: &str) -> bool {
    finalizer == ROCKOON_FINALIZER || finalizer.starts_with(LEGACY_FINALIZER_PREFIX)
}

/// Applies the internal labels `labels` and the eviction mark `mark` as the whole intent of
/// `rockoon-node` on this Node.
pub async fn apply(
    api: &Api<Node>,
    name: &str,
    labels: &BTreeMap<String, String>,
    mark: Option<&str>,
) -> kube::Result<Node> {
    let mut metadata = json!({ "labels": labels });
    if let Some(mark) = mark {
        metadata["annotations"] = json!({ EVICTED_ANNOTATION: mark });
    }
    rockoon_runtime::ssa::apply(api, MANAGER, name, json!({ "metadata": metadata })).await
}

/// Removes `keys` from the node's labels, each only if it still has the value seen.
pub async fn remove_labels(api: &Api<Node>, node: &Node, keys: &[String]) -> kube::Result<()> {
    let labels = node.labels();
    let ops: Vec<Value> = keys
        .iter()
        .filter_map(|key| labels.get(key).map(|value| (key, value)))
        .flat_map(|(key, value)| {
            let path = format!("/metadata/labels/{}", escape(key));
            [
                json!({"op": "test", "path": path, "value": value}),
                json!({"op": "remove", "path": path}),
            ]
        })
        .collect();
    json_patch(api, &node.name_any(), ops).await
}

/// Removes Rockoon's finalizers, each only if it is still at the index seen.
pub async fn strip_finalizers(api: &Api<Node>, node: &Node) -> kube::Result<()> {
    json_patch(api, &node.name_any(), strip_ops(node.finalizers())).await
}

/// The JSON patch removing Rockoon's finalizers from `finalizers`: highest index first, so
/// the earlier indices stay valid, each guarded by a test of its value.
pub fn strip_ops(finalizers: &[String]) -> Vec<Value> {
    finalizers
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, f)| is_rockoon_finalizer(f))
        .flat_map(|(index, f)| {
            let path = format!("/metadata/finalizers/{index}");
            [
                json!({"op": "test", "path": path, "value": f}),
                json!({"op": "remove", "path": path}),
            ]
        })
        .collect()
}

async fn json_patch(api: &Api<Node>, name: &str, ops: Vec<Value>) -> kube::Result<()> {
    if ops.is_empty() {
        return Ok(());
    }
    let patch: json_patch::Patch =
        serde_json::from_value(Value::Array(ops)).map_err(kube::Error::SerdeError)?;
    let params = PatchParams {
        field_manager: Some(MANAGER.to_owned()),
        ..Default::default()
    };
    api.patch(name, &params, &Patch::Json::<()>(patch)).await?;
    Ok(())
}

/// A label key as a JSON pointer segment (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rockoon_finalizers_are_stripped_highest_index_first_each_tested() {
        let finalizers = vec![
            "lcm.mirantis.com/openstack-controller.node-finalizer".to_owned(),
            "example.com/keep".to_owned(),
            ROCKOON_FINALIZER.to_owned(),
        ];
        let ops = strip_ops(&finalizers);
        assert_eq!(
            ops,
            vec![
                json!({"op": "test", "path": "/metadata/finalizers/2", "value": ROCKOON_FINALIZER}),
                json!({"op": "remove", "path": "/metadata/finalizers/2"}),
                json!({"op": "test", "path": "/metadata/finalizers/0",
                       "value": "lcm.mirantis.com/openstack-controller.node-finalizer"}),
                json!({"op": "remove", "path": "/metadata/finalizers/0"}),
            ]
        );
        assert!(strip_ops(&["example.com/keep".to_owned()]).is_empty());
    }

    #[test]
    fn label_keys_with_slashes_are_escaped_as_json_pointers() {
        assert_eq!(escape("a.io/b~c"), "a.io~1b~0c");
    }
}
