//! Per-node features (`spec.nodes["<key>::<value>"].features`, issue 17): what a node group's
//! own features change lands in the per-node values of the DaemonSets that run there, and what
//! no chart can take per node is reported naming the setting. Input: the corpus OSDPL
//! `60-node-features.yaml`, rendered offline with dry-run credentials.

// In tests a failed unwrap is a failed test with its message; that is what we want.
#![allow(clippy::unwrap_used)]

mod common;

use common::{corpus_spec, render_dry, values};
use serde_json::{Value, json};

const FIXTURE: &str = "60-node-features.yaml";

/// The `conf.overrides.nova_compute` entry of label `key` = `value` (a `hosts` entry for the
/// hostname label).
fn nova_compute_entry(nova: &Value, key: &str, value: &str) -> Value {
    let overrides = &nova["conf"]["overrides"]["nova_compute"];
    let found = if key == "kubernetes.io/hostname" {
        overrides["hosts"]
            .as_array()
            .and_then(|hosts| hosts.iter().find(|e| e["name"] == json!(value)))
    } else {
        overrides["labels"].as_array().and_then(|labels| {
            labels
                .iter()
                .find(|e| e["label"] == json!({"key": key, "values": [value]}))
        })
    };
    found
        .cloned()
        .unwrap_or_else(|| panic!("no nova_compute override for {key}={value} in {overrides}"))
}

#[test]
fn a_node_groups_nova_features_become_the_nova_compute_conf_of_its_label() {
    let rendered = render_dry(&corpus_spec(FIXTURE)).unwrap();
    let nova = values(&rendered, "openstack-nova");
    let big = nova_compute_entry(&nova, "compute-class", "big-memory");
    assert_eq!(
        big["conf"],
        json!({"nova": {
            "DEFAULT": {"cpu_allocation_ratio": 2.0, "ram_allocation_ratio": 1.0},
            "libvirt": {"cpu_mode": "host-passthrough", "images_type": "lvm", "images_volume_group": "vg-instances"}
        }})
    );
    // The cloud-wide values stay for every other node.
    assert_eq!(
        nova["conf"]["nova"]["DEFAULT"]["cpu_allocation_ratio"],
        json!(8.0)
    );
    assert_eq!(
        nova["conf"]["nova"]["libvirt"]["images_type"],
        json!("qcow2")
    );
}

#[test]
fn a_hostname_groups_features_and_explicit_values_share_one_hosts_entry_where_the_values_win() {
    let mut spec = corpus_spec(FIXTURE);
    let group = "kubernetes.io/hostname::cmp-sriov-01";
    // An explicit value for the same key as a feature: the explicit one is what the node gets.
    spec["nodes"][group]["services"]["compute"]["nova"]["nova_compute"]["values"]["conf"]["libvirt"] =
        json!({"live_migration_interface": "ens10"});
    let rendered = render_dry(&spec).unwrap();
    let nova = values(&rendered, "openstack-nova");
    let hosts = nova["conf"]["overrides"]["nova_compute"]["hosts"]
        .as_array()
        .unwrap();
    let entries: Vec<&Value> = hosts
        .iter()
        .filter(|e| e["name"] == json!("cmp-sriov-01"))
        .collect();
    assert_eq!(entries.len(), 1, "{hosts:?}");
    assert_eq!(
        entries[0]["conf"],
        json!({"libvirt": {"live_migration_interface": "ens10"},
               "nova": {"DEFAULT": {"reserved_host_memory_mb": 8192}}})
    );
    let fixture = render_dry(&corpus_spec(FIXTURE)).unwrap();
    let from_feature = nova_compute_entry(
        &values(&fixture, "openstack-nova"),
        "kubernetes.io/hostname",
        "cmp-sriov-01",
    );
    assert_eq!(
        from_feature["conf"]["libvirt"]["live_migration_interface"],
        json!("ens9")
    );
}

#[test]
fn an_ovn_tunnel_interface_of_a_node_group_goes_to_that_groups_ovn_controller() {
    let rendered = render_dry(&corpus_spec(FIXTURE)).unwrap();
    let ovn = values(&rendered, "openstack-ovn");
    assert_eq!(
        ovn["overrides"]["ovn_controller"]["labels"]["compute-class::big-memory"],
        json!({"values": {"network": {"interface": {"tunnel": "bond1"}}}})
    );
    assert_eq!(ovn["network"]["interface"]["tunnel"], json!("ens4"));
}

#[test]
fn node_features_nothing_renders_are_reported_by_their_path_and_the_rest_is_not() {
    let rendered = render_dry(&corpus_spec(FIXTURE)).unwrap();
    let nodes: Vec<&String> = rendered
        .unsupported
        .iter()
        .filter(|u| u.starts_with("spec.nodes"))
        .collect();
    let sriov = "spec.nodes[\"kubernetes.io/hostname::cmp-sriov-01\"].features.neutron.sriov";
    assert_eq!(nodes.len(), 3, "{nodes:?}");
    assert_eq!(
        nodes[0],
        &format!("{sriov}.enabled: changes nothing any enabled service renders for these nodes")
    );
    assert_eq!(
        nodes[1],
        &format!("{sriov}.nics: changes nothing any enabled service renders for these nodes")
    );
    // A prefixed label key cannot name a nova-compute DaemonSet of its own.
    assert!(
        nodes[2].starts_with(
            "spec.nodes[\"node-role.example.com/gpu::true\"].features (release openstack-nova): \
             the nova chart names a per-node DaemonSet after its label key"
        ),
        "{}",
        nodes[2]
    );
    let nova = values(&rendered, "openstack-nova");
    assert!(
        !nova["conf"]["overrides"].to_string().contains("gpu"),
        "{}",
        nova["conf"]["overrides"]
    );
}

#[test]
fn a_node_group_repeating_the_cloud_wide_features_changes_and_reports_nothing() {
    let mut spec = corpus_spec(FIXTURE);
    let only_same = json!({"openstack-compute-node::enabled": spec["nodes"]["openstack-compute-node::enabled"].clone()});
    spec["nodes"] = only_same;
    let with_group = render_dry(&spec).unwrap();
    spec.as_object_mut().unwrap().remove("nodes");
    let without = render_dry(&spec).unwrap();
    let fingerprints = |r: &rockoon_core::render::Rendered| -> Vec<String> {
        r.releases().map(|r| r.fingerprint.clone()).collect()
    };
    assert_eq!(fingerprints(&with_group), fingerprints(&without));
    assert!(
        !with_group
            .unsupported
            .iter()
            .any(|u| u.starts_with("spec.nodes")),
        "{:?}",
        with_group.unsupported
    );
}

#[test]
fn an_ovs_tunnel_interface_per_node_is_reported_as_values_the_neutron_chart_cannot_take_per_node() {
    let mut spec = corpus_spec(FIXTURE);
    spec["features"]["neutron"]["backend"] = json!("ml2");
    let rendered = render_dry(&spec).unwrap();
    let reported: Vec<&String> = rendered
        .unsupported
        .iter()
        .filter(|u| u.contains("big-memory"))
        .collect();
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert!(
        reported[0].contains("openstack-neutron")
            && reported[0].contains("network.interface.tunnel")
            && reported[0].contains("take only `conf` per node"),
        "{}",
        reported[0]
    );
}

#[test]
fn a_node_feature_the_templates_refuse_names_the_node_group() {
    let mut spec = corpus_spec(FIXTURE);
    spec["nodes"]["compute-class::big-memory"]["features"]["nova"]["images"]["backend"] =
        json!("floppy");
    let error = render_dry(&spec).unwrap_err().to_string();
    assert!(
        error.contains("spec.nodes[\"compute-class::big-memory\"].features")
            && error.contains("unsupported backend floppy"),
        "{error}"
    );
}
