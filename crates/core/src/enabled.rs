//! Which services an OpenStackDeployment enables, without loading or rendering templates:
//! its preset's service list (from the descriptors) with the user's `features.services` merged in (Rockoon's list
//! union, where `~name` removes a service), in apply order.
//!
//! The secrets controller needs this to know which credentials to generate; the render engine
//! reaches the same list through the preset templates (a test keeps the two in step).

use serde_json::{Value, json};

use crate::crd::OpenStackDeploymentSpec;
use crate::crd::osdpl::Preset;
use crate::render::RenderError;
use crate::render::catalog;
use crate::services::{Service, preset_services};
use crate::values::merge_into;

/// The enabled services of `spec`, in apply order; an unknown preset or service name is an
/// error naming its place in the spec.
pub fn enabled_services(
    spec: &OpenStackDeploymentSpec,
) -> Result<Vec<&'static Service>, RenderError> {
    let user: Vec<Value> = spec
        .features
        .as_ref()
        .and_then(|f| f.services.as_ref())
        .map(|list| list.iter().map(|s| json!(s)).collect())
        .unwrap_or_default();
    // Checked before merging, so an error points at the user's own list entry.
    for (index, item) in user.iter().enumerate() {
        catalog::check_entry(&format!("spec.features.services[{index}]"), item)?;
    }
    let Some(preset) = preset_services(spec.preset) else {
        let name = json!(spec.preset);
        return Err(RenderError::InvalidSpec {
            path: "spec.preset".into(),
            message: format!("no preset {name} (core, compute and compute-tf are rendered)"),
        });
    };
    // The release, preset and neutron backend decide which services cannot render (as in the
    // preset templates: compute-tf is Tungsten Fabric unless the user says otherwise).
    let backend = spec
        .features
        .as_ref()
        .and_then(|f| f.neutron.as_ref()?.backend)
        .map_or_else(
            || {
                json!(if spec.preset == Preset::ComputeTf {
                    "tungstenfabric"
                } else {
                    "ml2"
                })
            },
            |b| json!(b),
        );
    let mut merged = json!({
        "openstack_version": spec.openstack_version,
        "preset": spec.preset,
        "features": {"services": preset, "neutron": {"backend": backend}},
    });
    merge_into(
        &mut merged,
        &json!({"features": {"services": user}}),
        "spec",
    )?;
    catalog::enabled_services(&merged)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::render::{RenderContext, Templates, spec::merged_spec};

    fn spec(preset: &str, services: &[&str]) -> OpenStackDeploymentSpec {
        serde_json::from_value(json!({
            "openstack_version": "caracal", "preset": preset, "size": "tiny",
            "public_domain_name": "it.example.com",
            "features": {"services": services},
        }))
        .unwrap()
    }

    fn names(services: Vec<&'static Service>) -> Vec<&'static str> {
        services.into_iter().map(|s| s.name).collect()
    }

    #[test]
    fn each_preset_list_is_the_one_its_template_renders() {
        let templates = Templates::embedded();
        for preset in ["core", "compute"] {
            let osdpl = spec(preset, &[]);
            let value = serde_json::to_value(&osdpl).unwrap();
            let (merged, _) = merged_spec(&value, &RenderContext::default(), &templates).unwrap();
            assert_eq!(
                names(enabled_services(&osdpl).unwrap()),
                names(catalog::enabled_services(&merged).unwrap()),
                "preset {preset}"
            );
        }
    }

    #[test]
    fn the_user_list_adds_services_and_a_tilde_removes_one() {
        let enabled = names(enabled_services(&spec("core", &["tempest", "~dashboard"])).unwrap());
        assert!(enabled.contains(&"tempest"), "{enabled:?}");
        assert!(!enabled.contains(&"dashboard"), "{enabled:?}");
        assert_eq!(
            enabled.first(),
            Some(&"database"),
            "infra first: {enabled:?}"
        );
    }

    #[test]
    fn an_unknown_service_is_named_by_its_place_in_the_user_list() {
        let error = enabled_services(&spec("core", &["identity", "warp-drive"])).unwrap_err();
        assert!(
            error.to_string().contains("spec.features.services[1]"),
            "{error}"
        );
    }

    #[test]
    fn compute_tf_enables_the_compute_services_but_not_networking_it_cannot_render() {
        let names = |preset| -> Vec<&str> {
            enabled_services(&spec(preset, &[]))
                .unwrap()
                .iter()
                .map(|s| s.name)
                .collect()
        };
        let tf = names("compute-tf");
        let compute = names("compute");
        assert!(!tf.contains(&"networking") && compute.contains(&"networking"));
        assert_eq!(tf.len() + 1, compute.len());
    }
}
