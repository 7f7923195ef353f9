//! `migration.<chart>.deploy_main_service: false` on a running deployment: the main release of
//! that chart is held (a spec change that would upgrade it leaves it at its revision, and it is
//! not uninstalled), the OSDPL condition `MainReleasesHeld` names it, the deployment stays
//! `APPLIED`; removing the switch upgrades it again (see docs/rockoon-compatibility.md).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::runtime::wait::await_condition;
use rockoon_core::crd::OpenStackDeployment;
use serde_json::json;

use crate::cluster_or_return;
use crate::small::{OSDPL, Small, WAIT};

/// Waits until the OSDPL has a `MainReleasesHeld` condition satisfying `check`.
async fn held_condition(small: &Small, what: &str, check: fn(&Condition) -> bool) {
    let reported = tokio::time::timeout(
        WAIT,
        await_condition(
            small.osdpls(),
            OSDPL,
            move |o: Option<&OpenStackDeployment>| {
                o.and_then(|o| o.status.as_ref()?.conditions.clone())
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.type_ == "MainReleasesHeld" && check(c))
            },
        ),
    )
    .await;
    assert!(reported.is_ok(), "{what}; log:\n{}", small.osdpl.log_tail());
}

#[tokio::test]
async fn a_held_main_release_is_neither_upgraded_nor_removed_until_the_switch_goes() {
    let cluster = cluster_or_return!();
    let small = Small::applied(&cluster, "held").await;
    let before = small.releases().await;
    let keystone = before["openstack-keystone"].clone();

    // Hold keystone, and change what its release would render.
    small
        .merge_spec(json!({
            "migration": {"keystone": {"deploy_main_service": false}},
            "features": {"logging": {"keystone": {"level": "DEBUG"}}},
        }))
        .await;
    held_condition(
        &small,
        "no MainReleasesHeld condition naming keystone",
        |c| {
            c.status == "True"
                && c.reason == "DeployMainServiceOff"
                && c.message
                    .starts_with("openstack-keystone (service identity): ")
        },
    )
    .await;
    let status = small
        .all_applied("everything applied while keystone is held")
        .await;
    assert_eq!(
        status["services"]["identity"]["state"], "APPLIED",
        "{status}"
    );
    let during = small.releases().await;
    assert_eq!(during["openstack-keystone"], keystone, "held, yet touched");
    assert_eq!(during, before, "nothing else changes either");

    // Without the switch the release is upgraded to what the spec renders.
    small
        .merge_spec(json!({"migration": {"keystone": null}}))
        .await;
    held_condition(&small, "MainReleasesHeld did not turn False", |c| {
        c.status == "False" && c.reason == "AllMainReleasesDeployed"
    })
    .await;
    let upgraded = tokio::time::timeout(WAIT, async {
        loop {
            let now = small.releases().await;
            if now["openstack-keystone"].0 > keystone.0 && now["openstack-keystone"].1 == "deployed"
            {
                return now;
            }
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        }
    })
    .await;
    assert!(
        upgraded.is_ok(),
        "keystone not upgraded after the switch went; log:\n{}",
        small.osdpl.log_tail()
    );
    small.finish().await;
}
