//! Instance HA against real OpenStack API servers: `rockoon-node` logs in to a real Keystone
//! (from a clouds.yaml Secret) and sends Masakari's `COMPUTE_HOST` notification to a real
//! Masakari, both from PyPI, started by `tests/cluster/openstack-apis.sh`.
//!
//! Nova and Neutron are NOT real here: nova-api needs a message bus, placement and cells,
//! neutron-server its ML2 plugin stack, more than this test can start. Their calls (servers
//! on a host, `nova-compute` services, agents; and Masakari's own compute lookup when a host
//! joins a segment) are answered by [`Recorded`], a local server replaying response bodies
//! written from the Nova and Neutron API references. Keystone's catalog points at it.
//!
//! Each test creates its own Nodes (`tn-…`, scoped to its binary), a NotReady compute node
//! stands for a dead host, and its InternalIP is loopback with a closed probe port, so the
//! host is unreachable; a host that must look alive gets 127.0.0.2 with a listener on it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use k8s_openapi::api::core::v1::{Event, Node, Secret};
use k8s_openapi::jiff::Timestamp;
use kube::api::{ListParams, Patch, PatchParams};
use kube::runtime::wait::await_condition;
use kube::{Api, Client, ResourceExt};
use rockoon_core::crd::NodeWorkloadLock;
use rockoon_core::crd::node_workload_lock::LockState;
use rockoon_node::openstack::clouds::Cloud;
use rockoon_node::openstack::http::Http;
use rockoon_node::openstack::keystone::Session;
use rockoon_node::openstack::services::MASAKARI;
use rockoon_tests::harness::{ClusterInfo, TestNamespace, ensure_crds};
use rockoon_tests::openstack_apis::OpenStackApis;
use rockoon_tests::probe::RunningBinary;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::cluster_or_return;

const WAIT: Duration = Duration::from_secs(60);
const TESTS: &str = "rockoon-tests";
const SCOPE: &str = "tests.rockoon.dev/scope";
const FLAPPING: Duration = Duration::from_secs(5);
const EVICTED: &str = "openstack.lcm.mirantis.com/pods-evicted-for";
/// InternalIP of a dead host: nothing listens on the probe port there.
const LOOPBACK: &str = "127.0.0.1";
/// InternalIP of a host that still answers on the probe port (a listener of the test).
const ALIVE: &str = "127.0.0.2";

/// Recorded Nova and Neutron: per host, whether it has servers; every `nova-compute` service
/// is `down` and every agent dead (the host is gone). Bodies follow the API references
/// (Nova `GET /servers`, `GET /os-services`; Neutron `GET /v2.0/agents`).
#[derive(Clone, Default)]
struct Recorded {
    servers: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl Recorded {
    /// Serves on a free loopback port; returns its URL.
    async fn serve(&self) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let this = self.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let this = this.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 4096];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&request).into_owned();
                    let target = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let (status, body) = this.answer(&target);
                    let body = body.to_string();
                    let response = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                });
            }
        });
        url
    }

    fn answer(&self, target: &str) -> (&'static str, Value) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let params: BTreeMap<&str, &str> =
            query.split('&').filter_map(|p| p.split_once('=')).collect();
        let host = params.get("host").copied().unwrap_or_default().to_owned();
        let path = path.trim_end_matches('/');
        match path {
            "/compute/v2.1/servers" | "/compute/v2.1/servers/detail" => {
                let count = self
                    .servers
                    .lock()
                    .unwrap()
                    .get(&host)
                    .copied()
                    .unwrap_or(0);
                let servers: Vec<Value> = (0..count)
                    .map(|i| {
                        json!({
                            "id": format!("00000000-0000-4000-8000-{i:012}"),
                            "name": format!("vm-{i}"),
                            "links": [],
                        })
                    })
                    .collect();
                ("200 OK", json!({"servers": servers}))
            }
            "/compute/v2.1/os-services" => (
                "200 OK",
                json!({"services": [{
                    "id": "4c8f6d2e-0000-4000-8000-000000000001",
                    "binary": "nova-compute",
                    "host": host,
                    "zone": "nova",
                    "status": "enabled",
                    "state": "down",
                    "updated_at": "2026-01-01T00:00:00.000000",
                    "disabled_reason": null,
                    "forced_down": false,
                }]}),
            ),
            "/network/v2.0/agents" => (
                "200 OK",
                json!({"agents": [{
                    "id": "a3f1c2d4-0000-4000-8000-000000000002",
                    "agent_type": "OVN Controller agent",
                    "binary": "ovn-controller",
                    "host": host,
                    "alive": false,
                    "admin_state_up": true,
                }]}),
            ),
            "/compute/v2.1" => (
                "200 OK",
                json!({"version": {
                    "id": "v2.1", "status": "CURRENT", "version": "2.96", "min_version": "2.1",
                    "links": [],
                }}),
            ),
            _ => (
                "404 Not Found",
                json!({"itemNotFound": {"code": 404, "message": target}}),
            ),
        }
    }
}

/// The APIs and recorded responses of one test, plus an admin session to inspect Masakari.
struct Clouds {
    apis: OpenStackApis,
    recorded: Recorded,
    admin: Session,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Clouds {
    async fn start(cluster: &ClusterInfo, label: &str) -> Option<Self> {
        let recorded = Recorded::default();
        let url = recorded.serve().await;
        let dir = cluster
            .dir
            .join(format!("openstack-apis-{label}-{}", suffix()));
        let apis = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || OpenStackApis::start_or_skip(&dir, &url))
                .await
                .unwrap()?
        };
        let admin = Session::new(Http::new().unwrap(), cloud(&apis, "RegionOne"), None);
        Some(Self {
            apis,
            recorded,
            admin,
            _dir: TempDir(dir),
        })
    }

    /// The clouds.yaml the secrets container would keep, for `region`.
    fn clouds_yaml(&self, region: &str) -> String {
        format!(
            "clouds:\n  osctl:\n    auth:\n      auth_url: {}\n      username: admin\n      password: {}\n      user_domain_name: Default\n      project_name: admin\n      project_domain_name: Default\n    region_name: {region}\n    interface: internal\n    identity_api_version: 3\n",
            self.apis.keystone.trim_end_matches("/v3"),
            self.apis.admin_password
        )
    }

    async fn masakari(&self, method: http::Method, path: &str, body: Option<Value>) -> Value {
        let answer = self
            .admin
            .call(MASAKARI, method.clone(), path, body.as_ref())
            .await
            .unwrap()
            .expect("masakari in the catalog");
        assert!(
            answer.status.is_success(),
            "{method} {path}: {} {}",
            answer.status,
            answer.text
        );
        answer.body
    }

    /// A failover segment with `host` in it.
    async fn segment_with(&self, host: &str) {
        let segment = self
            .masakari(
                http::Method::POST,
                "/segments",
                Some(json!({"segment": {
                    "name": format!("seg-{host}"), "recovery_method": "auto",
                    "service_type": "COMPUTE",
                }})),
            )
            .await;
        let uuid = segment["segment"]["uuid"].as_str().unwrap().to_owned();
        self.masakari(
            http::Method::POST,
            &format!("/segments/{uuid}/hosts"),
            Some(json!({"host": {"name": host, "type": "COMPUTE", "control_attributes": "SSH"}})),
        )
        .await;
    }

    /// Masakari's COMPUTE_HOST notifications of the host named `host`.
    async fn notifications(&self, host: &str) -> Vec<Value> {
        let segments = self.masakari(http::Method::GET, "/segments", None).await;
        let mut uuids = Vec::new();
        for segment in segments["segments"].as_array().unwrap() {
            let path = format!("/segments/{}/hosts", segment["uuid"].as_str().unwrap());
            let hosts = self.masakari(http::Method::GET, &path, None).await;
            uuids.extend(
                hosts["hosts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|h| h["name"] == host)
                    .map(|h| h["uuid"].as_str().unwrap().to_owned()),
            );
        }
        let all = self
            .masakari(http::Method::GET, "/notifications?type=COMPUTE_HOST", None)
            .await;
        all["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| uuids.iter().any(|u| n["source_host_uuid"] == u.as_str()))
            .cloned()
            .collect()
    }
}

fn cloud(apis: &OpenStackApis, region: &str) -> Cloud {
    let text = format!(
        "clouds:\n  admin:\n    auth:\n      auth_url: {}\n      username: admin\n      password: {}\n      project_name: admin\n    region_name: {region}\n    interface: public\n",
        apis.keystone, apis.admin_password
    );
    Cloud::parse(&text, "admin").unwrap()
}

fn suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{nanos:x}")
}

/// Writes the clouds.yaml Secret the binary reads, in `namespace` (its controller namespace).
async fn put_clouds(client: &Client, namespace: &str, yaml: &str) {
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "keystone-os-clouds"},
        "stringData": {"clouds.yaml": yaml},
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), namespace)
        .patch(
            "keystone-os-clouds",
            &PatchParams::apply(TESTS).force(),
            &Patch::Apply(&secret),
        )
        .await
        .unwrap();
}

/// A port on loopback nobody listens on: the dead host's SSH.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

fn start_node(cluster: &ClusterInfo, namespace: &str, probe_port: u16) -> RunningBinary {
    let env = vec![
        ("OSCTL_OS_DEPLOYMENT_NAMESPACE", namespace.to_owned()),
        ("OSCTL_CONTROLLER_NAMESPACE", namespace.to_owned()),
        ("OSCTL_NODE_SELECTOR", format!("{SCOPE}={namespace}")),
        (
            "OSCTL_NODE_NOT_READY_FLAPPING_TIMEOUT",
            FLAPPING.as_secs().to_string(),
        ),
        ("OSCTL_NODE_INSTANCE_HA", "enabled".to_owned()),
        ("OSCTL_OS_INTERFACE", "public".to_owned()),
        ("OSCTL_INSTANCE_HA_PROBE_PORT", probe_port.to_string()),
        ("OSCTL_INSTANCE_HA_PROBE_TIMEOUT", "2".to_owned()),
        ("OSCTL_INSTANCE_HA_RECHECK", "1".to_owned()),
    ];
    RunningBinary::start(cluster, "node", &env).unwrap()
}

/// A compute Node of the test (not kwok's: the test sets its Ready condition), Ready, with
/// InternalIP `address`.
async fn compute_node(client: &Client, scope: &str, name: &str, address: &str) {
    let api: Api<Node> = Api::all(client.clone());
    let body = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {
        "openstack-compute-node": "enabled", "kubernetes.io/hostname": name, SCOPE: scope,
    }}});
    api.patch(
        name,
        &PatchParams::apply(TESTS).force(),
        &Patch::Apply(&body),
    )
    .await
    .unwrap();
    set_ready(client, name, address, true, Timestamp::now()).await;
}

/// Makes `node` NotReady now and waits for an `InstanceHaSkipped` event saying `why`, then
/// for the outage to be marked handled (a skip ends the outage, it is not retried).
async fn goes_down_and_is_skipped(client: &Client, node: &str, why: &str) {
    let down = whole_second();
    set_ready(client, node, LOOPBACK, false, down).await;
    let skipped = wait_event(client, node, "InstanceHaSkipped").await;
    assert!(skipped[0].contains(why), "{skipped:?}");
    wait_node(client, node, "outage marked", |n| {
        n.annotations().get(EVICTED) == Some(&down.to_string())
    })
    .await;
}

async fn set_ready(client: &Client, name: &str, address: &str, ready: bool, since: Timestamp) {
    let status = json!({"status": {
        "addresses": [{"type": "InternalIP", "address": address}],
        "conditions": [{
            "type": "Ready",
            "status": if ready { "True" } else { "False" },
            "reason": "RockoonTests",
            "message": "set by the instance-HA test",
            "lastHeartbeatTime": since.to_string(),
            "lastTransitionTime": since.to_string(),
        }],
    }});
    Api::<Node>::all(client.clone())
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
}

async fn wait_lock_active(client: &Client, node: &str) {
    let api: Api<NodeWorkloadLock> = Api::all(client.clone());
    let active = |l: Option<&NodeWorkloadLock>| {
        l.and_then(|l| l.status.as_ref())
            .is_some_and(|s| s.state == LockState::Active)
    };
    tokio::time::timeout(
        WAIT,
        await_condition(api, &format!("openstack-{node}"), active),
    )
    .await
    .expect("lock never became active")
    .unwrap();
}

async fn wait_node(client: &Client, name: &str, what: &str, check: impl Fn(&Node) -> bool) {
    let api: Api<Node> = Api::all(client.clone());
    let condition = move |node: Option<&Node>| node.is_some_and(&check);
    tokio::time::timeout(WAIT, await_condition(api, name, condition))
        .await
        .unwrap_or_else(|_| panic!("node {name}: {what} not seen within {WAIT:?}"))
        .unwrap();
}

/// The `reason` events about Node `name`.
async fn events(client: &Client, name: &str, reason: &str) -> Vec<String> {
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let selector = format!("involvedObject.name={name},reason={reason}");
    events
        .list(&ListParams::default().fields(&selector))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.message.unwrap_or_default())
        .collect()
}

async fn wait_event(client: &Client, name: &str, reason: &str) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let found = events(client, name, reason).await;
        if !found.is_empty() {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {reason} event for {name} within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The value of the first `/metrics` line of `name` with every label of `labels`.
async fn metric(binary: &RunningBinary, name: &str, labels: &[&str]) -> Option<f64> {
    let text = binary.get("/metrics").await?.1;
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find(|l| labels.iter().all(|label| l.contains(label)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn whole_second() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_compute_node_gets_one_masakari_notification_after_the_timeout_and_never_again() {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let Some(clouds) = Clouds::start(&cluster, "notify").await else {
        return;
    };
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "iha-notify").await.unwrap();
    let name = format!("tn-iha-{}", suffix());
    clouds
        .recorded
        .servers
        .lock()
        .unwrap()
        .insert(name.clone(), 2);
    clouds.segment_with(&name).await;
    put_clouds(&client, &ns.name, &clouds.clouds_yaml("RegionOne")).await;
    compute_node(&client, &ns.name, &name, LOOPBACK).await;
    let probe = closed_port().await;
    let mut binary = start_node(&cluster, &ns.name, probe);
    binary.wait_ready(WAIT).await.unwrap();
    wait_lock_active(&client, &name).await;

    let down = whole_second();
    set_ready(&client, &name, LOOPBACK, false, down).await;
    let not_before = SystemTime::from(down) + FLAPPING;
    let deadline = tokio::time::Instant::now() + WAIT;
    let sent = loop {
        let found = clouds.notifications(&name).await;
        if !found.is_empty() {
            let seen = SystemTime::now();
            assert!(
                seen >= not_before,
                "notification {:?} before the flapping timeout ended",
                not_before.duration_since(seen).unwrap_or_default()
            );
            break found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no Masakari notification within {WAIT:?}; node log:\n{}",
            binary.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["payload"]["event"], "STOPPED");
    assert_eq!(sent[0]["payload"]["host_status"], "NORMAL");
    wait_node(&client, &name, "outage marked", |n| {
        n.annotations().get(EVICTED) == Some(&down.to_string())
    })
    .await;
    let notified = wait_event(&client, &name, "InstanceHaNotified").await;
    assert_eq!(notified.len(), 1, "{notified:?}");
    assert_eq!(
        metric(
            &binary,
            "rockoon_node_instance_ha_total",
            &["result=\"sent\""]
        )
        .await,
        Some(1.0)
    );

    // A restart of node: the outage was handled, nothing is sent again.
    binary.kill().await.unwrap();
    let mut binary = start_node(&cluster, &ns.name, probe);
    binary.wait_ready(WAIT).await.unwrap();
    // A restart between the POST and the mark: the mark goes, the outage is handled again,
    // and the notification already in Masakari is found instead of sending a second.
    let remove = json!([{"op": "remove", "path": format!("/metadata/annotations/{}", EVICTED.replace('/', "~1"))}]);
    Api::<Node>::all(client.clone())
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Json::<()>(serde_json::from_value(remove).unwrap()),
        )
        .await
        .unwrap();
    wait_node(&client, &name, "outage marked again", |n| {
        n.annotations().get(EVICTED) == Some(&down.to_string())
    })
    .await;
    assert_eq!(
        metric(
            &binary,
            "rockoon_node_instance_ha_total",
            &["result=\"skipped\"", "reason=\"already_sent\""]
        )
        .await,
        Some(1.0),
        "{}",
        binary.log_tail()
    );
    assert_eq!(
        metric(
            &binary,
            "rockoon_node_instance_ha_total",
            &["result=\"sent\""]
        )
        .await,
        None
    );
    assert_eq!(clouds.notifications(&name).await.len(), 1);
    // The password (and so any token use) never reaches the log.
    assert!(!binary.log().contains(&clouds.apis.admin_password));

    binary.terminate(WAIT).await.unwrap();
    let _ = Api::<Node>::all(client.clone())
        .delete(&name, &Default::default())
        .await;
    ns.delete().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_in_no_segment_or_a_catalog_without_masakari_is_skipped_and_a_reachable_one_waits() {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let Some(clouds) = Clouds::start(&cluster, "skip").await else {
        return;
    };
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "iha-skip").await.unwrap();
    let lonely = format!("tn-iha-lonely-{}", suffix());
    let elsewhere = format!("tn-iha-nomasakari-{}", suffix());
    for name in [&lonely, &elsewhere] {
        clouds
            .recorded
            .servers
            .lock()
            .unwrap()
            .insert(name.clone(), 1);
    }
    put_clouds(&client, &ns.name, &clouds.clouds_yaml("RegionOne")).await;
    compute_node(&client, &ns.name, &lonely, LOOPBACK).await;
    let probe = closed_port().await;
    let mut binary = start_node(&cluster, &ns.name, probe);
    binary.wait_ready(WAIT).await.unwrap();
    wait_lock_active(&client, &lonely).await;

    // In no failover segment: Masakari would refuse it; nothing is sent, the outage is done.
    goes_down_and_is_skipped(&client, &lonely, "no Masakari failover segment").await;

    // NotReady to Kubernetes but still answering on the probe port (a kubelet problem, not a
    // dead host): no notification and no outage mark while it answers; once it stops, one.
    let answering = format!("tn-iha-answering-{}", suffix());
    clouds
        .recorded
        .servers
        .lock()
        .unwrap()
        .insert(answering.clone(), 1);
    clouds.segment_with(&answering).await;
    let listener = TcpListener::bind((ALIVE, probe)).await.unwrap();
    compute_node(&client, &ns.name, &answering, ALIVE).await;
    wait_lock_active(&client, &answering).await;
    let down = whole_second();
    set_ready(&client, &answering, ALIVE, false, down).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while metric(
        &binary,
        "rockoon_node_instance_ha_total",
        &["result=\"recheck\"", "reason=\"reachable\""],
    )
    .await
    .unwrap_or(0.0)
        < 2.0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no recheck of a reachable host within {WAIT:?}: {}",
            binary.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(clouds.notifications(&answering).await.is_empty());
    let node = Api::<Node>::all(client.clone())
        .get(&answering)
        .await
        .unwrap();
    assert_eq!(node.annotations().get(EVICTED), None);
    drop(listener);
    wait_node(&client, &answering, "outage marked", |n| {
        n.annotations().get(EVICTED) == Some(&down.to_string())
    })
    .await;
    assert_eq!(clouds.notifications(&answering).await.len(), 1);

    // A region whose catalog has no Masakari (instance-ha not deployed there).
    put_clouds(&client, &ns.name, &clouds.clouds_yaml("RegionTwo")).await;
    compute_node(&client, &ns.name, &elsewhere, LOOPBACK).await;
    wait_lock_active(&client, &elsewhere).await;
    goes_down_and_is_skipped(
        &client,
        &elsewhere,
        "Masakari is not in the Keystone catalog",
    )
    .await;

    for (reason, count) in [("not_in_segment", 1.0), ("no_masakari", 1.0)] {
        assert_eq!(
            metric(
                &binary,
                "rockoon_node_instance_ha_total",
                &["result=\"skipped\"", &format!("reason=\"{reason}\"")]
            )
            .await,
            Some(count),
            "{reason}"
        );
    }
    assert_eq!(
        metric(
            &binary,
            "rockoon_node_instance_ha_total",
            &["result=\"failed\""]
        )
        .await,
        None,
        "{}",
        binary.log_tail()
    );
    for name in [&lonely, &elsewhere] {
        assert!(clouds.notifications(name).await.is_empty(), "{name}");
    }

    binary.terminate(WAIT).await.unwrap();
    for name in [&lonely, &elsewhere, &answering] {
        let _ = Api::<Node>::all(client.clone())
            .delete(name, &Default::default())
            .await;
    }
    ns.delete().await.unwrap();
}
