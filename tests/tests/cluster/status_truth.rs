//! The OpenStackDeploymentStatus always shows the current truth of its own OSDPL, replayed
//! against the real dev cluster: one deleted by hand comes back at once with the whole status
//! (state, progress, versions, services), never a part of it; it is deleted with its OSDPL;
//! and one left by an earlier OSDPL of the same name is replaced before the new OSDPL's first
//! status, never shown as its own.

use futures::StreamExt;
use kube::ResourceExt;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use rockoon_core::crd::OpenStackDeploymentStatus;
use serde_json::{Value, json};

use crate::cluster_or_return;
use crate::memcached_only::{Small, WAIT, applied, memcached_osdpl};

/// Whether an osdplst status shows the whole summary of an applied memcached OSDPL.
fn whole(status: &Value) -> bool {
    let summary = &status["osdpl"];
    applied(status)
        && summary["lcm_progress"] == "1/1"
        && summary["openstack_version"] == "caracal"
        && summary["controller_version"].is_string()
        && summary["fingerprint"].is_string()
}

#[tokio::test]
async fn an_osdplst_deleted_by_hand_comes_back_at_once_with_the_whole_status() {
    let cluster = cluster_or_return!();
    let setup = Small::start(cluster, "osdplst", false).await;
    setup
        .create(&memcached_osdpl("first", &setup.ns.name))
        .await;
    let old = setup.osdplst_until("first", "whole", |_, s| whole(s)).await;
    setup.idle().await;

    // Every version of the osdplst from here on, until it is back whole.
    let statuses = setup.statuses();
    let mut seen = watcher::watch_object(statuses.clone(), "first").boxed();
    // The current object first.
    let _ = tokio::time::timeout(WAIT, seen.next()).await;
    statuses
        .delete("first", &DeleteParams::default())
        .await
        .unwrap();
    let old_uid = old.uid();
    let back = tokio::time::timeout(WAIT, async {
        while let Some(event) = seen.next().await {
            let Some(current) = event.unwrap() else {
                continue;
            };
            if current.uid() == old_uid {
                continue;
            }
            let status = json!(current.status);
            // Created first, then its status written whole: no version in between shows a
            // state without the rest.
            assert!(
                status["osdpl"].is_null() || whole(&status),
                "partial status of the re-created osdplst: {status}"
            );
            if whole(&status) {
                return current;
            }
        }
        panic!("watch ended");
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "osdplst not back whole within {WAIT:?}; log:\n{}",
            setup.osdpl.log_tail()
        )
    });
    let owner = back.owner_references().first().map(|o| o.name.clone());
    assert_eq!(owner.as_deref(), Some("first"));
    setup.finish().await;
}

#[tokio::test]
async fn an_osdpl_created_again_never_shows_the_status_of_the_one_before() {
    let cluster = cluster_or_return!();
    let setup = Small::start(cluster, "again", false).await;
    let ns = setup.ns.name.clone();
    setup.create(&memcached_osdpl("first", &ns)).await;
    setup.applied("first").await;

    // Deleted with its OSDPL: gone by the time the OSDPL is.
    setup.delete("first").await;
    let left = setup.statuses().get_opt("first").await.unwrap();
    assert!(left.is_none(), "osdplst outlived its OSDPL: {left:?}");

    // One left behind anyway (written by hand here, as by an older controller), APPLIED.
    let stale: OpenStackDeploymentStatus = serde_json::from_value(json!({
        "apiVersion": "lcm.mirantis.com/v1alpha1",
        "kind": "OpenStackDeploymentStatus",
        "metadata": {"name": "first", "namespace": ns},
        "spec": {},
    }))
    .unwrap();
    let stale = setup
        .statuses()
        .create(&PostParams::default(), &stale)
        .await
        .unwrap();
    let shown = json!({"status": {"osdpl": {"state": "APPLIED"}, "services": {"memcached": {"state": "APPLIED"}}}});
    setup
        .statuses()
        .patch_status("first", &PatchParams::default(), &Patch::Merge(&shown))
        .await
        .unwrap();

    // A new OSDPL of that name, a draft: its osdplst says DRAFT, owned by it, nothing else.
    let mut draft = memcached_osdpl("first", &ns);
    draft.spec.draft = Some(true);
    let created = setup.create(&draft).await;
    let fresh = setup
        .osdplst_until("first", "a fresh DRAFT osdplst", |o, s| {
            o.uid() != stale.uid() && s["osdpl"]["state"] == "DRAFT"
        })
        .await;
    let status = json!(fresh.status);
    assert!(status["services"].is_null(), "{status}");
    let owner = fresh.owner_references().first().map(|o| o.uid.clone());
    assert_eq!(owner, created.uid());
    setup.finish().await;
}
