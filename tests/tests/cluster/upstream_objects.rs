//! `health` on the objects the upstream OpenStack-Helm charts really create: the core sample is
//! applied by its controllers (osdpl, secrets, ceph-exchange) and `rockoon-health` runs next
//! to them. Checked on what the charts named and labelled, not on hand-made objects: the
//! nova-compute DaemonSet under its hashed per-node name, every workload of the namespace in
//! the health status, exactly one MariaDB primary among the chart's `mariadb-server` pods with
//! the chart's `mariadb` Service selecting it, and every pod on a node its selector allows.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use kube::api::ListParams;
use kube::{Api, Client, ResourceExt};
use rockoon_tests::conformance::run;
use rockoon_tests::harness::{TestNamespace, ensure_crds};
use rockoon_tests::probe::RunningBinary;
use rockoon_tests::sample;
use serde_json::Value;

use crate::cluster_or_return;

const APPLY_WAIT: Duration = Duration::from_secs(900);
const WAIT: Duration = Duration::from_secs(120);

#[tokio::test]
async fn health_labels_and_placement_work_on_the_objects_the_upstream_charts_create() {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "upstream").await.unwrap();
    let controller_ns = TestNamespace::create(&client, "upctl").await.unwrap();
    let osdpl = sample::sample_osdpl("core", &ns.name).unwrap();
    let mut deployment = run::Deployment::start(&cluster, &ns.name, &controller_ns.name, osdpl)
        .await
        .unwrap();
    let env = [
        ("OSCTL_OS_DEPLOYMENT_NAMESPACE", ns.name.clone()),
        ("OSCTL_CONTROLLER_NAMESPACE", controller_ns.name.clone()),
    ];
    let mut health = RunningBinary::start(&cluster, "health", &env).unwrap();
    health.wait_ready(Duration::from_secs(60)).await.unwrap();
    deployment.wait_applied(APPLY_WAIT).await.unwrap();

    // Every workload the charts created is judged, under the chart's labels, and Ready.
    let workloads = workload_labels(&client, &ns.name).await;
    let status = until(
        WAIT,
        &health,
        "every workload Ready in the health status",
        || {
            let deployment = &deployment;
            let workloads = &workloads;
            async move {
                let status = deployment.status().await;
                let all = workloads
                    .iter()
                    .all(|(app, comp)| status["health"][app][comp]["status"] == "Ready");
                all.then_some(status)
            }
        },
    )
    .await;
    let daemonsets: Api<DaemonSet> = Api::namespaced(client.clone(), &ns.name);
    let names: Vec<String> = daemonsets
        .list(&ListParams::default().labels("application=nova,component=compute"))
        .await
        .unwrap()
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("nova-compute-default")),
        "the chart's per-node DaemonSet name: {names:?}"
    );
    assert_eq!(status["health"]["nova"]["compute"]["status"], "Ready");
    let count = workloads.len();
    assert_eq!(
        status["osdpl"]["health"],
        Value::from(format!("{count}/{count}"))
    );

    // One primary among the chart's MariaDB pods; the chart's Service selects it.
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns.name);
    let primary = until(WAIT, &health, "one MariaDB primary", || {
        let pods = pods.clone();
        async move {
            let servers = pods
                .list(&ListParams::default().labels("application=mariadb,component=server"))
                .await
                .ok()?
                .items;
            let primaries: Vec<String> = servers
                .iter()
                .filter(|p| p.labels().get("mariadb_role").map(String::as_str) == Some("primary"))
                .map(ResourceExt::name_any)
                .collect();
            let all_labelled = servers
                .iter()
                .all(|p| p.labels().contains_key("mariadb_role"));
            (primaries.len() == 1 && all_labelled).then(|| primaries[0].clone())
        }
    })
    .await;
    assert!(primary.starts_with("mariadb-server-"), "{primary}");
    let services: Api<Service> = Api::namespaced(client.clone(), &ns.name);
    let selector = services
        .get("mariadb")
        .await
        .unwrap()
        .spec
        .unwrap()
        .selector
        .unwrap();
    assert_eq!(
        selector.get("mariadb_role").map(String::as_str),
        Some("primary")
    );

    // Placement: each pod runs on a node carrying its nodeSelector.
    let nodes: BTreeMap<String, BTreeMap<String, String>> = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|n| (n.name_any(), n.labels().clone()))
        .collect();
    for pod in pods.list(&ListParams::default()).await.unwrap().items {
        let spec = pod.spec.clone().unwrap_or_default();
        let (Some(node), Some(selector)) = (spec.node_name, spec.node_selector) else {
            continue;
        };
        let labels = &nodes[&node];
        for (key, value) in selector {
            assert_eq!(
                labels.get(&key),
                Some(&value),
                "{} on {node} wants {key}={value}",
                pod.name_any()
            );
        }
    }

    health.terminate(Duration::from_secs(20)).await.unwrap();
    deployment.delete(Duration::from_secs(300)).await.unwrap();
    deployment.stop().await.unwrap();
    ns.delete().await.unwrap();
    controller_ns.delete().await.unwrap();
}

/// `(application, component)` of every Deployment, StatefulSet and DaemonSet of `namespace`.
async fn workload_labels(client: &Client, namespace: &str) -> Vec<(String, String)> {
    let pair = |labels: &BTreeMap<String, String>| {
        Some((
            labels.get("application")?.clone(),
            labels.get("component")?.clone(),
        ))
    };
    let mut out = Vec::new();
    let params = ListParams::default();
    for d in Api::<Deployment>::namespaced(client.clone(), namespace)
        .list(&params)
        .await
        .unwrap()
    {
        out.extend(pair(d.labels()));
    }
    for s in Api::<StatefulSet>::namespaced(client.clone(), namespace)
        .list(&params)
        .await
        .unwrap()
    {
        out.extend(pair(s.labels()));
    }
    for d in Api::<DaemonSet>::namespaced(client.clone(), namespace)
        .list(&params)
        .await
        .unwrap()
    {
        out.extend(pair(d.labels()));
    }
    out.sort();
    out.dedup();
    assert!(!out.is_empty(), "the charts created no workload");
    out
}

/// Polls `check` until it returns a value or `timeout` passes (then fails with health's log).
async fn until<T, F, Fut>(timeout: Duration, health: &RunningBinary, what: &str, check: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {timeout:?}; health log:\n{}",
            health.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
