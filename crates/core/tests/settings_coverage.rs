//! No setting is silently ignored: every setting of Rockoon's OSDPL schema
//! (`tests/fixtures/render/settings.yaml`) either changes what renders or is declared in
//! `render::unsupported_settings` (and then reported by the render); and every typed field of
//! our CRD's generated schema is among those settings, so a new field cannot skip the check.
//!
//! Each setting is rendered over a maximal base OSDPL and compared with the base alone (the
//! releases' values and the pre-caching DaemonSets; the spec fingerprint always differs).

#![allow(clippy::unwrap_used)]

use std::path::Path;

use rockoon_core::crd::OpenStackDeployment;
use rockoon_core::render::unsupported_settings::{is_declared, is_partial};
use rockoon_core::render::{RenderContext, Rendered, Templates, render};
use serde_json::{Map, Value, json};

fn settings() -> (Value, Map<String, Value>) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/render/settings.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let file: Value = serde_norway::from_str(&text).unwrap();
    let settings = file["settings"].as_object().unwrap().clone();
    (file["base"].clone(), settings)
}

fn render_dry(spec: &Value) -> Rendered {
    render(spec, &RenderContext::dry_run(), &Templates::embedded())
        .unwrap_or_else(|e| panic!("does not render: {e}\n{spec:#}"))
}

/// What a setting can change: the releases (values, names, charts) and pre-caching.
fn observable(rendered: &Rendered) -> Value {
    json!({
        "services": serde_json::to_value(&rendered.services).unwrap(),
        "precache": rendered.precache,
    })
}

/// `spec` with `value` at the dotted `path` (replacing what is there).
fn with(spec: &Value, path: &str, value: &Value) -> Value {
    let mut spec = spec.clone();
    let mut here = &mut spec;
    let parts: Vec<&str> = path.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        let map = here.as_object_mut().unwrap();
        here = map.entry(*part).or_insert_with(|| json!({}));
    }
    here.as_object_mut()
        .unwrap()
        .insert(parts[parts.len() - 1].to_owned(), value.clone());
    spec
}

#[test]
fn every_rockoon_setting_changes_the_render_or_is_declared_and_reported_unsupported() {
    let (base, settings) = settings();
    let before = observable(&render_dry(&base));
    let mut silent = Vec::new();
    let mut stale = Vec::new();
    for (path, value) in &settings {
        let spec = with(&base, path, value);
        let rendered = render_dry(&spec);
        let changed = observable(&rendered) != before;
        let full = format!("spec.{path}");
        let reported = rendered.unsupported.iter().any(|u| {
            let reported = u.split(": ").next().unwrap();
            full == reported || full.starts_with(&format!("{reported}."))
        });
        // A declared entry may render in some combinations (its `unless`, e.g. the LVM volume
        // group with the lvm backend the base uses): what the render reports is the judge.
        match (changed, reported) {
            (false, false) if is_declared(path) => panic!(
                "{path} is declared unsupported but the render does not report it: {:?}",
                rendered.unsupported
            ),
            (false, false) => silent.push(path.clone()),
            // Rendered in part, reported for the rest (e.g. CADF audit per chart, or the
            // public certificate with the platform's Gateway, reported outside the list).
            (true, true) if is_declared(path) && !is_partial(path) => stale.push(path.clone()),
            _ => {}
        }
    }
    assert!(
        silent.is_empty(),
        "settings that change nothing and are not declared in render/unsupported_settings.rs: \
         {silent:#?}"
    );
    assert!(
        stale.is_empty(),
        "settings declared unsupported that do change the render (delete their entries): \
         {stale:#?}"
    );
}

/// Fields of the generated schema that no template reads by design: the controller consumes
/// them (or another test covers them).
const NOT_RENDER_SETTINGS: &[&str] = &[
    "draft",              // the controller applies nothing while true
    "features.services",  // the service lists: catalog and render tests
    "nodes",              // node overrides: render/node_overrides.rs
    "openstack_version",  // in the base; versions: render tests
    "preset",             // in the base
    "public_domain_name", // in the base
    "services",           // spec.services values: render/unused.rs
    "size",               // in the base
    "timeouts",           // the health controller's readiness waits
];

/// Dotted paths of every typed leaf (or free-form object) of `schema`.
fn leaves(schema: &Value, here: &str, out: &mut Vec<String>) {
    let properties = schema.get("properties").and_then(Value::as_object);
    match properties {
        Some(properties) if !properties.is_empty() => {
            for (key, child) in properties {
                let path = if here.is_empty() {
                    key.clone()
                } else {
                    format!("{here}.{key}")
                };
                leaves(child, &path, out);
            }
        }
        _ => out.push(here.to_owned()),
    }
}

#[test]
fn every_typed_field_of_the_crd_is_a_checked_setting() {
    use kube::CustomResourceExt;
    let crd = serde_json::to_value(OpenStackDeployment::crd()).unwrap();
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    let mut fields = Vec::new();
    leaves(spec, "", &mut fields);
    assert!(fields.len() > 20, "{fields:?}");
    let (_, settings) = settings();
    let unchecked: Vec<&String> = fields
        .iter()
        .filter(|f| {
            !NOT_RENDER_SETTINGS
                .iter()
                .any(|n| *f == n || f.starts_with(&format!("{n}.")))
        })
        .filter(|f| {
            !settings.keys().any(|s| {
                s == *f || s.starts_with(&format!("{f}.")) || f.starts_with(&format!("{s}."))
            })
        })
        .collect();
    assert!(
        unchecked.is_empty(),
        "CRD fields not in tests/fixtures/render/settings.yaml: {unchecked:#?}"
    );
}
