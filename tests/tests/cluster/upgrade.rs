//! OpenStack upgrades on the dev cluster: the API server's CEL transition rule on
//! `spec.openstack_version`, then the small OSDPL (database, messaging, memcached, identity on
//! the upstream charts) upgraded caracal → epoxy → flamingo by the real `rockoon-osdpl`, gated
//! on the real `rockoon-health`: a version bump with another change refused with nothing
//! applied, a stall on an unhealthy keystone workload, a SIGKILL of osdpl mid-upgrade, and the
//! order of the steps from the recorded events.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use rockoon_tests::harness::{TestNamespace, ensure_crds};
use rockoon_tests::probe::RunningBinary;
use serde_json::{Value, json};

use crate::cluster_or_return;
use crate::small::{OSDPL, Small};

/// Stall time of the keystone health group in these tests (Rockoon's default is 1200 s).
const KEYSTONE_STALL_SECONDS: i64 = 20;
/// Keystone's helm release.
const KEYSTONE: &str = "openstack-keystone";

fn osdpl_api(client: kube::Client, namespace: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("lcm.mirantis.com", "v1alpha1", "OpenStackDeployment");
    Api::namespaced_with(
        client,
        namespace,
        &ApiResource::from_gvk_with_plural(&gvk, "openstackdeployments"),
    )
}

async fn set_version(api: &Api<DynamicObject>, name: &str, version: &str) -> Result<(), String> {
    let patch = json!({"spec": {"openstack_version": version}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn the_api_server_refuses_a_downgrade_and_a_non_slurp_skip_naming_the_allowed_releases() {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "upgrade-cel").await.unwrap();
    let api = osdpl_api(client.clone(), &ns.name);
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/osdpl/core.yaml");
    let mut object: Value =
        serde_norway::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    object["metadata"]["namespace"] = ns.name.clone().into();
    let object: DynamicObject = serde_json::from_value(object).unwrap();
    api.create(&PostParams::default(), &object).await.unwrap();
    let name = "osh-dev";

    let skip = set_version(&api, name, "flamingo")
        .await
        .expect_err("caracal → flamingo accepted");
    assert!(skip.contains("spec.openstack_version"), "{skip}");
    assert!(
        skip.contains("caracal → flamingo is not a supported upgrade"),
        "{skip}"
    );
    assert!(
        skip.contains("the allowed next releases are: dalmatian, epoxy"),
        "{skip}"
    );
    let downgrade = set_version(&api, name, "yoga")
        .await
        .expect_err("downgrade accepted");
    assert!(
        downgrade.contains("caracal → yoga is a downgrade"),
        "{downgrade}"
    );

    set_version(&api, name, "epoxy")
        .await
        .expect("the SLURP jump caracal → epoxy");
    let back = set_version(&api, name, "caracal")
        .await
        .expect_err("epoxy → caracal accepted");
    assert!(back.contains("epoxy → caracal is a downgrade"), "{back}");
    assert!(back.contains("flamingo, gazpacho"), "{back}");
    set_version(&api, name, "flamingo")
        .await
        .expect("one release forward");
    let master = set_version(&api, name, "master")
        .await
        .expect_err("master accepted");
    assert!(
        master.contains("the allowed next releases are: gazpacho"),
        "{master}"
    );
    // Other spec changes stay free: the rule looks at the version alone.
    let patch = json!({"spec": {"region_name": "Other"}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    ns.delete().await.unwrap();
}

/// A Deployment labelled `application=keystone` (as the chart's are) that the test holds
/// unready: the health container reports `keystone/blocker`, which gates the identity step.
async fn keystone_blocker(client: &kube::Client, ns: &str) -> String {
    let body = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "keystone-blocker", "labels": {"application": "keystone", "component": "blocker"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"workload": "keystone-blocker"}},
            "template": {
                "metadata": {"labels": {"workload": "keystone-blocker", "application": "keystone", "component": "blocker"}},
                "spec": {
                    "nodeSelector": {"openstack-control-plane": "enabled"},
                    "containers": [{"name": "main", "image": "registry.invalid/fake:1"}],
                },
            },
        },
    });
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    deployments
        .patch(
            "keystone-blocker",
            &PatchParams::apply("rockoon-tests"),
            &Patch::Apply(&body),
        )
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let list = ListParams::default().labels("workload=keystone-blocker");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let found = pods.list(&list).await.unwrap().items;
        let running = found
            .iter()
            .find(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"));
        if let Some(pod) = running {
            return pod.metadata.name.clone().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "keystone-blocker pod not running"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Sets a pod's Ready condition (kwok leaves Running pods alone).
async fn set_ready(client: &kube::Client, ns: &str, pod: &str, ready: bool) {
    let status = if ready { "True" } else { "False" };
    let patch = json!({"status": {"conditions": [
        {"type": "Ready", "status": status},
        {"type": "ContainersReady", "status": status},
    ]}});
    Api::<Pod>::namespaced(client.clone(), ns)
        .patch_status(pod, &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .unwrap();
}

fn start(cluster: &rockoon_tests::harness::ClusterInfo, name: &str, ns: &str) -> RunningBinary {
    let env = [
        ("OSCTL_OS_DEPLOYMENT_NAMESPACE", ns.to_owned()),
        ("OSCTL_CEPH_SHARED_NAMESPACE", ns.to_owned()),
        ("OSCTL_CONTROLLER_NAMESPACE", ns.to_owned()),
        ("OSCTL_LOG_LEVEL", "info".to_owned()),
    ];
    RunningBinary::start(cluster, name, &env).unwrap()
}

fn step<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["upgrade"]["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["name"] == name))
        .unwrap_or(&Value::Null)
}

/// The image tags stored for `release` at its latest revision.
async fn stored_images(small: &Small, release: &str) -> Value {
    let (revision, _) = small.releases().await[release].clone();
    small.stored_values(release, revision).await["images"]["tags"].clone()
}

/// The `UpgradeStep` event notes, oldest first.
async fn step_events(small: &Small) -> Vec<String> {
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(small.client.clone(), &small.ns.name);
    let mut found: Vec<_> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("UpgradeStep"))
        .map(|e| {
            (
                e.event_time.clone().map(|t| t.0),
                e.note.unwrap_or_default(),
            )
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, note)| note).collect()
}

fn step_names(notes: &[String], from: &str, to: &str) -> Vec<String> {
    let prefix = format!("upgrade {from} → {to}: step ");
    notes
        .iter()
        .filter_map(|n| n.strip_prefix(&prefix))
        .map(|rest| rest.split(' ').next().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn the_small_osdpl_upgrades_caracal_to_epoxy_to_flamingo_step_by_step_through_a_refusal_a_stall_and_a_restart()
 {
    let cluster = cluster_or_return!();
    let timeouts = json!({"timeouts": {"application_readiness": {
        "keystone": {"timeout": KEYSTONE_STALL_SECONDS},
    }}});
    let mut small = Small::applied_with(&cluster, "upgrade", timeouts).await;
    let mut health = start(&cluster, "health", &small.ns.name);
    health.wait_ready(Duration::from_secs(60)).await.unwrap();
    let before = small.releases().await;
    let caracal_keystone = stored_images(&small, KEYSTONE).await;

    // Dry run: `rockoon-osdpl diff` of the OSDPL at epoxy shows memcached's image change.
    let (code, text) = diff_at(&cluster, &small, "epoxy").await;
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("=== openstack-memcached"), "{text}");
    assert!(text.contains("images.tags.memcached"), "{text}");

    // A version bump together with another change: refused, nothing applied.
    small
        .merge_spec(json!({"openstack_version": "epoxy", "region_name": "Elsewhere"}))
        .await;
    let refused = small
        .status_until("upgrade refused", |s| s["upgrade"]["state"] == "REFUSED")
        .await;
    let cause = refused["upgrade"]["cause"].as_str().unwrap_or_default();
    assert!(
        cause.contains("change spec.openstack_version alone"),
        "{cause}"
    );
    assert_eq!(refused["osdpl"]["openstack_version"], "caracal");
    let osdpl = small.osdpls().get(OSDPL).await.unwrap();
    let conditions = osdpl.status.unwrap().conditions.unwrap_or_default();
    let upgrading = conditions.iter().find(|c| c.type_ == "Upgrading").unwrap();
    assert_eq!(
        (upgrading.status.as_str(), upgrading.reason.as_str()),
        ("False", "UpgradeRefused")
    );
    assert_eq!(small.events("UpgradeRefused").await.len(), 1);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        small.releases().await,
        before,
        "a refused upgrade applied something"
    );

    // The other change undone: the upgrade runs, and stalls at identity on an unready
    // keystone workload.
    let blocker = keystone_blocker(&small.client, &small.ns.name).await;
    set_ready(&small.client, &small.ns.name, &blocker, false).await;
    let started = Instant::now();
    small.merge_spec(json!({"region_name": null})).await;
    let stalled = small
        .status_until("stalled at identity", |s| {
            s["upgrade"]["state"] == "STALLED" && s["upgrade"]["current"] == "identity"
        })
        .await;
    assert_eq!(step(&stalled, "infra")["state"], "APPLIED");
    assert_eq!(step(&stalled, "final-apply")["state"], "WAITING");
    let blocked = step(&stalled, "identity")["blocker"]
        .as_str()
        .unwrap_or_default();
    assert!(blocked.contains("keystone/blocker: Unhealthy"), "{blocked}");
    // The blocker names the workload's failing condition, in its own words.
    small
        .status_until("the blocker's failing condition named", |s| {
            step(s, "identity")["blocker"].as_str().is_some_and(|b| {
                b.contains(
                    "keystone/blocker: Unhealthy (Available=False MinimumReplicasUnavailable",
                )
            })
        })
        .await;
    assert_eq!(small.events("UpgradeStalled").await.len(), 1);

    // osdpl killed mid-upgrade: the new one resumes at identity; infra is not re-run.
    let infra_revisions: BTreeMap<_, _> = small
        .releases()
        .await
        .into_iter()
        .filter(|(name, _)| name != KEYSTONE)
        .collect();
    small.osdpl.kill().await.unwrap();
    small.osdpl = start(&cluster, "osdpl", &small.ns.name);
    small
        .osdpl
        .wait_ready(Duration::from_secs(60))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let resumed = small
        .status_until("still at identity after the restart", |s| {
            s["upgrade"]["current"] == "identity"
        })
        .await;
    assert_eq!(step(&resumed, "infra")["state"], "APPLIED");

    // Healthy again: the upgrade goes on by itself and completes.
    set_ready(&small.client, &small.ns.name, &blocker, true).await;
    let done = small
        .status_until("caracal → epoxy done", |s| {
            s["upgrade"]["state"] == "DONE" && s["osdpl"]["state"] == "APPLIED"
        })
        .await;
    let caracal_to_epoxy = started.elapsed();
    assert_eq!(done["upgrade"]["applied"]["openstack_version"], "epoxy");
    let after: BTreeMap<_, _> = small
        .releases()
        .await
        .into_iter()
        .filter(|(name, _)| name != KEYSTONE)
        .collect();
    for (release, (revision, _)) in &infra_revisions {
        assert_eq!(
            after[release].0, *revision,
            "{release} re-run after the restart"
        );
    }
    let order = step_names(&step_events(&small).await, "caracal", "epoxy");
    assert_eq!(order, ["infra", "identity", "final-apply"]);
    let epoxy_keystone = stored_images(&small, KEYSTONE).await;
    assert_ne!(
        epoxy_keystone, caracal_keystone,
        "keystone's images not switched"
    );
    assert!(
        epoxy_keystone.to_string().contains("2025.1"),
        "{epoxy_keystone}"
    );
    report_times("caracal → epoxy", caracal_to_epoxy, &done);

    // epoxy → flamingo, one release forward, nothing held.
    let started = Instant::now();
    small
        .merge_spec(json!({"openstack_version": "flamingo"}))
        .await;
    let done = small
        .status_until("epoxy → flamingo done", |s| {
            s["upgrade"]["state"] == "DONE"
                && s["upgrade"]["to"] == "flamingo"
                && s["osdpl"]["state"] == "APPLIED"
        })
        .await;
    report_times("epoxy → flamingo", started.elapsed(), &done);
    let order = step_names(&step_events(&small).await, "epoxy", "flamingo");
    assert_eq!(order, ["infra", "identity", "final-apply"]);
    let flamingo_keystone = stored_images(&small, KEYSTONE).await;
    assert!(
        flamingo_keystone.to_string().contains("2025.2"),
        "{flamingo_keystone}"
    );

    // Ends as it would run freshly: the next reconcile finds every release converged.
    let settled = small.releases().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(small.releases().await, settled);
    assert!(
        settled.values().all(|(_, status)| status == "deployed"),
        "{settled:?}"
    );
    // And with the images a fresh render of flamingo has: `diff` finds none to change.
    let (code, text) = diff_at(&cluster, &small, "flamingo").await;
    assert!(code == Some(0) || code == Some(1), "{text}");
    assert!(text.contains("=== openstack-memcached"), "{text}");
    assert!(!text.contains("images.tags"), "{text}");

    health.terminate(Duration::from_secs(20)).await.unwrap();
    small.finish().await;
}

/// `rockoon-osdpl diff --service memcached` of the small OSDPL's spec with `version`, against
/// what is installed: exit code and output.
async fn diff_at(
    cluster: &rockoon_tests::harness::ClusterInfo,
    small: &Small,
    version: &str,
) -> (Option<i32>, String) {
    let dir = cluster.dir.join(&small.ns.name);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("osdpl-upgraded.yaml");
    let current = small.osdpls().get(OSDPL).await.unwrap();
    let mut object = serde_json::to_value(current).unwrap();
    object["spec"]["openstack_version"] = version.into();
    let object = json!({
        "apiVersion": "lcm.mirantis.com/v1alpha1", "kind": "OpenStackDeployment",
        "metadata": {"name": OSDPL, "namespace": small.ns.name},
        "spec": object["spec"],
    });
    std::fs::write(&file, serde_norway::to_string(&object).unwrap()).unwrap();
    let helm = rockoon_tests::devcluster::build_components()
        .unwrap()
        .join("helm");
    let target = rockoon_tests::suite::current_target_dir().unwrap();
    let out = std::process::Command::new(rockoon_tests::suite::binary_path(&target, "osdpl"))
        .args(["diff", "-f"])
        .arg(&file)
        .args(["--service", "memcached"])
        .env("KUBECONFIG", &cluster.kubeconfig)
        .env("OSCTL_HELM_BINARY", helm)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

/// Prints the wall time and each step's helm and health-wait times (docs/benchmarks.md).
fn report_times(what: &str, wall: Duration, status: &Value) {
    eprintln!("upgrade {what}: wall {:.1} s", wall.as_secs_f64());
    for step in status["upgrade"]["steps"].as_array().into_iter().flatten() {
        eprintln!(
            "  step {}: helm {} s, health wait {} s",
            step["name"], step["helm_seconds"], step["wait_seconds"]
        );
    }
}
