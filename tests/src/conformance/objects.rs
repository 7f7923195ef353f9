//! Two releases rendering the same object. Helm refuses to install the second one ("exists and
//! cannot be imported into the current release"), so on a cluster the collision shows up as a
//! failed release; from `helm template` output it is caught before any install.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Finding;

/// Kinds without a namespace (the ones the charts render).
const CLUSTER_SCOPED: &[&str] = &[
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "Namespace",
    "PersistentVolume",
    "PriorityClass",
    "StorageClass",
    "IngressClass",
    "GatewayClass",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "APIService",
    "CSIDriver",
    "RuntimeClass",
];

/// `group/Kind/namespace/name` of a rendered object; objects without a namespace go to the
/// release's namespace, cluster-scoped kinds have none.
fn identity(object: &Value, namespace: &str) -> Option<String> {
    let kind = object["kind"].as_str()?;
    let name = object["metadata"]["name"].as_str()?;
    let group = object["apiVersion"]
        .as_str()
        .and_then(|v| v.rsplit_once('/').map(|(g, _)| g))
        .unwrap_or("");
    let kind = if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}.{group}")
    };
    if CLUSTER_SCOPED.contains(&object["kind"].as_str()?) {
        return Some(format!("{kind}/{name}"));
    }
    let ns = object["metadata"]["namespace"]
        .as_str()
        .unwrap_or(namespace);
    Some(format!("{kind}/{ns}/{name}"))
}

/// Objects rendered by more than one release (or twice by one).
pub fn check(rendered: &[(String, Vec<Value>)], namespace: &str) -> Vec<Finding> {
    let mut owners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (release, objects) in rendered {
        for object in objects {
            if let Some(id) = identity(object, namespace) {
                owners.entry(id).or_default().push(release.clone());
            }
        }
    }
    owners
        .into_iter()
        .filter(|(_, releases)| releases.len() > 1)
        .map(|(object, mut releases)| {
            releases.sort();
            Finding::DuplicateObject { object, releases }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn netpol(name: &str) -> Value {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name}})
    }

    #[test]
    fn two_releases_rendering_the_same_network_policy_are_reported_once_with_both_releases() {
        let rendered = vec![
            (
                "openstack-rabbitmq".to_owned(),
                vec![netpol("rabbitmq-netpol")],
            ),
            (
                "openstack-nova-rabbitmq".to_owned(),
                vec![netpol("rabbitmq-netpol"), netpol("other")],
            ),
        ];
        let findings = check(&rendered, "openstack");
        assert_eq!(
            findings,
            vec![Finding::DuplicateObject {
                object: "NetworkPolicy.networking.k8s.io/openstack/rabbitmq-netpol".into(),
                releases: vec![
                    "openstack-nova-rabbitmq".into(),
                    "openstack-rabbitmq".into()
                ],
            }]
        );
    }

    #[test]
    fn same_names_in_other_namespaces_or_kinds_do_not_collide() {
        let mut elsewhere = netpol("a");
        elsewhere["metadata"]["namespace"] = json!("other");
        let rendered = vec![
            ("r1".to_owned(), vec![netpol("a")]),
            (
                "r2".to_owned(),
                vec![
                    elsewhere,
                    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}),
                ],
            ),
        ];
        assert!(check(&rendered, "openstack").is_empty());
    }

    #[test]
    fn a_cluster_role_rendered_by_two_releases_collides_whatever_their_namespaces() {
        let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "x"}});
        let rendered = vec![
            ("r1".to_owned(), vec![role.clone()]),
            ("r2".to_owned(), vec![role]),
        ];
        assert_eq!(check(&rendered, "ns").len(), 1);
    }
}
