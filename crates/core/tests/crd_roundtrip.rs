//! Offline checks of the CRD types (no cluster needed):
//!
//! - the sample OSDPLs in `tests/fixtures/osdpl/` deserialise and serialise back unchanged;
//! - objects written for Rockoon, with keys this suite does not read, survive a round trip;
//! - malformed samples fail where serde can tell, and parse where only CEL can tell;
//! - the committed `deploy/crds/` files match the Rust types (drift guard);
//! - the generated CRDs have the names, scope, columns and schema users rely on.

// In tests a failed unwrap is a failed test with its message; that is what we want.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionVersion, JSONSchemaProps,
};
use rockoon_core::crd::osdpl::{NeutronBackend, NovaImagesBackend, OpenStackVersion, Preset, Size};
use rockoon_core::crd::{OpenStackDeployment, all_crds, crd_yaml};
use rockoon_core::services::is_known_service_entry;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/osdpl")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn fixture(name: &str) -> String {
    read(&fixtures_dir().join(name))
}

/// The `*.yaml` files directly in `dir`, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

fn parse_osdpl(yaml: &str) -> Result<OpenStackDeployment, serde_norway::Error> {
    serde_norway::from_str(yaml)
}

/// JSON pointers at which `a` and `b` differ, for readable failure messages.
fn differences(a: &Value, b: &Value) -> Vec<String> {
    fn walk(path: String, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<String>) {
        match (a, b) {
            (Some(Value::Object(ma)), Some(Value::Object(mb))) => {
                let keys: BTreeSet<&String> = ma.keys().chain(mb.keys()).collect();
                for k in keys {
                    walk(format!("{path}/{k}"), ma.get(k), mb.get(k), out);
                }
            }
            (Some(Value::Array(va)), Some(Value::Array(vb))) if va.len() == vb.len() => {
                for (i, (x, y)) in va.iter().zip(vb).enumerate() {
                    walk(format!("{path}/{i}"), Some(x), Some(y), out);
                }
            }
            (Some(x), Some(y)) if x == y => {}
            (x, y) => out.push(format!(
                "{}: written {} / read back {}",
                if path.is_empty() { "/" } else { &path },
                x.map_or_else(|| "<absent>".to_owned(), Value::to_string),
                y.map_or_else(|| "<absent>".to_owned(), Value::to_string),
            )),
        }
    }
    let mut out = Vec::new();
    walk(String::new(), Some(a), Some(b), &mut out);
    out
}

/// Deserialises `yaml` into the typed object, serialises it back and checks that nothing was
/// lost or added. Returns the typed object for further checks.
fn assert_round_trips(what: &str, yaml: &str) -> OpenStackDeployment {
    let original: Value =
        serde_norway::from_str(yaml).unwrap_or_else(|e| panic!("{what} is not valid YAML: {e}"));
    let typed = parse_osdpl(yaml)
        .unwrap_or_else(|e| panic!("{what} does not deserialise into OpenStackDeployment: {e}"));
    let back = serde_json::to_value(&typed)
        .unwrap_or_else(|e| panic!("{what} does not serialise back: {e}"));
    let diff = differences(&original, &back);
    assert!(
        diff.is_empty(),
        "{what} changed in a round trip:\n  {}",
        diff.join("\n  ")
    );

    let again: OpenStackDeployment = serde_json::from_value(back)
        .unwrap_or_else(|e| panic!("{what}: the serialised form does not deserialise: {e}"));
    // The generated root type has no PartialEq; compare its parts.
    assert_eq!(
        again.metadata, typed.metadata,
        "{what}: metadata reads back differently"
    );
    assert_eq!(
        again.spec, typed.spec,
        "{what}: spec reads back differently"
    );
    assert_eq!(
        again.status, typed.status,
        "{what}: status reads back differently"
    );
    typed
}

fn crd_for_kind(kind: &str) -> CustomResourceDefinition {
    all_crds()
        .into_iter()
        .map(|(_, crd)| crd)
        .find(|crd| crd.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("all_crds() has no CRD of kind {kind}"))
}

fn only_version(crd: &CustomResourceDefinition) -> &CustomResourceDefinitionVersion {
    assert_eq!(
        crd.spec.versions.len(),
        1,
        "{} should serve exactly one version",
        crd.spec.names.kind
    );
    &crd.spec.versions[0]
}

fn column_names(version: &CustomResourceDefinitionVersion) -> Vec<&str> {
    version
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| c.name.as_str())
        .collect()
}

fn has_status_subresource(version: &CustomResourceDefinitionVersion) -> bool {
    version
        .subresources
        .as_ref()
        .is_some_and(|s| s.status.is_some())
}

fn spec_schema(crd: &CustomResourceDefinition) -> &JSONSchemaProps {
    only_version(crd)
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .and_then(|root| root.properties.as_ref())
        .and_then(|props| props.get("spec"))
        .unwrap_or_else(|| panic!("{} has no spec schema", crd.spec.names.kind))
}

// ---------------------------------------------------------------------------------------------
// Samples round-trip
// ---------------------------------------------------------------------------------------------

#[test]
fn core_sample_round_trips_unchanged() {
    let osdpl = assert_round_trips("core.yaml", &fixture("core.yaml"));
    assert_eq!(osdpl.metadata.name.as_deref(), Some("osh-dev"));
    assert_eq!(osdpl.metadata.namespace.as_deref(), Some("openstack"));
    assert_eq!(osdpl.spec.openstack_version, OpenStackVersion::Caracal);
    assert_eq!(osdpl.spec.preset, Preset::Core);
    assert_eq!(osdpl.spec.size, Size::Tiny);
    let features = osdpl
        .spec
        .features
        .as_ref()
        .expect("core.yaml has features");
    let neutron = features
        .neutron
        .as_ref()
        .expect("core.yaml has features.neutron");
    assert_eq!(neutron.backend, Some(NeutronBackend::Ml2));
    assert!(
        neutron.extra.contains_key("floating_network"),
        "floating_network should be kept in neutron.extra"
    );
    let nova = features.nova.as_ref().expect("core.yaml has features.nova");
    assert_eq!(
        nova.images.as_ref().and_then(|i| i.backend),
        Some(NovaImagesBackend::Local)
    );
    let logging = features
        .extra
        .get("logging")
        .expect("features.logging should be kept in features.extra");
    assert_eq!(logging.pointer("/cadf/enabled"), Some(&Value::Bool(true)));
}

#[test]
fn compute_sample_round_trips_unchanged() {
    let osdpl = assert_round_trips("compute.yaml", &fixture("compute.yaml"));
    assert_eq!(osdpl.spec.openstack_version, OpenStackVersion::Epoxy);
    assert_eq!(osdpl.spec.preset, Preset::Compute);
    assert_eq!(osdpl.spec.size, Size::Small);
    let features = osdpl
        .spec
        .features
        .as_ref()
        .expect("compute.yaml has features");
    let services = features.services.as_deref().unwrap_or_default();
    assert!(services.iter().any(|s| s == "~descheduler"));
    assert!(
        services.iter().all(|s| is_known_service_entry(s)),
        "every service in compute.yaml is known: {services:?}"
    );
    let neutron = features
        .neutron
        .as_ref()
        .expect("compute.yaml has features.neutron");
    assert_eq!(neutron.backend, Some(NeutronBackend::Ml2Ovn));
    assert_eq!(neutron.dvr.as_ref().and_then(|d| d.enabled), Some(true));
    assert_eq!(
        features
            .nova
            .as_ref()
            .and_then(|n| n.images.as_ref())
            .and_then(|i| i.backend),
        Some(NovaImagesBackend::Ceph)
    );
    assert_eq!(
        features
            .messaging
            .as_ref()
            .and_then(|m| m.components_with_dedicated_messaging.clone()),
        Some(vec!["networking".to_owned(), "compute".to_owned()])
    );
    assert_eq!(
        features.network_policies.as_ref().and_then(|t| t.enabled),
        Some(true)
    );
    let nova_readiness = osdpl
        .spec
        .timeouts
        .as_ref()
        .and_then(|t| t.application_readiness.as_ref())
        .and_then(|r| r.get("nova"))
        .expect("compute.yaml has timeouts.application_readiness.nova");
    assert_eq!(
        (nova_readiness.timeout, nova_readiness.delay),
        (Some(1800), Some(10))
    );
    let nodes = osdpl.spec.nodes.as_ref().expect("compute.yaml has nodes");
    assert!(nodes.contains_key("openstack-compute-node::enabled"));
    let nova_values = osdpl
        .spec
        .services
        .as_ref()
        .and_then(|s| s.get("compute"))
        .and_then(|c| c.get("nova"))
        .and_then(|n| n.values.as_ref())
        .expect("compute.yaml has services.compute.nova.values");
    assert_eq!(
        nova_values.pointer("/conf/nova/DEFAULT/debug"),
        Some(&Value::Bool(true))
    );
}

#[test]
fn every_sample_in_the_fixture_folder_round_trips_unchanged() {
    let files = yaml_files(&fixtures_dir());
    let names: Vec<String> = files
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    for expected in ["core.yaml", "compute.yaml"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {}",
            fixtures_dir().display()
        );
    }
    for file in &files {
        assert_round_trips(&file.display().to_string(), &read(file));
    }
}

#[test]
fn a_sample_without_status_serialises_without_status() {
    for file in yaml_files(&fixtures_dir()) {
        let osdpl = parse_osdpl(&read(&file)).expect("sample deserialises");
        assert!(
            osdpl.status.is_none(),
            "{}: status should stay absent",
            file.display()
        );
        let back = serde_json::to_value(&osdpl).expect("sample serialises");
        assert!(
            back.get("status").is_none(),
            "{}: serialising added a status key: {back}",
            file.display()
        );
    }
}

#[test]
fn an_object_with_rockoon_status_round_trips_unchanged() {
    let yaml = r#"
apiVersion: lcm.mirantis.com/v1alpha1
kind: OpenStackDeployment
metadata:
  name: osh-dev
  namespace: openstack
spec:
  openstack_version: caracal
  preset: core
  size: tiny
  public_domain_name: it.example.com
status:
  version: 1.1.2.dev12
  fingerprint: 5c1e0b7a9f
  credentials:
    admin:
      rotation_id: 2
    service:
      rotation_id: 1
  certificates:
    octavia:
      amphora:
        rotation_id: 1
  watched:
    value_from:
      secret:
        osh-dev-ssl:
          hash: 0f3a
    ceph:
      secret:
        hash: 9b21
  handle:
    lastStatus: updated
"#;
    let osdpl = assert_round_trips("inline object with status", yaml);
    let status = osdpl.status.expect("status is kept");
    assert_eq!(
        status
            .credentials
            .and_then(|c| c.admin)
            .and_then(|a| a.rotation_id),
        Some(2)
    );
    assert!(
        status.extra.contains_key("handle"),
        "Rockoon's status.handle should be kept in status.extra"
    );
}

// ---------------------------------------------------------------------------------------------
// Keys this suite does not read
// ---------------------------------------------------------------------------------------------

#[test]
fn rockoon_object_with_unknown_top_level_and_nested_keys_round_trips_unchanged() {
    let yaml = r#"
apiVersion: lcm.mirantis.com/v1alpha1
kind: OpenStackDeployment
metadata:
  name: legacy
  namespace: openstack
spec:
  openstack_version: antelope
  preset: compute-tf
  size: medium
  public_domain_name: legacy.example.org
  # top-level keys unknown to this suite
  persistent_volume_storage_class_override: ssd-fast
  future_section:
    enabled: true
    knobs: [1, 2.5, "three", null, {nested: {deep: [true, false]}}]
  openstack_version_hint: null
  artifacts:
    images_base_url: registry.example.org/os
    mirror_priority: 3
  features:
    services: [block-storage, ~redis]
    brand_new_feature:
      setting: x
    ssl:
      public_endpoints:
        ca_cert: "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n"
      tls_proxy:
        enabled: false
    neutron:
      backend: tungstenfabric
      tunnel_interface: vhost0
      tf_specific:
        analytics: {enabled: false}
    nova:
      images:
        backend: lvm
        lvm:
          volume_group: nova-vol
      unknown_nova_knob: 42
    messaging:
      notifications:
        external: {enabled: false}
      rabbitmq_tuning:
        prefetch: 50
    network_policies:
      enabled: false
      egress_rules: strict
  common:
    charts:
      repositories:
        - name: osh
          url: https://charts.example.org/osh
      releases:
        version: 0.1.0-mcp-5000
    openstack:
      repo: osh
      releases:
        version: 0.1.0-mcp-5000
    extra_group:
      values: {a: 1}
  services:
    compute:
      nova:
        values: {conf: {nova: {DEFAULT: {debug: false}}}}
        release_hint: pinned
  nodes:
    "openstack-gateway::enabled":
      features:
        neutron:
          external_networks: []
      node_flavor: gateway
  migration:
    nova:
      deploy_main_service: false
  timeouts:
    application_readiness:
      neutron:
        timeout: 600
        delay: 5
        retries: 3
    helm_operations:
      upgrade: 900
"#;
    let osdpl = assert_round_trips("inline Rockoon object with unknown keys", yaml);
    let spec = &osdpl.spec;
    assert_eq!(spec.preset, Preset::ComputeTf);
    for key in [
        "persistent_volume_storage_class_override",
        "future_section",
        "openstack_version_hint",
    ] {
        assert!(
            spec.extra.contains_key(key),
            "spec.{key} should be kept in spec.extra"
        );
    }
    assert_eq!(spec.extra.get("openstack_version_hint"), Some(&Value::Null));
    let features = spec.features.as_ref().expect("features");
    assert!(features.extra.contains_key("brand_new_feature"));
    assert_eq!(
        features.neutron.as_ref().and_then(|n| n.backend),
        Some(NeutronBackend::TungstenFabric)
    );
    assert!(
        features
            .neutron
            .as_ref()
            .is_some_and(|n| n.extra.contains_key("tf_specific"))
    );
    assert!(
        features
            .nova
            .as_ref()
            .is_some_and(|n| n.extra.contains_key("unknown_nova_knob"))
    );
    assert!(
        features
            .network_policies
            .as_ref()
            .is_some_and(|t| t.extra.contains_key("egress_rules"))
    );
    assert!(
        spec.timeouts
            .as_ref()
            .is_some_and(|t| t.extra.contains_key("helm_operations"))
    );
}

// ---------------------------------------------------------------------------------------------
// Malformed samples
// ---------------------------------------------------------------------------------------------

fn invalid(name: &str) -> String {
    read(&fixtures_dir().join("invalid").join(name))
}

fn assert_refused_naming(file: &str, field: &str) {
    match parse_osdpl(&invalid(file)) {
        Ok(osdpl) => panic!(
            "invalid/{file} deserialised but should not have: {:?}",
            osdpl.spec
        ),
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.contains(field),
                "invalid/{file}: the error should name `{field}`, got: {message}"
            );
        }
    }
}

#[test]
fn an_integer_openstack_version_is_refused_naming_the_field() {
    assert_refused_naming("wrong-type-openstack-version.yaml", "openstack_version");
}

#[test]
fn an_unknown_preset_is_refused_naming_the_field() {
    assert_refused_naming("unknown-preset.yaml", "preset");
}

#[test]
fn a_missing_size_is_refused_naming_the_field() {
    assert_refused_naming("missing-size.yaml", "size");
}

#[test]
fn objects_only_cel_can_refuse_still_deserialise() {
    for file in [
        "unknown-service.yaml",
        "bad-domain.yaml",
        "bad-nodes-key.yaml",
        "long-region.yaml",
        "service-outside-its-releases.yaml",
    ] {
        let yaml = invalid(file);
        let osdpl = parse_osdpl(&yaml).unwrap_or_else(|e| {
            panic!("invalid/{file} is refused by CEL, not by serde, yet failed: {e}")
        });
        assert_eq!(osdpl.metadata.name.as_deref(), Some("bad"));
        assert_round_trips(&format!("invalid/{file}"), &yaml);
    }
}

#[test]
fn frobnicator_is_not_a_known_service() {
    let osdpl =
        parse_osdpl(&invalid("unknown-service.yaml")).expect("unknown-service.yaml deserialises");
    let services = osdpl
        .spec
        .features
        .and_then(|f| f.services)
        .expect("features.services is set");
    assert!(services.iter().any(|s| s == "frobnicator"));
    let unknown: Vec<&String> = services
        .iter()
        .filter(|s| !is_known_service_entry(s))
        .collect();
    assert_eq!(unknown, ["frobnicator"]);
}

#[test]
fn every_invalid_sample_is_covered_by_a_test() {
    let covered = [
        "bad-domain.yaml",
        "bad-nodes-key.yaml",
        "long-region.yaml",
        "missing-size.yaml",
        "service-outside-its-releases.yaml",
        "unknown-preset.yaml",
        "unknown-service.yaml",
        "wrong-type-openstack-version.yaml",
    ];
    let present: Vec<String> = yaml_files(&fixtures_dir().join("invalid"))
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        present, covered,
        "tests/fixtures/osdpl/invalid/ changed: add a test for the new file"
    );
}

// ---------------------------------------------------------------------------------------------
// deploy/crds drift guard
// ---------------------------------------------------------------------------------------------

#[test]
fn committed_crds_match_the_rust_types() {
    let mut stale = Vec::new();
    for (file, crd) in all_crds() {
        let generated = crd_yaml(&crd).unwrap_or_else(|e| panic!("cannot render {file}: {e}"));
        let path = workspace_root().join("deploy/crds").join(file);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != generated {
            stale.push(format!(
                "deploy/crds/{file} is out of date: run `make crds`"
            ));
        }
    }
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}

#[test]
fn deploy_crds_holds_no_file_the_types_do_not_generate() {
    let generated: BTreeSet<&str> = all_crds().into_iter().map(|(file, _)| file).collect();
    for path in yaml_files(&workspace_root().join("deploy/crds")) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        assert!(
            generated.contains(name.as_str()),
            "deploy/crds/{name} is not generated by all_crds(): remove it or add its type"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// CRD shape
// ---------------------------------------------------------------------------------------------

#[test]
fn osdpl_crd_has_rockoon_names_scope_and_columns() {
    let crd = crd_for_kind("OpenStackDeployment");
    assert_eq!(crd.spec.group, "lcm.mirantis.com");
    assert_eq!(crd.spec.names.plural, "openstackdeployments");
    assert_eq!(
        crd.spec.names.short_names.as_deref(),
        Some(&["osdpl".to_owned()][..])
    );
    assert_eq!(crd.spec.scope, "Namespaced");
    let version = only_version(&crd);
    assert_eq!(version.name, "v1alpha1");
    assert!(version.served && version.storage);
    assert!(
        has_status_subresource(version),
        "OSDPL needs the status subresource"
    );
    assert_eq!(
        column_names(version),
        ["OpenStack", "Draft", "State", "Health", "Age"]
    );
}

#[test]
fn osdpl_spec_schema_requires_the_four_main_keys_and_preserves_unknown_fields() {
    let crd = crd_for_kind("OpenStackDeployment");
    let spec = spec_schema(&crd);
    let required: BTreeSet<&str> = spec.required.iter().flatten().map(String::as_str).collect();
    for key in ["openstack_version", "preset", "size", "public_domain_name"] {
        assert!(
            required.contains(key),
            "spec.required lacks {key}: {required:?}"
        );
    }
    assert_eq!(
        spec.x_kubernetes_preserve_unknown_fields,
        Some(true),
        "spec must be x-kubernetes-preserve-unknown-fields so Rockoon objects keep their keys"
    );
}

#[test]
fn osdplst_crd_has_rockoon_names_and_columns() {
    let crd = crd_for_kind("OpenStackDeploymentStatus");
    assert_eq!(crd.spec.group, "lcm.mirantis.com");
    assert_eq!(crd.spec.names.plural, "openstackdeploymentstatus");
    assert_eq!(
        crd.spec.names.short_names.as_deref(),
        Some(&["osdplst".to_owned()][..])
    );
    assert_eq!(crd.spec.scope, "Namespaced");
    let version = only_version(&crd);
    assert!(
        has_status_subresource(version),
        "OSDPLST needs the status subresource"
    );
    assert_eq!(
        column_names(version),
        [
            "OpenStack Version",
            "Controller Version",
            "State",
            "LCM Progress",
            "Health",
            "Age"
        ]
    );
}

#[test]
fn node_workload_lock_crd_is_cluster_scoped_with_status() {
    let crd = crd_for_kind("NodeWorkloadLock");
    assert_eq!(crd.spec.group, "lcm.mirantis.com");
    assert_eq!(crd.spec.names.plural, "nodeworkloadlocks");
    assert_eq!(crd.spec.scope, "Cluster");
    assert!(
        has_status_subresource(only_version(&crd)),
        "NodeWorkloadLock needs the status subresource"
    );
}
