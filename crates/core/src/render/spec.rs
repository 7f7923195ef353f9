//! The merged spec: preset → size → artifact base URLs → the user's spec, with
//! `public_domain_name` normalised.

use serde_json::{Value, json};

use super::{RenderContext, RenderError, Templates, secret_refs};
use crate::crd::osdpl::{OpenStackVersion, Preset};
use crate::services;
use crate::values::merge_into;

/// The user's spec merged over its preset and size, with `value_from` references resolved,
/// and the references that could not be (each a [`RenderError::SecretRef`] with its path).
pub fn merged_spec(
    spec: &Value,
    context: &RenderContext,
    templates: &Templates,
) -> Result<(Value, Vec<RenderError>), RenderError> {
    let (user, missing_refs) = secret_refs::substitute(spec, context);
    // Checked before merging, so an error points at the user's own list entry.
    if let Some(Value::Array(items)) = user.pointer("/features/services") {
        for (index, item) in items.iter().enumerate() {
            super::catalog::check_entry(&format!("spec.features.services[{index}]"), item)?;
        }
    }
    let preset = required_str(&user, "preset")?;
    let size = required_str(&user, "size")?;
    let version = required_str(&user, "openstack_version")?;
    let preset_template = format!("preset/{preset}.yaml");
    if !templates.has(&preset_template) {
        return Err(invalid(
            "spec.preset",
            format!("no preset {preset:?} (core, compute and compute-tf are rendered)"),
        ));
    }
    let size_template = format!("size/{size}.yaml");
    if !templates.has(&size_template) {
        return Err(invalid("spec.size", format!("no size {size:?}")));
    }
    let preset_kind = serde_json::from_value::<Preset>(json!(preset)).ok();
    let release = serde_json::from_value::<OpenStackVersion>(json!(version)).ok();
    // Rockoon's preset list: the rendered services, then those this version reports as
    // unsupported (e.g. `redis` before gazpacho), never dropped.
    let mut preset_services = preset_kind
        .and_then(services::preset_services)
        .unwrap_or_default();
    if let Some(kind) = preset_kind {
        preset_services.extend(services::rockoon::preset_extras(kind, release));
    }
    let preset_context = json!({
        "openstack_version": version,
        // Rockoon's preset turns NetworkPolicies on from yoga.
        "network_policies": release.is_some_and(|r| r >= OpenStackVersion::Yoga),
        "preset_services": preset_services,
        "namespace": context.namespace,
        "services": user.pointer("/features/services").cloned().unwrap_or(json!([])),
        "ovn_enabled": user.pointer("/features/neutron/backend").and_then(Value::as_str) == Some("ml2/ovn"),
    });
    let mut merged = templates.render_yaml_memo(&preset_template, &preset_context)?;
    merged.as_object_mut().ok_or_else(|| invalid(&preset_template, "a preset must be a map".into()))?.insert(
        "artifacts".into(),
        json!({"images_base_url": context.images_base_url, "binary_base_url": context.binary_base_url}),
    );
    merge_into(
        &mut merged,
        &templates.render_yaml_memo(&size_template, &json!({}))?,
        "spec",
    )?;
    merge_into(&mut merged, &user, "spec")?;
    normalise_domain(&mut merged);
    Ok((merged, missing_refs))
}

/// `public_domain_name` as DNS compares it: lower case, without the root's trailing dot (the
/// CRD accepts both, as Rockoon does).
fn normalise_domain(merged: &mut Value) {
    if let Some(Value::String(domain)) = merged.get_mut("public_domain_name") {
        *domain = domain.trim_end_matches('.').to_ascii_lowercase();
    }
}

fn required_str<'a>(spec: &'a Value, key: &str) -> Result<&'a str, RenderError> {
    spec.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(&format!("spec.{key}"), "required string".into()))
}

fn invalid(path: &str, message: String) -> RenderError {
    RenderError::InvalidSpec {
        path: path.to_owned(),
        message,
    }
}
