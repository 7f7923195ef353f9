//! `health` on the objects the upstream OpenStack-Helm charts really create: the core sample is
//! applied by its controllers (osdpl, secrets, ceph-exchange) and `rockoon-health` runs next
//! to them. Checked on what the charts named and labelled, not on hand-made objects: the
//! nova-compute DaemonSets under their per-node names, every workload of the namespace in
//! the health status, exactly one MariaDB primary among the chart's `mariadb-server` pods with
//! the chart's `mariadb` Service selecting it, and every pod on a node its selector allows.
//! Then Ceph rotates glance's key: its keyring follows and only the glance release upgrades.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Node, Pod, Secret, Service};
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use rockoon_tests::conformance::run;
use rockoon_tests::harness::{TestNamespace, ensure_crds};
use rockoon_tests::probe::RunningBinary;
use rockoon_tests::sample;
use serde_json::{Value, json};

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

    // Every workload the charts created is judged (under its chart's `application` label) and
    // Ready; nova-compute appears under its per-node DaemonSet name (health names a component
    // after the workload's name: `nova-compute-default` → `compute-default`).
    let applications = workload_applications(&client, &ns.name).await;
    let status = until(
        WAIT,
        &health,
        "every workload Ready in the health status",
        || {
            let deployment = &deployment;
            let applications = &applications;
            async move {
                let status = deployment.status().await;
                let entries = status["health"].as_object()?;
                let all_ready = entries.values().all(|components| {
                    components
                        .as_object()
                        .is_some_and(|c| c.values().all(|e| e["status"] == "Ready"))
                });
                let all_judged = applications.iter().all(|a| entries.contains_key(a));
                (all_ready && all_judged).then_some(status)
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
        !names.is_empty() && names.iter().all(|n| n.starts_with("nova-compute-")),
        "the chart's per-node DaemonSet names: {names:?}"
    );
    for name in &names {
        let component = name.trim_start_matches("nova-");
        assert_eq!(
            status["health"]["nova"][component]["status"], "Ready",
            "{name}: {}",
            status["health"]["nova"]
        );
    }
    let count = status["health"].as_object().map_or(0, |h| h.len());
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

    // Ceph rotates glance's key: ceph-exchange rewrites exactly that keyring, and only the
    // release reading it (glance, through its pods' key-hash annotation) is upgraded.
    let before = release_revisions(&client, &ns.name).await;
    let new_key = "AQrotatedglancekey0000000000000000000000==";
    let keys: Api<Secret> = Api::namespaced(client.clone(), &ns.name);
    let entry = format!("client.glance;{new_key};images-hdd:images:hdd");
    keys.patch(
        "openstack-ceph-keys",
        &PatchParams::default(),
        &Patch::Merge(json!({"stringData": {"glance": entry}})),
    )
    .await
    .unwrap();
    until(
        WAIT,
        &health,
        "glance keyring rotated and glance upgraded",
        || {
            let keys = keys.clone();
            let client = client.clone();
            let namespace = ns.name.clone();
            let before = before.clone();
            let deployment = &deployment;
            async move {
                let keyring = keys.get_opt("glance-rbd-keyring").await.ok()??;
                let key = keyring.data?.get("key")?.0.clone();
                let now = release_revisions(&client, &namespace).await;
                let applied = deployment.status().await["osdpl"]["state"] == "APPLIED";
                (key == new_key.as_bytes()
                    && now["openstack-glance"] > before["openstack-glance"]
                    && applied)
                    .then_some(())
            }
        },
    )
    .await;
    let after = release_revisions(&client, &ns.name).await;
    for (release, revision) in &before {
        if release != "openstack-glance" {
            assert_eq!(after.get(release), Some(revision), "{release} was upgraded");
        }
    }

    health.terminate(Duration::from_secs(20)).await.unwrap();
    deployment.delete(Duration::from_secs(300)).await.unwrap();
    deployment.stop().await.unwrap();
    ns.delete().await.unwrap();
    controller_ns.delete().await.unwrap();
}

/// The `application` label (else the name) of every Deployment, StatefulSet and DaemonSet of
/// `namespace`.
async fn workload_applications(client: &Client, namespace: &str) -> Vec<String> {
    let application = |meta: &kube::api::ObjectMeta| {
        meta.labels
            .as_ref()
            .and_then(|l| l.get("application").cloned())
            .or_else(|| meta.name.clone())
            .unwrap_or_default()
    };
    let params = ListParams::default();
    let mut out: Vec<String> = Vec::new();
    let deployments = Api::<Deployment>::namespaced(client.clone(), namespace);
    out.extend(
        deployments
            .list(&params)
            .await
            .unwrap()
            .iter()
            .map(|d| application(&d.metadata)),
    );
    let statefulsets = Api::<StatefulSet>::namespaced(client.clone(), namespace);
    out.extend(
        statefulsets
            .list(&params)
            .await
            .unwrap()
            .iter()
            .map(|s| application(&s.metadata)),
    );
    let daemonsets = Api::<DaemonSet>::namespaced(client.clone(), namespace);
    out.extend(
        daemonsets
            .list(&params)
            .await
            .unwrap()
            .iter()
            .map(|d| application(&d.metadata)),
    );
    out.sort();
    out.dedup();
    assert!(!out.is_empty(), "the charts created no workload");
    out
}

/// Latest revision of each helm release of `namespace`, from helm's storage labels.
async fn release_revisions(client: &Client, namespace: &str) -> BTreeMap<String, u32> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut out: BTreeMap<String, u32> = BTreeMap::new();
    for secret in secrets
        .list_metadata(&ListParams::default().labels("owner=helm"))
        .await
        .unwrap()
    {
        let labels = secret.labels();
        let (Some(name), Some(version)) = (labels.get("name"), labels.get("version")) else {
            continue;
        };
        let version: u32 = version.parse().unwrap_or(0);
        let entry = out.entry(name.clone()).or_insert(0);
        *entry = (*entry).max(version);
    }
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
