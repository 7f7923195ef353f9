//! `rockoon-osdpl` and `rockoon-secrets` against the real cluster with one OSDPL whose
//! values nest deeper than the suite decodes (130 levels under
//! `spec.services.identity.keystone.values`, which the API server accepts) next to a good
//! memcached-only OSDPL: the deep one is reported `InvalidSpec` naming the path (osdpl's
//! event, secrets' `Credentials` condition), the good one converges, both binaries come back
//! ready after a restart, and no log carries the object.
//!
//! Its own namespace (OpenStack, Ceph and controller namespaces alike); waits by watching.

use std::time::Duration;

use k8s_openapi::api::core::v1::Event;
use kube::api::{ListParams, Patch, PatchParams};
use kube::runtime::wait::await_condition;
use kube::{Api, Client};
use rockoon_core::crd::{OpenStackDeployment, OpenStackDeploymentStatus};
use rockoon_runtime::guard::Guarded;
use rockoon_tests::harness::{ClusterInfo, TestNamespace, ensure_crds};
use rockoon_tests::probe::RunningBinary;
use serde_json::{Value, json};

use crate::cluster_or_return;

const WAIT: Duration = Duration::from_secs(120);
const GOOD: &str = "good";
const DEEP: &str = "deep";
/// The key every level of the deep values uses, so its JSON shape is recognisable in logs.
const KEY: &str = "deepkey";
const PATH: &str = "spec.services.identity.keystone.values.deepkey";

async fn start(cluster: &ClusterInfo, name: &str, namespace: &str) -> RunningBinary {
    let env = [
        ("OSCTL_OS_DEPLOYMENT_NAMESPACE", namespace.to_owned()),
        ("OSCTL_CEPH_SHARED_NAMESPACE", namespace.to_owned()),
        ("OSCTL_CONTROLLER_NAMESPACE", namespace.to_owned()),
    ];
    let mut binary = RunningBinary::start(cluster, name, &env).unwrap();
    binary.wait_ready(WAIT).await.unwrap();
    binary
}

/// A memcached-only OSDPL named `name` with `services` as its `spec.services`.
fn memcached_only(name: &str, services: Value) -> Value {
    let removed: Vec<String> = [
        "database",
        "messaging",
        "coordination",
        "ingress",
        "identity",
        "placement",
        "image",
        "compute",
        "networking",
        "dashboard",
    ]
    .iter()
    .map(|s| format!("~{s}"))
    .collect();
    json!({
        "apiVersion": "lcm.mirantis.com/v1alpha1",
        "kind": "OpenStackDeployment",
        // Leaving out the stateful services (database, messaging) must be confirmed.
        "metadata": {
            "name": name,
            "annotations": {"lcm.mirantis.com/confirm-removal": "database,messaging"},
        },
        "spec": {
            "openstack_version": "caracal", "preset": "core", "size": "tiny",
            "public_domain_name": "it.example.com",
            "features": {"services": removed},
            "services": services,
        },
    })
}

/// `levels` objects nested under one another, each under [`KEY`].
fn nested(levels: usize) -> Value {
    let mut value = json!("bottom");
    for _ in 0..levels {
        value = json!({ KEY: value });
    }
    value
}

/// Applies `body` (through the guarded kind: the typed one cannot read the API's answer).
async fn apply(client: &Client, ns: &str, body: &Value) {
    let name = body["metadata"]["name"].as_str().unwrap();
    Api::<Guarded<OpenStackDeployment>>::namespaced(client.clone(), ns)
        .patch(
            name,
            &PatchParams::apply("rockoon-tests"),
            &Patch::Apply(body),
        )
        .await
        .unwrap();
}

/// Messages of the Warning events `reason` on the OSDPL `name`.
async fn warnings(client: &Client, ns: &str, name: &str, reason: &str) -> Vec<String> {
    let events: Api<Event> = Api::namespaced(client.clone(), ns);
    let list = events.list(&ListParams::default()).await.unwrap();
    list.items
        .into_iter()
        .filter(|e| {
            e.reason.as_deref() == Some(reason)
                && e.type_.as_deref() == Some("Warning")
                && e.involved_object.name.as_deref() == Some(name)
        })
        .filter_map(|e| e.message)
        .collect()
}

/// Waits until the osdplst `name` says APPLIED.
async fn applied(client: &Client, ns: &str, name: &str, osdpl: &RunningBinary) {
    let statuses: Api<OpenStackDeploymentStatus> = Api::namespaced(client.clone(), ns);
    let seen = tokio::time::timeout(
        WAIT,
        await_condition(statuses, name, |s: Option<&OpenStackDeploymentStatus>| {
            s.and_then(|s| s.status.as_ref())
                .is_some_and(|s| json!(s)["osdpl"]["state"] == "APPLIED")
        }),
    )
    .await;
    assert!(
        matches!(seen, Ok(Ok(Some(_)))),
        "{name} not APPLIED; osdpl log:\n{}",
        osdpl.log_tail()
    );
}

/// The deep OSDPL's status, read as text and decoded without its spec (which the typed
/// decoder refuses).
async fn deep_status(client: &Client, ns: &str) -> Value {
    #[derive(serde::Deserialize)]
    struct StatusOnly {
        status: Option<Value>,
    }
    let path = format!("/apis/lcm.mirantis.com/v1alpha1/namespaces/{ns}/openstackdeployments");
    let request = kube::core::Request::new(path)
        .get(DEEP, &Default::default())
        .unwrap();
    let text = client.request_text(request).await.unwrap();
    let object: StatusOnly = serde_json::from_str(&text).unwrap();
    object.status.unwrap_or_default()
}

/// Polls (with a deadline; a typed watch cannot read the object) until the deep OSDPL's
/// `Credentials` condition is False `InvalidSpec` naming the path.
async fn invalid_condition(client: &Client, ns: &str, secrets: &RunningBinary) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = deep_status(client, ns).await;
        let conditions = status["conditions"].as_array().cloned().unwrap_or_default();
        let found = conditions.iter().any(|c| {
            c["type"] == "Credentials"
                && c["status"] == "False"
                && c["reason"] == "InvalidSpec"
                && c["message"].as_str().is_some_and(|m| m.contains(PATH))
        });
        if found {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Credentials InvalidSpec naming {PATH}: {conditions:?}; secrets log:\n{}",
            secrets.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls (with a deadline) until osdpl published its InvalidSpec event naming the path.
async fn invalid_event(client: &Client, ns: &str, osdpl: &RunningBinary) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let events = warnings(client, ns, DEEP, "InvalidSpec").await;
        if events.iter().any(|m| m.contains(PATH)) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no InvalidSpec event naming {PATH}: {events:?}; osdpl log:\n{}",
            osdpl.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// No log line carries the deep values' JSON (the object body).
fn assert_no_object_in(binary: &RunningBinary) {
    let shape = format!("\"{KEY}\":{{\"{KEY}\"");
    let log = binary.log();
    assert!(
        !log.contains(&shape) && !log.contains(&shape.replace('"', "\\\"")),
        "a log carries the object:\n{}",
        binary.log_tail()
    );
}

#[tokio::test]
async fn values_nested_too_deep_are_an_invalid_spec_by_path_that_blocks_no_other_osdpl_nor_readiness()
 {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "deep").await.unwrap();
    rockoon_tests::sample::seed_external_inputs(&client, &ns.name, &ns.name)
        .await
        .unwrap();
    let mut secrets = start(&cluster, "secrets", &ns.name).await;
    let mut osdpl = start(&cluster, "osdpl", &ns.name).await;

    apply(&client, &ns.name, &memcached_only(GOOD, json!({}))).await;
    let deep = json!({"identity": {"keystone": {"values": nested(130)}}});
    apply(&client, &ns.name, &memcached_only(DEEP, deep)).await;

    applied(&client, &ns.name, GOOD, &osdpl).await;
    invalid_event(&client, &ns.name, &osdpl).await;
    invalid_condition(&client, &ns.name, &secrets).await;

    // A restart lists the deep object again: readiness must not wait for it to decode.
    for (binary, name) in [(&mut secrets, "secrets"), (&mut osdpl, "osdpl")] {
        assert_no_object_in(binary);
        binary.kill().await.unwrap();
        *binary = start(&cluster, name, &ns.name).await;
    }
    applied(&client, &ns.name, GOOD, &osdpl).await;
    invalid_condition(&client, &ns.name, &secrets).await;
    assert_no_object_in(&secrets);
    assert_no_object_in(&osdpl);

    // The good OSDPL's memcached is uninstalled through the controller before the namespace goes.
    Api::<OpenStackDeployment>::namespaced(client.clone(), &ns.name)
        .delete(GOOD, &Default::default())
        .await
        .unwrap();
    let osdpls: Api<OpenStackDeployment> = Api::namespaced(client.clone(), &ns.name);
    tokio::time::timeout(
        WAIT,
        await_condition(osdpls, GOOD, |o: Option<&OpenStackDeployment>| o.is_none()),
    )
    .await
    .expect("good OSDPL deleted")
    .unwrap();
    osdpl.terminate(Duration::from_secs(20)).await.unwrap();
    secrets.terminate(Duration::from_secs(20)).await.unwrap();
    ns.delete().await.unwrap();
}
