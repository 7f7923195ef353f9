//! `rockoon-node` against the real cluster: role labels give internal labels and a
//! NodeWorkloadLock (and a DaemonSet selecting the internal label lands on the node), both go
//! with the role; a Node deleted while the binary is stopped (one even held by Rockoon's old
//! finalizer) loses its lock when the binary starts, unless a NodeDisableNotification names it;
//! a NotReady node's OpenStack pods are deleted once the flapping timeout has passed since the
//! Ready transition, not before, and a flap that came back is left alone.
//!
//! Every test creates and deletes Nodes of its own (named `tn-…`), so the shared kwok nodes
//! other tests place pods on are never touched. Waits are watches (`await_condition`, watch
//! streams) with a deadline.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::admissionregistration::v1::{
    ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use rockoon_core::crd::node_workload_lock::LockState;
use rockoon_core::crd::{NodeDisableNotification, NodeWorkloadLock};
use rockoon_tests::harness::{ClusterInfo, TestNamespace, ensure_crds};
use rockoon_tests::probe::RunningBinary;
use serde_json::{Value, json};

use crate::cluster_or_return;

const WAIT: Duration = Duration::from_secs(60);
const TESTS: &str = "rockoon-tests";
const COMPUTE: &str = "openstack-compute-node";
const INTERNAL_COMPUTE: &str = "rockoon-openstack-compute-node";
const ROCKOON_FINALIZER: &str = "lcm.mirantis.com/rockoon.node-finalizer";
/// The flapping timeout the dead-node test runs the binary with.
const FLAPPING: Duration = Duration::from_secs(5);

/// Label scoping a test's Nodes to that test's binary (value: the test namespace), so the
/// binaries of tests running at the same time leave each other's Nodes alone.
const SCOPE: &str = "tests.rockoon.dev/scope";
/// The cluster release the binaries run with.
const RELEASE: &str = "test-release";

fn start_node(cluster: &ClusterInfo, namespace: &str, flapping: Option<Duration>) -> RunningBinary {
    let mut env = vec![
        ("OSCTL_OS_DEPLOYMENT_NAMESPACE", namespace.to_owned()),
        ("OSCTL_NODE_SELECTOR", format!("{SCOPE}={namespace}")),
        ("OSCTL_CLUSTER_RELEASE", RELEASE.to_owned()),
    ];
    if let Some(flapping) = flapping {
        env.push((
            "OSCTL_NODE_NOT_READY_FLAPPING_TIMEOUT",
            flapping.as_secs().to_string(),
        ));
    }
    RunningBinary::start(cluster, "node", &env).unwrap()
}

/// A node name of this test run.
fn node_name(label: &str) -> String {
    let suffix = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("tn-{label}-{suffix:x}")
}

/// Applies Node `name` of the test with namespace `scope`, with `labels` (as the test's field
/// manager), managed by kwok or not.
async fn apply_node(
    client: &Client,
    scope: &str,
    name: &str,
    labels: Value,
    kwok: bool,
    finalizers: &[&str],
) {
    let mut metadata = json!({"name": name, "labels": labels, "finalizers": finalizers});
    metadata["labels"]["kubernetes.io/hostname"] = json!(name);
    metadata["labels"][SCOPE] = json!(scope);
    if kwok {
        metadata["annotations"] = json!({"kwok.x-k8s.io/node": "fake"});
    }
    let body = json!({"apiVersion": "v1", "kind": "Node", "metadata": metadata});
    let api: Api<Node> = Api::all(client.clone());
    api.patch(
        name,
        &PatchParams::apply(TESTS).force(),
        &Patch::Apply(&body),
    )
    .await
    .unwrap();
    let capacity = json!({"cpu": "8", "memory": "32Gi", "pods": "110"});
    let status = json!({"status": {"capacity": capacity, "allocatable": capacity}});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
}

/// Sets the Ready condition of an unmanaged node, changed at `since`.
async fn set_ready(client: &Client, name: &str, ready: bool, since: Timestamp) {
    let status = json!({"status": {"conditions": [{
        "type": "Ready",
        "status": if ready { "True" } else { "False" },
        "reason": "RockoonTests",
        "message": "set by the node test",
        "lastHeartbeatTime": since.to_string(),
        "lastTransitionTime": since.to_string(),
    }]}});
    Api::<Node>::all(client.clone())
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
}

/// Deletes a test node, first taking any finalizer off it.
async fn delete_node(client: &Client, name: &str) {
    let api: Api<Node> = Api::all(client.clone());
    let clear = json!({"metadata": {"finalizers": null}});
    let _ = api
        .patch(name, &PatchParams::default(), &Patch::Merge(&clear))
        .await;
    let _ = api.delete(name, &DeleteParams::default()).await;
}

async fn wait_node(client: &Client, name: &str, what: &str, check: impl Fn(&Node) -> bool) {
    let api: Api<Node> = Api::all(client.clone());
    let condition = move |node: Option<&Node>| node.is_some_and(&check);
    tokio::time::timeout(WAIT, await_condition(api, name, condition))
        .await
        .unwrap_or_else(|_| panic!("node {name}: {what} not seen within {WAIT:?}"))
        .unwrap();
}

async fn wait_lock(client: &Client, node: &str, present: bool) -> Option<NodeWorkloadLock> {
    let api: Api<NodeWorkloadLock> = Api::all(client.clone());
    let name = format!("openstack-{node}");
    let condition = move |lock: Option<&NodeWorkloadLock>| lock.is_some() == present;
    tokio::time::timeout(WAIT, await_condition(api, &name, condition))
        .await
        .unwrap_or_else(|_| panic!("lock {name} present={present} not seen within {WAIT:?}"))
        .unwrap()
}

fn internal_label(node: &Node) -> Option<&String> {
    node.labels().get(INTERNAL_COMPUTE)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_compute_role_gives_the_internal_label_a_lock_and_daemonset_pods_and_they_go_with_it() {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "node-roles").await.unwrap();
    let mut binary = start_node(&cluster, &ns.name, None);
    binary.wait_ready(WAIT).await.unwrap();
    let name = node_name("cmp");
    let odd = node_name("odd");
    apply_node(
        &client,
        &ns.name,
        &odd,
        json!({COMPUTE: "Enabled", "openstack-gateway": ""}),
        false,
        &[],
    )
    .await;
    apply_node(
        &client,
        &ns.name,
        &name,
        json!({COMPUTE: "enabled", "openvswitch": "enabled"}),
        true,
        &[],
    )
    .await;

    wait_node(&client, &name, "internal compute label", |n| {
        internal_label(n).is_some_and(|v| v == "controller")
    })
    .await;
    let lock = wait_lock(&client, &name, true).await.unwrap();
    assert_eq!(lock.spec.controller_name, "openstack");
    assert_eq!(lock.spec.node_name, name);
    assert_eq!(lock.spec.node_deletion_request_supported, Some(true));
    let api: Api<NodeWorkloadLock> = Api::all(client.clone());
    let active = |l: Option<&NodeWorkloadLock>| {
        l.and_then(|l| l.status.as_ref())
            .is_some_and(|s| s.state == LockState::Active)
    };
    tokio::time::timeout(WAIT, await_condition(api.clone(), &lock.name_any(), active))
        .await
        .expect("lock never became active")
        .unwrap();
    let with_release = |l: Option<&NodeWorkloadLock>| {
        l.and_then(|l| l.status.as_ref())
            .is_some_and(|s| s.state == LockState::Active && s.release.as_deref() == Some(RELEASE))
    };
    tokio::time::timeout(
        WAIT,
        await_condition(api.clone(), &lock.name_any(), with_release),
    )
    .await
    .expect("lock never showed the cluster release")
    .unwrap();
    // A lock left inactive by an older release is reset, as Rockoon does.
    let old = json!({"status": {"state": "inactive", "release": "older"}});
    api.patch_status(
        &lock.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&old),
    )
    .await
    .unwrap();
    tokio::time::timeout(
        WAIT,
        await_condition(api.clone(), &lock.name_any(), with_release),
    )
    .await
    .expect("a lock of an older release was never reset")
    .unwrap();
    let snapshot: Value =
        serde_json::from_str(&lock.annotations()["openstack.lcm.mirantis.com/original-node"])
            .unwrap();
    assert_eq!(snapshot["metadata"]["labels"][COMPUTE], "enabled");

    // An internal label of a role the node lacks, as Rockoon's merge patches left them (another
    // field manager owns it), is removed; the compute one stays.
    let legacy = json!({"metadata": {"labels": {"rockoon-openstack-gateway": "controller"}}});
    let kopf = PatchParams {
        field_manager: Some("kopf".into()),
        ..PatchParams::default()
    };
    Api::<Node>::all(client.clone())
        .patch(&name, &kopf, &Patch::Merge(&legacy))
        .await
        .unwrap();
    wait_node(
        &client,
        &name,
        "Rockoon's stale gateway label removed",
        |n| !n.labels().contains_key("rockoon-openstack-gateway") && internal_label(n).is_some(),
    )
    .await;

    // A DaemonSet selecting the internal label places its pod on the node.
    let daemonset = json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "compute-agent"},
        "spec": {
            "selector": {"matchLabels": {"app": "compute-agent"}},
            "template": {
                "metadata": {"labels": {"app": "compute-agent"}},
                "spec": {
                    "nodeSelector": {INTERNAL_COMPUTE: "controller", "kubernetes.io/hostname": name},
                    "containers": [{"name": "main", "image": "registry.invalid/fake:1"}],
                },
            },
        },
    });
    Api::<DaemonSet>::namespaced(client.clone(), &ns.name)
        .patch(
            "compute-agent",
            &PatchParams::apply(TESTS),
            &Patch::Apply(&daemonset),
        )
        .await
        .unwrap();
    wait_for_pod_on(&client, &ns.name, &name).await;

    // The odd labels gave no role: no internal label, no lock.
    let odd_node = Api::<Node>::all(client.clone()).get(&odd).await.unwrap();
    assert!(
        odd_node
            .labels()
            .keys()
            .all(|k| !k.starts_with("rockoon-openstack-")),
        "odd labels must give no internal label: {:?}",
        odd_node.labels()
    );
    assert!(
        api.get_opt(&format!("openstack-{odd}"))
            .await
            .unwrap()
            .is_none()
    );

    // Another writer's label is kept while the role goes.
    let other = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"team": "storage"}},
    });
    Api::<Node>::all(client.clone())
        .patch(
            &name,
            &PatchParams::apply("someone-else"),
            &Patch::Apply(&other),
        )
        .await
        .unwrap();
    apply_node(
        &client,
        &ns.name,
        &name,
        json!({"openvswitch": "enabled"}),
        true,
        &[],
    )
    .await;
    wait_node(&client, &name, "internal label removed", |n| {
        internal_label(n).is_none()
    })
    .await;
    wait_lock(&client, &name, false).await;
    let node = Api::<Node>::all(client.clone()).get(&name).await.unwrap();
    assert_eq!(
        node.labels().get("team").map(String::as_str),
        Some("storage")
    );

    binary.terminate(WAIT).await.unwrap();
    delete_node(&client, &name).await;
    delete_node(&client, &odd).await;
    ns.delete().await.unwrap();
}

async fn wait_for_pod_on(client: &Client, namespace: &str, node: &str) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let config = watcher::Config::default().fields(&format!("spec.nodeName={node}"));
    let mut events = watcher(pods, config).boxed();
    let found = async {
        while let Some(event) = events.try_next().await.unwrap() {
            if let watcher::Event::Apply(_) | watcher::Event::InitApply(_) = event {
                return;
            }
        }
    };
    tokio::time::timeout(WAIT, found)
        .await
        .unwrap_or_else(|_| panic!("no DaemonSet pod on {node} within {WAIT:?}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_deleted_while_node_is_stopped_loses_its_lock_at_start_unless_disabled() {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "node-gone").await.unwrap();
    let plain = node_name("gone");
    let held = node_name("held");
    let disabled = node_name("off");
    let role = || json!({COMPUTE: "enabled"});
    apply_node(&client, &ns.name, &plain, role(), false, &[]).await;
    apply_node(
        &client,
        &ns.name,
        &held,
        role(),
        false,
        &[ROCKOON_FINALIZER],
    )
    .await;
    apply_node(&client, &ns.name, &disabled, role(), false, &[]).await;
    let mut binary = start_node(&cluster, &ns.name, None);
    binary.wait_ready(WAIT).await.unwrap();
    for node in [&plain, &held, &disabled] {
        wait_lock(&client, node, true).await;
    }
    // Rockoon's finalizer is stripped from a live node too, so it stays deletable.
    wait_node(&client, &held, "finalizer stripped", |n| {
        n.finalizers().is_empty()
    })
    .await;
    binary.terminate(WAIT).await.unwrap();

    // While stopped: Rockoon's finalizer is back (a migration), a notification names one
    // node, and all three Nodes are deleted. The held one stays Terminating.
    let nodes: Api<Node> = Api::all(client.clone());
    let finalizer = json!({"metadata": {"finalizers": [ROCKOON_FINALIZER]}});
    nodes
        .patch(&held, &PatchParams::default(), &Patch::Merge(&finalizer))
        .await
        .unwrap();
    let notification_name = format!("{disabled}-ndn");
    let notification: NodeDisableNotification = serde_json::from_value(json!({
        "apiVersion": "lcm.mirantis.com/v1alpha1", "kind": "NodeDisableNotification",
        "metadata": {"name": notification_name}, "spec": {"nodeName": disabled},
    }))
    .unwrap();
    let notifications: Api<NodeDisableNotification> = Api::all(client.clone());
    notifications
        .create(&PostParams::default(), &notification)
        .await
        .unwrap();
    for node in [&plain, &held, &disabled] {
        nodes.delete(node, &DeleteParams::default()).await.unwrap();
    }
    let terminating = nodes.get(&held).await.unwrap();
    assert!(terminating.metadata.deletion_timestamp.is_some());
    let locks: Api<NodeWorkloadLock> = Api::all(client.clone());
    assert!(
        locks
            .get_opt(&format!("openstack-{plain}"))
            .await
            .unwrap()
            .is_some()
    );

    let mut binary = start_node(&cluster, &ns.name, None);
    binary.wait_ready(WAIT).await.unwrap();
    wait_lock(&client, &plain, false).await;
    wait_lock(&client, &held, false).await;
    let gone = await_condition(nodes.clone(), &held, |n: Option<&Node>| n.is_none());
    tokio::time::timeout(WAIT, gone)
        .await
        .expect("the node held by Rockoon's finalizer was never released")
        .unwrap();
    assert!(
        locks
            .get_opt(&format!("openstack-{disabled}"))
            .await
            .unwrap()
            .is_some(),
        "a disabled node's lock must stay"
    );

    // The notification goes: the node is gone, so its lock goes too.
    notifications
        .delete(&notification_name, &DeleteParams::default())
        .await
        .unwrap();
    wait_lock(&client, &disabled, false).await;

    binary.terminate(WAIT).await.unwrap();
    ns.delete().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_not_ready_node_loses_its_openstack_pods_after_the_flapping_timeout_not_before() {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "node-dead").await.unwrap();
    let elsewhere = TestNamespace::create(&client, "node-dead-other")
        .await
        .unwrap();
    let name = node_name("dead");
    apply_node(
        &client,
        &ns.name,
        &name,
        json!({"openstack-control-plane": "enabled"}),
        false,
        &[],
    )
    .await;
    set_ready(&client, &name, true, Timestamp::now()).await;
    let mut pod_names = BTreeSet::new();
    for i in 0..2 {
        pod_names.insert(create_pod(&client, &ns.name, &format!("p-{i}"), &name).await);
    }
    create_pod(&client, &elsewhere.name, "outside", &name).await;
    let mut binary = start_node(&cluster, &ns.name, Some(FLAPPING));
    binary.wait_ready(WAIT).await.unwrap();
    wait_lock(&client, &name, true).await;

    // A flap: NotReady, then Ready again at once. Then NotReady for good, a second later.
    set_ready(&client, &name, false, whole_second()).await;
    set_ready(&client, &name, true, whole_second()).await;
    tokio::time::sleep_until(next_second()).await;
    let down = whole_second();
    set_ready(&client, &name, false, down).await;

    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    let not_before = SystemTime::from(down) + FLAPPING;
    let mut events = watcher(pods.clone(), watcher::Config::default()).boxed();
    let deleted = async {
        while !pod_names.is_empty() {
            match events.try_next().await.unwrap() {
                Some(watcher::Event::Delete(pod)) => {
                    let seen = SystemTime::now();
                    assert!(
                        seen >= not_before,
                        "pod {} deleted {:?} before the flapping timeout ended",
                        pod.name_any(),
                        not_before.duration_since(seen).unwrap_or_default()
                    );
                    pod_names.remove(&pod.name_any());
                }
                Some(_) => {}
                None => panic!("pod watch ended"),
            }
        }
    };
    tokio::time::timeout(WAIT, deleted)
        .await
        .unwrap_or_else(|_| panic!("pods of the dead node not deleted within {WAIT:?}"));

    // Done by node, once, for this outage; the other namespace is not its business.
    wait_node(&client, &name, "outage marked", |n| {
        n.annotations()
            .get("openstack.lcm.mirantis.com/pods-evicted-for")
            == Some(&down.to_string())
    })
    .await;
    let outside: Api<Pod> = Api::namespaced(client.clone(), &elsewhere.name);
    assert!(outside.get_opt("outside").await.unwrap().is_some());
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let selector = format!("involvedObject.name={name},reason=PodsEvicted");
    let evicted = events
        .list(&ListParams::default().fields(&selector))
        .await
        .unwrap();
    assert_eq!(
        evicted.items.len(),
        1,
        "one PodsEvicted event: {:?}",
        evicted.items
    );
    assert!(
        evicted.items[0]
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("deleted 2 pod(s)"),
        "{:?}",
        evicted.items[0].message
    );

    // A replacement under a deleted pod's name lands on the still-dead node (as a StatefulSet's
    // would), then node is killed and restarted: the outage was handled, nothing more goes.
    create_pod(&client, &ns.name, "p-0", &name).await;
    let replacement = pods.get("p-0").await.unwrap().uid();
    binary.kill().await.unwrap();
    let mut binary = start_node(&cluster, &ns.name, Some(FLAPPING));
    binary.wait_ready(WAIT).await.unwrap();
    wait_for_a_node_reconcile(&binary).await;
    assert_eq!(pods.get("p-0").await.unwrap().uid(), replacement);
    let metrics = binary.get("/metrics").await.unwrap().1;
    assert!(
        !metrics.contains("rockoon_node_pod_evictions_total{"),
        "no pod deleted after the restart:\n{metrics}"
    );

    binary.terminate(WAIT).await.unwrap();
    delete_node(&client, &name).await;
    ns.delete().await.unwrap();
    elsewhere.delete().await.unwrap();
}

/// Polls `/metrics` until a reconcile of a Node has finished (the binary's scope holds one).
async fn wait_for_a_node_reconcile(binary: &RunningBinary) {
    let finished = |metrics: &str| {
        metrics.lines().any(|l| {
            l.starts_with("rockoon_reconcile_duration_seconds_count{")
                && l.contains("resource=\"Node\"")
                && !l.ends_with(" 0")
        })
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some((200, metrics)) = binary.get("/metrics").await
            && finished(&metrics)
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no Node reconcile within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A pod bound to `node` that tolerates every taint, so only `node` (not Kubernetes' own
/// taint eviction) can delete it.
async fn create_pod(client: &Client, namespace: &str, name: &str, node: &str) -> String {
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "nodeName": node,
            "tolerations": [{"operator": "Exists"}],
            "containers": [{"name": "main", "image": "registry.invalid/fake:1"}],
        },
    }))
    .unwrap();
    Api::<Pod>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &pod)
        .await
        .unwrap();
    name.to_owned()
}

/// Now, cut to the second (conditions carry whole seconds).
fn whole_second() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).unwrap()
}

fn next_second() -> tokio::time::Instant {
    let now = Timestamp::now();
    let left = 1_000_000_000 - i64::from(now.subsec_nanosecond());
    tokio::time::Instant::now() + Duration::from_nanos(left as u64)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_label_write_refused_mid_way_leaves_nothing_half_done_and_the_next_sync_converges() {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "node-refused")
        .await
        .unwrap();
    let name = node_name("refused");
    apply_node(
        &client,
        &ns.name,
        &name,
        json!({COMPUTE: "enabled"}),
        false,
        &[],
    )
    .await;
    let policy = refuse_internal_label(&client, &name).await;

    let env = [
        ("OSCTL_OS_DEPLOYMENT_NAMESPACE", ns.name.clone()),
        ("OSCTL_NODE_SELECTOR", format!("{SCOPE}={}", ns.name)),
        ("OSCTL_ERROR_BACKOFF_MAX_SECONDS", "1".to_owned()),
    ];
    let mut binary = RunningBinary::start(&cluster, "node", &env).unwrap();
    binary.wait_ready(WAIT).await.unwrap();
    let refused = |metrics: &str| {
        metrics.lines().any(|l| {
            l.starts_with("rockoon_node_writes_total{")
                && l.contains("object=\"labels\"")
                && l.contains("action=\"failed\"")
        })
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some((200, metrics)) = binary.get("/metrics").await
            && refused(&metrics)
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the label write was never refused"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The lock comes after the labels: a refused label write leaves no lock behind.
    let locks: Api<NodeWorkloadLock> = Api::all(client.clone());
    assert!(
        locks
            .get_opt(&format!("openstack-{name}"))
            .await
            .unwrap()
            .is_none()
    );

    remove_policy(&client, &policy).await;
    wait_node(&client, &name, "internal label after the refusal", |n| {
        internal_label(n).is_some_and(|v| v == "controller")
    })
    .await;
    wait_lock(&client, &name, true).await;

    binary.terminate(WAIT).await.unwrap();
    delete_node(&client, &name).await;
    ns.delete().await.unwrap();
}

/// A ValidatingAdmissionPolicy (and binding) refusing the internal compute label on `node`
/// only; returns once a dry-run write is refused. The name is the policy's and the binding's.
async fn refuse_internal_label(client: &Client, node: &str) -> String {
    let name = format!("{node}-refuse");
    let policy: ValidatingAdmissionPolicy = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""], "apiVersions": ["v1"],
                "operations": ["UPDATE"], "resources": ["nodes"],
            }]},
            "matchConditions": [{"name": "this-node", "expression": format!("object.metadata.name == '{node}'")}],
            "validations": [{
                "expression": format!("!has(object.metadata.labels) || !('{INTERNAL_COMPUTE}' in object.metadata.labels)"),
                "message": "refused by the node test",
            }],
        },
    }))
    .unwrap();
    let binding: ValidatingAdmissionPolicyBinding = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"policyName": name, "validationActions": ["Deny"]},
    }))
    .unwrap();
    let post = PostParams::default();
    Api::<ValidatingAdmissionPolicy>::all(client.clone())
        .create(&post, &policy)
        .await
        .unwrap();
    Api::<ValidatingAdmissionPolicyBinding>::all(client.clone())
        .create(&post, &binding)
        .await
        .unwrap();
    // The API server loads policies asynchronously: wait until a dry run is refused.
    let nodes: Api<Node> = Api::all(client.clone());
    let probe = json!({"metadata": {"labels": {INTERNAL_COMPUTE: "controller"}}});
    let params = PatchParams {
        dry_run: true,
        ..PatchParams::default()
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    while nodes
        .patch(node, &params, &Patch::Merge(&probe))
        .await
        .is_ok()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the policy never took effect"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    name
}

async fn remove_policy(client: &Client, name: &str) {
    let delete = DeleteParams::default();
    Api::<ValidatingAdmissionPolicyBinding>::all(client.clone())
        .delete(name, &delete)
        .await
        .unwrap();
    Api::<ValidatingAdmissionPolicy>::all(client.clone())
        .delete(name, &delete)
        .await
        .unwrap();
}
