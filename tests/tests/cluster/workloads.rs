//! The dev cluster is real: workloads get pods that kwok runs on the fake nodes.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::TryStreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{ListParams, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, ResourceExt};
use rockoon_tests::harness::TestNamespace;
use serde_json::json;

use crate::cluster_or_return;

fn pod_template(app: &str, node_label: &str) -> serde_json::Value {
    json!({
        "metadata": {"labels": {"app": app}},
        "spec": {
            "nodeSelector": {node_label: "enabled"},
            "containers": [{"name": "main", "image": "registry.invalid/fake:1"}],
        },
    })
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

#[tokio::test]
async fn deployment_pods_become_ready_on_nodes_with_the_requested_placement_label() {
    let cluster = cluster_or_return!();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "deploy").await.unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns.name);
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "api"}},
                 "template": pod_template("api", "openstack-control-plane")},
    });
    deployments
        .patch(
            "api",
            &PatchParams::apply("rockoon-tests"),
            &Patch::Apply(&deployment),
        )
        .await
        .unwrap();
    let ready = kube::runtime::wait::await_condition(
        deployments.clone(),
        "api",
        |d: Option<&Deployment>| {
            d.and_then(|d| d.status.as_ref())
                .and_then(|s| s.ready_replicas)
                == Some(3)
        },
    );
    tokio::time::timeout(Duration::from_secs(60), ready)
        .await
        .expect("3 ready replicas within 60s")
        .unwrap();

    let nodes: Api<Node> = Api::all(client.clone());
    let control_plane: Vec<String> = nodes
        .list(&ListParams::default().labels("openstack-control-plane=enabled"))
        .await
        .unwrap()
        .iter()
        .map(|n| n.name_any())
        .collect();
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    let pods = pods
        .list(&ListParams::default().labels("app=api"))
        .await
        .unwrap();
    assert_eq!(pods.items.len(), 3);
    for pod in &pods {
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        assert!(
            control_plane.contains(&node),
            "{} landed on {node}, not a control-plane node",
            pod.name_any()
        );
        assert!(is_ready(pod), "{} is not Ready", pod.name_any());
    }
    ns.delete().await.unwrap();
}

#[tokio::test]
async fn statefulset_pods_start_in_ordinal_order_each_after_the_previous_is_ready() {
    let cluster = cluster_or_return!();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "sts").await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    // Watch before creating, so every pod's first appearance is seen.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stream =
        watcher(pods.clone(), watcher::Config::default().labels("app=db")).applied_objects();
    let watch = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Ok(Some(pod)) = stream.try_next().await {
            let _ = tx.send((pod.name_any(), is_ready(&pod)));
        }
    });
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), &ns.name);
    let sts = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
        "spec": {"replicas": 3, "serviceName": "db", "podManagementPolicy": "OrderedReady",
                 "selector": {"matchLabels": {"app": "db"}},
                 "template": pod_template("db", "openstack-control-plane")},
    });
    statefulsets
        .patch(
            "db",
            &PatchParams::apply("rockoon-tests"),
            &Patch::Apply(&sts),
        )
        .await
        .unwrap();

    // Record the order of first appearance and of readiness.
    let mut appeared: Vec<String> = Vec::new();
    let mut ready: BTreeMap<String, usize> = BTreeMap::new();
    let mut ready_order: Vec<String> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while ready_order.len() < 3 {
        let (name, is_ready) = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("3 ready pods within 90s")
            .expect("watch ended");
        if !appeared.contains(&name) {
            // A pod may only appear once every lower ordinal is Ready.
            assert_eq!(
                ready_order.len(),
                appeared.len(),
                "{name} appeared before {:?} was ready",
                appeared.last()
            );
            appeared.push(name.clone());
        }
        if is_ready && !ready.contains_key(&name) {
            ready.insert(name.clone(), ready_order.len());
            ready_order.push(name);
        }
    }
    watch.abort();
    assert_eq!(appeared, vec!["db-0", "db-1", "db-2"]);
    assert_eq!(ready_order, vec!["db-0", "db-1", "db-2"]);
    ns.delete().await.unwrap();
}
