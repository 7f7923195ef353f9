//! The dev cluster's real node (containerd + kubelet, see `devcluster::real_node`): it is
//! Ready, labelled, tainted and left alone by kwok; a host-network pod of the locally built
//! pause image runs in a real container there, its log can be read through the API server,
//! and it is deleted cleanly; a real node's teardown leaves nothing on the host.
//!
//! The shared cluster starts its real node with `--real-node=auto`: on a host that cannot
//! run one (not root, no apt), these tests print why and return, and fail under CI=true.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{DeleteParams, ListParams, LogParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, ResourceExt as _};
use rockoon_tests::devcluster::real_node::{self, Host, LABEL, NODE_NAME, SANDBOX_IMAGE};
use rockoon_tests::devcluster::state::State;
use rockoon_tests::devcluster::{DevCluster, NodeCounts, Options, RealNodeMode};
use rockoon_tests::harness::{self, ClusterInfo, TestNamespace};
use serde_json::json;

use crate::cluster_or_return;

const WAIT: Duration = Duration::from_secs(60);

/// The pod tests (here and in `pod.rs`) and the teardown test take turns: the teardown test
/// compares host-wide lists (network namespaces, iptables chains) before and after.
pub(crate) static HOST_LISTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The shared cluster's real node, or return (outside CI) with the reason it has none.
fn real_node_or_skip(cluster: &ClusterInfo) -> Option<State> {
    let state = State::read(&cluster.dir).unwrap();
    if state.real_node.is_some() {
        return Some(state);
    }
    let reason = state
        .real_node_skipped
        .unwrap_or_else(|| "the cluster was started without --real-node".into());
    assert!(!harness::in_ci(), "CI=true and no real node: {reason}");
    eprintln!("SKIPPED: no real node: {reason}");
    None
}

#[tokio::test]
async fn the_real_node_is_ready_labelled_tainted_and_not_managed_by_kwok() {
    let cluster = cluster_or_return!();
    let Some(state) = real_node_or_skip(&cluster) else {
        return;
    };
    let client = cluster.client().await.unwrap();
    let node = Api::<Node>::all(client).get(NODE_NAME).await.unwrap();
    let status = node.status.clone().unwrap();
    let ready = status.conditions.clone().unwrap_or_default();
    assert!(
        ready
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True"),
        "{ready:?}"
    );
    assert_eq!(node.labels().get(LABEL).map(String::as_str), Some("true"));
    let taints = node.spec.clone().unwrap().taints.unwrap_or_default();
    assert!(
        taints.iter().any(|t| t.key == LABEL
            && t.value.as_deref() == Some("true")
            && t.effect == "NoSchedule"),
        "{taints:?}"
    );
    // kwok manages only nodes with its annotation, and reports `fake` versions for them.
    assert!(
        !node
            .annotations()
            .contains_key(rockoon_tests::devcluster::KWOK_ANNOTATION)
    );
    let info = status.node_info.unwrap();
    assert_eq!(info.kubelet_version, "v1.36.3");
    assert!(info.container_runtime_version.starts_with("containerd://"));
    let host = Host::read(&cluster.dir).unwrap();
    let addresses = status.addresses.unwrap_or_default();
    assert!(
        addresses
            .iter()
            .any(|a| a.type_ == "InternalIP" && a.address == host.ip.to_string()),
        "{addresses:?}"
    );
    eprintln!(
        "real node Ready {:.1} s after its kubelet started",
        state.real_node_ready_seconds.unwrap_or_default()
    );
}

#[tokio::test]
async fn a_daemonset_that_does_not_tolerate_the_taint_places_pods_on_kwok_nodes_only() {
    let cluster = cluster_or_return!();
    if real_node_or_skip(&cluster).is_none() {
        return;
    }
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "real-node-ds")
        .await
        .unwrap();
    let sets: Api<DaemonSet> = Api::namespaced(client.clone(), &ns.name);
    let set: DaemonSet = serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "everywhere"},
        "spec": {
            "selector": {"matchLabels": {"app": "everywhere"}},
            "template": {
                "metadata": {"labels": {"app": "everywhere"}},
                "spec": {"containers": [{"name": "c", "image": "everywhere:1"}]},
            },
        },
    }))
    .unwrap();
    sets.create(&PostParams::default(), &set).await.unwrap();
    // Settled: the controller has observed it and created a pod for every node it wants.
    let settled = |d: Option<&DaemonSet>| {
        d.and_then(|d| d.status.as_ref()).is_some_and(|s| {
            s.desired_number_scheduled > 0
                && s.current_number_scheduled == s.desired_number_scheduled
                && s.observed_generation == Some(1)
        })
    };
    tokio::time::timeout(WAIT, await_condition(sets.clone(), "everywhere", settled))
        .await
        .expect("the DaemonSet did not settle within 60 s")
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    let nodes: Vec<String> = pods
        .list(&ListParams::default().labels("app=everywhere"))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|p| p.spec?.node_name)
        .collect();
    assert!(!nodes.is_empty());
    assert!(
        !nodes.iter().any(|n| n == NODE_NAME),
        "a pod landed on {NODE_NAME}: {nodes:?}"
    );
    ns.delete().await.unwrap();
}

/// A host-network pause pod pinned to the real node.
fn pause_pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "hostNetwork": true,
            "nodeSelector": {LABEL: "true"},
            "tolerations": [{"key": LABEL, "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
            "terminationGracePeriodSeconds": 5,
            "automountServiceAccountToken": true,
            "containers": [{
                "name": "pause",
                "image": SANDBOX_IMAGE,
                "imagePullPolicy": "Never",
            }],
        },
    }))
    .unwrap()
}

/// Creates a namespace `t-<prefix>-…` with the pause pod `pause` and waits until it runs.
async fn start_pause_pod(client: &kube::Client, prefix: &str) -> (TestNamespace, Api<Pod>) {
    let ns = TestNamespace::create(client, prefix).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    pods.create(&PostParams::default(), &pause_pod("pause"))
        .await
        .unwrap();
    tokio::time::timeout(
        WAIT,
        await_condition(pods.clone(), "pause", conditions::is_pod_running()),
    )
    .await
    .expect("the pause pod is not Running after 60 s")
    .unwrap();
    (ns, pods)
}

/// Pid of a task of the node's containerd (`ctr tasks ls`), if it runs.
fn task_pid(run_dir: &Path, container_id: &str) -> Option<u32> {
    let socket = real_node::config::Layout::new(run_dir).containerd_socket;
    let output = std::process::Command::new("ctr")
        .arg(format!("--address={}", socket.display()))
        .args(["--namespace=k8s.io", "tasks", "ls"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&container_id) && fields.get(2) == Some(&"RUNNING"))
        .and_then(|fields| fields.get(1)?.parse().ok())
}

#[tokio::test]
async fn a_pause_pod_runs_in_a_real_container_on_the_real_node_and_is_deleted_cleanly() {
    let cluster = cluster_or_return!();
    if real_node_or_skip(&cluster).is_none() {
        return;
    }
    let _turn = HOST_LISTS.lock().await;
    run_pause_pod_and_delete_it(&cluster.dir, &cluster.client().await.unwrap()).await;
}

/// Runs a pause pod on the real node of `run_dir`'s cluster, checks its container is a real
/// process, reads its log through the API server, deletes it and checks the container ended.
async fn run_pause_pod_and_delete_it(run_dir: &Path, client: &kube::Client) {
    let (ns, pods) = start_pause_pod(client, "real-node").await;
    let pod = pods.get("pause").await.unwrap();
    assert_eq!(pod.spec.unwrap().node_name.as_deref(), Some(NODE_NAME));
    let status = pod.status.unwrap();
    let container = &status.container_statuses.unwrap()[0];
    let id = container
        .container_id
        .as_deref()
        .and_then(|id| id.strip_prefix("containerd://"))
        .unwrap_or_else(|| panic!("no containerd id: {container:?}"))
        .to_owned();
    let pid = task_pid(run_dir, &id).unwrap_or_else(|| panic!("no running task {id}"));
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(
        cmdline, b"/pause\0",
        "task {id} (pid {pid}) is not our pause program"
    );

    // kube-apiserver → kubelet (client certificate): the log of a silent container is empty.
    let log = pods.logs("pause", &LogParams::default()).await.unwrap();
    assert_eq!(log, "");

    pods.delete("pause", &DeleteParams::default())
        .await
        .unwrap();
    let uid = pods
        .get_opt("pause")
        .await
        .unwrap()
        .and_then(|p| p.metadata.uid);
    tokio::time::timeout(
        WAIT,
        await_condition(
            pods.clone(),
            "pause",
            conditions::is_deleted(&uid.unwrap_or_default()),
        ),
    )
    .await
    .expect("the pause pod is not gone after 60 s")
    .unwrap();
    assert!(task_pid(run_dir, &id).is_none(), "task {id} still runs");
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default() != b"/pause\0",
        "pid {pid} still runs"
    );
    ns.delete().await.unwrap();
}

/// What a real node could leave on the host, as far as it can be listed without knowing it.
#[derive(Debug, PartialEq, Eq)]
struct HostSnapshot {
    iptables_chains: BTreeSet<String>,
    netns: BTreeSet<String>,
}

fn names_in(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|e| {
            e.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn snapshot() -> HostSnapshot {
    let mut chains = BTreeSet::new();
    for table in ["filter", "nat", "mangle"] {
        let output = std::process::Command::new("iptables-save")
            .args(["-t", table])
            .output()
            .unwrap();
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            if let Some(chain) = line.strip_prefix(':') {
                chains.insert(format!(
                    "{table}/{}",
                    chain.split(' ').next().unwrap_or_default()
                ));
            }
        }
    }
    HostSnapshot {
        iptables_chains: chains,
        netns: names_in("/run/netns"),
    }
}

/// Processes whose command line names `dir` (containerd, kubelet, shims of that node).
fn processes_naming(dir: &Path) -> Vec<String> {
    let needle = dir.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline.contains(&needle).then_some(cmdline)
        })
        .collect()
}

#[tokio::test]
async fn the_teardown_of_a_real_node_leaves_nothing_on_the_host() {
    let bin_dir = rockoon_tests::devcluster::build_components().unwrap();
    if let Err(error) = real_node::preflight(&bin_dir) {
        assert!(!harness::in_ci(), "CI=true and no real node: {error:#}");
        eprintln!("SKIPPED: no real node: {error:#}");
        return;
    }
    let target = rockoon_tests::suite::current_target_dir().unwrap();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let dir: PathBuf = target
        .join("test-cluster")
        .join(format!("teardown-{stamp}"));
    let _turn = HOST_LISTS.lock().await;
    let before = snapshot();
    let mut cluster = DevCluster::start(Options {
        dir: dir.clone(),
        bin_dir: Some(bin_dir),
        nodes: NodeCounts {
            control_plane: 0,
            compute: 0,
            gateway: 0,
        },
        real_node: RealNodeMode::On,
    })
    .await
    .unwrap();
    let host = Host::read(&dir).unwrap();
    let layout = real_node::config::Layout::new(&dir);
    // Something to clean: a running pod (sandbox, container, shim, volume mounts).
    let client = cluster.client().await.unwrap();
    let _pod = start_pause_pod(&client, "teardown").await;
    // The things the teardown has to remove are there now.
    assert!(!real_node::teardown::mounts_under(&layout.runtime).is_empty());
    assert!(!real_node::teardown::node_cgroups(&host).is_empty());
    assert!(real_node::teardown::link_exists(&host.link));
    assert!(!processes_naming(&dir).is_empty());
    // Its shims' sockets by containerd's naming rule, one per task (a pod's containers share
    // its sandbox's shim, so only the sandbox's exists). One existing now checks the rule;
    // other clusters' shims on this host are not ours to judge.
    let shim_sockets = real_node::teardown::shim_sockets(&layout);
    assert!(
        shim_sockets.iter().any(|s| s.exists()),
        "none of {shim_sockets:?} exists"
    );

    cluster.stop().await;

    assert_eq!(
        real_node::teardown::mounts_under(&layout.dir),
        Vec::<String>::new()
    );
    assert_eq!(
        real_node::teardown::mounts_under(&layout.runtime),
        Vec::<String>::new()
    );
    assert!(
        !layout.runtime.exists(),
        "runtime folder {} left",
        layout.runtime.display()
    );
    assert_eq!(
        real_node::teardown::node_cgroups(&host),
        Vec::<PathBuf>::new()
    );
    assert!(
        !real_node::teardown::link_exists(&host.link),
        "link {} left",
        host.link
    );
    assert!(
        !real_node::teardown::link_exists(&host.bridge()),
        "bridge {} left",
        host.bridge()
    );
    assert_eq!(processes_naming(&dir), Vec::<String>::new());
    assert_eq!(processes_naming(&layout.runtime), Vec::<String>::new());
    let after = snapshot();
    let new = |b: &BTreeSet<String>, a: &BTreeSet<String>| -> Vec<String> {
        a.difference(b).cloned().collect()
    };
    // The kubelet's chains are shared by every real node on the host: they go with the last.
    if !real_node::shared::other_nodes_running() {
        assert_eq!(
            new(&before.iptables_chains, &after.iptables_chains),
            Vec::<String>::new(),
            "new iptables chains"
        );
    }
    assert_eq!(
        new(&before.netns, &after.netns),
        Vec::<String>::new(),
        "new network namespaces"
    );
    let left: Vec<&PathBuf> = shim_sockets.iter().filter(|s| s.exists()).collect();
    assert!(left.is_empty(), "shim sockets left: {left:?}");
    assert!(
        std::fs::read_dir("/var/log/containers")
            .map(|e| e
                .flatten()
                .all(|e| !std::fs::read_link(e.path()).is_ok_and(|t| t.starts_with(&dir))))
            .unwrap_or(true),
        "log links into {} left in /var/log/containers",
        dir.display()
    );
    assert!(
        Host::read(&dir).is_none(),
        "host.json kept: the teardown reported leftovers"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
