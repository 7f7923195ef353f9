//! The deploy chart's output on a real API server.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use rockoon_tests::devcluster::{build_components, workspace_root};
use rockoon_tests::harness::{ClusterInfo, ensure_crds};
use rockoon_tests::probe::RunningBinary;

use crate::cluster_or_return;

/// CRDs and namespaces in place, then `helm template` of the chart into `osh-system`.
async fn prepare_and_render(cluster: &ClusterInfo) -> Vec<u8> {
    ensure_crds(cluster).await.unwrap();
    rockoon_tests::suite::create_namespaces(&cluster.client().await.unwrap())
        .await
        .unwrap();
    let chart = workspace_root().join("deploy/chart/rockoon");
    let rendered = Command::new(build_components().unwrap().join("helm"))
        .args([
            "template",
            "rockoon",
            &chart.display().to_string(),
            "--namespace",
            "osh-system",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&rendered.stderr);
    assert!(rendered.status.success(), "helm template: {stderr}");
    rendered.stdout
}

/// Runs the pinned kubectl against the cluster, feeding `stdin`; returns stdout.
fn kubectl(cluster: &ClusterInfo, args: &[&str], stdin: &[u8]) -> String {
    let mut child = Command::new(build_components().unwrap().join("kubectl"))
        .args(args)
        .env("KUBECONFIG", &cluster.kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "kubectl {args:?} refused:\n{stdout}\n{stderr}"
    );
    stdout
}

#[tokio::test]
async fn chart_output_and_crds_are_accepted_by_a_server_side_dry_run() {
    let cluster = cluster_or_return!();
    let rendered = prepare_and_render(&cluster).await;
    let crds = workspace_root().join("deploy/crds").display().to_string();
    let args = [
        "apply",
        "--server-side",
        "--dry-run=server",
        "-f",
        "-",
        "-f",
        &crds,
    ];
    let stdout = kubectl(&cluster, &args, &rendered);
    for kind in [
        "deployment.apps/rockoon",
        "podmonitor.monitoring.coreos.com/rockoon",
        "clusterrole.rbac.authorization.k8s.io/rockoon",
        "openstackdeployments.lcm.mirantis.com",
    ] {
        assert!(
            stdout.contains(kind),
            "{kind} missing from the dry run:\n{stdout}"
        );
    }
}

#[tokio::test]
async fn every_binary_gets_ready_with_only_the_rbac_the_chart_grants() {
    let cluster = cluster_or_return!();
    let rendered = prepare_and_render(&cluster).await;
    kubectl(&cluster, &["apply", "--server-side", "-f", "-"], &rendered);
    let token_args = [
        "create",
        "token",
        "rockoon",
        "-n",
        "osh-system",
        "--duration=1h",
    ];
    let token = kubectl(&cluster, &token_args, b"");

    // The admin kubeconfig with the ServiceAccount's token instead of the admin one.
    let admin = std::fs::read_to_string(&cluster.kubeconfig).unwrap();
    let mut restricted: serde_json::Value = serde_norway::from_str(&admin).unwrap();
    restricted["users"][0]["user"] = serde_json::json!({"token": token.trim()});
    let path = cluster.dir.join("kubeconfig-rockoon-sa");
    std::fs::write(&path, serde_norway::to_string(&restricted).unwrap()).unwrap();

    for name in rockoon_tests::suite::BINARIES {
        let env = [
            ("KUBECONFIG", path.display().to_string()),
            ("OSCTL_CONTROLLER_NAMESPACE", "osh-system".to_owned()),
            // osdpl's cluster-wide watch of OSDPLs elsewhere (`osdpl.reportUnmanaged`),
            // matching nothing here so no other test's OSDPL is touched.
            (
                "OSCTL_UNMANAGED_SELECTOR",
                "rockoon-deploy-test=none".to_owned(),
            ),
        ];
        let mut binary = RunningBinary::start(&cluster, name, &env).unwrap();
        if let Err(error) = binary.wait_ready(Duration::from_secs(30)).await {
            panic!("rockoon-{name} with the chart's RBAC: {error:#}");
        }
        let log = binary.log();
        assert!(
            !log.contains("forbidden"),
            "rockoon-{name} was refused something:\n{log}"
        );
        assert_eq!(
            binary.terminate(Duration::from_secs(15)).await.unwrap(),
            Some(0)
        );
    }
}
