//! `rockoon-health` against the real cluster: workload changes reach the
//! OpenStackDeploymentStatus within a second, stale entries go, and a MariaDB StatefulSet's
//! pods carry exactly one primary label through unready pods, deleted pods and a restart of
//! the binary, with every label change watched.
//!
//! Each test runs its own binary against its own namespace (as the OpenStack namespace) and
//! waits by watching (`await_condition`, watch streams), never by sleeping. Pods are made
//! unready by patching their Ready condition: kwok only drives pods that are still Pending, so
//! the patch sticks and the workload controllers see the pod as they would a failing one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use rockoon_core::crd::{OpenStackDeployment, OpenStackDeploymentStatus};
use rockoon_tests::harness::{ClusterInfo, TestNamespace, ensure_crds};
use rockoon_tests::probe::RunningBinary;
use rockoon_tests::sample::sample_osdpl;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::cluster_or_return;

const WAIT: Duration = Duration::from_secs(60);
/// The bound from a workload change to the status showing it.
const WITHIN: Duration = Duration::from_secs(1);
const OSDPL: &str = "osh-dev";
const ROLE: &str = "mariadb_role";
const TESTS: &str = "rockoon-tests";

fn start_health(cluster: &ClusterInfo, namespace: &str) -> RunningBinary {
    RunningBinary::start(
        cluster,
        "health",
        &[("OSCTL_OS_DEPLOYMENT_NAMESPACE", namespace.to_owned())],
    )
    .unwrap()
}

/// Applies a workload of `kind` whose pods land on the control-plane kwok nodes.
async fn apply_workload(client: &Client, ns: &str, kind: &str, name: &str, labels: Value) {
    let mut spec = json!({
        "replicas": 1,
        "selector": {"matchLabels": {"workload": name}},
        "template": {
            "metadata": {"labels": labels.clone()},
            "spec": {
                "nodeSelector": {"openstack-control-plane": "enabled"},
                "containers": [{"name": "main", "image": "registry.invalid/fake:1"}],
            },
        },
    });
    spec["template"]["metadata"]["labels"]["workload"] = json!(name);
    if kind == "StatefulSet" {
        spec["serviceName"] = json!(name);
        spec["replicas"] = json!(3);
    }
    let body = json!({
        "apiVersion": "apps/v1", "kind": kind,
        "metadata": {"name": name, "labels": labels}, "spec": spec,
    });
    let params = PatchParams::apply(TESTS);
    let result = if kind == "StatefulSet" {
        Api::<StatefulSet>::namespaced(client.clone(), ns)
            .patch(name, &params, &Patch::Apply(&body))
            .await
            .map(|_| ())
    } else {
        Api::<Deployment>::namespaced(client.clone(), ns)
            .patch(name, &params, &Patch::Apply(&body))
            .await
            .map(|_| ())
    };
    result.unwrap();
}

/// Sets a pod's Ready condition (kwok leaves Running pods alone).
async fn set_ready(client: &Client, ns: &str, pod: &str, ready: bool) {
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

/// Waits until `pod` exists and reports Ready.
async fn wait_ready(pods: &Api<Pod>, pod: &str) {
    let ready = |p: Option<&Pod>| {
        p.and_then(|p| p.status.as_ref()?.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    };
    tokio::time::timeout(WAIT, await_condition(pods.clone(), pod, ready))
        .await
        .unwrap_or_else(|_| panic!("{pod} not ready within {WAIT:?}"))
        .unwrap();
}

fn entry(o: &OpenStackDeploymentStatus, application: &str, component: &str) -> Option<String> {
    o.status
        .as_ref()?
        .health
        .as_ref()?
        .get(application)?
        .get(component)?
        .status
        .clone()
}

fn summary(o: &OpenStackDeploymentStatus) -> Option<String> {
    o.status.as_ref()?.osdpl.as_ref()?.health.clone()
}

/// Waits until the osdplst satisfies `check`; returns when that was seen.
async fn osdplst_until(
    api: &Api<OpenStackDeploymentStatus>,
    binary: &RunningBinary,
    what: &str,
    check: impl Fn(&OpenStackDeploymentStatus) -> bool,
) -> Instant {
    let seen = tokio::time::timeout(
        WAIT,
        await_condition(
            api.clone(),
            OSDPL,
            move |o: Option<&OpenStackDeploymentStatus>| o.is_some_and(&check),
        ),
    )
    .await;
    match seen {
        Ok(Ok(Some(_))) => Instant::now(),
        _ => panic!(
            "{what}: not seen within {WAIT:?}; status {:?}; log:\n{}",
            api.get_opt(OSDPL)
                .await
                .ok()
                .flatten()
                .and_then(|o| o.status),
            binary.log_tail()
        ),
    }
}

/// Watches the object `name` and returns once the watch has listed it; the handle resolves
/// with the moment `check` first held (`None`: not within [`WAIT`]).
async fn when<K>(
    api: &Api<K>,
    name: &str,
    check: impl Fn(&K) -> bool + Send + Sync + 'static,
) -> tokio::task::JoinHandle<Option<Instant>>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K: Send + Sync + 'static,
{
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let stream = watcher(api.clone(), config).default_backoff();
    let (listed, on_listed) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let mut listed = Some(listed);
        let watch = async {
            let mut stream = std::pin::pin!(stream);
            while let Ok(Some(event)) = stream.try_next().await {
                match event {
                    watcher::Event::Apply(o) | watcher::Event::InitApply(o) if check(&o) => {
                        return Some(Instant::now());
                    }
                    watcher::Event::InitDone => {
                        if let Some(listed) = listed.take() {
                            let _ = listed.send(());
                        }
                    }
                    _ => {}
                }
            }
            None
        };
        tokio::time::timeout(WAIT, watch).await.ok().flatten()
    });
    // Resolved or dropped (the condition already held): either way the watch is listing.
    let _ = on_listed.await;
    task
}

/// Time from the workload change to the status showing it (zero if seen the other way round).
async fn latency(
    changed: tokio::task::JoinHandle<Option<Instant>>,
    shown: tokio::task::JoinHandle<Option<Instant>>,
    what: &str,
    binary: &RunningBinary,
) -> Duration {
    let changed = changed.await.unwrap();
    let shown = shown.await.unwrap();
    match (changed, shown) {
        (Some(changed), Some(shown)) => shown.saturating_duration_since(changed),
        _ => panic!(
            "{what}: workload change {changed:?}, status {shown:?}; log:\n{}",
            binary.log_tail()
        ),
    }
}

/// Creates the sample OSDPL and an osdplst owned by it (as `osdpl` would).
async fn create_osdpl_and_status(client: &Client, ns: &str) {
    let osdpls: Api<OpenStackDeployment> = Api::namespaced(client.clone(), ns);
    let osdpl: OpenStackDeployment =
        serde_json::from_value(sample_osdpl("compute", ns).unwrap()).unwrap();
    let osdpl = osdpls.create(&PostParams::default(), &osdpl).await.unwrap();
    let body = json!({
        "apiVersion": "lcm.mirantis.com/v1alpha1", "kind": "OpenStackDeploymentStatus",
        "metadata": {"name": OSDPL, "ownerReferences": [osdpl.controller_owner_ref(&())]},
        "spec": {},
    });
    Api::<OpenStackDeploymentStatus>::namespaced(client.clone(), ns)
        .patch(OSDPL, &PatchParams::apply(TESTS), &Patch::Apply(&body))
        .await
        .unwrap();
}

#[tokio::test]
async fn health_shows_scaled_unready_and_removed_workloads_in_status_within_a_second() {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "health").await.unwrap();
    let binary = start_health(&cluster, &ns.name);
    let labels = |application: &str, component: &str| json!({"application": application, "component": component, "release_group": application});
    apply_workload(
        &client,
        &ns.name,
        "Deployment",
        "demo-api",
        labels("demo", "api"),
    )
    .await;
    apply_workload(
        &client,
        &ns.name,
        "Deployment",
        "demo-worker",
        labels("demo", "worker"),
    )
    .await;
    apply_workload(
        &client,
        &ns.name,
        "StatefulSet",
        "store-db",
        labels("store", "db"),
    )
    .await;
    create_osdpl_and_status(&client, &ns.name).await;

    let statuses: Api<OpenStackDeploymentStatus> = Api::namespaced(client.clone(), &ns.name);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns.name);
    osdplst_until(&statuses, &binary, "2/2 with every entry Ready", |o| {
        summary(o).as_deref() == Some("2/2")
            && entry(o, "demo", "api").as_deref() == Some("Ready")
            && entry(o, "demo", "worker").as_deref() == Some("Ready")
            && entry(o, "store", "db").as_deref() == Some("Ready")
    })
    .await;
    let osdpls: Api<OpenStackDeployment> = Api::namespaced(client.clone(), &ns.name);
    tokio::time::timeout(
        WAIT,
        await_condition(osdpls.clone(), OSDPL, |o: Option<&OpenStackDeployment>| {
            o.and_then(|o| o.status.as_ref())
                .and_then(|s| s.health_summary.as_deref())
                == Some("2/2")
        }),
    )
    .await
    .expect("OSDPL health_summary 2/2")
    .unwrap();

    // Scale up. Under kwok the new pods are ready within milliseconds, faster than the write
    // interval, so the status goes straight to the settled result: Ready at the new
    // generation, shown within a second of the Deployment settling.
    let generation = |o: &OpenStackDeploymentStatus| {
        o.status
            .as_ref()?
            .health
            .as_ref()?
            .get("demo")?
            .get("api")?
            .generation
    };
    let before = generation(&statuses.get(OSDPL).await.unwrap()).unwrap_or_default();
    let shown = when(&statuses, OSDPL, move |o| {
        generation(o) > Some(before) && entry(o, "demo", "api").as_deref() == Some("Ready")
    })
    .await;
    let changed = when(&deployments, "demo-api", move |d| {
        let status = d.status.clone().unwrap_or_default();
        status.observed_generation > Some(before) && status.ready_replicas == Some(3)
    })
    .await;
    let scale = json!({"spec": {"replicas": 3}});
    deployments
        .patch("demo-api", &PatchParams::default(), &Patch::Merge(&scale))
        .await
        .unwrap();
    let scaled = latency(
        changed,
        shown,
        "demo/api Ready at the new generation",
        &binary,
    )
    .await;
    assert!(scaled < WITHIN, "scale shown after {scaled:?}");

    // A pod made unready in a rolled-out Deployment: Unhealthy.
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    let pod = pods
        .list(&ListParams::default().labels("workload=demo-api"))
        .await
        .unwrap()
        .items
        .into_iter()
        .next()
        .unwrap();
    let shown = when(&statuses, OSDPL, |o| {
        entry(o, "demo", "api").as_deref() == Some("Unhealthy")
    })
    .await;
    let changed = when(&deployments, "demo-api", |d| {
        d.status.as_ref().and_then(|s| s.ready_replicas) == Some(2)
    })
    .await;
    set_ready(&client, &ns.name, &pod.name_any(), false).await;
    let unready = latency(changed, shown, "demo/api Unhealthy", &binary).await;
    assert!(unready < WITHIN, "unready pod shown after {unready:?}");
    set_ready(&client, &ns.name, &pod.name_any(), true).await;
    osdplst_until(&statuses, &binary, "demo/api Ready again", |o| {
        entry(o, "demo", "api").as_deref() == Some("Ready")
    })
    .await;

    // A workload gone: its entry goes.
    deployments
        .delete("demo-worker", &DeleteParams::default())
        .await
        .unwrap();
    osdplst_until(&statuses, &binary, "demo/worker removed", |o| {
        entry(o, "demo", "worker").is_none() && entry(o, "demo", "api").is_some()
    })
    .await;
    eprintln!("health latency: scale {scaled:?}, unready pod {unready:?}");

    let (_, metrics) = binary.get("/metrics").await.expect("metrics answer");
    for name in [
        "rockoon_health_workloads{",
        "rockoon_health_transitions_total{",
        "rockoon_health_status_writes_total{",
    ] {
        assert!(metrics.contains(name), "{name} missing:\n{metrics}");
    }
    ns.delete().await.unwrap();
}

/// Every role label change of the namespace's MariaDB pods, checked as it arrives.
struct LabelWatch {
    roles: Arc<Mutex<BTreeMap<String, String>>>,
    violations: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl LabelWatch {
    fn start(pods: Api<Pod>) -> Self {
        let roles: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
        let violations: Arc<Mutex<Vec<String>>> = Arc::default();
        let (r, v) = (roles.clone(), violations.clone());
        let stream = watcher(
            pods,
            watcher::Config::default().labels("application=mariadb"),
        );
        let task = tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream.default_backoff());
            while let Ok(Some(event)) = stream.try_next().await {
                let mut roles = r.lock().unwrap();
                match event {
                    watcher::Event::Apply(pod) | watcher::Event::InitApply(pod) => {
                        let role = pod.labels().get(ROLE).cloned().unwrap_or_default();
                        roles.insert(pod.name_any(), role);
                    }
                    watcher::Event::Delete(pod) => {
                        roles.remove(&pod.name_any());
                    }
                    watcher::Event::Init | watcher::Event::InitDone => {}
                }
                let primaries: Vec<_> = roles.iter().filter(|(_, r)| *r == "primary").collect();
                if primaries.len() > 1 {
                    v.lock().unwrap().push(format!("{primaries:?}"));
                }
            }
        });
        Self {
            roles,
            violations,
            task,
        }
    }

    fn primaries(&self) -> Vec<String> {
        let roles = self.roles.lock().unwrap();
        roles
            .iter()
            .filter(|(_, r)| *r == "primary")
            .map(|(n, _)| n.clone())
            .collect()
    }

    fn stop(self) -> Vec<String> {
        self.task.abort();
        self.violations.lock().unwrap().clone()
    }
}

/// Scales `name` through its `scale` subresource as `kubectl scale` does (its own manager).
async fn scale_by_hand(client: &Client, ns: &str, name: &str, replicas: i32) {
    let params = PatchParams {
        field_manager: Some("kubectl".to_owned()),
        ..PatchParams::default()
    };
    Api::<StatefulSet>::namespaced(client.clone(), ns)
        .patch_scale(
            name,
            &params,
            &Patch::Merge(&json!({"spec": {"replicas": replicas}})),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_statefulset_scaled_to_zero_by_hand_is_unhealthy_and_leaves_the_summary() {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "health-zero").await.unwrap();
    let binary = start_health(&cluster, &ns.name);
    let labels = |application: &str, component: &str| json!({"application": application, "component": component, "release_group": application});
    apply_workload(
        &client,
        &ns.name,
        "Deployment",
        "demo-api",
        labels("demo", "api"),
    )
    .await;
    apply_workload(
        &client,
        &ns.name,
        "StatefulSet",
        "store-db",
        labels("store", "db"),
    )
    .await;
    create_osdpl_and_status(&client, &ns.name).await;
    let statuses: Api<OpenStackDeploymentStatus> = Api::namespaced(client.clone(), &ns.name);
    osdplst_until(&statuses, &binary, "2/2 before the scale-down", |o| {
        summary(o).as_deref() == Some("2/2") && entry(o, "store", "db").as_deref() == Some("Ready")
    })
    .await;

    // 0/0 pods: nothing missing, nothing unready, and still nothing the release wants runs.
    scale_by_hand(&client, &ns.name, "store-db", 0).await;
    osdplst_until(
        &statuses,
        &binary,
        "store/db Unhealthy at 0 replicas",
        |o| {
            summary(o).as_deref() == Some("1/2")
                && entry(o, "store", "db").as_deref() == Some("Unhealthy")
                && entry(o, "demo", "api").as_deref() == Some("Ready")
        },
    )
    .await;

    scale_by_hand(&client, &ns.name, "store-db", 1).await;
    osdplst_until(
        &statuses,
        &binary,
        "store/db Ready again at 1 replica",
        |o| {
            summary(o).as_deref() == Some("2/2")
                && entry(o, "store", "db").as_deref() == Some("Ready")
        },
    )
    .await;
}

/// Waits until the pods' labels satisfy `check` (name → role label).
async fn roles_until(
    pods: &Api<Pod>,
    binary: &RunningBinary,
    what: &str,
    check: impl Fn(&BTreeMap<String, String>) -> bool,
) {
    let stream = watcher(
        pods.clone(),
        watcher::Config::default().labels("application=mariadb"),
    )
    .default_backoff();
    let mut roles: BTreeMap<String, String> = BTreeMap::new();
    let found = tokio::time::timeout(WAIT, async {
        let mut stream = std::pin::pin!(stream);
        let mut listed = false;
        while let Ok(Some(event)) = stream.try_next().await {
            match event {
                watcher::Event::Apply(p) | watcher::Event::InitApply(p) => {
                    roles.insert(
                        p.name_any(),
                        p.labels().get(ROLE).cloned().unwrap_or_default(),
                    );
                }
                watcher::Event::Delete(p) => {
                    roles.remove(&p.name_any());
                }
                watcher::Event::InitDone => listed = true,
                watcher::Event::Init => {}
            }
            if listed && check(&roles) {
                return true;
            }
        }
        false
    })
    .await;
    if found != Ok(true) {
        panic!(
            "{what}: not seen within {WAIT:?}; roles {roles:?}; log:\n{}",
            binary.log_tail()
        );
    }
}

fn one_primary(name: &'static str) -> impl Fn(&BTreeMap<String, String>) -> bool {
    move |roles| {
        roles.len() == 3
            && roles.get(name).map(String::as_str) == Some("primary")
            && roles.iter().filter(|(_, r)| *r == "backup").count() == 2
    }
}

#[tokio::test]
async fn mariadb_keeps_exactly_one_primary_through_unready_and_deleted_pods_and_a_restart() {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "mariadb").await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    let watch = LabelWatch::start(pods.clone());
    let mut binary = start_health(&cluster, &ns.name);

    let labels = json!({"application": "mariadb", "component": "server", "release_group": "openstack-mariadb"});
    let selector = json!({"application": "mariadb", "component": "server"});
    let services: Api<Service> = Api::namespaced(client.clone(), &ns.name);
    for (name, headless) in [("mariadb", false), ("mariadb-discovery", true)] {
        let mut spec = json!({"selector": selector, "ports": [{"name": "mysql", "port": 3306}]});
        if headless {
            spec["clusterIP"] = json!("None");
        }
        let body = json!({"apiVersion": "v1", "kind": "Service",
                          "metadata": {"name": name, "labels": labels}, "spec": spec});
        services
            .patch(name, &PatchParams::apply(TESTS), &Patch::Apply(&body))
            .await
            .unwrap();
    }
    apply_workload(
        &client,
        &ns.name,
        "StatefulSet",
        "mariadb-server",
        labels.clone(),
    )
    .await;

    roles_until(
        &pods,
        &binary,
        "server-0 primary, two backups",
        one_primary("mariadb-server-0"),
    )
    .await;
    let selected = services.get("mariadb").await.unwrap();
    let selector = selected.spec.and_then(|s| s.selector).unwrap_or_default();
    assert_eq!(selector.get(ROLE).map(String::as_str), Some("primary"));
    let discovery = services.get("mariadb-discovery").await.unwrap();
    let selector = discovery.spec.and_then(|s| s.selector).unwrap_or_default();
    assert!(
        !selector.contains_key(ROLE),
        "headless Service changed: {selector:?}"
    );

    // The primary stops being ready: the lowest ready ordinal takes over.
    set_ready(&client, &ns.name, "mariadb-server-0", false).await;
    roles_until(
        &pods,
        &binary,
        "server-1 primary after server-0 unready",
        one_primary("mariadb-server-1"),
    )
    .await;
    // Ready again, server-0 stays backup: the primary keeps its label while it is ready.
    set_ready(&client, &ns.name, "mariadb-server-0", true).await;

    // The primary is deleted: server-0 (ready, lowest) takes over; the re-created
    // server-1 becomes a backup.
    pods.delete("mariadb-server-1", &DeleteParams::default())
        .await
        .unwrap();
    roles_until(
        &pods,
        &binary,
        "server-0 primary after server-1 deleted",
        |roles| one_primary("mariadb-server-0")(roles),
    )
    .await;
    // The re-created server-1 must be ready before the next step counts on it (kwok takes
    // longer on a busy machine; the rule would rightly pick server-2 meanwhile).
    wait_ready(&pods, "mariadb-server-1").await;

    // SIGKILL and restart the binary: the labels stay, the rule still holds afterwards.
    binary.kill().await.unwrap();
    let binary = start_health(&cluster, &ns.name);
    assert_eq!(watch.primaries(), vec!["mariadb-server-0".to_owned()]);
    set_ready(&client, &ns.name, "mariadb-server-0", false).await;
    roles_until(
        &pods,
        &binary,
        "server-1 primary after restart",
        one_primary("mariadb-server-1"),
    )
    .await;

    let violations = watch.stop();
    assert!(
        violations.is_empty(),
        "two primaries observed: {violations:?}"
    );
    ns.delete().await.unwrap();
}
