//! The render engine end to end, offline: golden outputs for the sample OSDPLs, and bad input
//! that must end in an error naming where the problem is.
//!
//! `UPDATE_GOLDEN=1 cargo test -p rockoon-core --test render` rewrites the expected files
//! under `tests/fixtures/render/`; review the diff before committing it.

// In tests a failed unwrap is a failed test with its message; that is what we want.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use rockoon_core::error::ErrorKind;
use rockoon_core::render::{RenderContext, RenderError, ServiceOutcome, Templates, render};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn sample_spec(name: &str) -> Value {
    let text = std::fs::read_to_string(fixtures().join("osdpl").join(name)).unwrap();
    let object: Value = serde_norway::from_str(&text).unwrap();
    object["spec"].clone()
}

fn golden(name: &str, actual: &Value) {
    let path = fixtures().join("render").join(name);
    let actual_text = serde_norway::to_string(actual).unwrap();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual_text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} missing: run UPDATE_GOLDEN=1 cargo test -p rockoon-core --test render",
            path.display()
        )
    });
    let expected: Value = serde_norway::from_str(&expected).unwrap();
    assert!(
        &expected == actual,
        "{} differs from the render (UPDATE_GOLDEN=1 rewrites it):\n{actual_text}",
        path.display()
    );
}

fn minimal(extra: Value) -> Value {
    let mut spec = json!({
        "openstack_version": "caracal", "preset": "core", "size": "tiny",
        "public_domain_name": "it.example.com",
    });
    rockoon_core::values::merge_into(&mut spec, &extra, "spec").unwrap();
    spec
}

fn render_dry(spec: &Value) -> Result<rockoon_core::render::Rendered, RenderError> {
    render(spec, &RenderContext::dry_run(), &Templates::embedded())
}

#[test]
fn core_sample_renders_to_its_golden_output() {
    let rendered = render_dry(&sample_spec("core.yaml")).unwrap();
    golden("core.yaml", &serde_json::to_value(&rendered).unwrap());
}

#[test]
fn compute_sample_renders_to_its_golden_output() {
    let rendered = render_dry(&sample_spec("compute.yaml")).unwrap();
    golden("compute.yaml", &serde_json::to_value(&rendered).unwrap());
}

#[test]
fn a_rockoon_antelope_object_renders_with_its_unrenderable_services_reported_not_dropped() {
    let rendered = render_dry(&sample_spec("antelope-rockoon.yaml")).unwrap();
    let unsupported: Vec<(&str, &str)> = rendered
        .services
        .iter()
        .filter_map(|(name, outcome)| match outcome {
            ServiceOutcome::Unsupported { reason } => Some((name.as_str(), reason.as_str())),
            _ => None,
        })
        .collect();
    let names: Vec<&str> = unsupported.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "baremetal",
            "descheduler",
            "dynamic-resource-balancer",
            "redis",
            "stepler"
        ]
    );
    assert!(unsupported.iter().all(|(_, why)| !why.is_empty()));
    assert!(rendered.releases().any(|r| r.chart == "masakari"));
    assert!(rendered.releases().any(|r| r.chart == "barbican"));
    // The domain as DNS compares it; Vault with only `enabled` is reported, not rendered.
    let text = serde_json::to_string(&rendered.services).unwrap();
    assert!(
        text.contains("keystone.cloud.example.net"),
        "domain not normalised"
    );
    assert!(
        !text.contains("Cloud.Example"),
        "upper case left in the render"
    );
    assert!(
        rendered
            .unsupported
            .iter()
            .any(|u| u.starts_with("spec.features.barbican.backends.vault: ")),
        "{:?}",
        rendered.unsupported
    );
    assert!(!text.contains("vault_plugin"));
    golden(
        "antelope-rockoon.yaml",
        &serde_json::to_value(&rendered).unwrap(),
    );
}

#[test]
fn compute_tf_renders_everything_but_its_tungsten_fabric_networking_which_is_unsupported() {
    let mut spec = minimal(json!({}));
    spec["preset"] = json!("compute-tf");
    let rendered = render_dry(&spec).unwrap();
    let outcome = |name: &str| {
        rendered
            .services
            .iter()
            .find(|(s, _)| s == name)
            .map(|(_, o)| o.clone())
            .unwrap_or_else(|| panic!("{name} is not listed"))
    };
    assert!(
        matches!(outcome("networking"), ServiceOutcome::Unsupported { reason } if reason.contains("tungstenfabric"))
    );
    assert!(matches!(
        outcome("redis"),
        ServiceOutcome::Unsupported { .. }
    ));
    assert!(matches!(outcome("compute"), ServiceOutcome::Ready { .. }));
    assert!(matches!(
        outcome("load-balancer"),
        ServiceOutcome::Ready { .. }
    ));
    assert!(!rendered.releases().any(|r| r.chart == "neutron"));
}

#[test]
fn telemetry_sample_renders_to_its_golden_output() {
    let rendered = render_dry(&sample_spec("telemetry.yaml")).unwrap();
    assert!(
        rendered.unsupported.is_empty(),
        "{:?}",
        rendered.unsupported
    );
    golden("telemetry.yaml", &serde_json::to_value(&rendered).unwrap());
}

#[test]
fn rendering_twice_gives_identical_output_and_fingerprints() {
    let spec = sample_spec("compute.yaml");
    assert_eq!(render_dry(&spec).unwrap(), render_dry(&spec).unwrap());
}

#[test]
fn services_render_in_apply_order_infra_then_identity_then_the_rest() {
    let rendered = render_dry(&sample_spec("compute.yaml")).unwrap();
    let names: Vec<&str> = rendered.services.iter().map(|(n, _)| n.as_str()).collect();
    let identity = names.iter().position(|n| *n == "identity").unwrap();
    assert!(names[..identity].iter().all(|n| {
        [
            "database",
            "messaging",
            "memcached",
            "coordination",
            "ingress",
        ]
        .contains(n)
    }));
    assert!(
        names[identity + 1..]
            .iter()
            .all(|n| !["database", "messaging", "memcached"].contains(n))
    );
}

#[test]
fn a_tilde_entry_removes_a_preset_service() {
    let rendered = render_dry(&minimal(json!({"features": {"services": ["~dashboard"]}}))).unwrap();
    assert!(
        rendered
            .services
            .iter()
            .all(|(name, _)| name != "dashboard")
    );
}

#[test]
fn without_generated_credentials_a_service_waits_and_says_for_what() {
    let context = RenderContext {
        namespace: "openstack".into(),
        ..Default::default()
    };
    let rendered = render(&minimal(json!({})), &context, &Templates::embedded()).unwrap();
    let identity = rendered
        .services
        .iter()
        .find(|(n, _)| n == "identity")
        .unwrap();
    match &identity.1 {
        ServiceOutcome::Waiting { reason } => assert!(reason.contains("credentials"), "{reason}"),
        other => panic!("identity rendered without credentials: {other:?}"),
    }
}

#[test]
fn images_base_url_rewrites_every_image_registry() {
    let spec = minimal(json!({"artifacts": {"images_base_url": "mirror.example.net/os"}}));
    let rendered = render_dry(&spec).unwrap();
    for release in rendered.releases() {
        for (key, image) in release.values["images"]["tags"].as_object().unwrap() {
            assert!(
                image
                    .as_str()
                    .unwrap()
                    .starts_with("mirror.example.net/os/"),
                "{}: {key} = {image}",
                release.name
            );
        }
    }
}

#[test]
fn common_and_services_overrides_land_in_the_release_values() {
    let spec = minimal(json!({
        "common": {"openstack": {"values": {"conf": {"keystone": {"DEFAULT": {"debug": true}}}}}},
        "services": {"identity": {"keystone": {"values": {"pod": {"replicas": {"api": 5}}}}}},
    }));
    let rendered = render_dry(&spec).unwrap();
    let keystone = rendered
        .releases()
        .find(|r| r.name == "openstack-keystone")
        .unwrap();
    assert_eq!(
        keystone.values["conf"]["keystone"]["DEFAULT"]["debug"],
        true
    );
    assert_eq!(keystone.values["pod"]["replicas"]["api"], 5);
    let memcached = rendered
        .releases()
        .find(|r| r.name == "openstack-memcached")
        .unwrap();
    assert!(
        memcached.values.get("conf").is_none(),
        "an openstack-group override reached an infra chart"
    );
}

#[test]
fn hostile_strings_stay_plain_values_and_cannot_change_the_yaml_structure() {
    let hostile = "x\"\n  injected: true\n# {{ 7*7 }}";
    let rendered = render_dry(&minimal(json!({"region_name": hostile}))).unwrap();
    let keystone = rendered
        .releases()
        .find(|r| r.name == "openstack-keystone")
        .unwrap();
    assert_eq!(
        keystone.values["endpoints"]["identity"]["auth"]["admin"]["region_name"],
        hostile
    );
    assert!(keystone.values.get("injected").is_none());
}

#[test]
fn bad_input_fails_with_the_path_of_the_problem() {
    let cases = [
        (
            minimal(json!({"features": {"services": ["frobnicator"]}})),
            "spec.features.services[",
        ),
        (minimal(json!({"preset": "hyperscale"})), "spec.preset"),
        (minimal(json!({"size": "huge"})), "spec.size"),
        (
            minimal(json!({"openstack_version": "queens"})),
            "spec.openstack_version",
        ),
        (
            minimal(json!({"services": {"identity": {"keystone": {"values": {"pod": "oops"}}}}})),
            "spec.services.identity.keystone.values.pod",
        ),
        (
            minimal(json!({"features": {"neutron": "ml2"}})),
            "spec.features.neutron",
        ),
    ];
    for (spec, path) in cases {
        let error = render_dry(&spec).expect_err(&format!("{spec} rendered"));
        assert!(
            error.to_string().contains(path),
            "error {error:?} does not name {path}"
        );
    }
}

#[test]
fn a_missing_referenced_secret_stops_only_the_services_it_feeds_naming_the_reference() {
    let reference =
        json!({"value_from": {"secret_key_ref": {"name": "vault", "key": "secret_id"}}});
    let spec = minimal(json!({
        "features": {"services": ["key-manager"], "barbican": {"backends": {"vault": {"enabled": true, "approle_secret_id": reference}}}},
    }));
    let context = RenderContext {
        dry_run_secrets: false,
        ..RenderContext::dry_run()
    };
    let rendered = render(&spec, &context, &Templates::embedded()).unwrap();
    for (service, outcome) in &rendered.services {
        match (service.as_str(), outcome) {
            ("key-manager", ServiceOutcome::Waiting { reason }) => {
                assert!(
                    reason.contains("spec.features.barbican.backends.vault.approle_secret_id"),
                    "{reason}"
                );
                assert!(reason.contains("Secret \"vault\""), "{reason}");
            }
            ("key-manager", other) => panic!("key-manager rendered without its Secret: {other:?}"),
            (_, ServiceOutcome::Waiting { reason } | ServiceOutcome::Unsupported { reason }) => {
                panic!("{service} is not ready: {reason}")
            }
            (_, ServiceOutcome::Ready { .. }) => {}
        }
    }
}

#[test]
fn a_missing_secret_referenced_from_ssl_stops_every_service() {
    let reference = json!({"value_from": {"secret_key_ref": {"name": "ssl", "key": "api_key"}}});
    let spec = minimal(json!({"features": {"ssl": {"public_endpoints": {"api_key": reference}}}}));
    let context = RenderContext {
        dry_run_secrets: false,
        ..RenderContext::dry_run()
    };
    let rendered = render(&spec, &context, &Templates::embedded()).unwrap();
    assert!(rendered.releases().next().is_none());
    let (_, first) = &rendered.services[0];
    assert!(
        matches!(first, ServiceOutcome::Waiting { reason } if reason.contains("spec.features.ssl.public_endpoints.api_key"))
    );
}

mod fuzz {
    //! Mutation fuzzing of the whole render: any subtree of a realistic spec replaced by any
    //! value must give `Ok` or an error, never a panic. `PROPTEST_CASES=20000` runs it longer.
    use super::*;
    use proptest::prelude::*;

    fn paths(value: &Value, prefix: &str, out: &mut Vec<String>) {
        out.push(prefix.to_owned());
        match value {
            Value::Object(map) => map.iter().for_each(|(k, v)| {
                let key = k.replace('~', "~0").replace('/', "~1");
                paths(v, &format!("{prefix}/{key}"), out)
            }),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, v)| paths(v, &format!("{prefix}/{i}"), out)),
            _ => {}
        }
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
            prop::sample::select(vec![
                "~identity",
                "frobnicator",
                "ml2/ovn",
                "{{ x }}",
                "a::b",
                "caracal"
            ])
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_:~]{1,8}", inner, 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            // Short by default (a full render per case); PROPTEST_CASES=20000 for a long run.
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48),
            failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Off)),
            ..ProptestConfig::default()
        })]
        #[test]
        fn any_mutation_of_a_sample_spec_renders_or_fails_cleanly(
            sample in prop::sample::select(vec!["core.yaml", "compute.yaml"]),
            pick in any::<prop::sample::Index>(),
            replacement in any_json(),
        ) {
            let mut spec = sample_spec(sample);
            let mut all = Vec::new();
            paths(&spec, "", &mut all);
            let path = pick.get(&all).clone();
            match spec.pointer_mut(&path) {
                Some(slot) => *slot = replacement,
                None => unreachable!("{path} was listed from the spec"),
            }
            let _ = render_dry(&spec);
            // The same input again gives the same answer.
            prop_assert_eq!(render_dry(&spec), render_dry(&spec));
        }
    }
}

#[test]
fn nova_and_neutron_share_one_generated_metadata_proxy_secret() {
    let rendered = render_dry(&sample_spec("compute.yaml")).unwrap();
    let secret = |release: &str, pointer: &str| {
        let release = rendered.releases().find(|r| r.name == release).unwrap();
        release.values.pointer(pointer).cloned().unwrap()
    };
    let nova = secret(
        "openstack-nova",
        "/conf/nova/neutron/metadata_proxy_shared_secret",
    );
    let neutron = secret(
        "openstack-neutron",
        "/conf/metadata_agent/DEFAULT/metadata_proxy_shared_secret",
    );
    assert_eq!(nova, neutron);
    assert_eq!(nova, "dry-run-shared-metadata_proxy_secret");
}

#[test]
fn insecure_chart_defaults_are_replaced_by_generated_secrets() {
    let rendered = render_dry(&sample_spec("compute.yaml")).unwrap();
    let at = |release: &str, pointer: &str| {
        let release = rendered.releases().find(|r| r.name == release).unwrap();
        release
            .values
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    for (release, pointer) in [
        (
            "openstack-barbican",
            "/conf/barbican/simple_crypto_plugin/kek",
        ),
        (
            "openstack-octavia",
            "/conf/octavia/health_manager/heartbeat_key",
        ),
        (
            "openstack-octavia",
            "/conf/octavia/certificates/ca_private_key_passphrase",
        ),
        (
            "openstack-manila",
            "/conf/manila/generic/service_instance_password",
        ),
        (
            "openstack-rabbitmq",
            "/endpoints/oslo_messaging/auth/erlang_cookie",
        ),
    ] {
        assert!(
            at(release, pointer).starts_with("dry-run-"),
            "{release} {pointer} is not a generated secret"
        );
    }
}

/// The releases the image lists ship, with their OpenStack release number.
const SUPPORTED_RELEASES: [(&str, &str); 5] = [
    ("antelope", "2023.1"),
    ("caracal", "2024.1"),
    ("epoxy", "2025.1"),
    ("flamingo", "2025.2"),
    ("gazpacho", "2026.1"),
];

fn compute_sample_at(version: &str) -> Value {
    let mut spec = sample_spec("compute.yaml");
    spec["openstack_version"] = json!(version);
    spec
}

/// The image list of the spec's OpenStack version as the engine builds it (same registry
/// prefix as the render): `<chart>` → `<image key>` → reference.
fn image_list(spec: &Value) -> Value {
    let context = RenderContext::dry_run();
    let templates = Templates::embedded();
    let (merged, _) = rockoon_core::render::spec::merged_spec(spec, &context, &templates).unwrap();
    rockoon_core::render::context::images(&merged, &context, &templates).unwrap()
}

/// Every image reference in `value`: each entry of an `images.tags` map and each `image` key,
/// as (path, value).
fn image_refs(value: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_path = format!("{path}.{key}");
                if key == "tags" && path.ends_with(".images") {
                    for (image_key, reference) in child.as_object().into_iter().flatten() {
                        out.push((format!("{child_path}.{image_key}"), reference.clone()));
                    }
                } else if key == "image" && !child.is_object() {
                    out.push((child_path, child.clone()));
                } else {
                    image_refs(child, &child_path, out);
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                image_refs(item, &format!("{path}[{index}]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_supported_release_renders_the_compute_sample_with_every_image_from_its_list() {
    for (version, number) in SUPPORTED_RELEASES {
        let spec = compute_sample_at(version);
        let list = image_list(&spec);
        let listed: std::collections::BTreeSet<&str> = list
            .as_object()
            .unwrap()
            .values()
            .flat_map(|chart| chart.as_object().unwrap().values())
            .map(|reference| reference.as_str().unwrap())
            .collect();
        let rendered = render_dry(&spec).unwrap_or_else(|e| panic!("{version}: {e}"));
        let mut refs = Vec::new();
        for release in rendered.releases() {
            image_refs(&release.values, &release.name, &mut refs);
        }
        for (index, daemonset) in rendered.precache.iter().enumerate() {
            image_refs(daemonset, &format!("precache[{index}]"), &mut refs);
        }
        assert!(refs.len() > 100, "{version}: only {} images", refs.len());
        let others: Vec<String> = SUPPORTED_RELEASES
            .iter()
            .filter(|(_, n)| *n != number)
            .map(|(_, n)| format!(":{n}-"))
            .collect();
        for (path, reference) in refs {
            let reference = reference.as_str().unwrap_or_default();
            assert!(!reference.is_empty(), "{version}: {path} has no image");
            assert!(
                listed.contains(reference),
                "{version}: {path} = {reference} is not in artifacts/{version}/"
            );
            assert!(
                !others
                    .iter()
                    .any(|other| reference.contains(other.as_str())),
                "{version}: {path} = {reference} is tagged for another release"
            );
        }
    }
}

/// The pinned upstream charts: `ROCKOON_OSH_DIR`, else `<repo>/../shared/openstack-helm`,
/// else `/work/shared/openstack-helm`. `None` (the test is skipped, saying why) when none is
/// there, unless `CI=true`, where that fails.
fn upstream_charts() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("ROCKOON_OSH_DIR") {
        Some(dir) => vec![PathBuf::from(dir)],
        None => vec![
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/openstack-helm"),
            PathBuf::from("/work/shared/openstack-helm"),
        ],
    };
    if let Some(dir) = candidates
        .iter()
        .find(|dir| dir.join("SNAPSHOT.md").is_file())
    {
        return Some(dir.clone());
    }
    let why =
        format!("no upstream openstack-helm snapshot at {candidates:?} (set ROCKOON_OSH_DIR)");
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
    eprintln!("skipped: {why}");
    None
}

/// The keys of `images.tags` in the upstream chart's values.yaml, or `None` when the snapshot
/// has no such chart.
fn upstream_image_keys(charts: &Path, chart: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(charts.join(chart).join("values.yaml")).ok()?;
    let values: Value = serde_norway::from_str(&text)
        .unwrap_or_else(|e| panic!("{chart}/values.yaml does not parse: {e}"));
    let tags = values["images"]["tags"].as_object()?;
    Some(tags.keys().cloned().collect())
}

#[test]
fn every_image_key_of_an_upstream_chart_gets_a_tag_in_the_rendered_release_for_every_release() {
    let Some(charts) = upstream_charts() else {
        return;
    };
    for (version, _) in SUPPORTED_RELEASES {
        let rendered = render_dry(&compute_sample_at(version)).unwrap();
        let mut checked = 0;
        for release in rendered.releases() {
            let Some(keys) = upstream_image_keys(&charts, &release.chart) else {
                continue;
            };
            checked += 1;
            for key in keys {
                let tag = release.values["images"]["tags"][&key]
                    .as_str()
                    .unwrap_or_default();
                assert!(
                    !tag.is_empty(),
                    "{version}: {} (chart {}) leaves images.tags.{key} to the chart's default",
                    release.name,
                    release.chart
                );
            }
        }
        assert!(checked > 10, "{version}: only {checked} releases checked");
    }
}

#[test]
fn every_image_list_covers_every_image_key_of_its_upstream_chart() {
    // The compute sample does not render every chart (e.g. designate, octavia without their
    // services); the lists themselves must still be complete.
    let Some(charts) = upstream_charts() else {
        return;
    };
    for (version, _) in SUPPORTED_RELEASES {
        let list = image_list(&compute_sample_at(version));
        let common = &list["common"];
        for (chart, images) in list.as_object().unwrap() {
            let Some(keys) = upstream_image_keys(&charts, chart) else {
                continue;
            };
            for key in keys {
                let reference = images
                    .get(&key)
                    .or_else(|| common.get(&key))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                assert!(
                    !reference.is_empty(),
                    "artifacts/{version}/{chart}.yaml has no {key}"
                );
            }
        }
    }
}

#[test]
fn an_older_release_is_refused_as_unsupported_naming_the_field_it_and_the_supported_releases() {
    for version in ["zed", "yoga", "queens", "bobcat", "dalmatian"] {
        let error = render_dry(&compute_sample_at(version)).unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(&error, RenderError::UnsupportedRelease { version: v, .. } if v == version),
            "{error:?}"
        );
        assert!(message.starts_with("spec.openstack_version: "), "{message}");
        assert_eq!(error.kind(), "unsupported_release");
        assert!(message.contains(version), "{message}");
        assert!(
            message.contains("antelope, caracal, epoxy, flamingo, gazpacho"),
            "{message}"
        );
    }
}
