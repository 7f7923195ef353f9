//! `rockoon-osdpl` converging real OSDPLs with real helm and the upstream OpenStack-Helm charts,
//! next to the real `rockoon-secrets` that generates the credentials: the sample compute deployment applies
//! fully; an unchanged OSDPL costs no helm call and no write; one changed override upgrades
//! exactly one release; a chart failure fails only its service and recovers once fixed; a
//! disabled service is uninstalled; a controller killed mid-apply converges without repeating
//! finished upgrades; deletion uninstalls everything and keeps the credentials; drafts and
//! specs that cannot render apply nothing.
//!
//! Each test works in its own namespace (OpenStack, Ceph and controller namespaces all point
//! there) and waits by watching objects, never by sleeping.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::runtime::wait::await_condition;
use kube::{Api, Client, ResourceExt};
use rockoon_core::crd::{OpenStackDeployment, OpenStackDeploymentStatus};
use rockoon_tests::harness::{ClusterInfo, TestNamespace, ensure_crds};
use rockoon_tests::probe::RunningBinary;
use rockoon_tests::sample;
use serde_json::{Value, json};

use crate::cluster_or_return;

const OSDPL: &str = "osh-dev";
/// Releases of the compute sample on the upstream charts (its 20 services; `ingress` has none
/// of its own, messaging has four RabbitMQ instances).
const COMPUTE_RELEASES: usize = 26;
/// A full apply of the sample on 2 cores, with other tests running, stays well under this.
const APPLY_WAIT: Duration = Duration::from_secs(300);
const WAIT: Duration = Duration::from_secs(120);

struct Setup {
    client: Client,
    ns: TestNamespace,
    /// The controllers' own namespace (clouds.yaml); apart, as in production, because the
    /// keystone chart renders a Secret of the same name in the OpenStack namespace.
    controller_ns: TestNamespace,
    cluster: ClusterInfo,
    secrets: RunningBinary,
    osdpl: RunningBinary,
    /// One deployment of the upstream charts at a time (`harness::deployment_slot`).
    _slot: tokio::sync::SemaphorePermit<'static>,
}

impl Setup {
    async fn start(cluster: ClusterInfo, prefix: &str) -> Self {
        let slot = rockoon_tests::harness::deployment_slot().await;
        ensure_crds(&cluster).await.unwrap();
        let client = cluster.client().await.unwrap();
        let ns = TestNamespace::create(&client, prefix).await.unwrap();
        sample::seed_external_inputs(&client, &ns.name, &ns.name)
            .await
            .unwrap();
        let controller_ns = TestNamespace::create(&client, "ctl").await.unwrap();
        let secrets = start(&cluster, "secrets", &ns.name, &controller_ns.name).await;
        let osdpl = start(&cluster, "osdpl", &ns.name, &controller_ns.name).await;
        Self {
            client,
            ns,
            controller_ns,
            cluster,
            secrets,
            osdpl,
            _slot: slot,
        }
    }

    fn osdpls(&self) -> Api<OpenStackDeployment> {
        Api::namespaced(self.client.clone(), &self.ns.name)
    }

    fn statuses(&self) -> Api<OpenStackDeploymentStatus> {
        Api::namespaced(self.client.clone(), &self.ns.name)
    }

    async fn apply_sample(&self, name: &str, edit: impl FnOnce(&mut Value)) {
        let mut osdpl = sample::sample_osdpl(name, &self.ns.name).unwrap();
        edit(&mut osdpl);
        self.osdpls()
            .patch(
                OSDPL,
                &PatchParams::apply("rockoon-tests"),
                &Patch::Apply(&osdpl),
            )
            .await
            .unwrap();
    }

    async fn merge_spec(&self, patch: Value) {
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
    async fn status_until(
        &self,
        what: &str,
        limit: Duration,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let found = tokio::time::timeout(
            limit,
            await_condition(
                self.statuses(),
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
            other => {
                let current = self.statuses().get_opt(OSDPL).await.ok().flatten();
                panic!(
                    "{what}: not within {limit:?} ({:?}); osdplst status {}; osdpl log:\n{}",
                    other.map(|r| r.map(|_| ())),
                    serde_json::to_string_pretty(&current.map(|c| c.status)).unwrap(),
                    self.osdpl.log_tail()
                )
            }
        }
    }

    /// Every service applied, or reported `UNSUPPORTED` (never applied: the compute preset's
    /// `redis` and `dynamic-resource-balancer`).
    async fn applied(&self, what: &str, limit: Duration) -> Value {
        self.status_until(what, limit, rockoon_tests::harness::all_applied)
            .await
    }

    /// Latest revision and status of each helm release in the namespace, from helm's storage.
    async fn releases(&self) -> BTreeMap<String, (u32, String)> {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.ns.name);
        let mut releases: BTreeMap<String, (u32, String)> = BTreeMap::new();
        for s in secrets
            .list_metadata(&ListParams::default().labels("owner=helm"))
            .await
            .unwrap()
        {
            let labels = s.labels();
            let revision: u32 = labels["version"].parse().unwrap();
            let status = labels["status"].clone();
            let entry = releases
                .entry(labels["name"].clone())
                .or_insert((0, String::new()));
            if revision > entry.0 {
                *entry = (revision, status);
            }
        }
        releases
    }

    /// Deletes the OSDPL and waits until it is gone (the finalizer has run).
    async fn delete_osdpl(&self) {
        self.osdpls()
            .delete(OSDPL, &DeleteParams::default())
            .await
            .unwrap();
        tokio::time::timeout(
            WAIT,
            await_condition(self.osdpls(), OSDPL, |o: Option<&OpenStackDeployment>| {
                o.is_none()
            }),
        )
        .await
        .unwrap_or_else(|_| panic!("OSDPL not deleted; log:\n{}", self.osdpl.log_tail()))
        .unwrap();
    }

    async fn finish(mut self) {
        // Uninstalled through the controller: the charts' cluster-scoped objects (nova's and
        // ovn's ClusterRoles) would otherwise outlive the namespace and block the next test.
        if self.osdpls().get_opt(OSDPL).await.unwrap().is_some() {
            self.delete_osdpl().await;
        }
        self.osdpl.terminate(Duration::from_secs(20)).await.unwrap();
        self.secrets
            .terminate(Duration::from_secs(20))
            .await
            .unwrap();
        let _ = self.cluster;
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
        ("OSCTL_LOG_LEVEL", "info,rockoon_osdpl=debug".to_owned()),
    ];
    let mut binary = RunningBinary::start(cluster, name, &env).unwrap();
    binary.wait_ready(Duration::from_secs(60)).await.unwrap();
    binary
}

/// Sum of the samples of `metric` (name and label filter, e.g. `rockoon_helm_operations_total`
/// with `op="upgrade"`) on a binary's `/metrics`.
async fn metric(binary: &RunningBinary, name: &str, labels: &[&str]) -> f64 {
    let (_, body) = binary.get("/metrics").await.expect("metrics answer");
    body.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| labels.iter().all(|label| l.contains(label)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn upgrades(binary: &RunningBinary) -> f64 {
    metric(binary, "rockoon_helm_operations_total", &["op=\"upgrade\""]).await
}

/// Waits until the controller has finished a reconcile started after `before` reconciles.
async fn reconciled_after(binary: &RunningBinary, before: f64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let done = metric(binary, "rockoon_reconcile_duration_seconds_count", &[]).await;
        let queued = metric(binary, "rockoon_reconcile_queue_depth", &[]).await;
        if done > before && queued == 0.0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no reconcile finished; log:\n{}",
            binary.log_tail()
        );
        // Polling the controller's own counter; there is no object to watch for "nothing happened".
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (polling helm's storage) until `release` reaches `revision`, deployed.
async fn wait_for_revision(setup: &Setup, release: &str, revision: u32) {
    let reached = tokio::time::timeout(WAIT, async {
        loop {
            if let Some((rev, status)) = setup.releases().await.get(release)
                && *rev >= revision
                && status == "deployed"
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    if reached.is_err() {
        panic!(
            "{release} not at revision {revision}: {:?}; log:\n{}",
            setup.releases().await.get(release),
            setup.osdpl.log_tail()
        );
    }
}

/// Waits until the controller is idle: every started reconcile finished, nothing queued, on
/// several consecutive looks (helm's own writes schedule one more, no-op, reconcile).
async fn idle(binary: &RunningBinary) {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut quiet_looks = 0;
    while quiet_looks < 5 {
        let started = metric(binary, "rockoon_reconcile_total", &[]).await;
        let finished = metric(binary, "rockoon_reconcile_duration_seconds_count", &[]).await;
        let queued = metric(binary, "rockoon_reconcile_queue_depth", &[]).await;
        quiet_looks = if started == finished && queued == 0.0 {
            quiet_looks + 1
        } else {
            0
        };
        assert!(
            tokio::time::Instant::now() < deadline,
            "never idle; log:\n{}",
            binary.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_sample_compute_deployment_converges_and_each_change_touches_only_what_changed() {
    let cluster = cluster_or_return!();
    let setup = Setup::start(cluster, "lifecycle").await;
    setup.apply_sample("compute", |_| {}).await;

    // 1. Everything applied, each release installed once.
    let status = setup.applied("sample applied", APPLY_WAIT).await;
    assert_eq!(status["osdpl"]["lcm_progress"], "20/20", "{status}");
    for service in ["redis", "dynamic-resource-balancer"] {
        assert_eq!(
            status["services"][service]["state"], "UNSUPPORTED",
            "{status}"
        );
    }
    let releases = setup.releases().await;
    assert_eq!(releases.len(), COMPUTE_RELEASES, "{releases:?}");
    assert!(
        releases
            .values()
            .all(|(rev, st)| *rev == 1 && st == "deployed"),
        "{releases:?}"
    );
    assert_eq!(upgrades(&setup.osdpl).await, COMPUTE_RELEASES as f64);
    let osdpl = setup.osdpls().get(OSDPL).await.unwrap();
    let conditions = osdpl.status.as_ref().unwrap().conditions.clone().unwrap();
    let ready = conditions.iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("True", "Applied")
    );
    assert!(
        osdpl
            .finalizers()
            .iter()
            .any(|f| f == "lcm.mirantis.com/rockoon-osdpl")
    );

    // 2. An unchanged OSDPL: a reconcile (forced by touching an annotation) makes no helm call
    //    and writes nothing.
    idle(&setup.osdpl).await;
    let before = metric(
        &setup.osdpl,
        "rockoon_reconcile_duration_seconds_count",
        &[],
    )
    .await;
    setup
        .osdpls()
        .patch(
            OSDPL,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"test/touch": "1"}}})),
        )
        .await
        .unwrap();
    let touched = setup.osdpls().get(OSDPL).await.unwrap().resource_version();
    let status_version = setup
        .statuses()
        .get(OSDPL)
        .await
        .unwrap()
        .resource_version();
    reconciled_after(&setup.osdpl, before).await;
    assert_eq!(
        upgrades(&setup.osdpl).await,
        COMPUTE_RELEASES as f64,
        "no helm upgrade for an unchanged OSDPL"
    );
    let after = setup.osdpls().get(OSDPL).await.unwrap();
    assert_eq!(
        after.resource_version(),
        touched,
        "the OSDPL was written: {}",
        serde_json::to_string_pretty(&after.metadata.managed_fields).unwrap()
    );
    assert_eq!(
        setup
            .statuses()
            .get(OSDPL)
            .await
            .unwrap()
            .resource_version(),
        status_version
    );

    // 3. One override changed: exactly that release is upgraded.
    setup
        .merge_spec(json!({"services": {"compute": {"nova": {"values": {"conf": {"nova": {"DEFAULT": {"debug": false}}}}}}}}))
        .await;
    let releases_before = setup.releases().await;
    wait_for_revision(&setup, "openstack-nova", 2).await;
    setup.applied("override applied", WAIT).await;
    assert_eq!(
        upgrades(&setup.osdpl).await,
        COMPUTE_RELEASES as f64 + 1.0,
        "exactly one more upgrade"
    );
    let releases_after = setup.releases().await;
    for (name, state) in &releases_after {
        if name != "openstack-nova" {
            assert_eq!(Some(state), releases_before.get(name), "{name} was touched");
        }
    }

    // 3b. A referenced Secret edited (Vault AppRole secret id): the release that reads it, and
    //     only that one, is upgraded.
    idle(&setup.osdpl).await;
    let before = setup.releases().await;
    let secrets: Api<Secret> = Api::namespaced(setup.client.clone(), &setup.ns.name);
    secrets
        .patch(
            "barbican-vault",
            &PatchParams::default(),
            &Patch::Merge(json!({"stringData": {"secret_id": "rotated-approle-secret-id"}})),
        )
        .await
        .unwrap();
    wait_for_revision(
        &setup,
        "openstack-barbican",
        before["openstack-barbican"].0 + 1,
    )
    .await;
    idle(&setup.osdpl).await;
    let after = setup.releases().await;
    for (name, state) in &after {
        if name != "openstack-barbican" {
            assert_eq!(
                Some(state),
                before.get(name),
                "{name} was touched by a Vault secret edit"
            );
        }
    }

    // 3c. Service credentials rotated (rotation_id 0 → 1 in the OSDPL status): secrets makes
    //     a new generation and osdpl re-renders with it.
    let before = setup.releases().await;
    setup
        .osdpls()
        .patch_status(
            OSDPL,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"credentials": {"service": {"rotation_id": 1}}}})),
        )
        .await
        .unwrap();
    wait_for_revision(
        &setup,
        "openstack-keystone",
        before["openstack-keystone"].0 + 1,
    )
    .await;
    wait_for_revision(&setup, "openstack-nova", before["openstack-nova"].0 + 1).await;
    setup.applied("rotation rolled out", WAIT).await;

    // 4. A chart that fails to render fails its service with helm's message; the others stay
    //    applied; fixing the values recovers it.
    setup
        .merge_spec(json!({"services": {"image": {"glance": {"values": {"pod": {"lifecycle": {"upgrades": {"deployments": {"revision_history": "many"}}}}}}}}}))
        .await;
    let status = setup
        .status_until("glance failed", WAIT, |s| {
            s["services"]["image"]["state"] == "FAILED"
        })
        .await;
    let cause = status["services"]["image"]["cause"].as_str().unwrap();
    // The chart writes it into glance-api's Deployment; the API server refuses the type.
    assert!(cause.contains("revisionHistoryLimit"), "{cause}");
    assert_eq!(status["services"]["compute"]["state"], "APPLIED");
    assert_eq!(status["osdpl"]["state"], "FAILED");
    let osdpl = setup.osdpls().get(OSDPL).await.unwrap();
    let conditions = osdpl.status.unwrap().conditions.unwrap();
    let degraded = conditions.iter().find(|c| c.type_ == "Degraded").unwrap();
    assert_eq!(degraded.status, "True");
    assert!(degraded.message.contains("image:"), "{}", degraded.message);
    // 4b. A rotation asked while the deployment is FAILED waits for the rollout to finish
    //     (the generation it would replace may still be in use), and happens once it has.
    let keystone_before = setup.releases().await["openstack-keystone"].0;
    setup
        .osdpls()
        .patch_status(
            OSDPL,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"credentials": {"service": {"rotation_id": 2}}}})),
        )
        .await
        .unwrap();
    let waiting = tokio::time::timeout(
        WAIT,
        await_condition(setup.osdpls(), OSDPL, |o: Option<&OpenStackDeployment>| {
            o.and_then(|o| o.status.as_ref()?.conditions.clone())
                .unwrap_or_default()
                .iter()
                .any(|c| {
                    c.type_ == "CredentialsRotation" && c.message.contains("waits for the rollout")
                })
        }),
    )
    .await;
    assert!(
        waiting.is_ok(),
        "rotation did not wait; secrets log:\n{}",
        setup.secrets.log_tail()
    );
    assert_eq!(
        setup.releases().await["openstack-keystone"].0,
        keystone_before
    );
    setup.merge_spec(json!({"services": {"image": null}})).await;
    setup.applied("glance recovered", WAIT).await;
    wait_for_revision(&setup, "openstack-keystone", keystone_before + 1).await;
    setup.applied("second rotation rolled out", WAIT).await;

    // 5. A service disabled: its release is uninstalled and it leaves the status.
    let mut services: Vec<String> = serde_json::from_value(
        sample::sample_osdpl("compute", &setup.ns.name).unwrap()["spec"]["features"]["services"]
            .clone(),
    )
    .unwrap();
    services.retain(|s| s != "tempest");
    setup
        .merge_spec(json!({"features": {"services": services}}))
        .await;
    let status = setup
        .status_until("tempest removed", WAIT, |s| {
            s["services"].get("tempest").is_none() && s["osdpl"]["state"] == "APPLIED"
        })
        .await;
    assert_eq!(status["osdpl"]["lcm_progress"], "19/19");
    assert!(!setup.releases().await.contains_key("openstack-tempest"));

    // 5b. `~database` while the OpenStack services still need it: refused, naming them;
    //     nothing is uninstalled or upgraded, and taking it back makes no helm call.
    let before = setup.releases().await;
    let helm_calls = upgrades(&setup.osdpl).await;
    let mut without_database = services.clone();
    without_database.push("~database".into());
    setup
        .merge_spec(json!({"features": {"services": without_database}}))
        .await;
    let status = setup
        .status_until("database removal refused", WAIT, |s| {
            s["osdpl"]["state"] == "FAILED"
        })
        .await;
    let cause = status["osdpl"]["cause"].as_str().unwrap_or_default();
    assert!(
        cause.contains("database is not enabled but identity, placement, image, compute"),
        "{status}"
    );
    let degraded = setup
        .osdpls()
        .get(OSDPL)
        .await
        .unwrap()
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Degraded")
        .unwrap();
    assert_eq!(degraded.reason, "InvalidSpec");
    assert_eq!(setup.releases().await, before, "a release changed");
    setup
        .merge_spec(json!({"features": {"services": services}}))
        .await;
    setup.applied("database kept", WAIT).await;
    assert_eq!(setup.releases().await, before, "a release changed");
    assert_eq!(upgrades(&setup.osdpl).await, helm_calls);

    // 6. Deleted: every release uninstalled, the OSDPL gone, the credentials kept.
    setup.delete_osdpl().await;
    assert!(
        setup.releases().await.is_empty(),
        "{:?}",
        setup.releases().await
    );
    let secrets: Api<Secret> = Api::namespaced(setup.client.clone(), &setup.ns.name);
    let credentials = secrets
        .list_metadata(&ListParams::default().labels(rockoon_core::credentials::OWNER_LABEL))
        .await
        .unwrap();
    assert!(
        credentials.items.len() > 10,
        "credentials kept after deletion"
    );
    setup.finish().await;
}

#[tokio::test]
async fn a_controller_killed_mid_apply_converges_after_restart_without_repeating_finished_upgrades()
{
    let cluster = cluster_or_return!();
    let mut setup = Setup::start(cluster.clone(), "killed").await;
    setup.apply_sample("compute", |_| {}).await;
    let deadline = tokio::time::Instant::now() + APPLY_WAIT;
    while upgrades(&setup.osdpl).await < 6.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no progress; log:\n{}",
            setup.osdpl.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    setup.osdpl.kill().await.unwrap();
    let finished_before: BTreeMap<String, (u32, String)> = setup
        .releases()
        .await
        .into_iter()
        .filter(|(_, (_, status))| status == "deployed")
        .collect();
    assert!(finished_before.len() >= 6, "{finished_before:?}");

    setup.osdpl = start(&cluster, "osdpl", &setup.ns.name, &setup.controller_ns.name).await;
    setup.applied("converged after restart", APPLY_WAIT).await;
    let after = setup.releases().await;
    assert_eq!(after.len(), COMPUTE_RELEASES);
    for (name, state) in &finished_before {
        assert_eq!(after.get(name), Some(state), "{name} was upgraded again");
    }
    let repeated = upgrades(&setup.osdpl).await;
    assert!(
        repeated <= (COMPUTE_RELEASES - finished_before.len()) as f64 + 1.0,
        "the restarted controller ran {repeated} upgrades for {} unfinished releases",
        COMPUTE_RELEASES - finished_before.len()
    );
    setup.finish().await;
}

#[tokio::test]
async fn drafts_and_specs_that_cannot_render_apply_nothing_and_say_why() {
    let cluster = cluster_or_return!();
    let setup = Setup::start(cluster, "draft").await;
    setup
        .apply_sample("core", |o| o["spec"]["draft"] = json!(true))
        .await;
    let drafted = tokio::time::timeout(
        WAIT,
        await_condition(setup.osdpls(), OSDPL, |o: Option<&OpenStackDeployment>| {
            o.and_then(|o| o.status.as_ref()?.state.clone()).as_deref() == Some("DRAFT")
        }),
    )
    .await;
    assert!(
        drafted.is_ok(),
        "no DRAFT state; log:\n{}",
        setup.osdpl.log_tail()
    );
    assert!(setup.releases().await.is_empty());

    // A spec the API accepts but the templates refuse: reported, nothing applied.
    setup
        .merge_spec(json!({"draft": false, "features": {"glance": {"backends": {"swift": {"objects": {"default": true}}}}}}))
        .await;
    let status = setup
        .status_until("invalid spec reported", WAIT, |s| {
            s["osdpl"]["state"] == "FAILED"
        })
        .await;
    let cause = status["osdpl"]["cause"].as_str().unwrap_or_default();
    assert!(
        cause.contains("spec.features.glance.backends.swift: unsupported Glance backend"),
        "the spec path, not a template line: {status}"
    );
    let osdpl = setup.osdpls().get(OSDPL).await.unwrap();
    let degraded = osdpl
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Degraded")
        .unwrap();
    assert_eq!(
        (degraded.status.as_str(), degraded.reason.as_str()),
        ("True", "InvalidSpec")
    );
    assert!(setup.releases().await.is_empty());

    // Removing the database with every service that needs it: still refused until the OSDPL
    // confirms it, since its data would go with it; confirmed, the rest renders.
    let keep = ["memcached", "coordination"];
    let removed: Vec<String> =
        sample::sample_osdpl("core", &setup.ns.name).unwrap()["spec"]["features"]["services"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .chain(
                rockoon_core::services::preset_services(rockoon_core::crd::osdpl::Preset::Core)
                    .unwrap(),
            )
            .filter(|s| !keep.contains(s) && !s.starts_with('~'))
            .map(|s| format!("~{s}"))
            .collect();
    setup
        .merge_spec(json!({"features": {"glance": null, "services": removed}}))
        .await;
    let status = setup
        .status_until("unconfirmed database removal refused", WAIT, |s| {
            s["osdpl"]["cause"]
                .as_str()
                .is_some_and(|c| c.contains("removing database"))
        })
        .await;
    let cause = status["osdpl"]["cause"].as_str().unwrap();
    assert!(
        cause.contains("lcm.mirantis.com/confirm-removal=database"),
        "{cause}"
    );
    assert!(setup.releases().await.is_empty());
    setup
        .osdpls()
        .patch(
            OSDPL,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "lcm.mirantis.com/confirm-removal": "database, messaging"
            }}})),
        )
        .await
        .unwrap();
    let status = setup
        .applied("confirmed removal renders the rest", APPLY_WAIT)
        .await;
    let mut enabled: Vec<&str> = status["services"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    enabled.sort_unstable();
    assert_eq!(enabled, ["coordination", "memcached"], "{status}");

    // Values for a service that is not enabled change nothing: said in `UnsupportedSettings`.
    setup
        .merge_spec(json!({"services": {"dns": {"designate": {"values": {"x": 1}}}}}))
        .await;
    let reported = tokio::time::timeout(
        WAIT,
        await_condition(setup.osdpls(), OSDPL, |o: Option<&OpenStackDeployment>| {
            o.and_then(|o| o.status.as_ref()?.conditions.clone())
                .unwrap_or_default()
                .iter()
                .any(|c| {
                    c.type_ == "UnsupportedSettings" && c.message.contains("spec.services.dns")
                })
        }),
    )
    .await;
    assert!(
        reported.is_ok(),
        "no UnsupportedSettings condition; log:\n{}",
        setup.osdpl.log_tail()
    );
    // Spec mistakes the API server cannot see are InvalidSpec naming the path, and nothing is
    // removed meanwhile.
    let installed = setup.releases().await;
    for (patch, path) in [
        (
            json!({"services": {"identiy": {"keystone": {"values": {}}}}}),
            "spec.services.identiy",
        ),
        (
            json!({"nodes": {"Not A Label::x": {"services": {}}}}),
            "spec.nodes[\"Not A Label::x\"]",
        ),
        (
            json!({"features": {"database": {"cleanup": {"heat": {"enabled": "yes"}}}}}),
            "spec.features.database.cleanup.heat.enabled",
        ),
    ] {
        setup.merge_spec(patch.clone()).await;
        let status = setup
            .status_until(path, WAIT, |s| {
                s["osdpl"]["cause"]
                    .as_str()
                    .is_some_and(|c| c.contains(path))
            })
            .await;
        assert_eq!(status["osdpl"]["state"], "FAILED", "{status}");
        assert_eq!(setup.releases().await, installed);
        let undo = match patch.as_object().unwrap().keys().next().unwrap().as_str() {
            "services" => json!({"services": {"identiy": null}}),
            "features" => json!({"features": {"database": null}}),
            _ => json!({"nodes": null}),
        };
        setup.merge_spec(undo).await;
    }
    setup.applied("valid again", WAIT).await;

    // Ceph's keys published in a shape that cannot be read: a Warning event names the Secret
    // and key, never a value.
    let ceph: Api<Secret> = Api::namespaced(setup.client.clone(), &setup.ns.name);
    ceph.patch(
        rockoon_core::ceph::KEYS_SECRET,
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"mon_endpoints": null}})),
    )
    .await
    .unwrap();
    let events: Api<k8s_openapi::api::core::v1::Event> =
        Api::namespaced(setup.client.clone(), &setup.ns.name);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let found = events
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("UnusableInput"));
        if let Some(event) = found {
            let message = event.message.unwrap_or_default();
            assert!(
                message.contains("openstack-ceph-keys key mon_endpoints"),
                "{message}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no UnusableInput event; log:\n{}",
            setup.osdpl.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Deleting an OSDPL that never applied anything works.
    setup.delete_osdpl().await;
    setup.finish().await;
}
