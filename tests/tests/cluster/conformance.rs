//! The conformance check (`rockoon_tests::conformance`) on the two sample OSDPLs: each applied
//! in a namespace of its own by its own `rockoon-osdpl` and `rockoon-secrets`, with the charts
//! the suite gives `rockoon-osdpl`, until APPLIED; then every check runs on the namespace and
//! the report must be empty. Every finding is printed, so a failure lists all of them at once.

use std::time::Duration;

use rockoon_tests::conformance::{self, run};
use rockoon_tests::harness::{TestNamespace, ensure_crds};
use rockoon_tests::sample;

use crate::cluster_or_return;

/// The upstream charts of a whole sample on 2 shared cores stay under this.
const APPLY_WAIT: Duration = Duration::from_secs(900);
const DELETE_WAIT: Duration = Duration::from_secs(300);

async fn sample_conforms(name: &str) {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, &format!("conf-{name}"))
        .await
        .unwrap();
    let controller_ns = TestNamespace::create(&client, "ctl").await.unwrap();
    let osdpl = sample::sample_osdpl(name, &ns.name).unwrap();
    let prefix = run::images_prefix(&osdpl);
    let mut deployment = run::Deployment::start(&cluster, &ns.name, &controller_ns.name, osdpl)
        .await
        .unwrap();
    let applied = deployment.wait_applied(APPLY_WAIT).await;
    let helm = rockoon_tests::devcluster::build_components()
        .unwrap()
        .join("helm");
    // Checked whether or not it applied: the findings often say why it did not.
    let report = conformance::check(
        &client,
        &ns.name,
        &helm,
        &cluster.kubeconfig,
        prefix.as_deref(),
    )
    .await;
    let report = report.unwrap();
    eprintln!(
        "conformance of the {name} sample (namespace {}):\n{report}",
        ns.name
    );
    // Uninstalled through the controller, so the charts' cluster-scoped objects go too.
    let deleted = deployment.delete(DELETE_WAIT).await;
    deployment.stop().await.unwrap();
    ns.delete().await.unwrap();
    controller_ns.delete().await.unwrap();
    if let Err(error) = applied {
        panic!("the {name} sample was not APPLIED: {error:#}\n\nconformance:\n{report}");
    }
    deleted.unwrap();
    assert!(
        report.is_empty(),
        "the {name} sample applied, with findings:\n{report}"
    );
}

#[tokio::test]
async fn the_compute_sample_applied_from_the_charts_has_no_conformance_finding() {
    sample_conforms("compute").await;
}

#[tokio::test]
async fn the_core_sample_applied_from_the_charts_has_no_conformance_finding() {
    sample_conforms("core").await;
}
