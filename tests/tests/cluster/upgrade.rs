//! OpenStack upgrades on the dev cluster: the API server's CEL transition rule on
//! `spec.openstack_version`, then the small OSDPL (database, messaging, memcached, identity on
//! the upstream charts) upgraded caracal → epoxy → flamingo by the real `rockoon-osdpl`, gated
//! on the real `rockoon-health`: a version bump refused with nothing applied while a service is
//! FAILED, with pinned image tags, and with another change; a stall on an unhealthy keystone
//! workload (held before keystone's upgrade), a SIGKILL of osdpl mid-upgrade; the order of the
//! steps from the recorded events, of helm upgrades and the charts' Jobs from their times; and
//! at the end every release's stored values equal to a fresh render of flamingo.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Pod, Secret};
use k8s_openapi::jiff::Timestamp;
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

/// A Job labelled `application=keystone` whose pod no node can take: it never completes.
async fn stuck_keystone_job(client: &kube::Client, ns: &str) -> Api<Job> {
    let body = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "keystone-stuck", "labels": {"application": "keystone", "component": "stuck"}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": {"application": "keystone", "component": "stuck"}},
                "spec": {
                    "restartPolicy": "Never",
                    "nodeSelector": {"rockoon-tests/nowhere": "true"},
                    "containers": [{"name": "main", "image": "registry.invalid/fake:1"}],
                },
            },
        },
    });
    let jobs: Api<Job> = Api::namespaced(client.clone(), ns);
    let job: Job = serde_json::from_value(body).unwrap();
    jobs.create(&PostParams::default(), &job).await.unwrap();
    jobs
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

pub fn start(cluster: &rockoon_tests::harness::ClusterInfo, name: &str, ns: &str) -> RunningBinary {
    let env = [
        ("OSCTL_OS_DEPLOYMENT_NAMESPACE", ns.to_owned()),
        ("OSCTL_CEPH_SHARED_NAMESPACE", ns.to_owned()),
        ("OSCTL_CONTROLLER_NAMESPACE", ns.to_owned()),
        ("OSCTL_LOG_LEVEL", "info".to_owned()),
    ];
    RunningBinary::start(cluster, name, &env).unwrap()
}

pub fn step<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["upgrade"]["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["name"] == name))
        .unwrap_or(&Value::Null)
}

/// The image tags stored for `release` at its latest revision.
pub async fn stored_images(small: &Small, release: &str) -> Value {
    let (revision, _) = small.releases().await[release].clone();
    small.stored_values(release, revision).await["images"]["tags"].clone()
}

/// The `UpgradeStep` event notes, oldest first.
pub async fn step_events(small: &Small) -> Vec<String> {
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

pub fn step_names(notes: &[String], from: &str, to: &str) -> Vec<String> {
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
    let caracal_keystone = stored_images(&small, KEYSTONE).await;

    // Dry run: `rockoon-osdpl diff` of the OSDPL at epoxy shows, per release, the image
    // changes the upgrade would make.
    let (code, text) = diff_whole(&cluster, &small, "epoxy").await;
    assert_eq!(code, Some(1), "{text}");
    for shown in [
        "=== openstack-memcached",
        "images.tags.memcached",
        "=== openstack-keystone",
        "images.tags.keystone_api",
    ] {
        assert!(text.contains(shown), "{shown} not in {text}");
    }
    let dry_run = changed_in(&text);
    eprintln!("dry run caracal → epoxy, release → changes: {dry_run:?}");

    // A version bump with an image tag pinned (applied before, at caracal): refused, nothing
    // applied.
    pin_keystone(&small, &caracal_keystone).await;
    let before = small.releases().await;
    small
        .merge_spec(json!({"openstack_version": "epoxy"}))
        .await;
    let pinned = "image tags are pinned at spec.services.identity.keystone.values.images.tags";
    refused(&small, "REFUSED", pinned).await;
    unchanged_since(&small, &before, None).await;

    // The pin removed, but together with another change: refused, nothing applied. (Setting
    // the version back is not a way out: the API server refuses a downgrade.)
    small
        .merge_spec(json!({"services": null, "region_name": "Elsewhere"}))
        .await;
    refused(&small, "REFUSED", "change spec.openstack_version alone").await;
    unchanged_since(&small, &before, None).await;

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
    // Held before its upgrade: keystone's release is not touched while it is unhealthy.
    assert!(
        blocked.starts_with("not healthy before its upgrade"),
        "{blocked}"
    );
    assert!(step(&stalled, "identity")["checked"].is_null());
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
    upgraded_where_changed(&small, &dry_run, &before).await;
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
    helm_and_jobs_in_order(&small, &done).await;
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
    let (_, text) = diff_whole(&cluster, &small, "flamingo").await;
    let dry_run = changed_in(&text);
    eprintln!("dry run epoxy → flamingo, release → changes: {dry_run:?}");
    let at_epoxy = small.releases().await;

    // epoxy → flamingo while keystone is FAILED (a replica count the API server refuses):
    // held, osdpl goes on applying epoxy; keystone fixed (the version left at flamingo), the
    // upgrade starts by itself.
    let broken = json!({"identity": {"keystone": {"values": {"pod": {"replicas": {"api": -1}}}}}});
    small.merge_spec(json!({"services": broken})).await;
    small
        .status_until("keystone FAILED", |s| {
            s["services"]["identity"]["state"] == "FAILED"
        })
        .await;
    let before = small.releases().await;
    small
        .merge_spec(json!({"openstack_version": "flamingo"}))
        .await;
    let held = refused(&small, "HELD", "the deployment is not APPLIED").await;
    assert_eq!(held["upgrade"]["to"], "flamingo");
    unchanged_since(&small, &before, Some(KEYSTONE)).await;
    assert_eq!(stored_images(&small, KEYSTONE).await, epoxy_keystone);
    assert_eq!(
        small.events("UpgradeRefused").await.len(),
        3,
        "one event per refusal"
    );
    // A keystone Job that never completes (its pod asks for a node nobody has) stalls the
    // identity step after its helm upgrade, named with its state; deleted, the upgrade goes on.
    let stuck = stuck_keystone_job(&small.client, &small.ns.name).await;
    let started = Instant::now();
    small.merge_spec(json!({"services": null})).await;
    let stalled = small
        .status_until("stalled at identity on a Job", |s| {
            s["upgrade"]["state"] == "STALLED" && s["upgrade"]["current"] == "identity"
        })
        .await;
    let identity = step(&stalled, "identity");
    assert!(
        !identity["checked"].is_null() && !identity["helm_done"].is_null(),
        "{identity}"
    );
    let blocked = identity["blocker"].as_str().unwrap_or_default();
    assert!(
        blocked.contains("job keystone-stuck: not complete (active 1"),
        "{blocked}"
    );
    assert!(
        stalled["upgrade"]["cause"]
            .as_str()
            .is_some_and(|c| c.contains("job keystone-stuck")),
        "{stalled}"
    );
    stuck
        .delete("keystone-stuck", &kube::api::DeleteParams::background())
        .await
        .unwrap();
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
    helm_and_jobs_in_order(&small, &done).await;
    // keystone's fix at epoxy made a revision of its own; the others are upgraded only where
    // the dry run showed a change.
    let dry_run = dry_run.into_iter().filter(|(r, _)| r != KEYSTONE).collect();
    upgraded_where_changed(&small, &dry_run, &at_epoxy).await;
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
    // Value by value what a fresh install of flamingo would apply: `rockoon-osdpl diff` of
    // the whole OSDPL, with the cluster's credentials, against `helm get values` of every
    // release finds no difference.
    let (code, text) = diff_whole(&cluster, &small, "flamingo").await;
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        text.matches("(no changes)").count(),
        settled.len(),
        "every release compared: {text}"
    );

    health.terminate(Duration::from_secs(20)).await.unwrap();
    small.finish().await;
}

/// Per release of a `rockoon-osdpl diff` output, whether it shows changes.
fn changed_in(diff: &str) -> BTreeMap<String, bool> {
    let mut found = BTreeMap::new();
    let mut lines = diff.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("=== ") else {
            continue;
        };
        let Some((release, _)) = rest.split_once(" (") else {
            continue;
        };
        let unchanged = lines
            .peek()
            .is_some_and(|next| next.trim() == "(no changes)");
        found.insert(release.to_owned(), !unchanged);
    }
    found
}

/// Each release the dry run showed with a change has a new revision since `before`, each it
/// showed unchanged (infra releases whose images stay, say) keeps its revision.
async fn upgraded_where_changed(
    small: &Small,
    dry_run: &BTreeMap<String, bool>,
    before: &Releases,
) {
    let now = small.releases().await;
    for (release, changes) in dry_run {
        let was = before[release].0;
        if *changes {
            assert!(now[release].0 > was, "{release} not upgraded");
        } else {
            assert_eq!(now[release].0, was, "{release} upgraded without a change");
        }
    }
}

/// Releases as [`Small::releases`] shows them.
type Releases = BTreeMap<String, (u32, String)>;

/// Waits for a version bump refused (`REFUSED`) or held (`HELD`) with a cause containing
/// `says`: the `Upgrading` condition False `UpgradeRefused` says it too, and the deployment
/// shows the applied release. Returns the osdplst status.
async fn refused(small: &Small, state: &str, says: &str) -> Value {
    let shown = small
        .status_until(&format!("upgrade {state}: {says}"), |s| {
            s["upgrade"]["state"] == state
                && s["upgrade"]["cause"]
                    .as_str()
                    .is_some_and(|c| c.contains(says))
        })
        .await;
    let applied = shown["upgrade"]["applied"]["openstack_version"].clone();
    assert_eq!(shown["osdpl"]["openstack_version"], applied);
    let osdpl = small.osdpls().get(OSDPL).await.unwrap();
    let conditions = osdpl.status.unwrap().conditions.unwrap_or_default();
    let upgrading = conditions.iter().find(|c| c.type_ == "Upgrading").unwrap();
    assert_eq!(
        (upgrading.status.as_str(), upgrading.reason.as_str()),
        ("False", "UpgradeRefused")
    );
    assert!(upgrading.message.contains(says), "{}", upgrading.message);
    shown
}

/// After a moment, no release (but `except`) has a new revision since `before`.
async fn unchanged_since(small: &Small, before: &Releases, except: Option<&str>) {
    tokio::time::sleep(Duration::from_secs(3)).await;
    let without = |releases: &Releases| -> Releases {
        releases
            .iter()
            .filter(|(name, _)| Some(name.as_str()) != except)
            .map(|(name, release)| (name.clone(), release.clone()))
            .collect()
    };
    assert_eq!(
        without(&small.releases().await),
        without(before),
        "a refused upgrade applied something"
    );
}

/// Pins keystone's API image to its caracal tag and waits until osdpl has applied that spec
/// (the pin changes no value: it is the tag the render has).
async fn pin_keystone(small: &Small, caracal_keystone: &Value) {
    let tag = caracal_keystone["keystone_api"].clone();
    assert!(tag.is_string(), "{caracal_keystone}");
    let pin =
        json!({"identity": {"keystone": {"values": {"images": {"tags": {"keystone_api": tag}}}}}});
    small.merge_spec(json!({"services": pin})).await;
    let osdpl = small.osdpls().get(OSDPL).await.unwrap();
    let generation = osdpl.metadata.generation;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = small.osdpls().get(OSDPL).await.unwrap();
        let seen = now.status.and_then(|s| s.observed_generation);
        if seen >= generation {
            break;
        }
        assert!(Instant::now() < deadline, "the pin not observed: {seen:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    small.all_applied("the pin applied").await;
}

pub fn time(value: &Value) -> Timestamp {
    let text = value.as_str().unwrap_or_else(|| panic!("no time: {value}"));
    let at: Timestamp = text.parse().unwrap();
    // The API's times have whole seconds: compare at that resolution.
    Timestamp::from_second(at.as_second()).unwrap()
}

/// The order of helm upgrades and the charts' Jobs, from their times: each step starts after
/// the previous one finished; keystone's release and Jobs within the identity step
/// ([`service_in_its_step`]).
async fn helm_and_jobs_in_order(small: &Small, status: &Value) {
    steps_in_sequence(status);
    let jobs = ["keystone-db-sync", "keystone-bootstrap"];
    service_in_its_step(small, status, "identity", KEYSTONE, &jobs).await;
}

/// Each step of `status.upgrade` started after the previous one finished.
pub fn steps_in_sequence(status: &Value) {
    let steps = status["upgrade"]["steps"].as_array().unwrap();
    for pair in steps.windows(2) {
        assert!(
            time(&pair[0]["finished"]) <= time(&pair[1]["started"]),
            "{} finished after {} started",
            pair[0]["name"],
            pair[1]["name"]
        );
    }
}

/// `release`'s new helm revision was made after the step before `name` finished and within
/// step `name`; the Jobs that step recorded include `jobs` in this order (as their hook weights
/// say), are all the release's chart's, were created by that helm upgrade and completed
/// before the step ended; no other step recorded them.
pub async fn service_in_its_step(
    small: &Small,
    status: &Value,
    name: &str,
    release: &str,
    jobs: &[&str],
) {
    let steps = status["upgrade"]["steps"].as_array().unwrap();
    let index = steps.iter().position(|s| s["name"] == name).unwrap();
    let (previous, this) = (&steps[index - 1], &steps[index]);
    let (revision, _) = small.releases().await[release].clone();
    let secrets: Api<Secret> = Api::namespaced(small.client.clone(), &small.ns.name);
    let storage = rockoon_osdpl::helm::stored::storage_name(release, revision);
    let made = secrets.get(&storage).await.unwrap().metadata;
    let made = made.creation_timestamp.unwrap().0;
    assert!(
        time(&previous["finished"]) <= made,
        "{release} upgraded before step {} was done",
        previous["name"]
    );
    assert!(
        made <= time(&this["finished"]),
        "{release} upgraded after its step"
    );
    let ran: Vec<String> = serde_json::from_value(this["jobs"].clone()).unwrap_or_default();
    let positions: Vec<Option<usize>> = jobs
        .iter()
        .map(|job| ran.iter().position(|j| j == job))
        .collect();
    assert!(
        positions.iter().all(Option::is_some) && positions.is_sorted(),
        "{jobs:?} not in this order in {ran:?}"
    );
    let chart = release.trim_start_matches("openstack-");
    assert!(ran.iter().all(|j| j.starts_with(chart)), "{ran:?}");
    let api: Api<Job> = Api::namespaced(small.client.clone(), &small.ns.name);
    for job in &ran {
        let found = api.get(job).await.unwrap();
        let created = found.metadata.creation_timestamp.unwrap().0;
        let completed = found.status.unwrap().completion_time.unwrap().0;
        assert!(
            made <= created,
            "{job} made before {release}'s helm upgrade"
        );
        assert!(
            completed <= time(&this["finished"]),
            "{job} completed after its step"
        );
    }
    for other in steps.iter().filter(|s| s["name"] != name) {
        let recorded = other["jobs"].to_string();
        assert!(
            jobs.iter().all(|j| !recorded.contains(j)),
            "{recorded} in step {}",
            other["name"]
        );
    }
}

/// `rockoon-osdpl diff` of the whole small OSDPL as it is but at `version`, with the
/// namespace's generated credentials (what osdpl renders with), against every installed
/// release: exit code and output.
pub async fn diff_whole(
    cluster: &rockoon_tests::harness::ClusterInfo,
    small: &Small,
    version: &str,
) -> (Option<i32>, String) {
    let dir = cluster.dir.join(&small.ns.name);
    std::fs::create_dir_all(&dir).unwrap();
    let secrets: Api<Secret> = Api::namespaced(small.client.clone(), &small.ns.name);
    let owned = ListParams::default().labels(rockoon_core::credentials::OWNER_LABEL);
    let found = secrets.list(&owned).await.unwrap().items;
    let (credentials, problems) = rockoon_core::credentials::tree(&found);
    assert!(problems.is_empty(), "{problems:?}");
    let credentials_file = dir.join("credentials.yaml");
    std::fs::write(
        &credentials_file,
        serde_norway::to_string(&credentials).unwrap(),
    )
    .unwrap();
    let mut extra: Vec<std::ffi::OsString> =
        vec!["--credentials".into(), credentials_file.into_os_string()];
    // The Ceph data osdpl renders with, where the namespace has it.
    if let Some(keys) = secrets
        .get_opt(rockoon_core::ceph::KEYS_SECRET)
        .await
        .unwrap()
    {
        let data = keys.data.unwrap_or_default();
        let text =
            rockoon_core::ceph::decode(data.iter().map(|(k, v)| (k.as_str(), &v.0[..]))).unwrap();
        let ceph = rockoon_core::ceph::from_keys_secret(&text).unwrap();
        let ceph_file = dir.join("ceph.yaml");
        std::fs::write(&ceph_file, serde_norway::to_string(&ceph).unwrap()).unwrap();
        extra.extend(["--ceph".into(), ceph_file.into_os_string()]);
    }
    let current = small.osdpls().get(OSDPL).await.unwrap();
    let mut spec = serde_json::to_value(current).unwrap()["spec"].clone();
    spec["openstack_version"] = version.into();
    let object = json!({
        "apiVersion": "lcm.mirantis.com/v1alpha1", "kind": "OpenStackDeployment",
        "metadata": {"name": OSDPL, "namespace": small.ns.name},
        "spec": spec,
    });
    let file = dir.join(format!("osdpl-{version}.yaml"));
    std::fs::write(&file, serde_norway::to_string(&object).unwrap()).unwrap();
    let extra: Vec<&std::ffi::OsStr> = extra.iter().map(|a| a.as_os_str()).collect();
    run_diff(cluster, &file, &extra)
}

/// `rockoon-osdpl diff -f file <extra>` against the cluster: exit code and output.
fn run_diff(
    cluster: &rockoon_tests::harness::ClusterInfo,
    file: &std::path::Path,
    extra: &[&std::ffi::OsStr],
) -> (Option<i32>, String) {
    let helm = rockoon_tests::devcluster::build_components()
        .unwrap()
        .join("helm");
    let target = rockoon_tests::suite::current_target_dir().unwrap();
    let out = std::process::Command::new(rockoon_tests::suite::binary_path(&target, "osdpl"))
        .args(["diff", "-f"])
        .arg(file)
        .args(extra)
        .env("KUBECONFIG", &cluster.kubeconfig)
        .env("OSCTL_HELM_BINARY", helm)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

/// Prints the wall time and each step's helm and health-wait times (docs/benchmarks.md).
pub fn report_times(what: &str, wall: Duration, status: &Value) {
    eprintln!("upgrade {what}: wall {:.1} s", wall.as_secs_f64());
    for step in status["upgrade"]["steps"].as_array().into_iter().flatten() {
        eprintln!(
            "  step {}: helm {} s, health wait {} s, jobs {}, purged {}",
            step["name"], step["helm_seconds"], step["wait_seconds"], step["jobs"], step["purged"]
        );
    }
}
