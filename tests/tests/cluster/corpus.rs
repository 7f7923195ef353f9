//! The OSDPL corpus (`tests/fixtures/corpus/`) against the real parts: every object is accepted
//! unchanged by the API server's CRD validation, and the corpus files that switch on the
//! settings the templates implement (floating network, database backups, DVR, VPN, LDAP
//! domains, policies) render into values the pinned upstream charts template without error
//! and without conformance finding (`--manifests-only`: `helm template`, no install).

use std::path::{Path, PathBuf};

use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use rockoon_tests::conformance::run;
use rockoon_tests::harness::{TestNamespace, ensure_crds};

use crate::cluster_or_return;
use crate::crds::integral_floats_as_ints;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus")
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn every_corpus_osdpl_is_accepted_unchanged_by_the_api_server() {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "corpus").await.unwrap();
    let gvk = GroupVersionKind::gvk("lcm.mirantis.com", "v1alpha1", "OpenStackDeployment");
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns.name,
        &ApiResource::from_gvk_with_plural(&gvk, "openstackdeployments"),
    );
    // Server-side dry run: the whole admission chain (schema, CEL rules, pruning) runs and
    // returns what would be stored, and nothing is left for a controller to act on.
    let params = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let mut failures = Vec::new();
    for file in corpus_files() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let mut object: serde_json::Value =
            serde_norway::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        object["metadata"]["namespace"] = ns.name.clone().into();
        let dynamic: DynamicObject = serde_json::from_value(object.clone()).unwrap();
        match api.create(&params, &dynamic).await {
            Err(error) => failures.push(format!("{name}: refused: {error}")),
            Ok(stored) => {
                if integral_floats_as_ints(stored.data["spec"].clone())
                    != integral_floats_as_ints(object["spec"].clone())
                {
                    failures.push(format!(
                        "{name}: the spec changed on the way in (pruned or defaulted):\n{}",
                        serde_json::to_string_pretty(&stored.data["spec"]).unwrap()
                    ));
                }
            }
        }
    }
    ns.delete().await.unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The corpus files whose settings reach chart features nothing else renders.
const SETTINGS_FILES: &[&str] = &[
    "08-compute-gazpacho-ovs-dvr.yaml",
    "10-logging-levels.yaml",
    "11-policies-strict-admin.yaml",
    "13-floating-network-flat.yaml",
    "15-database-backup-pvc.yaml",
    "16-database-backup-hostpath-and-cleanup.yaml",
    "17-keystone-ldap-domains-list.yaml",
    "19-keystone-federation-openid.yaml",
    "21-nova-lvm-encrypted.yaml",
    "22-nova-qcow2-console-tls.yaml",
    "24-dedicated-messaging-notifications.yaml",
    "26-designate-powerdns.yaml",
    "27-octavia-lb-network.yaml",
    "28-instance-ha-and-manila.yaml",
    "30-node-overrides.yaml",
    "33-horizon-themes-motd.yaml",
    "35-neutron-ovs-dvr-vpnaas.yaml",
    "36-neutron-ovn-vpnaas.yaml",
    "37-manila-share-backends.yaml",
    "38-storage-backup-drivers-and-stores.yaml",
    "50-migration-main-services-held.yaml",
    "51-neutron-ovs-bgp-dynamic-routing-bgpvpn.yaml",
    "52-neutron-ovn-bgp-portprober.yaml",
    "53-designate-external-tcp-udp.yaml",
    "54-nova-libvirt-and-vnc-tls.yaml",
    "60-node-features.yaml",
];

#[tokio::test]
async fn the_settings_corpus_templates_with_the_upstream_charts_without_finding() {
    // Needs no API server, but the same pinned helm and prepared charts as the cluster.
    let _cluster = cluster_or_return!();
    let helm = rockoon_tests::devcluster::build_components()
        .unwrap()
        .join("helm");
    let charts = rockoon_tests::devcluster::upstream_charts().unwrap();
    let dirs = run::ChartDirs {
        openstack: charts.clone(),
        infra: charts,
    };
    let osdpl_bin = rockoon_tests::suite::current_target_dir()
        .unwrap()
        .join("rockoon-osdpl");
    let mut failures = Vec::new();
    for name in SETTINGS_FILES {
        let file = corpus_dir().join(name);
        let inventory = run::render_manifests(&osdpl_bin, &file, &helm, &dirs)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let report = inventory.check();
        eprintln!("manifests-only conformance of {name}:\n{report}");
        if !report.is_empty() {
            failures.push(format!("{name}:\n{report}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
