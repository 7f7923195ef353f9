//! Per-release layers, applied after the service template, lowest priority first:
//! `common.charts.releases` → `common.<group>.releases` and `.values` →
//! `services.<service>.<chart>.values` → `nodes` overrides.
//!
//! Node overrides use the upstream charts' per-node mechanisms. For
//! `nodes["<label-key>::<label-value>"].services.<service>.<chart>.<daemonset>.values`:
//! - newer charts (helm-toolkit `daemonset_overrides_root`) read
//!   `values.overrides.<daemonset>.labels["<label-key>::<label-value>"].values`: any values;
//! - classic charts (helm-toolkit `daemonset_overrides`) read
//!   `values.conf.overrides.<daemonset>.labels[]` entries `{label: {key, values: [value]}, conf}`,
//!   so the `conf` part of the override is also written there.
//!
//! A DaemonSet uses one mechanism or the other, so writing both never applies twice.

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
    let values = release_values(entry, service)?;
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

/// The `values` map of a release entry, created when missing.
pub(crate) fn release_values<'a>(
    entry: &'a mut Value,
    template: &str,
) -> Result<&'a mut Value, RenderError> {
    entry
        .as_object_mut()
        .map(|e| e.entry("values").or_insert_with(|| json!({})))
        .ok_or_else(|| RenderError::Template {
            template: template.to_owned(),
            message: "a release must be a map".into(),
        })
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
            let here = format!("{path}.{daemonset}");
            let override_values = match override_.get("values") {
                None | Some(Value::Null) => json!({}),
                Some(v @ Value::Object(_)) => v.clone(),
                Some(_) => {
                    return Err(RenderError::InvalidSpec {
                        path: format!("{here}.values"),
                        message: "must be a map".into(),
                    });
                }
            };
            // Newer charts (helm-toolkit daemonset_overrides_root): any values, per label.
            let root = child_map(values, &["overrides", daemonset, "labels"], &here)?;
            let slot = root
                .entry(group.clone())
                .or_insert_with(|| json!({"values": {}}));
            merge_into(
                slot,
                &json!({"values": override_values}),
                &format!("{here}.values"),
            )?;
            // Classic charts (helm-toolkit daemonset_overrides): the `conf` part, per label.
            if let Some(conf) = override_values.get("conf") {
                let conf_overrides = child_map(values, &["conf", "overrides", daemonset], &here)?;
                let labels = conf_overrides.entry("labels").or_insert_with(|| json!([]));
                let labels = labels
                    .as_array_mut()
                    .ok_or_else(|| RenderError::InvalidSpec {
                        path: here.clone(),
                        message: format!(
                            "values.conf.overrides.{daemonset}.labels of the release is not a list"
                        ),
                    })?;
                labels.push(json!({"label": {"key": key, "values": [value]}, "conf": conf}));
            }
        }
    }
    Ok(())
}

/// The map at `keys` under `values`, created when missing; an error naming `path` when
/// something that is not a map is in the way.
fn child_map<'a>(
    values: &'a mut Value,
    keys: &[&str],
    path: &str,
) -> Result<&'a mut Map<String, Value>, RenderError> {
    let mut current = values;
    for key in keys {
        let map = current
            .as_object_mut()
            .ok_or_else(|| RenderError::InvalidSpec {
                path: path.to_owned(),
                message: format!(
                    "the release values have a non-map where `{}` must go",
                    keys.join(".")
                ),
            })?;
        current = map.entry((*key).to_owned()).or_insert_with(|| json!({}));
    }
    current
        .as_object_mut()
        .ok_or_else(|| RenderError::InvalidSpec {
            path: path.to_owned(),
            message: format!("the release values have a non-map at `{}`", keys.join(".")),
        })
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
    fn node_overrides_become_per_label_daemonset_overrides_in_both_chart_shapes() {
        let merged = json!({"nodes": {"openstack-compute-node::enabled": {"services": {"compute": {"nova": {
            "nova_compute": {"values": {"conf": {"nova": {"DEFAULT": {"cpu_allocation_ratio": 4}}}}}}}}}}});
        let mut release = entry();
        apply(&merged, "compute", ChartGroup::Openstack, &mut release).unwrap();
        let conf = json!({"nova": {"DEFAULT": {"cpu_allocation_ratio": 4}}});
        assert_eq!(
            release["values"]["overrides"]["nova_compute"]["labels"]["openstack-compute-node::enabled"],
            json!({"values": {"conf": conf}})
        );
        assert_eq!(
            release["values"]["conf"]["overrides"]["nova_compute"]["labels"][0],
            json!({"label": {"key": "openstack-compute-node", "values": ["enabled"]}, "conf": conf})
        );
    }

    #[test]
    fn a_node_override_of_any_value_is_kept_for_charts_that_support_it() {
        let merged = json!({"nodes": {"a::b": {"services": {"compute": {"nova": {"nova_compute": {"values": {"pod": {"x": 1}}}}}}}}});
        let mut release = entry();
        apply(&merged, "compute", ChartGroup::Openstack, &mut release).unwrap();
        assert_eq!(
            release["values"]["overrides"]["nova_compute"]["labels"]["a::b"]["values"]["pod"]["x"],
            1
        );
        assert!(
            release["values"]["conf"].get("overrides").is_none(),
            "no conf part, no classic entry"
        );
    }

    #[test]
    fn a_node_override_whose_values_are_not_a_map_names_its_path() {
        let merged = json!({"nodes": {"a::b": {"services": {"compute": {"nova": {"nova_compute": {"values": "x"}}}}}}});
        let error = apply(&merged, "compute", ChartGroup::Openstack, &mut entry()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("spec.nodes[\"a::b\"].services.compute.nova.nova_compute.values"),
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
