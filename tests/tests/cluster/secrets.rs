//! `rockoon-secrets` against the real cluster: generated credentials are never lost or
//! changed (restart, OSDPL re-creation, a racing writer, hand edits), rotation makes a new
//! generation and keeps the previous one, referenced Secrets are hashed into the OSDPL status,
//! the libvirt TLS and VeNCrypt certificates are generated once and a deleted one comes back
//! from the same CA, and no generated value reaches a log, an event or a status.
//!
//! Each test runs its own binary with the OpenStack and controller namespaces both pointed at
//! the test's namespace, and waits by watching (`await_condition`), never by sleeping.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Event, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, Client, ResourceExt};
use rockoon_core::crd::{OpenStackDeployment, OpenStackDeploymentStatus, OsdplstSpec};
use rockoon_core::render::{RenderContext, Templates, catalog, spec::merged_spec};
use rockoon_core::{certificates, credentials};
use rockoon_tests::devcluster::workspace_root;
use rockoon_tests::harness::{ClusterInfo, TestNamespace, ensure_crds};
use rockoon_tests::probe::RunningBinary;
use serde_json::{Value, json};

use crate::cluster_or_return;

const WAIT: Duration = Duration::from_secs(90);
const OSDPL: &str = "osh-dev";

/// One test's namespace, client and running `rockoon-secrets`.
struct Setup {
    cluster: ClusterInfo,
    client: Client,
    ns: TestNamespace,
    binary: RunningBinary,
}

impl Setup {
    async fn start(cluster: ClusterInfo, prefix: &str) -> Self {
        ensure_crds(&cluster).await.unwrap();
        let client = cluster.client().await.unwrap();
        let ns = TestNamespace::create(&client, prefix).await.unwrap();
        let binary = start_binary(&cluster, &ns.name).await;
        Self {
            cluster,
            client,
            ns,
            binary,
        }
    }

    fn secrets(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), &self.ns.name)
    }

    fn osdpls(&self) -> Api<OpenStackDeployment> {
        Api::namespaced(self.client.clone(), &self.ns.name)
    }

    /// Waits until the OSDPL satisfies `check`, failing with the binary's log.
    async fn osdpl_until(
        &self,
        what: &str,
        check: impl Fn(&OpenStackDeployment) -> bool,
    ) -> OpenStackDeployment {
        let found = tokio::time::timeout(
            WAIT,
            await_condition(
                self.osdpls(),
                OSDPL,
                move |o: Option<&OpenStackDeployment>| o.is_some_and(&check),
            ),
        )
        .await;
        match found {
            Ok(Ok(Some(osdpl))) => osdpl,
            other => panic!(
                "{what}: not seen within {WAIT:?} ({:?}); status {:?}; log:\n{}",
                other.map(|r| r.map(|_| ())),
                self.osdpls()
                    .get_opt(OSDPL)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|o| o.status),
                self.binary.log_tail()
            ),
        }
    }

    /// Creates the OSDPL and waits until every credential it needs is present.
    async fn create_and_wait(&self, osdpl: &OpenStackDeployment) {
        self.osdpls()
            .create(&PostParams::default(), osdpl)
            .await
            .unwrap();
        self.osdpl_until("credentials present", |o| {
            is(o, "Credentials", "True", "present")
        })
        .await;
    }

    /// Waits until the Secret `name` satisfies `check`.
    async fn secret_until(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&Secret) -> bool,
    ) -> Secret {
        let found = tokio::time::timeout(
            WAIT,
            await_condition(self.secrets(), name, move |s: Option<&Secret>| {
                s.is_some_and(&check)
            }),
        )
        .await;
        match found {
            Ok(Ok(Some(secret))) => secret,
            _ => panic!(
                "{what}: Secret {name} not seen within {WAIT:?}; log:\n{}",
                self.binary.log_tail()
            ),
        }
    }

    /// Data of every credential Secret, by name.
    async fn credential_data(&self) -> Credentials {
        let labelled = ListParams::default().labels(credentials::OWNER_LABEL);
        self.secrets()
            .list(&labelled)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|s| (s.name_any(), s.data.unwrap_or_default()))
            .collect()
    }

    /// Every generated value of this namespace is absent from every log of the run, from the
    /// namespace's events and from the OSDPL's status.
    async fn assert_no_value_leaked(&self) {
        let mut values: BTreeSet<String> = BTreeSet::new();
        for data in self.credential_data().await.values() {
            for bytes in data.values() {
                // Fixed usernames (admin, root, rabbitmq) are not secrets and are common words.
                match std::str::from_utf8(&bytes.0) {
                    Ok(text) if text.len() >= 12 => values.insert(text.to_owned()),
                    _ => false,
                };
            }
        }
        assert!(values.len() > 3, "no generated values to look for");
        let mut texts = Vec::new();
        for entry in std::fs::read_dir(self.cluster.dir.join("logs")).unwrap() {
            let path = entry.unwrap().path();
            texts.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap_or_default(),
            ));
        }
        let events: Api<Event> = Api::namespaced(self.client.clone(), &self.ns.name);
        let events = events.list(&ListParams::default()).await.unwrap();
        texts.push((
            "events".into(),
            serde_json::to_string(&events.items).unwrap(),
        ));
        let osdpl = self.osdpls().get_opt(OSDPL).await.unwrap();
        texts.push((
            "OSDPL status".into(),
            serde_json::to_string(&osdpl.and_then(|o| o.status)).unwrap(),
        ));
        for (source, text) in &texts {
            for value in &values {
                assert!(
                    !text.contains(value.as_str()),
                    "a generated value appears in {source}"
                );
            }
        }
    }

    async fn finish(self) {
        self.assert_no_value_leaked().await;
        let Setup { ns, mut binary, .. } = self;
        binary.component.check_alive().unwrap();
        let code = binary.terminate(Duration::from_secs(20)).await.unwrap();
        assert_eq!(code, Some(0), "exit code; log:\n{}", binary.log_tail());
        ns.delete().await.unwrap();
    }
}

async fn start_binary(cluster: &ClusterInfo, namespace: &str) -> RunningBinary {
    let env = [
        ("OSCTL_OS_DEPLOYMENT_NAMESPACE", namespace.to_owned()),
        ("OSCTL_CONTROLLER_NAMESPACE", namespace.to_owned()),
        ("OSCTL_SECRETS_DEBOUNCE_MS", "50".to_owned()),
    ];
    let mut binary = RunningBinary::start(cluster, "secrets", &env).unwrap();
    binary.wait_ready(WAIT).await.unwrap();
    binary
}

/// The compute sample, moved to `namespace`.
fn sample(namespace: &str) -> OpenStackDeployment {
    let path = workspace_root().join("tests/fixtures/osdpl/compute.yaml");
    let mut osdpl: OpenStackDeployment =
        serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    osdpl.metadata.namespace = Some(namespace.to_owned());
    osdpl.metadata.name = Some(OSDPL.to_owned());
    osdpl
}

/// A small core deployment with `extra` merged into its spec.
fn core(namespace: &str, extra: Value) -> OpenStackDeployment {
    let mut spec = json!({
        "openstack_version": "caracal",
        "preset": "core",
        "size": "tiny",
        "public_domain_name": "it.example.com",
    });
    rockoon_core::values::merge_into(&mut spec, &extra, "spec").unwrap();
    serde_json::from_value(json!({
        "apiVersion": "lcm.mirantis.com/v1alpha1",
        "kind": "OpenStackDeployment",
        "metadata": {"name": OSDPL, "namespace": namespace},
        "spec": spec,
    }))
    .unwrap()
}

/// Every credential the OSDPL's enabled services need, as (Secret name, data key).
fn expected_keys(osdpl: &OpenStackDeployment) -> Vec<(String, String)> {
    let spec = serde_json::to_value(&osdpl.spec).unwrap();
    let context = RenderContext {
        namespace: "openstack".into(),
        dry_run_secrets: true,
        ..RenderContext::default()
    };
    let (merged, _) = merged_spec(&spec, &context, &Templates::embedded()).unwrap();
    let enabled = catalog::enabled_services(&merged).unwrap();
    let mut keys = Vec::new();
    for (owner, needs) in credentials::needed(enabled) {
        for need in needs {
            for key in need.data_keys() {
                keys.push((credentials::secret_name(owner), key));
            }
        }
    }
    keys
}

type Credentials = BTreeMap<String, BTreeMap<String, ByteString>>;

/// Every Secret of `before` is in `after` with the same data.
fn assert_kept(before: &Credentials, after: &Credentials, when: &str) {
    for (name, data) in before {
        assert_eq!(after.get(name), Some(data), "{name} changed after {when}");
    }
}

fn condition<'a>(osdpl: &'a OpenStackDeployment, type_: &str) -> Option<&'a Condition> {
    osdpl
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

fn is(osdpl: &OpenStackDeployment, type_: &str, status: &str, needle: &str) -> bool {
    condition(osdpl, type_).is_some_and(|c| c.status == status && c.message.contains(needle))
}

fn text(secret: &Secret, key: &str) -> String {
    let bytes = &secret.data.as_ref().unwrap()[key].0;
    String::from_utf8(bytes.clone()).unwrap()
}

/// The user's rotation trigger, written on the status subresource as a person would.
async fn request_rotation(api: &Api<OpenStackDeployment>, group: &str, id: i64) {
    let patch = json!({"status": {"credentials": {group: {"rotation_id": id}}}});
    api.patch_status(OSDPL, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

#[tokio::test]
async fn credentials_appear_for_every_enabled_service_and_survive_a_kill_and_osdpl_recreation() {
    let cluster = cluster_or_return!();
    let mut setup = Setup::start(cluster, "secrets-keep").await;
    // tempest is left out at first, to be enabled later.
    let mut osdpl = sample(&setup.ns.name);
    let features = osdpl.spec.features.as_mut().unwrap();
    features
        .services
        .as_mut()
        .unwrap()
        .retain(|s| s != "tempest");
    setup.create_and_wait(&osdpl).await;

    let first = setup.credential_data().await;
    let expected = expected_keys(&osdpl);
    assert!(
        expected.len() > 60,
        "the sample needs many credentials: {}",
        expected.len()
    );
    assert!(
        !expected.iter().any(|(name, _)| name.contains("tempest")),
        "the preset enables tempest itself"
    );
    for (name, key) in &expected {
        let value = first.get(name).and_then(|d| d.get(key));
        assert!(
            value.is_some_and(|v| !v.0.is_empty()),
            "{name} has no {key}"
        );
    }
    for secret in setup
        .secrets()
        .list(&ListParams::default().labels(credentials::OWNER_LABEL))
        .await
        .unwrap()
    {
        assert!(
            secret.owner_references().is_empty(),
            "{} would be garbage-collected",
            secret.name_any()
        );
    }

    // clouds.yaml carries the admin account and the endpoints of this namespace.
    let clouds = setup
        .secret_until("keystone-os-clouds", "clouds.yaml", |_| true)
        .await;
    let document: Value = serde_norway::from_str(&text(&clouds, "clouds.yaml")).unwrap();
    let admin = &first["openstack-admin-users"];
    let auth = &document["clouds"]["admin"]["auth"];
    assert_eq!(
        auth["password"].as_str().unwrap().as_bytes(),
        admin["identity.password"].0
    );
    assert_eq!(
        auth["auth_url"],
        format!(
            "http://keystone-api.{}.svc.cluster.local:5000/v3",
            setup.ns.name
        )
    );
    assert_eq!(
        document["clouds"]["admin-public"]["auth"]["auth_url"],
        "https://keystone.cloud.example.net/v3"
    );

    // Killed without warning, then restarted: a service enabled meanwhile gets credentials,
    // which shows the new process reconciled, and nothing present changed.
    setup.binary.component.child.kill().await.unwrap();
    setup.binary = start_binary(&setup.cluster, &setup.ns.name).await;
    let later = "tempest";
    let mut services = osdpl
        .spec
        .features
        .as_ref()
        .unwrap()
        .services
        .clone()
        .unwrap();
    services.push(later.to_owned());
    let patch = json!({"spec": {"features": {"services": services}}});
    setup
        .osdpls()
        .patch(OSDPL, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    setup
        .secret_until(&credentials::secret_name(later), "later service", |_| true)
        .await;
    let after_restart = setup.credential_data().await;
    assert_kept(&first, &after_restart, "a restart");

    // Deleted and re-created: the same credentials, to the byte.
    let uid = setup.osdpls().get(OSDPL).await.unwrap().uid().unwrap();
    setup
        .osdpls()
        .delete(OSDPL, &DeleteParams::default())
        .await
        .unwrap();
    tokio::time::timeout(
        WAIT,
        await_condition(setup.osdpls(), OSDPL, conditions::is_deleted(&uid)),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        setup.credential_data().await,
        after_restart,
        "deleting the OSDPL touched credentials"
    );
    setup
        .osdpls()
        .create(&PostParams::default(), &osdpl)
        .await
        .unwrap();
    setup
        .osdpl_until("re-created OSDPL reconciled", |o| {
            o.uid() != Some(uid.clone()) && is(o, "Credentials", "True", "present")
        })
        .await;
    let recreated = setup.credential_data().await;
    assert_kept(&after_restart, &recreated, "re-creation");
    setup.finish().await;
}

#[tokio::test]
async fn generated_values_never_change_under_a_racing_writer_or_after_a_hand_edit() {
    let cluster = cluster_or_return!();
    let setup = Setup::start(cluster, "secrets-race").await;
    let secrets = setup.secrets();
    let name = credentials::secret_name("identity");

    // Record every version of the identity Secret the API serves while the race runs.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (listening, listened) = tokio::sync::oneshot::channel::<()>();
    let recorder = {
        use futures::StreamExt as _;
        use kube::runtime::watcher::{self, Event};
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let stream = watcher::watcher(secrets.clone(), config).take_until(stopped);
        tokio::spawn(async move {
            futures::pin_mut!(stream);
            let mut versions = Vec::new();
            let mut listening = Some(listening);
            while let Some(event) = stream.next().await {
                match event {
                    Ok(Event::Apply(s) | Event::InitApply(s)) => {
                        versions.push(s.data.unwrap_or_default())
                    }
                    Ok(Event::InitDone) => {
                        listening.take().map(|l| l.send(()));
                    }
                    _ => {}
                }
            }
            versions
        })
    };
    listened.await.unwrap();

    // A second writer using the same add-only protocol (create, else a merge patch guarded by
    // the resourceVersion it read) claims database.password first, then keeps adding keys of
    // its own while the controller generates its credentials.
    let done = std::sync::atomic::AtomicBool::new(false);
    let racer = async {
        let value = |n: usize| ByteString(format!("racer-{n}-{}", std::process::id()).into_bytes());
        let mine = Secret {
            metadata: kube::api::ObjectMeta {
                name: Some(name.clone()),
                ..Default::default()
            },
            data: Some([("database.password".to_owned(), value(0))].into()),
            ..Default::default()
        };
        let claimed = secrets.create(&PostParams::default(), &mine).await.is_ok();
        let (mut written, mut conflicts) = (BTreeMap::new(), 0);
        for n in 1..5000 {
            if done.load(std::sync::atomic::Ordering::Acquire) {
                break;
            }
            let Some(current) = secrets.get_opt(&name).await.unwrap() else {
                continue;
            };
            let key = format!("racer-{n}");
            let patch = json!({"metadata": {"resourceVersion": current.resource_version()},
                               "data": {&key: value(n)}});
            match secrets
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    written.insert(key, value(n));
                }
                Err(kube::Error::Api(s)) if s.code == 409 => conflicts += 1,
                Err(e) => panic!("racer: {e}"),
            }
        }
        (claimed.then(|| value(0)), written, conflicts)
    };
    let controller = async {
        let osdpl = core(&setup.ns.name, json!({}));
        setup.create_and_wait(&osdpl).await;
        done.store(true, std::sync::atomic::Ordering::Release);
    };
    let ((claimed, written, conflicts), ()) = tokio::join!(racer, controller);
    let settled = secrets.get(&name).await.unwrap();
    let data = settled.data.as_ref().unwrap();
    if let Some(value) = &claimed {
        assert_eq!(
            &data["database.password"], value,
            "the controller replaced a value it did not write"
        );
    }
    for (key, value) in &written {
        assert_eq!(data.get(key), Some(value), "the racer's {key} was lost");
    }
    let (_, metrics) = setup.binary.get("/metrics").await.unwrap();
    let lost_races: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("rockoon_credentials_write_conflicts_total"))
        .collect();
    eprintln!(
        "race: racer claimed database.password: {}, wrote {} keys, lost {conflicts} races; \
         controller: {lost_races:?}",
        claimed.is_some(),
        written.len()
    );
    let _ = stop.send(());
    let history = recorder.await.unwrap();
    assert!(!history.is_empty(), "no version of {name} recorded");

    // Every key keeps the first value it had, across every version the API served.
    let mut first_seen: BTreeMap<String, ByteString> = BTreeMap::new();
    for version in &history {
        for (key, value) in version {
            let first = first_seen
                .entry(key.clone())
                .or_insert_with(|| value.clone());
            assert_eq!(first, value, "{key} changed between versions");
        }
    }
    assert_eq!(
        settled.data.as_ref(),
        Some(&first_seen),
        "the last version was not recorded"
    );

    // A person empties one password and breaks another: both stay as they are, the
    // condition names them, the controller keeps running.
    let broken = json!({"data": {"database.password": "", "messaging.password": "//4="}});
    secrets
        .patch(&name, &PatchParams::default(), &Patch::Merge(&broken))
        .await
        .unwrap();
    let osdpl = setup
        .osdpl_until("hand edit reported", |o| {
            is(
                o,
                "Credentials",
                "False",
                &format!("Secret {name} key database.password: empty"),
            ) && is(
                o,
                "Credentials",
                "False",
                "messaging.password: not UTF-8 text",
            )
        })
        .await;
    assert_eq!(
        condition(&osdpl, "Credentials").unwrap().reason,
        "UnusableCredential"
    );
    let after = secrets.get(&name).await.unwrap();
    let data = after.data.as_ref().unwrap();
    assert!(
        data["database.password"].0.is_empty(),
        "an emptied password was regenerated"
    );
    assert_eq!(data["messaging.password"].0, [0xff, 0xfe]);
    for (key, value) in &first_seen {
        if !key.ends_with("database.password") && !key.ends_with("messaging.password") {
            assert_eq!(
                data.get(key),
                Some(value),
                "{key} changed after a hand edit"
            );
        }
    }
    setup.finish().await;
}

#[tokio::test]
async fn raising_a_rotation_id_by_one_activates_a_new_generation_and_jumps_or_decreases_are_refused()
 {
    let cluster = cluster_or_return!();
    let setup = Setup::start(cluster, "secrets-rotate").await;
    let api = setup.osdpls();
    // osdpl makes the OpenStackDeploymentStatus; here the test stands in for it.
    let statuses: Api<OpenStackDeploymentStatus> =
        Api::namespaced(setup.client.clone(), &setup.ns.name);
    statuses
        .create(
            &PostParams::default(),
            &OpenStackDeploymentStatus::new(OSDPL, OsdplstSpec::default()),
        )
        .await
        .unwrap();
    setup
        .create_and_wait(&core(&setup.ns.name, json!({})))
        .await;
    let before = setup.credential_data().await;
    let (tree_before, _) = credentials::tree(
        &setup
            .secrets()
            .list(&ListParams::default().labels(credentials::OWNER_LABEL))
            .await
            .unwrap()
            .items,
    );

    request_rotation(&api, "service", 1).await;
    let identity = credentials::secret_name("identity");
    let next = format!("{identity}-1");
    let rotated = setup
        .secret_until(&next, "service rotation 1", |s| {
            credentials::priority(s) == 1
        })
        .await;
    setup
        .osdpl_until("rotation handled", |o| {
            is(o, "CredentialsRotation", "True", "service at rotation 1")
        })
        .await;
    let after = setup.credential_data().await;
    // The previous generation of every service owner is kept unchanged beside the new one.
    assert_kept(&before, &after, "a rotation");
    for name in before.keys() {
        if name != "openstack-admin-users" {
            assert!(
                after.contains_key(&format!("{name}-1")),
                "{name} not rotated"
            );
        }
    }
    assert!(
        !after.contains_key("openstack-admin-users-1"),
        "admin rotated with the services"
    );
    let old = &before[&identity];
    let new = rotated.data.as_ref().unwrap();
    for key in [
        "database.username",
        "database.password",
        "messaging.password",
    ] {
        assert_ne!(new[key], old[key], "{key} not renewed");
    }
    for key in ["memcache_secret_key", "fernet_key_0", "credential_key_1"] {
        assert_eq!(new[key], old[key], "{key} must survive a rotation");
    }
    // What osdpl renders with now comes from the new generation: its watch of credential
    // Secrets sees the switch and re-renders.
    let all = setup
        .secrets()
        .list(&ListParams::default().labels(credentials::OWNER_LABEL))
        .await
        .unwrap()
        .items;
    let (tree_after, _) = credentials::tree(&all);
    assert_ne!(
        tree_after["identity"]["database"],
        tree_before["identity"]["database"]
    );
    assert_eq!(
        tree_after["identity"]["database"]["password"]
            .as_str()
            .unwrap()
            .as_bytes(),
        new["database.password"].0
    );
    let status = tokio::time::timeout(
        WAIT,
        await_condition(
            statuses.clone(),
            OSDPL,
            |s: Option<&OpenStackDeploymentStatus>| {
                s.and_then(|s| {
                    s.status
                        .as_ref()?
                        .credentials
                        .as_ref()?
                        .pointer("/rotation/service/rotation_id")
                        .cloned()
                }) == Some(json!(1))
            },
        ),
    )
    .await
    .unwrap()
    .unwrap()
    .unwrap();
    let rotation = status.status.unwrap().credentials.unwrap();
    assert!(
        rotation.pointer("/rotation/service/timestamp").is_some(),
        "{rotation}"
    );

    // Admin: same username, new password, and clouds.yaml follows.
    request_rotation(&api, "admin", 1).await;
    let admin = setup
        .secret_until("openstack-admin-users-1", "admin rotation 1", |s| {
            credentials::priority(s) == 1
        })
        .await;
    assert_eq!(text(&admin, "identity.username"), "admin");
    assert_ne!(
        admin.data.as_ref().unwrap()["identity.password"],
        before["openstack-admin-users"]["identity.password"]
    );
    let password = text(&admin, "identity.password");
    setup
        .secret_until(
            "keystone-os-clouds",
            "clouds.yaml follows the admin rotation",
            |s| {
                s.data
                    .as_ref()
                    .and_then(|d| d.get("clouds.yaml"))
                    .is_some_and(|y| String::from_utf8_lossy(&y.0).contains(&password))
            },
        )
        .await;

    // A jump is refused and rotates nothing.
    request_rotation(&api, "service", 3).await;
    setup
        .osdpl_until("jump refused", |o| {
            is(o, "CredentialsRotation", "False", "jumps from 1 to 3")
        })
        .await;
    let refused = setup.credential_data().await;
    assert_eq!(
        refused.len(),
        after.len() + 1,
        "only the admin generation was added"
    );

    // The next step writes over the generation before the previous one; the previous stays.
    request_rotation(&api, "service", 2).await;
    let second = setup
        .secret_until(&identity, "service rotation 2", |s| {
            credentials::priority(s) == 2
        })
        .await;
    assert_ne!(
        second.data.as_ref().unwrap()["database.password"],
        old["database.password"]
    );
    assert_eq!(
        setup.secrets().get(&next).await.unwrap().data.as_ref(),
        Some(new)
    );

    request_rotation(&api, "service", 1).await;
    let osdpl = setup
        .osdpl_until("decrease refused", |o| {
            is(o, "CredentialsRotation", "False", "lower than 2")
        })
        .await;
    assert_eq!(
        condition(&osdpl, "CredentialsRotation").unwrap().reason,
        "RotationRefused"
    );
    setup.finish().await;
}

#[tokio::test]
async fn referenced_secrets_are_hashed_into_the_osdpl_status_and_bad_references_are_named() {
    let cluster = cluster_or_return!();
    let setup = Setup::start(cluster, "secrets-refs").await;
    let secrets = setup.secrets();
    let make = |name: &str, labelled: bool, data: Vec<(&str, Vec<u8>)>| {
        let mut secret = Secret {
            metadata: kube::api::ObjectMeta {
                name: Some(name.to_owned()),
                ..Default::default()
            },
            data: Some(
                data.into_iter()
                    .map(|(k, v)| (k.to_owned(), ByteString(v)))
                    .collect(),
            ),
            ..Default::default()
        };
        if labelled {
            secret.metadata.labels = Some(
                [(
                    rockoon_secrets::OSDPL_SECRET_LABEL.to_owned(),
                    "true".to_owned(),
                )]
                .into(),
            );
        }
        secret
    };
    let almost_one_mib = vec![b'x'; 1024 * 1024 - 256];
    for secret in [
        make("tls", true, vec![("ca.crt", b"CA-ONE".to_vec())]),
        make("plain", false, vec![("k", b"v".to_vec())]),
        make("bin", true, vec![("blob", vec![0xff, 0x00, 0xfe])]),
        make("big", true, vec![("blob", almost_one_mib)]),
    ] {
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .unwrap();
    }
    let to = |name: &str, key: &str| json!({"value_from": {"secret_key_ref": {"name": name, "key": key}}});
    let endpoints = json!({"features": {"ssl": {"public_endpoints": {
        "ca_cert": to("tls", "ca.crt"), "api_cert": to("tls", "tls.crt"), "api_key": to("plain", "k"),
        "extra_gone": to("gone", "k"), "extra_bin": to("bin", "blob"), "extra_big": to("big", "blob"),
    }}}});
    setup
        .osdpls()
        .create(&PostParams::default(), &core(&setup.ns.name, endpoints))
        .await
        .unwrap();
    let hash = |o: &OpenStackDeployment, name: &str| -> Option<String> {
        let pointer = format!("/value_from/secret/{name}/hash");
        o.status
            .as_ref()?
            .watched
            .as_ref()?
            .pointer(&pointer)?
            .as_str()
            .map(str::to_owned)
    };
    let osdpl = setup
        .osdpl_until("references reported", |o| {
            [
                "Secret tls has no key tls.crt",
                "Secret plain is not labelled",
                "Secret gone does not exist",
                "key blob of Secret bin is not UTF-8 text",
            ]
            .iter()
            .all(|needle| is(o, "SecretReferences", "False", needle))
                && hash(o, "big").is_some()
        })
        .await;
    let first = hash(&osdpl, "tls").expect("tls hashed");
    assert!(hash(&osdpl, "bin").is_some());
    assert!(
        hash(&osdpl, "plain").is_none(),
        "an unlabelled Secret was read"
    );
    assert!(
        !condition(&osdpl, "SecretReferences")
            .unwrap()
            .message
            .contains("CA-ONE")
    );

    // Editing a referenced Secret changes its hash, which is what makes osdpl re-render.
    let edit = json!({"data": {"ca.crt": "Q0EtVFdP", "tls.crt": "Q0VSVA=="}});
    secrets
        .patch("tls", &PatchParams::default(), &Patch::Merge(&edit))
        .await
        .unwrap();
    let label = json!({"metadata": {"labels": {rockoon_secrets::OSDPL_SECRET_LABEL: "true"}}});
    secrets
        .patch("plain", &PatchParams::default(), &Patch::Merge(&label))
        .await
        .unwrap();
    let osdpl = setup
        .osdpl_until("hash follows the edit", |o| {
            hash(o, "tls").is_some_and(|h| h != first) && hash(o, "plain").is_some()
        })
        .await;
    let message = &condition(&osdpl, "SecretReferences").unwrap().message;
    assert!(
        !message.contains("tls.crt") && !message.contains("plain"),
        "{message}"
    );
    setup.finish().await;
}

#[tokio::test]
async fn libvirt_and_vnc_certificates_are_generated_once_and_a_deleted_leaf_comes_back_from_its_ca()
{
    let cluster = cluster_or_return!();
    let setup = Setup::start(cluster, "certs").await;
    // The compute sample switches both libvirt TLS and noVNC TLS on.
    setup.create_and_wait(&sample(&setup.ns.name)).await;
    setup
        .osdpl_until("certificates generated", |o| {
            is(o, "Certificates", "True", "libvirt-tls, libvirt-vnc-tls")
        })
        .await;
    let by_set = ListParams::default().labels(certificates::SET_LABEL);
    let list = || async {
        setup
            .secrets()
            .list(&by_set)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|s| (s.name_any(), s))
            .collect::<BTreeMap<String, Secret>>()
    };
    let before = list().await;
    let expected: BTreeSet<&str> = certificates::SETS
        .iter()
        .flat_map(|s| s.secrets())
        .collect();
    assert_eq!(
        before.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        expected
    );
    for leaf in certificates::SETS.iter().flat_map(|s| s.leaves) {
        let secret = &before[leaf.secret];
        assert!(
            certificates::complete(leaf, secret.data.as_ref()),
            "{} lacks a key the chart mounts",
            leaf.secret
        );
        assert!(secret.metadata.owner_references.is_none());
    }

    // A deleted leaf is issued again from the same CA; nothing else changes.
    let proxy = "nova-novncproxy-vencrypt";
    let old_uid = before[proxy].metadata.uid.clone();
    setup
        .secrets()
        .delete(proxy, &DeleteParams::default())
        .await
        .unwrap();
    let back = setup
        .secret_until(proxy, "issued again", |s| {
            s.metadata.uid != old_uid && s.metadata.deletion_timestamp.is_none()
        })
        .await;
    assert_eq!(text(&back, "ca.crt"), text(&before[proxy], "ca.crt"));
    assert_ne!(text(&back, "tls.key"), text(&before[proxy], "tls.key"));
    let after = list().await;
    for (name, secret) in &before {
        if name != proxy {
            assert_eq!(after[name].data, secret.data, "{name} changed");
        }
    }
    assert!(
        !setup.binary.log().contains("PRIVATE KEY"),
        "key material in the log"
    );
    setup.finish().await;
}
