//! Service ports the NetworkPolicies make unreachable from the namespace itself.
//!
//! For every Service with a selector, every pod template it selects and every port (metrics
//! ports aside: those are scraped from the monitoring namespace): when some NetworkPolicy
//! selects those pods with `Ingress` among its policy types (explicit, or implied by an absent
//! `policyTypes`), at least one ingress rule of those policies must admit a pod of the same
//! namespace to that port. No rules (`ingress: []` or none) admit nothing. A peer admits the
//! namespace when it is empty, a `podSelector` selecting some pod template of the namespace
//! (or everything), a `namespaceSelector` selecting this namespace (with its `podSelector`, if
//! any, selecting some pod template), or an `ipBlock` of everything (`0.0.0.0/0`, `::/0`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::{Finding, Object, PodTemplate, map_selector_matches, selector_matches, string_map};

fn is_ingress_policy(spec: &Value) -> bool {
    match spec["policyTypes"].as_array() {
        Some(types) => types.iter().any(|t| t == "Ingress"),
        None => true,
    }
}

/// The port a Service port leads to on the pods: (number, name), resolved through the pod
/// template's named container ports.
fn target(
    port: &k8s_openapi::api::core::v1::ServicePort,
    template: &PodTemplate,
) -> (Option<i32>, Option<String>) {
    let container_ports: Vec<(i32, Option<String>)> = template
        .spec
        .containers
        .iter()
        .chain(template.spec.init_containers.iter().flatten())
        .flat_map(|c| c.ports.iter().flatten())
        .map(|p| (p.container_port, p.name.clone()))
        .collect();
    match &port.target_port {
        Some(IntOrString::String(name)) => (
            container_ports
                .iter()
                .find(|(_, n)| n.as_deref() == Some(name))
                .map(|(number, _)| *number),
            Some(name.clone()),
        ),
        Some(IntOrString::Int(number)) => (Some(*number), named(&container_ports, *number)),
        None => (Some(port.port), named(&container_ports, port.port)),
    }
}

fn named(ports: &[(i32, Option<String>)], number: i32) -> Option<String> {
    ports
        .iter()
        .find(|(n, _)| *n == number)
        .and_then(|(_, name)| name.clone())
}

fn peer_admits_namespace(
    peer: &Value,
    templates: &[PodTemplate],
    namespace_labels: &BTreeMap<String, String>,
) -> bool {
    if let Some(block) = peer.get("ipBlock") {
        return matches!(block["cidr"].as_str(), Some("0.0.0.0/0" | "::/0"));
    }
    let pods_ok = |selector: &Value| {
        templates
            .iter()
            .any(|t| selector_matches(selector, &t.labels))
    };
    match (peer.get("namespaceSelector"), peer.get("podSelector")) {
        (Some(ns), pods) => selector_matches(ns, namespace_labels) && pods.is_none_or(&pods_ok),
        (None, Some(pods)) => pods_ok(pods),
        // An empty peer: everything.
        (None, None) => true,
    }
}

fn rule_admits(
    rule: &Value,
    number: Option<i32>,
    name: Option<&str>,
    protocol: &str,
    templates: &[PodTemplate],
    namespace_labels: &BTreeMap<String, String>,
) -> bool {
    let from_ok = match rule["from"].as_array() {
        None => true,
        Some(peers) if peers.is_empty() => true,
        Some(peers) => peers
            .iter()
            .any(|p| peer_admits_namespace(p, templates, namespace_labels)),
    };
    let ports_ok = match rule["ports"].as_array() {
        None => true,
        Some(ports) if ports.is_empty() => true,
        Some(ports) => ports.iter().any(|p| {
            let proto = p["protocol"].as_str().unwrap_or("TCP");
            if proto != protocol {
                return false;
            }
            match &p["port"] {
                Value::Null => true,
                Value::Number(n) => {
                    let start = n.as_i64().unwrap_or(-1);
                    let end = p["endPort"].as_i64().unwrap_or(start);
                    number.is_some_and(|t| (start..=end).contains(&i64::from(t)))
                }
                Value::String(s) => {
                    name == Some(s.as_str())
                        || s.parse::<i32>().ok().is_some_and(|n| Some(n) == number)
                }
                _ => false,
            }
        }),
    };
    from_ok && ports_ok
}

/// Every Service port blocked for the namespace.
pub fn check(
    templates: &[PodTemplate],
    objects: &[Object],
    namespace_labels: &BTreeMap<String, String>,
) -> Vec<Finding> {
    let policies: Vec<&Object> = objects
        .iter()
        .filter(|o| o.kind == "NetworkPolicy" && is_ingress_policy(&o.body["spec"]))
        .collect();
    if policies.is_empty() {
        return Vec::new();
    }
    let mut findings = Vec::new();
    for object in objects.iter().filter(|o| o.kind == "Service") {
        let Ok(service) = serde_json::from_value::<Service>(object.body.clone()) else {
            continue;
        };
        let spec = service.spec.unwrap_or_default();
        let selector = spec.selector.unwrap_or_default().into_iter().collect();
        for template in templates
            .iter()
            .filter(|t| map_selector_matches(&selector, &t.labels))
        {
            let selecting: Vec<&&Object> = policies
                .iter()
                .filter(|p| selector_matches(&p.body["spec"]["podSelector"], &template.labels))
                .collect();
            if selecting.is_empty() {
                continue;
            }
            for port in spec.ports.iter().flatten() {
                let label = port.name.clone().unwrap_or_else(|| port.port.to_string());
                if label.contains("metrics") || label.contains("exporter") {
                    continue;
                }
                let (number, name) = target(port, template);
                let protocol = port.protocol.as_deref().unwrap_or("TCP");
                let admitted = selecting.iter().any(|p| {
                    p.body["spec"]["ingress"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|rule| {
                            rule_admits(
                                rule,
                                number,
                                name.as_deref(),
                                protocol,
                                templates,
                                namespace_labels,
                            )
                        })
                });
                if !admitted {
                    findings.push(Finding::IngressBlocked {
                        service: object.id(),
                        port: format!("{label} ({})", port.port),
                        workload: template.describe(),
                        policies: selecting.iter().map(|p| p.id()).collect(),
                    });
                }
            }
        }
    }
    findings
}

/// Labels of a Namespace object, with the `kubernetes.io/metadata.name` the API server adds.
pub fn namespace_labels(namespace: &Value, name: &str) -> BTreeMap<String, String> {
    let mut labels = string_map(&namespace["metadata"]["labels"]);
    labels.insert("kubernetes.io/metadata.name".into(), name.into());
    labels
}

#[cfg(test)]
mod tests {
    use super::super::pod_templates;
    use super::*;
    use serde_json::json;

    fn ns_labels() -> BTreeMap<String, String> {
        namespace_labels(&json!({}), "openstack")
    }

    fn placement(policy_spec: Value) -> Vec<Object> {
        vec![
            Object::new(
                json!({"kind": "Deployment", "metadata": {"name": "placement-api"}, "spec": {"template": {
                    "metadata": {"labels": {"application": "placement", "component": "api"}},
                    "spec": {"containers": [{"name": "api", "image": "x", "ports": [{"name": "p-api", "containerPort": 8778}]}]}}}}),
                None,
            ),
            Object::new(
                json!({"kind": "Deployment", "metadata": {"name": "nova-api"}, "spec": {"template": {
                    "metadata": {"labels": {"application": "nova", "component": "os-api"}},
                    "spec": {"containers": [{"name": "api", "image": "x"}]}}}}),
                None,
            ),
            Object::new(
                json!({"kind": "Service", "metadata": {"name": "placement-api"}, "spec": {
                    "selector": {"application": "placement", "component": "api"},
                    "ports": [{"name": "p-api", "port": 8778, "targetPort": "p-api"}, {"name": "metrics", "port": 9000}]}}),
                None,
            ),
            Object::new(
                json!({"kind": "NetworkPolicy", "metadata": {"name": "placement-netpol"}, "spec": policy_spec}),
                None,
            ),
        ]
    }

    fn run(objects: &[Object]) -> Vec<Finding> {
        let (templates, _) = pod_templates(objects);
        check(&templates, objects, &ns_labels())
    }

    #[test]
    fn a_deny_all_network_policy_blocks_the_api_port() {
        let findings = run(&placement(json!({
            "podSelector": {"matchLabels": {"application": "placement"}},
            "policyTypes": ["Ingress", "Egress"], "ingress": []
        })));
        assert_eq!(findings.len(), 1, "{findings:?}");
        let text = findings[0].to_string();
        assert!(
            text.contains("Service/placement-api port p-api (8778)"),
            "{text}"
        );
        assert!(text.contains("NetworkPolicy/placement-netpol"), "{text}");
    }

    #[test]
    fn a_policy_without_policy_types_and_rules_also_denies() {
        let findings = run(&placement(json!({"podSelector": {}})));
        assert_eq!(findings.len(), 1, "{findings:?}");
    }

    #[test]
    fn a_rule_from_pods_of_the_namespace_to_the_named_port_admits() {
        let findings = run(&placement(json!({
            "podSelector": {"matchLabels": {"application": "placement"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"application": "nova"}}}], "ports": [{"port": 8778}]}]
        })));
        assert!(findings.is_empty(), "{findings:?}");
        let findings = run(&placement(json!({
            "podSelector": {}, "ingress": [{}]
        })));
        assert!(findings.is_empty(), "{findings:?}");
    }

    #[test]
    fn rules_for_another_port_or_another_namespace_do_not_admit() {
        let findings = run(&placement(json!({
            "podSelector": {},
            "ingress": [
                {"ports": [{"port": 9000}]},
                {"from": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}]},
                {"from": [{"podSelector": {"matchLabels": {"application": "nobody"}}}]}
            ]
        })));
        assert_eq!(findings.len(), 1, "{findings:?}");
    }

    #[test]
    fn an_egress_only_policy_blocks_no_ingress() {
        let findings = run(&placement(json!({
            "podSelector": {}, "policyTypes": ["Egress"], "egress": []
        })));
        assert!(findings.is_empty(), "{findings:?}");
    }
}
