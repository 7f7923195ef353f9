//! Per-release layers, applied after the service template, lowest priority first:
//! `common.charts.releases` → `common.<group>.releases` → `common.charts.values` →
//! `common.<group>.values` →
//! `services.<service>.<chart>.values` → `nodes` overrides.
//!
//! Node overrides are the last layer; [`super::node_overrides`] knows which DaemonSet of which
//! upstream chart takes what.

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
    if let Some(layer) = merged.pointer("/common/charts/values") {
        merge_into(values, layer, "spec.common.charts.values")?;
    }
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
    super::node_overrides::apply(merged, service, &chart, values)
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

/// The map at `keys` under `values`, created when missing; an error naming `path` when
/// something that is not a map is in the way.
pub(crate) fn child_map<'a>(
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
