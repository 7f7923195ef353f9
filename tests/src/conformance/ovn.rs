//! Gateways placed nowhere: routers then get no SNAT or floating IPs.
//!
//! - OVN: the `ovn` chart's `ovn-controller` DaemonSet makes a node a gateway chassis when the
//!   node carries the label `labels.ovn_controller_gw` (`node_selector_key=node_selector_value`,
//!   chart default `l3-agent=enabled`), read from the release's computed values. At least one
//!   node must carry it **and** run ovn-controller (match the DaemonSet's nodeSelector).
//! - ML2/OVS: each neutron L3 agent DaemonSet (`application: neutron`, `component: l3-agent`)
//!   must have a nodeSelector matching at least one node.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Finding, Object, string_map};

/// The chart's default gateway label (`ovn/values.yaml`, `labels.ovn_controller_gw`).
pub const CHART_DEFAULT_GW_LABEL: (&str, &str) = ("l3-agent", "enabled");

type Nodes = [(String, BTreeMap<String, String>)];

fn matching_nodes<'a>(nodes: &'a Nodes, selector: &BTreeMap<String, String>) -> Vec<&'a str> {
    nodes
        .iter()
        .filter(|(_, labels)| selector.iter().all(|(k, v)| labels.get(k) == Some(v)))
        .map(|(name, _)| name.as_str())
        .collect()
}

fn template_labels(object: &Object) -> BTreeMap<String, String> {
    string_map(&object.body["spec"]["template"]["metadata"]["labels"])
}

/// Gateways no node takes. `values`: each release's computed values.
pub fn check(objects: &[Object], values: &BTreeMap<String, Value>, nodes: &Nodes) -> Vec<Finding> {
    let mut findings = Vec::new();
    for ds in objects.iter().filter(|o| o.kind == "DaemonSet") {
        let labels = template_labels(ds);
        let node_selector = string_map(&ds.body["spec"]["template"]["spec"]["nodeSelector"]);
        let app = labels.get("application").map(String::as_str);
        let component = labels.get("component").map(String::as_str);
        if ds.name == "ovn-controller"
            || (app == Some("ovn") && component == Some("ovn-controller"))
        {
            let gw = ds
                .release
                .as_ref()
                .and_then(|r| values.get(r))
                .and_then(|v| v.pointer("/labels/ovn_controller_gw"));
            let (key, value, source) = match gw.map(|g| {
                (
                    g["node_selector_key"].as_str(),
                    g["node_selector_value"].as_str(),
                )
            }) {
                Some((Some(k), Some(v))) => (
                    k.to_owned(),
                    v.to_owned(),
                    "labels.ovn_controller_gw of the release's values".to_owned(),
                ),
                _ => (
                    CHART_DEFAULT_GW_LABEL.0.to_owned(),
                    CHART_DEFAULT_GW_LABEL.1.to_owned(),
                    "the chart default; the release's values were not available".to_owned(),
                ),
            };
            let mut selector = node_selector.clone();
            selector.insert(key.clone(), value.clone());
            if matching_nodes(nodes, &selector).is_empty() {
                let runs_on = if node_selector.is_empty() {
                    String::new()
                } else {
                    format!(
                        " among the nodes running it ({})",
                        node_selector
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(",")
                    )
                };
                findings.push(Finding::GatewayNowhere {
                    daemonset: ds.id(),
                    release: ds.release.clone(),
                    label: format!("{key}={value}"),
                    source: format!("{source}{runs_on}"),
                });
            }
        }
        if app == Some("neutron")
            && component == Some("l3-agent")
            && matching_nodes(nodes, &node_selector).is_empty()
        {
            findings.push(Finding::GatewayNowhere {
                daemonset: ds.id(),
                release: ds.release.clone(),
                label: node_selector
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(","),
                source: "the L3 agent's nodeSelector".to_owned(),
            });
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nodes() -> Vec<(String, BTreeMap<String, String>)> {
        let node = |name: &str, labels: &[(&str, &str)]| {
            (
                name.to_owned(),
                labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            )
        };
        vec![
            node(
                "cmp-0",
                &[
                    ("openstack-compute-node", "enabled"),
                    ("openvswitch", "enabled"),
                ],
            ),
            node("gw-0", &[("openstack-gateway", "enabled")]),
        ]
    }

    fn ovn_controller() -> Object {
        Object::new(
            json!({"kind": "DaemonSet", "metadata": {"name": "ovn-controller"}, "spec": {"template": {
                "metadata": {"labels": {"application": "ovn", "component": "ovn-controller"}},
                "spec": {"nodeSelector": {"openvswitch": "enabled"}, "containers": []}}}}),
            Some("openstack-ovn".into()),
        )
    }

    #[test]
    fn a_gateway_label_on_no_node_is_reported() {
        let values = BTreeMap::from([(
            "openstack-ovn".to_owned(),
            json!({"labels": {"ovn_controller_gw": {"node_selector_key": "l3-agent", "node_selector_value": "enabled"}}}),
        )]);
        let findings = check(&[ovn_controller()], &values, &nodes());
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            findings[0].to_string().contains("l3-agent=enabled"),
            "{}",
            findings[0]
        );
    }

    #[test]
    fn a_gateway_label_carried_by_a_node_running_ovn_controller_is_fine() {
        let values = BTreeMap::from([(
            "openstack-ovn".to_owned(),
            json!({"labels": {"ovn_controller_gw": {"node_selector_key": "openstack-compute-node", "node_selector_value": "enabled"}}}),
        )]);
        assert!(check(&[ovn_controller()], &values, &nodes()).is_empty());
        // The gateway node does not run ovn-controller: still nowhere.
        let values = BTreeMap::from([(
            "openstack-ovn".to_owned(),
            json!({"labels": {"ovn_controller_gw": {"node_selector_key": "openstack-gateway", "node_selector_value": "enabled"}}}),
        )]);
        assert_eq!(check(&[ovn_controller()], &values, &nodes()).len(), 1);
    }

    #[test]
    fn an_l3_agent_selecting_no_node_is_reported() {
        let l3 = |selector: Value| {
            Object::new(
                json!({"kind": "DaemonSet", "metadata": {"name": "neutron-l3-agent-default"}, "spec": {"template": {
                    "metadata": {"labels": {"application": "neutron", "component": "l3-agent"}},
                    "spec": {"nodeSelector": selector, "containers": []}}}}),
                Some("openstack-neutron".into()),
            )
        };
        let findings = check(
            &[l3(json!({"l3-agent": "enabled"}))],
            &BTreeMap::new(),
            &nodes(),
        );
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            check(
                &[l3(json!({"openstack-gateway": "enabled"}))],
                &BTreeMap::new(),
                &nodes()
            )
            .is_empty()
        );
    }
}
