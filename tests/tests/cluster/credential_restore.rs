//! `rockoon-secrets` against the real cluster: deleting a credential Secret never changes a
//! credential. The Secret comes back from its protected copy byte for byte (usernames too),
//! whether it is deleted while the binary runs or while it is down, every other value stays,
//! a deleted copy is made again, and a Warning event and the `CredentialsRestored` condition
//! name the Secret (never a value).
//!
//! One binary against its own namespace (OpenStack and controller namespace alike); waits by
//! watching (`await_condition`), never by sleeping.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::{Api, Client, ResourceExt};
use rockoon_core::crd::OpenStackDeployment;
use rockoon_core::credentials;
use rockoon_tests::harness::{ClusterInfo, TestNamespace, ensure_crds};
use rockoon_tests::probe::RunningBinary;
use serde_json::json;

use crate::cluster_or_return;

const WAIT: Duration = Duration::from_secs(90);
const OSDPL: &str = "osh-dev";
const BACKUP_LABEL: &str = "lcm.mirantis.com/credentials-backup";

type Data = BTreeMap<String, ByteString>;

async fn start_secrets(cluster: &ClusterInfo, namespace: &str) -> RunningBinary {
    let env = [
        ("OSCTL_OS_DEPLOYMENT_NAMESPACE", namespace.to_owned()),
        ("OSCTL_CONTROLLER_NAMESPACE", namespace.to_owned()),
        ("OSCTL_SECRETS_DEBOUNCE_MS", "50".to_owned()),
    ];
    let mut binary = RunningBinary::start(cluster, "secrets", &env).unwrap();
    binary.wait_ready(WAIT).await.unwrap();
    binary
}

/// A small core deployment.
fn core(namespace: &str) -> OpenStackDeployment {
    serde_json::from_value(json!({
        "apiVersion": "lcm.mirantis.com/v1alpha1",
        "kind": "OpenStackDeployment",
        "metadata": {"name": OSDPL, "namespace": namespace},
        "spec": {
            "openstack_version": "caracal", "preset": "core", "size": "tiny",
            "public_domain_name": "it.example.com",
        },
    }))
    .unwrap()
}

/// Secrets selected by `label`, by name: (uid, labels, annotations, data).
async fn by_label(
    api: &Api<Secret>,
    label: &str,
) -> BTreeMap<String, (String, BTreeMap<String, String>, Option<String>, Data)> {
    let list = api
        .list(&ListParams::default().labels(label))
        .await
        .unwrap();
    list.items
        .into_iter()
        .map(|s| {
            let priority = s
                .annotations()
                .get(credentials::PRIORITY_ANNOTATION)
                .cloned();
            let labels = s.labels().clone();
            let uid = s.uid().unwrap_or_default();
            (
                s.name_any(),
                (uid, labels, priority, s.data.unwrap_or_default()),
            )
        })
        .collect()
}

/// Waits until `check` holds for the Secret `name`; fails with the binary's log.
async fn secret_until(
    api: &Api<Secret>,
    binary: &RunningBinary,
    name: &str,
    what: &str,
    check: impl Fn(&Secret) -> bool,
) -> Secret {
    let found = tokio::time::timeout(
        WAIT,
        await_condition(api.clone(), name, move |s: Option<&Secret>| {
            s.is_some_and(&check)
        }),
    )
    .await;
    match found {
        Ok(Ok(Some(secret))) => secret,
        _ => panic!("{what}: not within {WAIT:?}; log:\n{}", binary.log_tail()),
    }
}

/// Waits until every credential Secret has a protected copy with its data.
async fn copies_complete(api: &Api<Secret>, binary: &RunningBinary) {
    let deadline = tokio::time::Instant::now() + WAIT;
    // Polled with a deadline: the condition spans two label selectors.
    loop {
        let live = by_label(api, credentials::OWNER_LABEL).await;
        let copies = by_label(api, BACKUP_LABEL).await;
        let complete = !live.is_empty()
            && live.iter().all(|(name, (_, _, _, data))| {
                copies
                    .get(&format!("{name}-backup"))
                    .is_some_and(|c| &c.3 == data)
            });
        if complete {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "copies incomplete: {:?} vs {:?}; log:\n{}",
            live.keys().collect::<Vec<_>>(),
            copies.keys().collect::<Vec<_>>(),
            binary.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

type Credentials = BTreeMap<String, (String, BTreeMap<String, String>, Option<String>, Data)>;

/// Waits until `name`, deleted after `before` was read, is a new object (another uid) with
/// exactly the old data, labels and priority, and every other credential is unchanged.
async fn see_restored(api: &Api<Secret>, binary: &RunningBinary, name: &str, before: &Credentials) {
    let (old_uid, labels, priority, data) = before[name].clone();
    let restored = secret_until(api, binary, name, "restored", move |s| {
        s.uid().is_some_and(|uid| uid != old_uid)
    })
    .await;
    assert_eq!(
        restored.data.clone().unwrap_or_default(),
        data,
        "{name}: same values"
    );
    assert_eq!(restored.labels(), &labels, "{name}: same labels");
    assert_eq!(
        restored.annotations().get(credentials::PRIORITY_ANNOTATION),
        priority.as_ref(),
        "{name}: same generation priority"
    );
    let after = by_label(api, credentials::OWNER_LABEL).await;
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "no Secret added or lost"
    );
    for (other, (_, _, _, data)) in before {
        assert_eq!(
            &after[other].3, data,
            "{other} changed after deleting {name}"
        );
    }
}

/// Waits until the OSDPL's `CredentialsRestored` condition names `name`.
async fn condition_names(client: &Client, ns: &str, binary: &RunningBinary, name: &str) {
    let osdpls: Api<OpenStackDeployment> = Api::namespaced(client.clone(), ns);
    let needle = name.to_owned();
    let seen = tokio::time::timeout(
        WAIT,
        await_condition(osdpls, OSDPL, move |o: Option<&OpenStackDeployment>| {
            o.and_then(|o| o.status.as_ref()?.conditions.as_ref())
                .into_iter()
                .flatten()
                .any(|c| {
                    c.type_ == "CredentialsRestored"
                        && c.status == "True"
                        && c.message.contains(&needle)
                })
        }),
    )
    .await;
    assert!(
        matches!(seen, Ok(Ok(Some(_)))),
        "CredentialsRestored naming {name}; log:\n{}",
        binary.log_tail()
    );
}

/// Warning events `CredentialsRestored` on the OSDPL, as their messages.
async fn restore_events(client: &Client, ns: &str) -> Vec<String> {
    let events: Api<Event> = Api::namespaced(client.clone(), ns);
    let list = events.list(&ListParams::default()).await.unwrap();
    list.items
        .into_iter()
        .filter(|e| {
            e.reason.as_deref() == Some("CredentialsRestored")
                && e.type_.as_deref() == Some("Warning")
                && e.involved_object.name.as_deref() == Some(OSDPL)
        })
        .filter_map(|e| e.message)
        .collect()
}

/// Every value of `credentials` long enough to be secret is absent from `texts`.
fn assert_no_value_in(credentials: &Credentials, texts: &[String]) {
    for (_, _, _, data) in credentials.values() {
        for bytes in data.values() {
            let Ok(value) = std::str::from_utf8(&bytes.0) else {
                continue;
            };
            if value.len() >= 12 {
                assert!(texts.iter().all(|t| !t.contains(value)), "a value leaked");
            }
        }
    }
}

#[tokio::test]
async fn a_deleted_credential_secret_comes_back_with_the_same_values_while_running_or_down() {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "restore").await.unwrap();
    let mut binary = start_secrets(&cluster, &ns.name).await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns.name);
    let osdpls: Api<OpenStackDeployment> = Api::namespaced(client.clone(), &ns.name);
    osdpls
        .create(&PostParams::default(), &core(&ns.name))
        .await
        .unwrap();
    copies_complete(&secrets, &binary).await;

    // Deleted while the binary runs: a service's Secret, usernames and all.
    let before = by_label(&secrets, credentials::OWNER_LABEL).await;
    let service = before
        .keys()
        .find(|n| n.starts_with("generated-") && n.ends_with("-passwords"))
        .cloned()
        .expect("a service credential Secret");
    secrets
        .delete(&service, &DeleteParams::default())
        .await
        .unwrap();
    see_restored(&secrets, &binary, &service, &before).await;
    condition_names(&client, &ns.name, &binary, &service).await;
    let events = restore_events(&client, &ns.name).await;
    assert!(
        events.iter().any(|m| m.contains(&service)),
        "a Warning event names {service}: {events:?}"
    );
    let (_, metrics) = binary.get("/metrics").await.expect("metrics answer");
    assert!(
        metrics
            .lines()
            .filter(|l| l.starts_with("rockoon_credentials_restored_total{"))
            .any(|l| l.contains("group=\"service\"") && l.ends_with(" 1")),
        "one service restore counted:\n{metrics}"
    );

    // Deleted while the binary is down: the copy outlives the process.
    binary.kill().await.unwrap();
    let before = by_label(&secrets, credentials::OWNER_LABEL).await;
    let admin = "openstack-admin-users";
    secrets
        .delete(admin, &DeleteParams::default())
        .await
        .unwrap();
    binary = start_secrets(&cluster, &ns.name).await;
    see_restored(&secrets, &binary, admin, &before).await;
    condition_names(&client, &ns.name, &binary, admin).await;

    // A deleted copy is made again from its Secret.
    let copy = format!("{service}-backup");
    let old_copy = secrets.get(&copy).await.unwrap();
    secrets
        .delete(&copy, &DeleteParams::default())
        .await
        .unwrap();
    let old_uid = old_copy.uid();
    let remade = secret_until(&secrets, &binary, &copy, "copy made again", move |s| {
        s.uid() != old_uid
    })
    .await;
    assert_eq!(remade.data, old_copy.data, "the copy holds the same values");

    let mut texts = restore_events(&client, &ns.name).await;
    let status = osdpls.get(OSDPL).await.unwrap().status;
    texts.push(serde_json::to_string(&status).unwrap());
    texts.push(binary.log());
    assert_no_value_in(&before, &texts);
    binary.terminate(Duration::from_secs(20)).await.unwrap();
    ns.delete().await.unwrap();
}

/// Starts `rockoon-osdpl` against `namespace` (OpenStack, Ceph and controller namespace).
async fn start_osdpl(cluster: &ClusterInfo, namespace: &str) -> RunningBinary {
    let env = [
        ("OSCTL_OS_DEPLOYMENT_NAMESPACE", namespace.to_owned()),
        ("OSCTL_CEPH_SHARED_NAMESPACE", namespace.to_owned()),
        ("OSCTL_CONTROLLER_NAMESPACE", namespace.to_owned()),
    ];
    let mut binary = RunningBinary::start(cluster, "osdpl", &env).unwrap();
    binary.wait_ready(WAIT).await.unwrap();
    binary
}

/// Sum of the samples of `name` whose labels contain every one of `labels`.
async fn metric(binary: &RunningBinary, name: &str, labels: &[&str]) -> f64 {
    let (_, body) = binary.get("/metrics").await.expect("metrics answer");
    body.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| labels.iter().all(|label| l.contains(label)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Latest revision of each helm release of the namespace, from helm's storage labels.
async fn revisions(secrets: &Api<Secret>) -> BTreeMap<String, u32> {
    let helm = ListParams::default().labels("owner=helm");
    let mut latest = BTreeMap::new();
    for s in secrets.list_metadata(&helm).await.unwrap() {
        let revision: u32 = s.labels()["version"].parse().unwrap();
        let entry = latest.entry(s.labels()["name"].clone()).or_insert(0);
        *entry = revision.max(*entry);
    }
    latest
}

#[tokio::test]
async fn deleting_every_credential_secret_under_a_running_osdpl_upgrades_no_release() {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "restore-osdpl")
        .await
        .unwrap();
    rockoon_tests::sample::seed_external_inputs(&client, &ns.name, &ns.name)
        .await
        .unwrap();
    let secrets_binary = start_secrets(&cluster, &ns.name).await;
    let osdpl_binary = start_osdpl(&cluster, &ns.name).await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns.name);
    let osdpls: Api<OpenStackDeployment> = Api::namespaced(client.clone(), &ns.name);
    // The database (MariaDB reads the admin database account) and memcached: small, and a
    // release that renders a credential.
    let mut osdpl = core(&ns.name);
    let removed: Vec<String> = [
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
    osdpl.spec.features = serde_json::from_value(json!({"services": removed})).unwrap();
    // Leaving out messaging (stateful) must be confirmed.
    osdpl.metadata.annotations = Some(BTreeMap::from([(
        "lcm.mirantis.com/confirm-removal".to_owned(),
        "messaging".to_owned(),
    )]));
    osdpls.create(&PostParams::default(), &osdpl).await.unwrap();
    let statuses: Api<rockoon_core::crd::OpenStackDeploymentStatus> =
        Api::namespaced(client.clone(), &ns.name);
    let applied = tokio::time::timeout(
        WAIT,
        await_condition(
            statuses,
            OSDPL,
            |s: Option<&rockoon_core::crd::OpenStackDeploymentStatus>| {
                s.and_then(|s| s.status.as_ref())
                    .is_some_and(|s| json!(s)["osdpl"]["state"] == "APPLIED")
            },
        ),
    )
    .await;
    assert!(
        matches!(applied, Ok(Ok(Some(_)))),
        "not APPLIED; osdpl log:\n{}",
        osdpl_binary.log_tail()
    );
    copies_complete(&secrets, &secrets_binary).await;
    let released = revisions(&secrets).await;
    assert!(released.contains_key("openstack-mariadb"), "{released:?}");
    let upgrades = metric(
        &osdpl_binary,
        "rockoon_helm_operations_total",
        &["op=\"upgrade\""],
    )
    .await;

    // Every credential Secret at once, as `kubectl delete secret -l` would.
    let before = by_label(&secrets, credentials::OWNER_LABEL).await;
    let labelled = ListParams::default().labels(credentials::OWNER_LABEL);
    secrets
        .delete_collection(&DeleteParams::default(), &labelled)
        .await
        .unwrap();
    for name in before.keys() {
        see_restored(&secrets, &secrets_binary, name, &before).await;
    }

    // A reconcile forced after the restore (touching an annotation) sees the restored values;
    // any upgrade the deletion caused happened before it finished.
    let reconciles = metric(
        &osdpl_binary,
        "rockoon_reconcile_duration_seconds_count",
        &[],
    )
    .await;
    let touch = json!({"metadata": {"annotations": {"test/touch": "1"}}});
    osdpls
        .patch(
            OSDPL,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&touch),
        )
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    // Polling the controller's own counters: there is no object to watch for "nothing happened".
    loop {
        let done = metric(
            &osdpl_binary,
            "rockoon_reconcile_duration_seconds_count",
            &[],
        )
        .await;
        let queued = metric(&osdpl_binary, "rockoon_reconcile_queue_depth", &[]).await;
        if done > reconciles && queued == 0.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no reconcile finished"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        revisions(&secrets).await,
        released,
        "no release got a new revision"
    );
    assert_eq!(
        metric(
            &osdpl_binary,
            "rockoon_helm_operations_total",
            &["op=\"upgrade\""]
        )
        .await,
        upgrades,
        "no helm upgrade; osdpl log:\n{}",
        osdpl_binary.log_tail()
    );

    osdpls
        .delete(OSDPL, &DeleteParams::default())
        .await
        .unwrap();
    tokio::time::timeout(
        WAIT,
        await_condition(osdpls, OSDPL, |o: Option<&OpenStackDeployment>| o.is_none()),
    )
    .await
    .expect("OSDPL deleted")
    .unwrap();
    let (mut osdpl_binary, mut secrets_binary) = (osdpl_binary, secrets_binary);
    osdpl_binary
        .terminate(Duration::from_secs(20))
        .await
        .unwrap();
    secrets_binary
        .terminate(Duration::from_secs(20))
        .await
        .unwrap();
    ns.delete().await.unwrap();
}
