//! Image pre-caching: one DaemonSet per node role keeping the images of that role's releases
//! pulled, so upgrades and restarts do not wait on registries.
//!
//! The role of an image comes from the release that uses it: every node label its components
//! are placed on (`labels.<component>.node_selector_key`) gets all of that release's images.
//! Each image runs as one tiny container that only sleeps; the DaemonSet changes (and the
//! kubelet pulls) exactly when the set of images of a role changes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::Release;

// The seed's placement labels and the role name each gives a DaemonSet (the suite's one table).
use crate::names::PLACEMENT_LABELS as ROLES;

/// The pre-caching DaemonSets for `releases`, one per role that has images, sorted by role.
pub fn daemonsets<'a>(releases: impl Iterator<Item = &'a Release>, namespace: &str) -> Vec<Value> {
    let mut images: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for release in releases {
        let tags: Vec<String> = release
            .values
            .pointer("/images/tags")
            .and_then(Value::as_object)
            .map(|t| {
                t.values()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        for label in placement_labels(&release.values) {
            images
                .entry(label)
                .or_default()
                .extend(tags.iter().cloned());
        }
    }
    ROLES
        .iter()
        .filter_map(|(label, role)| {
            images
                .get(label)
                .map(|set| daemonset(role, label, set, namespace))
        })
        .collect()
}

/// The seed labels the release's components are placed on.
fn placement_labels(values: &Value) -> BTreeSet<&'static str> {
    let keys = values
        .get("labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten();
    keys.filter_map(|(_, placement)| placement.get("node_selector_key").and_then(Value::as_str))
        .filter_map(|key| {
            ROLES
                .iter()
                .find(|(label, _)| *label == key)
                .map(|(label, _)| *label)
        })
        .collect()
}

fn daemonset(role: &str, label: &str, images: &BTreeSet<String>, namespace: &str) -> Value {
    let name = format!("image-precaching-{role}");
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, image)| {
            json!({
                "name": format!("image-{i}"),
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "command": ["sleep", "infinity"],
                "resources": {"requests": {"cpu": "1m", "memory": "4Mi"}, "limits": {"memory": "16Mi"}},
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
            })
        })
        .collect();
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"application": "image-precaching", "component": role},
        },
        "spec": {
            "selector": {"matchLabels": {"application": "image-precaching", "component": role}},
            "template": {
                "metadata": {"labels": {"application": "image-precaching", "component": role}},
                "spec": {
                    "nodeSelector": {label: "enabled"},
                    "terminationGracePeriodSeconds": 1,
                    "containers": containers,
                },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::ChartGroup;

    fn release(name: &str, label: &str, images: &[&str]) -> Release {
        let tags: serde_json::Map<String, Value> = images
            .iter()
            .enumerate()
            .map(|(i, image)| (format!("k{i}"), json!(image)))
            .collect();
        Release {
            name: name.into(),
            chart: name.into(),
            group: ChartGroup::Openstack,
            version: None,
            namespace: "openstack".into(),
            values: json!({"images": {"tags": tags}, "labels": {"api": {"node_selector_key": label, "node_selector_value": "enabled"}}}),
            fingerprint: String::new(),
        }
    }

    #[test]
    fn each_role_caches_the_images_of_the_releases_placed_on_it_once() {
        let releases = [
            release("a", "openstack-control-plane", &["x:1", "y:1"]),
            release("b", "openstack-control-plane", &["y:1"]),
            release("c", "openstack-compute-node", &["z:1"]),
        ];
        let sets = daemonsets(releases.iter(), "openstack");
        let names: Vec<&str> = sets
            .iter()
            .map(|d| d["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            vec!["image-precaching-controller", "image-precaching-compute"]
        );
        let images: Vec<&str> = sets[0]["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["image"].as_str().unwrap())
            .collect();
        assert_eq!(images, vec!["x:1", "y:1"]);
        assert_eq!(
            sets[1]["spec"]["template"]["spec"]["nodeSelector"]["openstack-compute-node"],
            "enabled"
        );
    }
}
