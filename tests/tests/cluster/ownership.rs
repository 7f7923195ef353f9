//! One OpenStack per namespace, replayed from outside against the real dev cluster: a second
//! OSDPL in a namespace is marked `CONFLICT` (state, condition, event naming the owner) and
//! never renders, applies, generates or reports health; releases left labelled as its own
//! (what a fight used to leave) are neither upgraded by the owner nor uninstalled when it is
//! deleted; a release whose owner is gone is adopted with an event; and when the owner is
//! deleted, the next OSDPL takes over the namespace. An OSDPL outside the managed namespace
//! gets a status saying so.
//!
//! memcached alone (see [`crate::memcached_only`]): one real release, no deployment slot.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use rockoon_core::crd::OpenStackDeployment;
use rockoon_tests::harness::TestNamespace;
use serde_json::json;

use crate::cluster_or_return;
use crate::memcached_only::{OSDPL_LABEL, Small, WAIT, applied, memcached_osdpl, start_with};

const RELEASE: &str = "openstack-memcached";
const FINALIZER: &str = "lcm.mirantis.com/rockoon-osdpl";

fn with_replicas(mut osdpl: OpenStackDeployment, replicas: u32) -> OpenStackDeployment {
    let value = json!({"memcached": {"values": {"pod": {"replicas": {"server": replicas}}}}});
    let mut spec = json!(osdpl.spec);
    spec["services"] = json!({"memcached": value});
    osdpl.spec = serde_json::from_value(spec).unwrap();
    osdpl
}

fn condition<'a>(
    osdpl: &'a OpenStackDeployment,
    kind: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    osdpl
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == kind)
}

fn in_conflict(osdpl: &OpenStackDeployment) -> bool {
    osdpl.status.as_ref().and_then(|s| s.state.as_deref()) == Some("CONFLICT")
        && condition(osdpl, "Conflict").is_some_and(|c| c.status == "True")
}

#[tokio::test]
async fn a_second_osdpl_in_a_namespace_is_refused_touches_nothing_and_the_owner_keeps_its_releases()
{
    let cluster = cluster_or_return!();
    let setup = Small::start(cluster, "owner", true).await;
    let ns = setup.ns.name.clone();
    setup.create(&memcached_osdpl("first", &ns)).await;
    setup.applied("first").await;
    let before = setup.releases().await;
    assert_eq!(before[RELEASE].2.as_deref(), Some("first"), "{before:?}");

    // A second OSDPL that would render memcached differently.
    setup
        .create(&with_replicas(memcached_osdpl("second", &ns), 3))
        .await;
    let second = setup
        .osdpl_until("second", "second in CONFLICT", in_conflict)
        .await;
    let message = &condition(&second, "Conflict").unwrap().message;
    assert!(message.contains("first"), "{message}");
    assert!(
        !second.finalizers().iter().any(|f| f == FINALIZER),
        "an OSDPL in conflict gets no finalizer: {:?}",
        second.finalizers()
    );
    let event = setup.event("second", "Conflict").await;
    assert!(event.message.unwrap_or_default().contains("first"));
    setup
        .osdplst_until("second", "osdplst CONFLICT", |_, s| {
            s["osdpl"]["state"] == "CONFLICT" && s["services"].is_null()
        })
        .await;
    setup
        .osdplst_until("first", "owner's health written", |_, s| {
            applied(s) && s["osdpl"]["health"].is_string()
        })
        .await;
    setup.idle().await;
    assert_eq!(
        setup.releases().await,
        before,
        "the second OSDPL changed releases"
    );
    let second = setup.osdpls().get("second").await.unwrap();
    assert!(
        condition(&second, "Credentials").is_none(),
        "secrets worked for an OSDPL in conflict: {:?}",
        second.status
    );
    let shown = setup.statuses().get("second").await.unwrap();
    let shown = json!(shown.status);
    assert!(
        shown["health"].is_null() && shown["osdpl"]["health"].is_null(),
        "health written for an OSDPL in conflict: {shown}"
    );

    // What a fight used to leave: the release labelled as the second's, which holds the
    // finalizer. The owner does not upgrade it, even with a change of its own.
    label_release(&setup, "second").await;
    let osdpls = setup.osdpls();
    let finalizer = json!({"metadata": {"finalizers": [FINALIZER]}});
    osdpls
        .patch("second", &PatchParams::default(), &Patch::Merge(&finalizer))
        .await
        .unwrap();
    let changed = json!({"spec": {"services": {"memcached": {"memcached": {"values": {"pod": {"replicas": {"server": 2}}}}}}}});
    osdpls
        .patch("first", &PatchParams::default(), &Patch::Merge(&changed))
        .await
        .unwrap();
    let refused = setup
        .osdplst_until("first", "memcached refused", |_, s| {
            let cause = s["services"]["memcached"]["cause"]
                .as_str()
                .unwrap_or_default();
            s["services"]["memcached"]["state"] == "WAITING" && cause.contains("second")
        })
        .await;
    setup.idle().await;
    let now = setup.releases().await;
    assert_eq!(now[RELEASE].0, before[RELEASE].0, "upgraded: {refused:?}");

    // Deleting the second uninstalls nothing, although the release carries its label; the
    // owner then adopts the release, whose labelled owner is gone.
    setup.delete("second").await;
    let releases = setup.releases().await;
    assert!(
        releases.get(RELEASE).is_some_and(|r| r.1 == "deployed"),
        "deleting the OSDPL in conflict removed {RELEASE}: {releases:?}"
    );
    setup.applied("first").await;
    let adopted = setup.event("first", "Adopted").await;
    assert!(adopted.message.unwrap_or_default().contains(RELEASE));
    let after = setup.releases().await;
    assert_eq!(after[RELEASE].2.as_deref(), Some("first"), "{after:?}");
    assert!(after[RELEASE].0 > before[RELEASE].0, "{after:?}");
    setup.finish().await;
}

#[tokio::test]
async fn when_the_owner_is_deleted_the_next_osdpl_takes_over_the_namespace() {
    let cluster = cluster_or_return!();
    let setup = Small::start(cluster, "handoff", false).await;
    let ns = setup.ns.name.clone();
    setup.create(&memcached_osdpl("first", &ns)).await;
    setup.applied("first").await;
    setup.create(&memcached_osdpl("second", &ns)).await;
    setup
        .osdpl_until("second", "second in CONFLICT", in_conflict)
        .await;

    setup
        .osdpls()
        .delete("first", &DeleteParams::default())
        .await
        .unwrap();
    setup.gone("first").await;
    let taken = setup
        .osdpl_until("second", "second owns the namespace", |o| {
            o.status.as_ref().and_then(|s| s.state.as_deref()) == Some("APPLIED")
        })
        .await;
    assert!(
        condition(&taken, "Conflict").is_none(),
        "{:?}",
        taken.status
    );
    setup.applied("second").await;
    let releases = setup.releases().await;
    assert_eq!(
        releases[RELEASE].2.as_deref(),
        Some("second"),
        "{releases:?}"
    );
    setup.finish().await;
}

#[tokio::test]
async fn an_osdpl_outside_the_managed_namespace_is_told_so_and_nothing_is_done_for_it() {
    let cluster = cluster_or_return!();
    rockoon_tests::harness::ensure_crds(&cluster).await.unwrap();
    let client = cluster.client().await.unwrap();
    let managed = TestNamespace::create(&client, "managed").await.unwrap();
    let elsewhere = TestNamespace::create(&client, "elsewhere").await.unwrap();
    // Only this test's OSDPLs: other tests' osdpl binaries manage their own namespaces.
    let label = format!("rockoon-test-{}", elsewhere.name);
    let selector = ("OSCTL_UNMANAGED_SELECTOR", format!("{label}=yes"));
    let mut osdpl = start_with(&cluster, "osdpl", &managed.name, &managed.name, &[selector]).await;
    let mut stray = memcached_osdpl("stray", &elsewhere.name);
    stray.metadata.labels = Some([(label, "yes".to_owned())].into());
    let osdpls: Api<OpenStackDeployment> = Api::namespaced(client.clone(), &elsewhere.name);
    osdpls.create(&Default::default(), &stray).await.unwrap();
    let told = tokio::time::timeout(
        WAIT,
        kube::runtime::wait::await_condition(
            osdpls.clone(),
            "stray",
            |o: Option<&OpenStackDeployment>| {
                o.is_some_and(|o| {
                    o.status.as_ref().and_then(|s| s.state.as_deref()) == Some("UNMANAGED")
                })
            },
        ),
    )
    .await
    .unwrap_or_else(|_| panic!("no UNMANAGED state; log:\n{}", osdpl.log_tail()))
    .unwrap()
    .unwrap();
    let ready = condition(&told, "Ready").unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "NamespaceNotManaged")
    );
    assert!(ready.message.contains(&managed.name), "{}", ready.message);
    assert!(told.finalizers().is_empty(), "{:?}", told.finalizers());
    let storage: Api<Secret> = Api::namespaced(client.clone(), &elsewhere.name);
    let releases = storage
        .list_metadata(&ListParams::default().labels("owner=helm"))
        .await
        .unwrap();
    assert!(
        releases.items.is_empty(),
        "releases installed outside the managed namespace"
    );
    osdpl
        .terminate(std::time::Duration::from_secs(20))
        .await
        .unwrap();
    osdpls
        .delete("stray", &DeleteParams::default())
        .await
        .unwrap();
    managed.delete().await.unwrap();
    elsewhere.delete().await.unwrap();
}

/// Labels the latest revision of the release as belonging to `osdpl`.
async fn label_release(setup: &Small, osdpl: &str) {
    let revision = setup.releases().await[RELEASE].0;
    let storage: Api<Secret> = Api::namespaced(setup.client.clone(), &setup.ns.name);
    let labels: BTreeMap<&str, &str> = [(OSDPL_LABEL, osdpl)].into();
    storage
        .patch(
            &format!("sh.helm.release.v1.{RELEASE}.v{revision}"),
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"labels": labels}})),
        )
        .await
        .unwrap();
}
