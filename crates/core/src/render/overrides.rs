//! Per-release layers, applied after the service template, lowest priority first:
//! `common.charts.releases` → `common.<group>.releases` and `.values` →
//! `services.<service>.<chart>.values` → `nodes` overrides.
//!
//! Node overrides use the upstream charts' per-node mechanism: for
//! `nodes["<label-key>::<label-value>"].services.<service>.<chart>.<daemonset>.values.conf`, an
//! entry `{label: {key, values: [value]}, conf}` is appended to
//! `values.conf.overrides.<daemonset>.labels`, so that DaemonSet gets the extra configuration on
//! nodes carrying the label.

use serde_json::{Map, Value, json};

use super::{ChartGroup, RenderError};
use crate::values::merge_into;

/// Applies every layer to one release entry `{name, chart, values, ...}`.
pub fn apply(
    merged: &Value,
    service: &str,
    group: ChartGroup,
    entry: &mut Value,
) -> Result<(), RenderError> {
    let chart = entry
        .get("chart")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if let Some(layer) = merged.pointer("/common/charts/releases") {
        merge_into(entry, layer, "spec.common.charts.releases")?;
    }
    let group_key = group.key();
    if let Some(layer) = merged.pointer(&format!("/common/{group_key}/releases")) {
        merge_into(entry, layer, &format!("spec.common.{group_key}.releases"))?;
    }
    let values = entry
        .as_object_mut()
        .map(|e| e.entry("values").or_insert_with(|| json!({})))
        .ok_or_else(|| RenderError::Template {
            template: service.into(),
            message: "a release must be a map".into(),
        })?;
    if let Some(layer) = merged.pointer(&format!("/common/{group_key}/values")) {
        merge_into(values, layer, &format!("spec.common.{group_key}.values"))?;
    }
    if let Some(layer) = merged
        .get("services")
        .and_then(|s| s.get(service))
        .and_then(|s| s.get(&chart))
        .and_then(|c| c.get("values"))
    {
        merge_into(
            values,
            layer,
            &format!("spec.services.{service}.{chart}.values"),
        )?;
    }
    apply_node_overrides(merged, service, &chart, values)
}

fn apply_node_overrides(
    merged: &Value,
    service: &str,
    chart: &str,
    values: &mut Value,
) -> Result<(), RenderError> {
    let Some(nodes) = merged.get("nodes").and_then(Value::as_object) else {
        return Ok(());
    };
    for (group, node) in nodes {
        let path = format!("spec.nodes[{group:?}].services.{service}.{chart}");
        let Some(daemonsets) = node
            .pointer(&format!("/services/{service}/{chart}"))
            .and_then(Value::as_object)
        else {
            continue;
        };
        let (key, value) = group
            .split_once("::")
            .ok_or_else(|| RenderError::InvalidSpec {
                path: format!("spec.nodes[{group:?}]"),
                message: "node group keys must be <label-key>::<label-value>".into(),
            })?;
        for (daemonset, override_) in daemonsets {
            let conf = override_values_conf(override_, &format!("{path}.{daemonset}"))?;
            let labels = values
                .as_object_mut()
                .map(|v| v.entry("conf").or_insert_with(|| json!({})))
                .and_then(Value::as_object_mut)
                .map(|c| c.entry("overrides").or_insert_with(|| json!({})))
                .and_then(Value::as_object_mut)
                .map(|o| o.entry(daemonset.clone()).or_insert_with(|| json!({})))
                .and_then(Value::as_object_mut)
                .map(|d| d.entry("labels").or_insert_with(|| json!([])))
                .and_then(Value::as_array_mut)
                .ok_or_else(|| RenderError::InvalidSpec {
                    path: format!("{path}.{daemonset}"),
                    message: format!(
                        "values.conf.overrides.{daemonset}.labels of the release is not a list"
                    ),
                })?;
            labels.push(json!({"label": {"key": key, "values": [value]}, "conf": conf}));
        }
    }
    Ok(())
}

/// The `conf` of a node override's `values`: the only part upstream charts vary per node.
fn override_values_conf(override_: &Value, path: &str) -> Result<Value, RenderError> {
    let values = override_
        .get("values")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(Map::new);
    if let Some(other) = values.keys().find(|k| *k != "conf") {
        return Err(RenderError::InvalidSpec {
            path: format!("{path}.values.{other}"),
            message: "only `conf` can be overridden per node group (the charts vary nothing else per node)".into(),
        });
    }
    Ok(values.get("conf").cloned().unwrap_or_else(|| json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Value {
        json!({"name": "openstack-nova", "chart": "nova", "values": {"conf": {"nova": {"DEFAULT": {"debug": false}}}}})
    }

    #[test]
    fn layers_apply_in_order_with_services_winning_over_common() {
        let merged = json!({
            "common": {"charts": {"releases": {"values": {"a": 1}, "version": "0.1.0"}},
                       "openstack": {"values": {"a": 2, "b": 2}}},
            "services": {"compute": {"nova": {"values": {"b": 3}}}},
        });
        let mut release = entry();
        apply(&merged, "compute", ChartGroup::Openstack, &mut release).unwrap();
        assert_eq!(release["values"]["a"], 2);
        assert_eq!(release["values"]["b"], 3);
        assert_eq!(release["version"], "0.1.0");
    }

    #[test]
    fn the_infra_group_does_not_touch_openstack_charts() {
        let merged = json!({"common": {"infra": {"values": {"x": 1}}}});
        let mut release = entry();
        apply(&merged, "compute", ChartGroup::Openstack, &mut release).unwrap();
        assert!(release["values"].get("x").is_none());
    }

    #[test]
    fn node_overrides_become_per_label_daemonset_overrides() {
        let merged = json!({"nodes": {"openstack-compute-node::enabled": {"services": {"compute": {"nova": {
            "nova_compute": {"values": {"conf": {"nova": {"DEFAULT": {"cpu_allocation_ratio": 4}}}}}}}}}}});
        let mut release = entry();
        apply(&merged, "compute", ChartGroup::Openstack, &mut release).unwrap();
        assert_eq!(
            release["values"]["conf"]["overrides"]["nova_compute"]["labels"][0],
            json!({"label": {"key": "openstack-compute-node", "values": ["enabled"]},
                   "conf": {"nova": {"DEFAULT": {"cpu_allocation_ratio": 4}}}})
        );
    }

    #[test]
    fn a_node_override_of_something_else_than_conf_names_its_path() {
        let merged = json!({"nodes": {"a::b": {"services": {"compute": {"nova": {"nova_compute": {"values": {"pod": {}}}}}}}}});
        let error = apply(&merged, "compute", ChartGroup::Openstack, &mut entry()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("spec.nodes[\"a::b\"].services.compute.nova.nova_compute.values.pod"),
            "{error}"
        );
    }

    #[test]
    fn a_type_conflict_in_a_service_override_names_the_spec_path() {
        let merged = json!({"services": {"compute": {"nova": {"values": {"conf": "oops"}}}}});
        let error = apply(&merged, "compute", ChartGroup::Openstack, &mut entry()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("spec.services.compute.nova.values.conf"),
            "{error}"
        );
    }
}
