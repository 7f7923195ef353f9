//! `rockoon-ceph-exchange` against the real cluster: Ceph publishes `openstack-ceph-keys`,
//! and the OpenStack namespace gets `ConfigMap/ceph-etc` and one `<user>-rbd-keyring` per
//! Ceph user the compute sample's enabled services read; a rotated key rewrites exactly its
//! keyring and moves `status.watched.ceph.secret.hash`; malformed keys give a Warning event
//! and the `CephKeys` condition and lose nothing; a disabled service's keyring goes; a restart
//! writes nothing; deleting the keys deletes nothing.
//!
//! The binary runs alone (no osdpl): the OSDPL is only read for its enabled services and
//! written for its status. Waits are watches (`await_condition`), never sleeps.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Event, Secret};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::{Api, Client, Resource};
use rockoon_core::crd::OpenStackDeployment;
use rockoon_tests::harness::{ClusterInfo, TestNamespace, ensure_crds};
use rockoon_tests::probe::RunningBinary;
use rockoon_tests::sample::sample_osdpl;
use serde_json::{Value, json};

use crate::cluster_or_return;

const WAIT: Duration = Duration::from_secs(60);
const OSDPL: &str = "osh-dev";
const TESTS: &str = "rockoon-tests";
const FSID: &str = "8d6b5c3e-0c1f-4f59-9d1e-3b0b1d2f6a11";
const MONS: &str = "10.10.0.11:6789,10.10.0.12:6789";

fn start(cluster: &ClusterInfo, namespace: &str, ceph_namespace: &str) -> RunningBinary {
    RunningBinary::start(
        cluster,
        "ceph-exchange",
        &[
            ("OSCTL_OS_DEPLOYMENT_NAMESPACE", namespace.to_owned()),
            ("OSCTL_CEPH_SHARED_NAMESPACE", ceph_namespace.to_owned()),
            // Home of the installation's hash key.
            ("OSCTL_CONTROLLER_NAMESPACE", namespace.to_owned()),
        ],
    )
    .unwrap()
}

/// Publishes `openstack-ceph-keys` with these client entries (replacing the whole Secret).
async fn publish(client: &Client, ceph_namespace: &str, entries: &[(&str, &str)]) {
    let mut data: BTreeMap<&str, String> = BTreeMap::from([
        ("fsid", FSID.to_owned()),
        ("mon_endpoints", MONS.to_owned()),
    ]);
    data.extend(entries.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let body = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "openstack-ceph-keys"},
        "stringData": data,
    });
    let api: Api<Secret> = Api::namespaced(client.clone(), ceph_namespace);
    if api.get_opt("openstack-ceph-keys").await.unwrap().is_none() {
        api.create(
            &PostParams::default(),
            &serde_json::from_value(body).unwrap(),
        )
        .await
        .unwrap();
    } else {
        // Every step publishes the same keys, so a merge of their new values is a replacement.
        let patch = json!({"stringData": data});
        api.patch(
            "openstack-ceph-keys",
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .unwrap();
    }
}

fn entries(cinder: &str, glance: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "cinder",
            format!("client.cinder;{cinder};volumes-hdd:volumes:hdd;backup-hdd:backup:hdd"),
        ),
        (
            "glance",
            format!("client.glance;{glance};images-hdd:images:hdd"),
        ),
        (
            "nova",
            "client.nova;AQnova00==;vms:ephemeral:hdd".to_owned(),
        ),
    ]
}

async fn publish_keys(client: &Client, ceph_namespace: &str, cinder: &str, glance: &str) {
    let owned = entries(cinder, glance);
    let refs: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    publish(client, ceph_namespace, &refs).await;
}

/// Waits until the object `name` satisfies `check` (absent is `None`).
async fn until<K>(
    api: &Api<K>,
    name: &str,
    what: &str,
    binary: &RunningBinary,
    check: impl Fn(Option<&K>) -> bool,
) where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let seen = tokio::time::timeout(WAIT, await_condition(api.clone(), name, check)).await;
    assert!(
        matches!(seen, Ok(Ok(_))),
        "{what}: not seen within {WAIT:?}; log:\n{}",
        binary.log_tail()
    );
}

fn key_of(secret: Option<&Secret>) -> Option<Vec<u8>> {
    secret?.data.as_ref()?.get("key").map(|k| k.0.clone())
}

fn hash_of(osdpl: Option<&OpenStackDeployment>) -> Option<String> {
    osdpl?
        .status
        .as_ref()?
        .watched
        .as_ref()?
        .pointer("/ceph/secret/hash")?
        .as_str()
        .map(str::to_owned)
}

fn condition_of(osdpl: Option<&OpenStackDeployment>) -> Option<(String, String, String)> {
    let c = osdpl?
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "CephKeys")?
        .clone();
    Some((c.status, c.reason, c.message))
}

async fn metric(binary: &RunningBinary, name: &str, labels: &[&str]) -> f64 {
    let (_, body) = binary.get("/metrics").await.expect("metrics answer");
    body.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| labels.iter().all(|label| l.contains(label)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn version(object: &Option<Secret>) -> Option<String> {
    object.as_ref()?.metadata.resource_version.clone()
}

#[tokio::test]
async fn ceph_keys_become_keyrings_and_ceph_etc_and_follow_rotation_bad_input_and_disabling() {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "ceph-os").await.unwrap();
    let ceph_ns = TestNamespace::create(&client, "ceph-sh").await.unwrap();
    let osdpls: Api<OpenStackDeployment> = Api::namespaced(client.clone(), &ns.name);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns.name);
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns.name);

    // The compute sample: image (Glance on RBD), block-storage, compute with Ceph disks.
    let mut osdpl = sample_osdpl("compute", &ns.name).unwrap();
    osdpl["metadata"]["name"] = json!(OSDPL);
    osdpl.as_object_mut().unwrap().remove("status");
    osdpls
        .patch(
            OSDPL,
            &PatchParams::apply(TESTS).force(),
            &Patch::Apply(&osdpl),
        )
        .await
        .unwrap();
    // Another writer's hash beside ceph-exchange's: it must survive its applies.
    let other = json!({"apiVersion": "lcm.mirantis.com/v1alpha1", "kind": "OpenStackDeployment",
        "status": {"watched": {"value_from": {"secret": {"tls": {"hash": "other"}}}}}});
    osdpls
        .patch_status(
            OSDPL,
            &PatchParams::apply("rockoon-secrets").force(),
            &Patch::Apply(&other),
        )
        .await
        .unwrap();

    // Published before the binary starts: picked up at start-up.
    publish_keys(&client, &ceph_ns.name, "AQcinder1==", "AQglance1==").await;
    let mut binary = start(&cluster, &ns.name, &ceph_ns.name);
    binary.wait_ready(WAIT).await.unwrap();

    until(
        &config_maps,
        "ceph-etc",
        "ceph-etc",
        &binary,
        |c: Option<&ConfigMap>| {
            c.and_then(|c| c.data.as_ref()?.get("ceph.conf").cloned())
                == Some(format!("[global]\nfsid = {FSID}\nmon_host = {MONS}\n"))
        },
    )
    .await;
    until(
        &secrets,
        "cinder-rbd-keyring",
        "cinder keyring",
        &binary,
        |s: Option<&Secret>| key_of(s).as_deref() == Some(b"AQcinder1==".as_slice()),
    )
    .await;
    until(
        &secrets,
        "glance-rbd-keyring",
        "glance keyring",
        &binary,
        |s: Option<&Secret>| key_of(s).as_deref() == Some(b"AQglance1==".as_slice()),
    )
    .await;
    // nova's key is published, but no enabled service reads it.
    assert!(secrets.get_opt("nova-rbd-keyring").await.unwrap().is_none());
    let keyring = secrets.get("cinder-rbd-keyring").await.unwrap();
    let labels = keyring.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels["app.kubernetes.io/managed-by"],
        "rockoon-ceph-exchange"
    );
    assert_eq!(labels["lcm.mirantis.com/ceph-client"], "cinder");
    assert!(
        keyring
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .any(|m| m.manager.as_deref() == Some("rockoon-ceph-exchange")
                && m.operation.as_deref() == Some("Apply")),
        "not applied by ceph-exchange's field manager"
    );
    until(
        &osdpls,
        OSDPL,
        "hash and condition",
        &binary,
        |o: Option<&OpenStackDeployment>| {
            hash_of(o).is_some() && condition_of(o).is_some_and(|c| c.0 == "True")
        },
    )
    .await;
    let first = osdpls.get(OSDPL).await.unwrap();
    let first_hash = hash_of(Some(&first)).unwrap();
    assert_eq!(
        first.status.as_ref().unwrap().watched.as_ref().unwrap()["value_from"]["secret"]["tls"]["hash"],
        "other",
        "another manager's watched hash was lost"
    );

    // Rotation of cinder's key: only its keyring changes, and the hash moves.
    let glance_version = version(&secrets.get_opt("glance-rbd-keyring").await.unwrap());
    let config_version = config_maps
        .get("ceph-etc")
        .await
        .unwrap()
        .metadata
        .resource_version;
    publish_keys(&client, &ceph_ns.name, "AQcinder2==", "AQglance1==").await;
    until(
        &secrets,
        "cinder-rbd-keyring",
        "rotated cinder keyring",
        &binary,
        |s: Option<&Secret>| key_of(s).as_deref() == Some(b"AQcinder2==".as_slice()),
    )
    .await;
    let moved = first_hash.clone();
    until(
        &osdpls,
        OSDPL,
        "new hash",
        &binary,
        move |o: Option<&OpenStackDeployment>| hash_of(o).is_some_and(|h| h != moved),
    )
    .await;
    let rotated_hash = hash_of(osdpls.get_opt(OSDPL).await.unwrap().as_ref()).unwrap();
    assert_eq!(
        version(&secrets.get_opt("glance-rbd-keyring").await.unwrap()),
        glance_version,
        "glance's keyring was written though its key did not change"
    );
    assert_eq!(
        config_maps
            .get("ceph-etc")
            .await
            .unwrap()
            .metadata
            .resource_version,
        config_version,
        "ceph-etc was written though the monitors did not change"
    );

    // Malformed: an unknown pool role in glance's entry. Warning event and condition; the
    // keyrings and the hash stay.
    let mut bad = entries("AQcinder3==", "AQglance3==");
    bad[1].1 = "client.glance;AQglance3==;images-hdd:pictures:hdd".to_owned();
    let refs: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    publish(&client, &ceph_ns.name, &refs).await;
    until(
        &osdpls,
        OSDPL,
        "Malformed condition",
        &binary,
        |o: Option<&OpenStackDeployment>| {
            condition_of(o)
                .is_some_and(|c| c.0 == "False" && c.1 == "Malformed" && c.2.contains("key glance"))
        },
    )
    .await;
    let events: Api<Event> = Api::namespaced(client.clone(), &ns.name);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let list = events.list(&ListParams::default()).await.unwrap();
        let found = list.items.iter().any(|e| {
            e.type_.as_deref() == Some("Warning")
                && e.reason.as_deref() == Some("Malformed")
                && e.involved_object.name.as_deref() == Some(OSDPL)
        });
        if found {
            assert!(
                !serde_json::to_string(&list.items)
                    .unwrap()
                    .contains("AQglance3"),
                "a key appears in an event"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no Warning event Malformed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        key_of(
            secrets
                .get_opt("cinder-rbd-keyring")
                .await
                .unwrap()
                .as_ref()
        )
        .unwrap(),
        b"AQcinder2=="
    );
    assert_eq!(
        key_of(
            secrets
                .get_opt("glance-rbd-keyring")
                .await
                .unwrap()
                .as_ref()
        )
        .unwrap(),
        b"AQglance1=="
    );
    assert_eq!(
        hash_of(osdpls.get_opt(OSDPL).await.unwrap().as_ref()).unwrap(),
        rotated_hash
    );
    assert!(metric(&binary, "rockoon_ceph_parse_errors_total", &[]).await >= 1.0);

    // Good keys again, then image disabled: its keyring goes, cinder's stays.
    publish_keys(&client, &ceph_ns.name, "AQcinder2==", "AQglance1==").await;
    until(
        &osdpls,
        OSDPL,
        "condition back to True",
        &binary,
        |o: Option<&OpenStackDeployment>| condition_of(o).is_some_and(|c| c.0 == "True"),
    )
    .await;
    let mut services: Vec<Value> = osdpl["spec"]["features"]["services"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    services.push(json!("~image"));
    let patch = json!({"spec": {"features": {"services": services}}});
    osdpls
        .patch(OSDPL, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    until(
        &secrets,
        "glance-rbd-keyring",
        "glance keyring deleted",
        &binary,
        |s: Option<&Secret>| s.is_none(),
    )
    .await;
    assert!(
        secrets
            .get_opt("cinder-rbd-keyring")
            .await
            .unwrap()
            .is_some()
    );

    // A restart converges without writing anything.
    binary.terminate(Duration::from_secs(20)).await.unwrap();
    let cinder_version = version(&secrets.get_opt("cinder-rbd-keyring").await.unwrap());
    let config_version = config_maps
        .get("ceph-etc")
        .await
        .unwrap()
        .metadata
        .resource_version;
    let mut binary = start(&cluster, &ns.name, &ceph_ns.name);
    binary.wait_ready(WAIT).await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while metric(&binary, "rockoon_reconcile_duration_seconds_count", &[]).await < 1.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no reconcile after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        metric(&binary, "rockoon_ceph_keyring_writes_total", &[]).await,
        0.0
    );
    assert_eq!(
        metric(&binary, "rockoon_ceph_config_writes_total", &[]).await,
        0.0
    );
    assert_eq!(
        version(&secrets.get_opt("cinder-rbd-keyring").await.unwrap()),
        cinder_version
    );
    assert_eq!(
        config_maps
            .get("ceph-etc")
            .await
            .unwrap()
            .metadata
            .resource_version,
        config_version
    );

    // Deleting the publication deletes nothing; the condition says so.
    Api::<Secret>::namespaced(client.clone(), &ceph_ns.name)
        .delete("openstack-ceph-keys", &DeleteParams::default())
        .await
        .unwrap();
    until(
        &osdpls,
        OSDPL,
        "NotPublished condition",
        &binary,
        |o: Option<&OpenStackDeployment>| condition_of(o).is_some_and(|c| c.1 == "NotPublished"),
    )
    .await;
    assert!(
        secrets
            .get_opt("cinder-rbd-keyring")
            .await
            .unwrap()
            .is_some()
    );
    assert!(config_maps.get_opt("ceph-etc").await.unwrap().is_some());

    binary.terminate(Duration::from_secs(20)).await.unwrap();
    ns.delete().await.unwrap();
    ceph_ns.delete().await.unwrap();
}

/// A generation of object-storage's generated credentials, as `rockoon-secrets` writes it.
async fn credentials(
    client: &Client,
    ns: &str,
    name: &str,
    priority: i64,
    username: &str,
    password: &str,
) {
    let body = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {
            "name": name,
            "labels": {"lcm.mirantis.com/credentials": "object-storage", "app.kubernetes.io/managed-by": "rockoon"},
            "annotations": {"openstack.lcm.mirantis.com/secret_priority": priority.to_string()},
        },
        "stringData": {"identity.username": username, "identity.password": password},
    });
    Api::<Secret>::namespaced(client.clone(), ns)
        .patch(
            name,
            &PatchParams::apply("rockoon-secrets").force(),
            &Patch::Apply(&body),
        )
        .await
        .unwrap();
}

fn text(secret: Option<&Secret>, key: &str) -> Option<String> {
    let bytes = secret?.data.as_ref()?.get(key)?.0.clone();
    String::from_utf8(bytes).ok()
}

#[tokio::test]
async fn rgw_credentials_go_to_ceph_follow_a_rotation_and_go_only_with_object_storage() {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "rgw-os").await.unwrap();
    let ceph_ns = TestNamespace::create(&client, "rgw-sh").await.unwrap();
    let osdpls: Api<OpenStackDeployment> = Api::namespaced(client.clone(), &ns.name);
    let shared: Api<Secret> = Api::namespaced(client.clone(), &ceph_ns.name);

    // The compute sample enables object-storage; its public certificate is referenced.
    rockoon_tests::sample::seed_external_inputs(&client, &ns.name, &ceph_ns.name)
        .await
        .unwrap();
    credentials(
        &client,
        &ns.name,
        "generated-object-storage-passwords",
        0,
        "rgwuser1",
        "pw-one",
    )
    .await;
    let mut osdpl = sample_osdpl("compute", &ns.name).unwrap();
    osdpl["metadata"]["name"] = json!(OSDPL);
    osdpl.as_object_mut().unwrap().remove("status");
    osdpls
        .patch(
            OSDPL,
            &PatchParams::apply(TESTS).force(),
            &Patch::Apply(&osdpl),
        )
        .await
        .unwrap();
    let mut binary = start(&cluster, &ns.name, &ceph_ns.name);
    binary.wait_ready(WAIT).await.unwrap();

    until(
        &shared,
        "openstack-rgw-creds",
        "RGW credentials",
        &binary,
        |s: Option<&Secret>| text(s, "password").as_deref() == Some("pw-one"),
    )
    .await;
    let creds = shared.get_opt("openstack-rgw-creds").await.unwrap();
    let creds = creds.as_ref();
    let auth_url = format!("http://keystone-api.{}.svc.cluster.local:5000", ns.name);
    assert_eq!(text(creds, "auth_url").as_deref(), Some(auth_url.as_str()));
    assert_eq!(text(creds, "username").as_deref(), Some("rgwuser1"));
    assert_eq!(text(creds, "region_name").as_deref(), Some("RegionTwo"));
    assert_eq!(
        text(creds, "public_domain").as_deref(),
        Some("cloud.example.net")
    );
    assert_eq!(text(creds, "project_name").as_deref(), Some("service"));
    assert!(text(creds, "tls_crt").is_some_and(|c| c.contains("BEGIN CERTIFICATE")));
    assert!(text(creds, "tls_key").is_some_and(|c| c.contains("PRIVATE KEY")));
    assert!(text(creds, "barbican_url").is_some());

    // A rotation: the new generation takes over, and the Ceph side follows.
    credentials(
        &client,
        &ns.name,
        "generated-object-storage-passwords-1",
        1,
        "rgwuser2",
        "pw-two",
    )
    .await;
    until(
        &shared,
        "openstack-rgw-creds",
        "rotated RGW credentials",
        &binary,
        |s: Option<&Secret>| {
            text(s, "password").as_deref() == Some("pw-two")
                && text(s, "username").as_deref() == Some("rgwuser2")
        },
    )
    .await;

    // A restart writes nothing.
    binary.terminate(Duration::from_secs(20)).await.unwrap();
    let before = version(&shared.get_opt("openstack-rgw-creds").await.unwrap());
    let mut binary = start(&cluster, &ns.name, &ceph_ns.name);
    binary.wait_ready(WAIT).await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while metric(&binary, "rockoon_reconcile_duration_seconds_count", &[]).await < 1.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no reconcile after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        metric(&binary, "rockoon_ceph_rgw_creds_writes_total", &[]).await,
        0.0
    );
    assert_eq!(
        version(&shared.get_opt("openstack-rgw-creds").await.unwrap()),
        before
    );

    // object-storage disabled: the Secret goes.
    let mut services: Vec<Value> = osdpl["spec"]["features"]["services"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    services.retain(|s| s != "object-storage");
    services.push(json!("~object-storage"));
    let patch = json!({"spec": {"features": {"services": services}}});
    osdpls
        .patch(OSDPL, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    until(
        &shared,
        "openstack-rgw-creds",
        "RGW credentials deleted",
        &binary,
        |s: Option<&Secret>| s.is_none(),
    )
    .await;

    binary.terminate(Duration::from_secs(20)).await.unwrap();
    ns.delete().await.unwrap();
    ceph_ns.delete().await.unwrap();
}
