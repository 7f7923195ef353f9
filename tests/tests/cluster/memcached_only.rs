//! A small deployment for the ownership and status tests: `rockoon-secrets`, `rockoon-osdpl`
//! (and optionally `rockoon-health`) on a namespace of their own, and OSDPLs that enable
//! memcached alone (the `core` preset with every other service removed), so a test applies
//! one real release of the upstream charts and needs no deployment slot.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Secret};
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::{Api, Client, ResourceExt};
use rockoon_core::crd::{OpenStackDeployment, OpenStackDeploymentStatus};
use rockoon_core::names::CONFIRM_REMOVAL_ANNOTATION;
use rockoon_tests::harness::{ClusterInfo, TestNamespace, ensure_crds};
use rockoon_tests::probe::RunningBinary;
use serde_json::{Value, json};

pub const WAIT: Duration = Duration::from_secs(120);
/// Release label naming the OSDPL a release belongs to.
pub const OSDPL_LABEL: &str = "rockoon.lcm.mirantis.com/osdpl";

/// The core preset's services other than memcached, removed.
const REMOVED: &[&str] = &[
    "~database",
    "~messaging",
    "~coordination",
    "~ingress",
    "~identity",
    "~placement",
    "~image",
    "~compute",
    "~networking",
    "~dashboard",
];

/// An OSDPL enabling memcached alone (the removal of the stateful services confirmed).
pub fn memcached_osdpl(name: &str, namespace: &str) -> OpenStackDeployment {
    serde_json::from_value(json!({
        "apiVersion": "lcm.mirantis.com/v1alpha1",
        "kind": "OpenStackDeployment",
        "metadata": {
            "name": name, "namespace": namespace,
            "annotations": {CONFIRM_REMOVAL_ANNOTATION: "database,messaging"},
        },
        "spec": {
            "openstack_version": "caracal", "preset": "core", "size": "tiny",
            "public_domain_name": "it.example.com",
            "features": {"services": REMOVED},
        },
    }))
    .unwrap()
}

/// The namespaces and binaries of one test.
pub struct Small {
    pub client: Client,
    pub ns: TestNamespace,
    pub controller_ns: TestNamespace,
    pub secrets: RunningBinary,
    pub osdpl: RunningBinary,
    pub health: Option<RunningBinary>,
}

impl Small {
    pub async fn start(cluster: ClusterInfo, prefix: &str, with_health: bool) -> Self {
        ensure_crds(&cluster).await.unwrap();
        let client = cluster.client().await.unwrap();
        let ns = TestNamespace::create(&client, prefix).await.unwrap();
        let controller_ns = TestNamespace::create(&client, "ctl").await.unwrap();
        let secrets = start(&cluster, "secrets", &ns.name, &controller_ns.name).await;
        let osdpl = start(&cluster, "osdpl", &ns.name, &controller_ns.name).await;
        let health = if with_health {
            Some(start(&cluster, "health", &ns.name, &controller_ns.name).await)
        } else {
            None
        };
        Self {
            client,
            ns,
            controller_ns,
            secrets,
            osdpl,
            health,
        }
    }

    pub fn osdpls(&self) -> Api<OpenStackDeployment> {
        Api::namespaced(self.client.clone(), &self.ns.name)
    }

    pub fn statuses(&self) -> Api<OpenStackDeploymentStatus> {
        Api::namespaced(self.client.clone(), &self.ns.name)
    }

    pub async fn create(&self, osdpl: &OpenStackDeployment) -> OpenStackDeployment {
        self.osdpls()
            .create(&PostParams::default(), osdpl)
            .await
            .unwrap()
    }

    /// Waits until the OSDPL `name` satisfies `check`, failing with the osdpl log.
    pub async fn osdpl_until(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&OpenStackDeployment) -> bool,
    ) -> OpenStackDeployment {
        let found = tokio::time::timeout(
            WAIT,
            await_condition(
                self.osdpls(),
                name,
                move |o: Option<&OpenStackDeployment>| o.is_some_and(&check),
            ),
        )
        .await;
        match found {
            Ok(Ok(Some(osdpl))) => osdpl,
            _ => panic!(
                "{what}: OSDPL {name} not so within {WAIT:?}; status {}; osdpl log:\n{}",
                self.status_text(name).await,
                self.osdpl.log_tail()
            ),
        }
    }

    /// Waits until the osdplst `name` satisfies `check` (on its status as JSON).
    pub async fn osdplst_until(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&OpenStackDeploymentStatus, &Value) -> bool,
    ) -> OpenStackDeploymentStatus {
        let found = tokio::time::timeout(
            WAIT,
            await_condition(
                self.statuses(),
                name,
                move |s: Option<&OpenStackDeploymentStatus>| {
                    s.is_some_and(|s| check(s, &json!(s.status)))
                },
            ),
        )
        .await;
        match found {
            Ok(Ok(Some(status))) => status,
            _ => panic!(
                "{what}: osdplst {name} not so within {WAIT:?}; osdplst {}; osdpl log:\n{}",
                self.status_text(name).await,
                self.osdpl.log_tail()
            ),
        }
    }

    /// Waits until the osdplst `name` is APPLIED with every service APPLIED.
    pub async fn applied(&self, name: &str) -> OpenStackDeploymentStatus {
        self.osdplst_until(name, "applied", |_, s| applied(s)).await
    }

    async fn status_text(&self, name: &str) -> String {
        let osdpl = self.osdpls().get_opt(name).await.ok().flatten();
        let osdplst = self.statuses().get_opt(name).await.ok().flatten();
        format!(
            "OSDPL {} / osdplst {}",
            json!(osdpl.and_then(|o| o.status)),
            json!(osdplst.and_then(|o| o.status))
        )
    }

    /// Deletes the OSDPL `name` and waits until it is gone.
    pub async fn delete(&self, name: &str) {
        self.osdpls()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
        self.gone(name).await;
    }

    /// Waits until the OSDPL `name` is gone.
    pub async fn gone(&self, name: &str) {
        let gone = tokio::time::timeout(
            WAIT,
            await_condition(self.osdpls(), name, |o: Option<&OpenStackDeployment>| {
                o.is_none()
            }),
        )
        .await;
        assert!(
            gone.is_ok(),
            "OSDPL {name} not deleted; log:\n{}",
            self.osdpl.log_tail()
        );
    }

    /// Latest revision, status and owner label of each helm release, from helm's storage.
    pub async fn releases(&self) -> BTreeMap<String, (u32, String, Option<String>)> {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.ns.name);
        let mut releases: BTreeMap<String, (u32, String, Option<String>)> = BTreeMap::new();
        let storage = secrets
            .list_metadata(&ListParams::default().labels("owner=helm"))
            .await
            .unwrap();
        for s in storage {
            let labels = s.labels();
            let revision: u32 = labels["version"].parse().unwrap();
            let entry = releases
                .entry(labels["name"].clone())
                .or_insert((0, String::new(), None));
            if revision > entry.0 {
                *entry = (
                    revision,
                    labels["status"].clone(),
                    labels.get(OSDPL_LABEL).cloned(),
                );
            }
        }
        releases
    }

    /// Events of the namespace about the object `name` with `reason`.
    pub async fn events(&self, name: &str, reason: &str) -> Vec<Event> {
        let events: Api<Event> = Api::namespaced(self.client.clone(), &self.ns.name);
        events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.involved_object.name.as_deref() == Some(name))
            .filter(|e| e.reason.as_deref() == Some(reason))
            .collect()
    }

    /// Waits (polling the event list; events cannot be watched by reason) for an event.
    pub async fn event(&self, name: &str, reason: &str) -> Event {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(event) = self.events(name, reason).await.into_iter().next() {
                return event;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {reason} event for {name}; osdpl log:\n{}",
                self.osdpl.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until every binary is idle: each started reconcile finished and nothing queued,
    /// on several looks in a row (a write of one binary schedules reconciles of another).
    pub async fn idle(&self) {
        let binaries: Vec<&RunningBinary> = [Some(&self.osdpl), Some(&self.secrets)]
            .into_iter()
            .chain([self.health.as_ref()])
            .flatten()
            .collect();
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut quiet_looks = 0;
        while quiet_looks < 5 {
            let mut quiet = true;
            for binary in &binaries {
                let started = metric(binary, "rockoon_reconcile_total").await;
                let finished = metric(binary, "rockoon_reconcile_duration_seconds_count").await;
                let queued = metric(binary, "rockoon_reconcile_queue_depth").await;
                quiet &= started == finished && queued == 0.0;
            }
            quiet_looks = if quiet { quiet_looks + 1 } else { 0 };
            assert!(
                tokio::time::Instant::now() < deadline,
                "never idle; osdpl log:\n{}",
                self.osdpl.log_tail()
            );
            // Polling the binaries' own counters: "nothing happens" has no object to watch.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Deletes every OSDPL through the controller (so no release outlives the test), stops
    /// the binaries and deletes the namespaces.
    pub async fn finish(mut self) {
        for osdpl in self.osdpls().list(&ListParams::default()).await.unwrap() {
            let _ = self
                .osdpls()
                .delete(&osdpl.name_any(), &DeleteParams::default())
                .await;
            self.gone(&osdpl.name_any()).await;
        }
        self.osdpl.terminate(Duration::from_secs(20)).await.unwrap();
        self.secrets
            .terminate(Duration::from_secs(20))
            .await
            .unwrap();
        if let Some(health) = self.health.as_mut() {
            health.terminate(Duration::from_secs(20)).await.unwrap();
        }
        self.ns.delete().await.unwrap();
        self.controller_ns.delete().await.unwrap();
    }
}

/// Whether an osdplst status (as JSON) is APPLIED with every service APPLIED.
pub use rockoon_tests::harness::all_applied as applied;

/// Sum of the samples of `name` on a binary's `/metrics`.
async fn metric(binary: &RunningBinary, name: &str) -> f64 {
    let (_, body) = binary.get("/metrics").await.expect("metrics answer");
    body.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn start(
    cluster: &ClusterInfo,
    name: &str,
    namespace: &str,
    controller_ns: &str,
) -> RunningBinary {
    start_with(cluster, name, namespace, controller_ns, &[]).await
}

/// Starts `rockoon-<name>` on `namespace` with `extra` environment, and waits until ready.
pub async fn start_with(
    cluster: &ClusterInfo,
    name: &str,
    namespace: &str,
    controller_ns: &str,
    extra: &[(&str, String)],
) -> RunningBinary {
    let mut env = vec![
        ("OSCTL_OS_DEPLOYMENT_NAMESPACE", namespace.to_owned()),
        ("OSCTL_CEPH_SHARED_NAMESPACE", namespace.to_owned()),
        ("OSCTL_CONTROLLER_NAMESPACE", controller_ns.to_owned()),
        ("OSCTL_LOG_LEVEL", "info,rockoon_osdpl=debug".to_owned()),
    ];
    env.extend(extra.iter().cloned());
    let mut binary = RunningBinary::start(cluster, name, &env).unwrap();
    binary.wait_ready(Duration::from_secs(60)).await.unwrap();
    binary
}
