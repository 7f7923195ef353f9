//! The suite as its real pod on the dev cluster's real node, as a user installs it: the image
//! built here (tests/cluster/image.sh from this run's binaries) imported into the node's
//! containerd, `helm upgrade --install` of deploy/chart/rockoon with deploy/dev/values.yaml.
//!
//! One test, in steps that build on each other (one pod install is the expensive part):
//! 5/5 Ready on the real node as uid 42424; the small OSDPL applied by the pod (charts from
//! the host folder mounted read-only); Prometheus discovering the pod through the API and
//! scraping five healthy targets, each container's reconcile metrics under its own
//! `controller` label, and its web UI's `/targets` and `/query` pages served with their script; a `helm upgrade` tuning one container changes only that container's
//! spec; a frozen binary (SIGSTOP from the host) fails its liveness probe and the kubelet
//! restarts that container only. Figures (install → Ready, RSS idle and during the apply,
//! restart time) are printed for docs/benchmarks.md.
//!
//! The release is scoped to the test: its own namespaces, a unique fullnameOverride, free
//! host ports (the pod uses the node's network), `osdpl.reportUnmanaged: false` and the node
//! controller limited to the test's own Node, so other tests' objects are never touched.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client};
use rockoon_core::crd::OpenStackDeploymentStatus;
use rockoon_tests::devcluster::{
    build_components, ports, prometheus, prometheus_ui, upstream_charts,
};
use rockoon_tests::harness::{ClusterInfo, TestNamespace, ensure_crds, in_ci};
use rockoon_tests::pod::{self, NodeAccess, Release};
use serde_json::{Value, json};

use crate::cluster_or_return;

const CONTAINERS: [&str; 5] = ["osdpl", "secrets", "health", "node", "ceph-exchange"];
const RELEASE: &str = "rockoon";
const IMAGE_TAG: &str = "test";
/// Label scoping the test's Node to the pod's node controller.
const SCOPE: &str = "tests.rockoon.dev/scope";
const READY_WAIT: Duration = Duration::from_secs(180);
const APPLY_WAIT: Duration = Duration::from_secs(420);

/// The real node of the shared cluster, or a skip (a failure under CI) naming why not.
fn real_node_or_skip(cluster: &ClusterInfo) -> Option<NodeAccess> {
    match NodeAccess::of_cluster(&cluster.dir, &cluster.kubeconfig) {
        Ok(node) => Some(node),
        Err(error) if in_ci() => panic!("CI=true and no real node: {error:#}"),
        Err(error) => {
            eprintln!("SKIPPED: the suite's pod needs the real node: {error:#}");
            None
        }
    }
}

/// Builds the image from this run's binaries and imports it into the node's containerd.
fn import_test_image(node: &NodeAccess) {
    let root = rockoon_tests::devcluster::workspace_root();
    let target = rockoon_tests::suite::current_target_dir().unwrap();
    let out = target.join("test-pod-image");
    let status = std::process::Command::new(root.join("tests/cluster/image.sh"))
        .arg(&target)
        .arg(&out)
        .arg(format!("localhost/rockoon:{IMAGE_TAG}"))
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "tests/cluster/image.sh: {status}");
    node.import_image(&out.join("rockoon.oci.tar")).unwrap();
}

/// Values of the test's release on top of deploy/dev/values.yaml.
fn test_values(node: &NodeAccess, ns: &str, ceph_ns: &str, ports: &[u16]) -> Value {
    let charts = upstream_charts().unwrap();
    let mut values = pod::run_overrides(&node.api_host, node.api_port, &charts);
    let mut controllers = serde_json::Map::new();
    for (name, port) in CONTAINERS.iter().zip(ports) {
        controllers.insert((*name).to_owned(), json!({"port": port}));
    }
    controllers["node"]["extraArgs"] = json!([format!("--node-selector={SCOPE}={ns}")]);
    let test = json!({
        "fullnameOverride": format!("rockoon-{ns}"),
        "image": {"tag": IMAGE_TAG},
        "osdpl": {"namespace": ns, "reportUnmanaged": false},
        "ceph": {"sharedNamespace": ceph_ns},
        "controllers": controllers,
    });
    rockoon_core::values::merge_into(&mut values, &test, "values").unwrap();
    values
}

#[tokio::test(flavor = "multi_thread")]
async fn the_suite_runs_as_its_pod_is_scraped_by_prometheus_and_tuned_per_container() {
    let cluster = cluster_or_return!();
    let Some(node) = real_node_or_skip(&cluster) else {
        return;
    };
    // The real node's teardown test compares host-wide lists our pod would change.
    let _host = crate::real_node::HOST_LISTS.lock().await;
    ensure_crds(&cluster).await.unwrap();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "pod").await.unwrap();
    let ceph_ns = TestNamespace::create(&client, "podceph").await.unwrap();
    rockoon_tests::sample::seed_external_inputs(&client, &ns.name, &ceph_ns.name)
        .await
        .unwrap();
    import_test_image(&node);

    // Install: 5/5 Ready on the real node.
    let ports: Vec<u16> = (0..5).map(|_| ports::free_port().unwrap()).collect();
    let helm = build_components().unwrap().join("helm");
    let release = Release {
        name: RELEASE.into(),
        namespace: ns.name.clone(),
        values_files: vec![
            rockoon_tests::devcluster::workspace_root().join("deploy/dev/values.yaml"),
        ],
        overrides: test_values(&node, &ns.name, &ceph_ns.name, &ports),
    };
    let started = Instant::now();
    pod::helm_upgrade(&helm, &cluster.kubeconfig, &cluster.dir, &release, false).unwrap();
    let first = pod::wait_ready(&client, &ns.name, RELEASE, None, READY_WAIT)
        .await
        .unwrap();
    let install_seconds = started.elapsed().as_secs_f64();
    let spec = first.spec.clone().unwrap();
    assert_eq!(
        spec.node_name.as_deref(),
        Some(rockoon_tests::devcluster::real_node::NODE_NAME)
    );
    assert_eq!(spec.host_network, Some(true));
    let uid = first.metadata.uid.clone().unwrap();
    let processes = wait_for_processes(&uid).await;
    eprintln!("pod: helm upgrade --install -> 5/5 Ready in {install_seconds:.1} s");

    // Idle memory, then the small OSDPL applied by the pod, sampling memory meanwhile.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = total_rss(&pod::pod_processes(&uid).unwrap());
    eprintln!(
        "pod: RSS idle {:.1} MiB ({:?})",
        idle as f64 / 1024.0,
        pod::rss_by_program(&processes)
    );
    let test_node = create_scoped_node(&client, &ns.name).await;
    apply_small_osdpl(&client, &ns.name).await;
    let (applied_in, peak) = wait_applied_sampling(&client, &ns.name, &uid).await;
    eprintln!(
        "pod: small OSDPL APPLIED in {applied_in:.1} s; RSS peak during the apply {:.1} MiB",
        peak as f64 / 1024.0
    );

    // Prometheus: five healthy targets and every container's reconcile metrics.
    // Its web UI too (the targets page is what a user opens): under CI a failed UI build fails
    // the test; elsewhere only the page check is skipped, with the reason.
    let web_ui = match prometheus_ui::build() {
        Ok(dir) => Some(dir),
        Err(error) if in_ci() => panic!("CI=true and no Prometheus web UI: {error:#}"),
        Err(error) => {
            eprintln!("note: Prometheus web UI check skipped: {error:#}");
            None
        }
    };
    let mut prom = prometheus::start(
        &build_components().unwrap(),
        &cluster.dir,
        &prometheus::Config {
            kubeconfig: cluster.kubeconfig.clone(),
            namespaces: vec![ns.name.clone()],
            scrape_interval_seconds: 2,
        },
        web_ui.as_deref(),
    )
    .await
    .unwrap();
    check_targets(prom.port, &ports).await;
    if web_ui.is_some() {
        let script = prometheus_ui::check(prom.port).await.unwrap();
        eprintln!(
            "pod: Prometheus web UI: /targets and /query serve the app, {script} answers 200"
        );
    }
    check_reconcile_metrics(prom.port, &ns.name).await;
    prom.component.stop(Duration::from_secs(10)).await;

    // Tune one container: only its spec changes.
    let tuned = Release {
        values_files: Vec::new(),
        overrides: json!({"controllers": {"health": {
            "logLevel": "debug",
            "resources": {"requests": {"cpu": "20m", "memory": "40Mi"}, "limits": {"memory": "160Mi"}},
            "extraArgs": ["--resync-seconds=300"],
        }}}),
        ..release.clone()
    };
    pod::helm_upgrade(&helm, &cluster.kubeconfig, &cluster.dir, &tuned, true).unwrap();
    let second = pod::wait_ready(&client, &ns.name, RELEASE, Some(&uid), READY_WAIT)
        .await
        .unwrap();
    only_health_changed(&first, &second);

    // Freeze one binary: its liveness probe fails and the kubelet restarts it alone.
    let uid = second.metadata.uid.clone().unwrap();
    let frozen = wait_for_processes(&uid)
        .await
        .into_iter()
        .find(|p| p.program == "rockoon-secrets")
        .unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(frozen.pid as i32),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .unwrap();
    let frozen_at = Instant::now();
    let restarted = wait_restarted(&client, &ns.name, &second, "secrets").await;
    eprintln!(
        "pod: frozen rockoon-secrets restarted by the kubelet after {:.1} s",
        frozen_at.elapsed().as_secs_f64()
    );
    let restarts = restart_counts(&restarted);
    let expected: BTreeMap<String, i32> = CONTAINERS
        .iter()
        .map(|c| ((*c).to_owned(), i32::from(*c == "secrets")))
        .collect();
    assert_eq!(restarts, expected, "{}", pod::describe(&restarted));
    assert!(
        !std::path::Path::new(&format!("/proc/{}", frozen.pid)).exists()
            || std::fs::read_to_string(format!("/proc/{}/cmdline", frozen.pid))
                .is_ok_and(|c| !c.contains("rockoon-secrets")),
        "the frozen process is gone"
    );

    // Clean up: the release (cluster-scoped RBAC too), the Node, the namespaces.
    let out = std::process::Command::new(&helm)
        .args(["uninstall", RELEASE, "--wait", "--namespace", &ns.name])
        .arg("--kubeconfig")
        .arg(&cluster.kubeconfig)
        .env("HELM_CACHE_HOME", cluster.dir.join("helm-home-pod/cache"))
        .env("HELM_CONFIG_HOME", cluster.dir.join("helm-home-pod/config"))
        .env("HELM_DATA_HOME", cluster.dir.join("helm-home-pod/data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let nodes: Api<Node> = Api::all(client.clone());
    nodes
        .delete(&test_node, &DeleteParams::default())
        .await
        .unwrap();
    ns.delete().await.unwrap();
    ceph_ns.delete().await.unwrap();
}

/// The five binaries of the pod, seen from the host, running as the suite's uid.
async fn wait_for_processes(uid: &str) -> Vec<pod::PodProcess> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = pod::pod_processes(uid).unwrap();
        let programs: BTreeSet<&str> = found.iter().map(|p| p.program.as_str()).collect();
        let expected: BTreeSet<String> =
            CONTAINERS.iter().map(|c| format!("rockoon-{c}")).collect();
        if expected.iter().all(|e| programs.contains(e.as_str())) {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "the pod's processes as uid {}: {found:?}",
            pod::SUITE_UID
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn total_rss(processes: &[pod::PodProcess]) -> u64 {
    processes.iter().map(|p| p.rss_kib).sum()
}

/// A Node of this test only (no kubelet behind it), so the pod's node controller has one
/// object to reconcile.
async fn create_scoped_node(client: &Client, ns: &str) -> String {
    let name = format!("tn-{ns}");
    let node = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {SCOPE: ns, "openstack-control-plane": "enabled"}},
    });
    Api::<Node>::all(client.clone())
        .patch(
            &name,
            &PatchParams::apply("rockoon-tests"),
            &Patch::Apply(&node),
        )
        .await
        .unwrap();
    name
}

async fn apply_small_osdpl(client: &Client, ns: &str) {
    let object = json!({
        "apiVersion": "lcm.mirantis.com/v1alpha1", "kind": "OpenStackDeployment",
        "metadata": {"name": crate::small::OSDPL, "namespace": ns},
        "spec": crate::small::spec(),
    });
    Api::<rockoon_core::crd::OpenStackDeployment>::namespaced(client.clone(), ns)
        .patch(
            crate::small::OSDPL,
            &PatchParams::apply("rockoon-tests"),
            &Patch::Apply(&object),
        )
        .await
        .unwrap();
}

/// Waits for every service APPLIED, sampling the pod's memory every second; returns the time
/// and the peak RSS (KiB).
async fn wait_applied_sampling(client: &Client, ns: &str, uid: &str) -> (f64, u64) {
    let statuses: Api<OpenStackDeploymentStatus> = Api::namespaced(client.clone(), ns);
    let started = Instant::now();
    let mut peak = 0;
    loop {
        peak = peak.max(total_rss(&pod::pod_processes(uid).unwrap()));
        let status = statuses
            .get_opt(crate::small::OSDPL)
            .await
            .unwrap()
            .and_then(|s| s.status)
            .map(|s| json!(s))
            .unwrap_or_default();
        if rockoon_tests::harness::all_applied(&status) {
            return (started.elapsed().as_secs_f64(), peak);
        }
        assert!(
            started.elapsed() < APPLY_WAIT,
            "the pod did not apply the small OSDPL in {APPLY_WAIT:?}: {status}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn prometheus_get(port: u16, path: &str) -> Value {
    let answer = rockoon_tests::devcluster::http_get(port, path)
        .await
        .unwrap();
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {answer}"))
}

/// Waits for five active targets, all up, one per container on its admin port.
async fn check_targets(port: u16, admin_ports: &[u16]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let targets = prometheus_get(port, "/api/v1/targets?state=active").await;
        let active = targets["data"]["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let up: BTreeMap<String, String> = active
            .iter()
            .filter(|t| t["health"] == "up")
            .map(|t| {
                (
                    t["labels"]["controller"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    t["scrapeUrl"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        if active.len() == 5 && up.len() == 5 {
            for (name, admin) in CONTAINERS.iter().zip(admin_ports) {
                let url = &up[*name];
                assert!(url.ends_with(&format!(":{admin}/metrics")), "{name}: {url}");
            }
            return;
        }
        assert!(Instant::now() < deadline, "Prometheus targets: {targets}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Every container's reconcile counter, each under its own `controller` label.
async fn check_reconcile_metrics(port: u16, ns: &str) {
    let query = format!(
        "count%20by%20(controller)%20(rockoon_reconcile_total%7Bnamespace%3D%22{ns}%22%7D)"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = prometheus_get(port, &format!("/api/v1/query?query={query}")).await;
        let controllers: BTreeSet<String> = answer["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|r| r["metric"]["controller"].as_str().map(str::to_owned))
            .collect();
        let expected: BTreeSet<String> = CONTAINERS.iter().map(|c| (*c).to_owned()).collect();
        if controllers == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "rockoon_reconcile_total by controller: {answer}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The containers of a pod as the chart made them: without the service-account token mount
/// the API server adds to every container (its volume name is random per pod).
fn containers_by_name(pod: &Pod) -> BTreeMap<String, Value> {
    pod.spec
        .as_ref()
        .unwrap()
        .containers
        .iter()
        .map(|c| {
            let mut c = json!(c);
            if let Some(mounts) = c["volumeMounts"].as_array_mut() {
                mounts.retain(|m| {
                    !m["name"]
                        .as_str()
                        .is_some_and(|n| n.starts_with("kube-api-access-"))
                });
            }
            (c["name"].as_str().unwrap().to_owned(), c)
        })
        .collect()
}

fn only_health_changed(old: &Pod, new: &Pod) {
    let (old, new) = (containers_by_name(old), containers_by_name(new));
    for name in CONTAINERS {
        if name == "health" {
            continue;
        }
        assert_eq!(old[name], new[name], "container {name} changed");
    }
    let health = &new["health"];
    let env = |c: &Value| {
        c["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "OSCTL_LOG_LEVEL")
            .map(|e| e["value"].clone())
    };
    assert_eq!(env(health), Some(json!("debug")));
    assert_eq!(env(&old["health"]), Some(json!("info")));
    assert_eq!(health["resources"]["limits"]["memory"], "160Mi");
    assert!(
        health["args"]
            .as_array()
            .unwrap()
            .contains(&json!("--resync-seconds=300")),
        "{health}"
    );
    assert_ne!(old["health"], new["health"]);
}

/// Waits until `container` restarted once and is Ready again.
async fn wait_restarted(client: &Client, ns: &str, pod: &Pod, container: &str) -> Pod {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let name = pod.metadata.name.clone().unwrap();
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        let current = pods.get(&name).await.unwrap();
        let status = current
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.clone())
            .unwrap_or_default();
        if status
            .iter()
            .any(|c| c.name == container && c.restart_count >= 1 && c.ready)
        {
            return current;
        }
        assert!(
            Instant::now() < deadline,
            "{container} not restarted: {}",
            pod::describe(&current)
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn restart_counts(pod: &Pod) -> BTreeMap<String, i32> {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.name, c.restart_count))
        .collect()
}
