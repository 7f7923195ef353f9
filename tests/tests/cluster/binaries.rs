//! Each of the five binaries against the real cluster: ready only after its first sync,
//! observable, and a clean exit on SIGTERM.

use std::time::Duration;

use rockoon_tests::harness::ensure_crds;
use rockoon_tests::probe::RunningBinary;

use crate::cluster_or_return;

/// Binary name and the watches whose first list must complete before it is ready.
const BINARIES: &[(&str, &[&str])] = &[
    ("osdpl", &["OpenStackDeployment"]),
    ("secrets", &["Secret"]),
    ("health", &["Deployment", "StatefulSet", "DaemonSet"]),
    ("node", &["Node", "NodeWorkloadLock"]),
    ("ceph-exchange", &["Secret"]),
];

async fn check_binary(name: &str, watches: &[&str]) {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let mut binary = RunningBinary::start(&cluster, name, &[]).unwrap();
    let earlier = binary.wait_ready(Duration::from_secs(30)).await.unwrap();
    let log = binary.log();
    for watch in watches {
        let line = log
            .lines()
            .find(|l| {
                l.contains("initial list complete") && l.contains(&format!("resource=\"{watch}\""))
            })
            .unwrap_or_else(|| panic!("rockoon-{name} was ready before listing {watch}:\n{log}"));
        assert!(!line.is_empty());
    }
    assert!(
        earlier.iter().all(|(status, _)| *status == 503),
        "non-503 answer before ready: {earlier:?}"
    );

    let (status, _) = binary.get("/livez").await.expect("livez answers");
    assert_eq!(status, 200);
    let (status, metrics) = binary.get("/metrics").await.expect("metrics answer");
    assert_eq!(status, 200);
    for watch in watches {
        let found = metrics.lines().any(|l| {
            l.starts_with("rockoon_watched_objects{")
                && l.contains(&format!("controller=\"{name}\""))
                && l.contains(&format!("resource=\"{watch}\""))
        });
        assert!(
            found,
            "no rockoon_watched_objects series for {watch} in:\n{metrics}"
        );
    }

    let code = binary.terminate(Duration::from_secs(15)).await.unwrap();
    assert_eq!(
        code,
        Some(0),
        "rockoon-{name} exit code after SIGTERM; log:\n{}",
        binary.log_tail()
    );
    assert!(
        binary.log().contains("stopped"),
        "no shutdown line in {}",
        binary.log_path().display()
    );
}

#[tokio::test]
async fn osdpl_is_ready_after_listing_osdpls_and_exits_zero_on_sigterm() {
    check_binary(BINARIES[0].0, BINARIES[0].1).await;
}

#[tokio::test]
async fn secrets_is_ready_after_listing_secrets_and_exits_zero_on_sigterm() {
    check_binary(BINARIES[1].0, BINARIES[1].1).await;
}

#[tokio::test]
async fn health_is_ready_after_listing_all_three_workload_kinds_and_exits_zero_on_sigterm() {
    check_binary(BINARIES[2].0, BINARIES[2].1).await;
}

#[tokio::test]
async fn node_is_ready_after_listing_nodes_and_exits_zero_on_sigterm() {
    check_binary(BINARIES[3].0, BINARIES[3].1).await;
}

#[tokio::test]
async fn ceph_exchange_is_ready_after_listing_its_secrets_and_exits_zero_on_sigterm() {
    check_binary(BINARIES[4].0, BINARIES[4].1).await;
}
