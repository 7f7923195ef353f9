//! A small OSDPL (database, messaging, memcached, identity on the upstream charts) applied by
//! the real `rockoon-osdpl` next to the real `rockoon-secrets`, for the helm recovery, drift
//! and event tests. It enables no compute or networking, so it needs no deployment slot.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::wait::await_condition;
use kube::{Api, Client, ResourceExt};
use rockoon_core::crd::{OpenStackDeployment, OpenStackDeploymentStatus};
use rockoon_tests::harness::{ClusterInfo, TestNamespace, ensure_crds};
use rockoon_tests::probe::RunningBinary;
use serde_json::{Value, json};

pub const OSDPL: &str = "osh-small";
/// Generous on 2 cores with other tests running.
pub const WAIT: Duration = Duration::from_secs(300);

/// The services of the preset `core` this OSDPL leaves out.
const LEFT_OUT: &[&str] = &[
    "~coordination",
    "~ingress",
    "~placement",
    "~image",
    "~compute",
    "~networking",
    "~dashboard",
];

/// The small OSDPL's spec: the preset `core` without the services of [`LEFT_OUT`].
pub fn spec() -> Value {
    spec_leaving_out(LEFT_OUT)
}

/// The preset `core` at caracal without the services of `left_out` (`~<service>` entries).
pub fn spec_leaving_out(left_out: &[&str]) -> Value {
    json!({
        "openstack_version": "caracal", "preset": "core", "size": "tiny",
        "public_domain_name": "it.example.com",
        "features": {"services": left_out},
    })
}

pub struct Small {
    pub client: Client,
    pub ns: TestNamespace,
    controller_ns: TestNamespace,
    pub secrets: RunningBinary,
    pub osdpl: RunningBinary,
}

impl Small {
    /// Starts both binaries and applies the small OSDPL; returns once it is APPLIED.
    pub async fn applied(cluster: &ClusterInfo, prefix: &str) -> Self {
        Self::applied_with(cluster, prefix, json!({})).await
    }

    /// [`Small::applied`] with `extra` merged into the spec.
    pub async fn applied_with(cluster: &ClusterInfo, prefix: &str, extra: Value) -> Self {
        Self::applied_through(cluster, cluster, prefix, extra).await
    }

    /// [`Small::applied_with`], the binaries reaching the API through `binaries` (another
    /// kubeconfig, and a run folder of their own for their logs).
    pub async fn applied_through(
        cluster: &ClusterInfo,
        binaries: &ClusterInfo,
        prefix: &str,
        extra: Value,
    ) -> Self {
        Self::applied_leaving_out(cluster, binaries, prefix, LEFT_OUT, extra).await
    }

    /// [`Small::applied_through`] leaving out `left_out` of the preset `core` instead of
    /// [`LEFT_OUT`], with the external inputs (Ceph keys, referenced Secrets) seeded when it
    /// keeps image, compute or networking (take the deployment slot first).
    pub async fn applied_leaving_out(
        cluster: &ClusterInfo,
        binaries: &ClusterInfo,
        prefix: &str,
        left_out: &[&str],
        extra: Value,
    ) -> Self {
        ensure_crds(cluster).await.unwrap();
        let client = cluster.client().await.unwrap();
        let ns = TestNamespace::create(&client, prefix).await.unwrap();
        if left_out != LEFT_OUT {
            rockoon_tests::sample::seed_external_inputs(&client, &ns.name, &ns.name)
                .await
                .unwrap();
        }
        let controller_ns = TestNamespace::create(&client, "ctl").await.unwrap();
        let secrets = start(binaries, "secrets", &ns.name, &controller_ns.name).await;
        let osdpl = start(binaries, "osdpl", &ns.name, &controller_ns.name).await;
        let small = Self {
            client,
            ns,
            controller_ns,
            secrets,
            osdpl,
        };
        let mut spec = spec_leaving_out(left_out);
        rockoon_core::values::merge_into(&mut spec, &extra, "spec").unwrap();
        let object = json!({
            "apiVersion": "lcm.mirantis.com/v1alpha1", "kind": "OpenStackDeployment",
            "metadata": {"name": OSDPL, "namespace": small.ns.name}, "spec": spec,
        });
        small
            .osdpls()
            .patch(
                OSDPL,
                &PatchParams::apply("rockoon-tests"),
                &Patch::Apply(&object),
            )
            .await
            .unwrap();
        small.all_applied("small OSDPL applied").await;
        small
    }

    pub fn osdpls(&self) -> Api<OpenStackDeployment> {
        Api::namespaced(self.client.clone(), &self.ns.name)
    }

    pub async fn merge_spec(&self, patch: Value) {
        self.osdpls()
            .patch(
                OSDPL,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": patch})),
            )
            .await
            .unwrap();
    }

    /// Waits until the osdplst satisfies `check`, failing with the controller's log.
    pub async fn status_until(&self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let statuses: Api<OpenStackDeploymentStatus> =
            Api::namespaced(self.client.clone(), &self.ns.name);
        let found = tokio::time::timeout(
            WAIT,
            await_condition(
                statuses.clone(),
                OSDPL,
                move |s: Option<&OpenStackDeploymentStatus>| {
                    s.and_then(|s| s.status.as_ref())
                        .is_some_and(|status| check(&json!(status)))
                },
            ),
        )
        .await;
        match found {
            Ok(Ok(Some(status))) => json!(status.status),
            _ => {
                let current = statuses.get_opt(OSDPL).await.ok().flatten();
                panic!(
                    "{what}: not within {WAIT:?}; osdplst {}; osdpl log:\n{}",
                    json!(current.map(|c| c.status)),
                    self.osdpl.log_tail()
                )
            }
        }
    }

    /// Waits until every service and the whole deployment are APPLIED.
    pub async fn all_applied(&self, what: &str) -> Value {
        self.status_until(what, rockoon_tests::harness::all_applied)
            .await
    }

    /// Latest revision and status of each helm release in the namespace, from helm's storage.
    pub async fn releases(&self) -> BTreeMap<String, (u32, String)> {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.ns.name);
        let mut releases: BTreeMap<String, (u32, String)> = BTreeMap::new();
        let list = ListParams::default().labels("owner=helm");
        for s in secrets.list_metadata(&list).await.unwrap() {
            let labels = s.labels();
            let revision: u32 = labels["version"].parse().unwrap();
            let entry = releases.entry(labels["name"].clone()).or_default();
            if revision > entry.0 {
                *entry = (revision, labels["status"].clone());
            }
        }
        releases
    }

    /// The values (`config`) helm stores for `release` at `revision`.
    pub async fn stored_values(&self, release: &str, revision: u32) -> Value {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.ns.name);
        let name = rockoon_osdpl::helm::stored::storage_name(release, revision);
        let secret = secrets.get(&name).await.unwrap();
        let stored = &secret.data.as_ref().unwrap()["release"].0;
        rockoon_osdpl::helm::stored::decode_release(stored).unwrap()["config"].clone()
    }

    /// Events of the namespace with `reason`, as `(note, count)`.
    pub async fn events(&self, reason: &str) -> Vec<(String, i32)> {
        let events: Api<Event> = Api::namespaced(self.client.clone(), &self.ns.name);
        events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.reason.as_deref() == Some(reason))
            .map(|e| {
                let count = e.series.as_ref().map_or(1, |s| s.count);
                (e.note.unwrap_or_default(), count)
            })
            .collect()
    }

    /// Runs the dev cluster's helm (the one osdpl runs) with `args` against this namespace.
    pub async fn helm(&self, cluster: &ClusterInfo, args: &[&str]) -> std::process::Output {
        let bin = rockoon_tests::devcluster::build_components().unwrap();
        let home = self.helm_home();
        tokio::process::Command::new(bin.join("helm"))
            .args(args)
            .args(["--namespace", &self.ns.name])
            .arg("--kubeconfig")
            .arg(&cluster.kubeconfig)
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_DATA_HOME", home.join("data"))
            .output()
            .await
            .unwrap()
    }

    fn helm_home(&self) -> PathBuf {
        std::env::temp_dir().join(format!("rockoon-test-helm-{}", self.ns.name))
    }

    /// Deletes the OSDPL (osdpl uninstalls its releases), stops the binaries, removes the
    /// namespaces.
    pub async fn finish(mut self) {
        self.osdpls()
            .delete(OSDPL, &DeleteParams::default())
            .await
            .unwrap();
        let gone = await_condition(self.osdpls(), OSDPL, |o: Option<&OpenStackDeployment>| {
            o.is_none()
        });
        let _ = tokio::time::timeout(WAIT, gone).await;
        self.osdpl.terminate(Duration::from_secs(20)).await.unwrap();
        self.secrets
            .terminate(Duration::from_secs(20))
            .await
            .unwrap();
        let _ = std::fs::remove_dir_all(self.helm_home());
        self.ns.delete().await.unwrap();
        self.controller_ns.delete().await.unwrap();
    }
}

async fn start(
    cluster: &ClusterInfo,
    name: &str,
    namespace: &str,
    controller_ns: &str,
) -> RunningBinary {
    let env = [
        ("OSCTL_OS_DEPLOYMENT_NAMESPACE", namespace.to_owned()),
        ("OSCTL_CEPH_SHARED_NAMESPACE", namespace.to_owned()),
        ("OSCTL_CONTROLLER_NAMESPACE", controller_ns.to_owned()),
        ("OSCTL_LOG_LEVEL", "info".to_owned()),
    ];
    let mut binary = RunningBinary::start(cluster, name, &env).unwrap();
    binary.wait_ready(Duration::from_secs(60)).await.unwrap();
    binary
}
