//! A Rockoon service this version cannot render, enabled on a running deployment: it becomes
//! its own `UNSUPPORTED` osdplst entry with why and a line in the OSDPL condition
//! `UnsupportedServices`, while everything else stays applied and the deployment `APPLIED`
//! (see docs/rockoon-compatibility.md).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::Api;
use kube::runtime::wait::await_condition;
use rockoon_core::crd::OpenStackDeployment;
use serde_json::json;

use crate::cluster_or_return;
use crate::small::{OSDPL, Small, WAIT};

#[tokio::test]
async fn an_unrenderable_rockoon_service_is_reported_unsupported_and_the_rest_stays_applied() {
    let cluster = cluster_or_return!();
    let small = Small::applied(&cluster, "unsupported").await;
    let releases_before = small.releases().await;

    // The small OSDPL's own removals, plus Mirantis' stepler test suite.
    small
        .merge_spec(json!({"features": {"services": [
            "~coordination", "~ingress", "~placement", "~image", "~compute", "~networking",
            "~dashboard", "stepler",
        ]}}))
        .await;
    let status = small
        .status_until("stepler reported UNSUPPORTED", |s| {
            s["services"]["stepler"]["state"] == "UNSUPPORTED"
        })
        .await;
    assert_eq!(status["osdpl"]["state"], "APPLIED", "{status}");
    assert!(
        status["services"]["stepler"]["cause"]
            .as_str()
            .is_some_and(|c| c.contains("stepler")),
        "{status}"
    );
    let others = status["services"].as_object().unwrap();
    assert!(
        others
            .iter()
            .filter(|(name, _)| *name != "stepler")
            .all(|(_, s)| s["state"] == "APPLIED"),
        "{status}"
    );

    let osdpls: Api<OpenStackDeployment> = small.osdpls();
    let condition = |c: &Condition| {
        c.type_ == "UnsupportedServices" && c.status == "True" && c.message.starts_with("stepler: ")
    };
    let reported = tokio::time::timeout(
        WAIT,
        await_condition(osdpls, OSDPL, move |o: Option<&OpenStackDeployment>| {
            o.and_then(|o| o.status.as_ref()?.conditions.clone())
                .unwrap_or_default()
                .iter()
                .any(condition)
        }),
    )
    .await;
    assert!(
        reported.is_ok(),
        "no UnsupportedServices condition naming stepler; log:\n{}",
        small.osdpl.log_tail()
    );
    // Nothing was installed, upgraded or removed for it.
    assert_eq!(small.releases().await, releases_before);
}
