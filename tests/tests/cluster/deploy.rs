//! The deploy chart's output on a real API server.

use std::io::Write as _;
use std::process::{Command, Stdio};

use rockoon_tests::devcluster::{build_components, workspace_root};
use rockoon_tests::harness::ensure_crds;

use crate::cluster_or_return;

#[tokio::test]
async fn chart_output_and_crds_are_accepted_by_a_server_side_dry_run() {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    rockoon_tests::suite::create_namespaces(&cluster.client().await.unwrap())
        .await
        .unwrap();
    let bin = build_components().unwrap();
    let chart = workspace_root().join("deploy/chart/rockoon");
    let rendered = Command::new(bin.join("helm"))
        .args([
            "template",
            "rockoon",
            &chart.display().to_string(),
            "--namespace",
            "osh-system",
        ])
        .output()
        .unwrap();
    assert!(
        rendered.status.success(),
        "helm template: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );

    let mut apply = Command::new(bin.join("kubectl"))
        .args([
            "apply",
            "--server-side",
            "--dry-run=server",
            "-f",
            "-",
            "-f",
        ])
        .arg(workspace_root().join("deploy/crds"))
        .env("KUBECONFIG", &cluster.kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    apply
        .stdin
        .take()
        .unwrap()
        .write_all(&rendered.stdout)
        .unwrap();
    let out = apply.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "dry run refused:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for kind in [
        "deployment.apps/rockoon",
        "podmonitor.monitoring.coreos.com/rockoon",
        "clusterrole.rbac.authorization.k8s.io/rockoon",
    ] {
        assert!(
            stdout.contains(kind),
            "{kind} missing from the dry run:\n{stdout}"
        );
    }
}

fn kubectl(
    cluster: &rockoon_tests::harness::ClusterInfo,
    args: &[&str],
    stdin: Option<&[u8]>,
) -> String {
    let bin = build_components().unwrap();
    let mut child = Command::new(bin.join("kubectl"))
        .args(args)
        .env("KUBECONFIG", &cluster.kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn every_binary_gets_ready_with_only_the_rbac_the_chart_grants() {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    rockoon_tests::suite::create_namespaces(&cluster.client().await.unwrap())
        .await
        .unwrap();
    let bin = build_components().unwrap();
    let chart = workspace_root().join("deploy/chart/rockoon");
    let rendered = Command::new(bin.join("helm"))
        .args([
            "template",
            "rockoon",
            &chart.display().to_string(),
            "--namespace",
            "osh-system",
        ])
        .output()
        .unwrap();
    assert!(rendered.status.success());
    kubectl(
        &cluster,
        &["apply", "--server-side", "-f", "-"],
        Some(&rendered.stdout),
    );
    let token = kubectl(
        &cluster,
        &[
            "create",
            "token",
            "rockoon",
            "-n",
            "osh-system",
            "--duration=1h",
        ],
        None,
    );

    // The admin kubeconfig with the ServiceAccount's token instead of the admin one.
    let admin: serde_json::Value =
        serde_norway::from_str(&std::fs::read_to_string(&cluster.kubeconfig).unwrap()).unwrap();
    let mut restricted = admin.clone();
    restricted["users"][0]["user"] = serde_json::json!({"token": token.trim()});
    let path = cluster.dir.join("kubeconfig-rockoon-sa");
    std::fs::write(&path, serde_norway::to_string(&restricted).unwrap()).unwrap();

    for name in rockoon_tests::suite::BINARIES {
        let env = [
            ("KUBECONFIG", path.display().to_string()),
            ("OSCTL_CONTROLLER_NAMESPACE", "osh-system".to_owned()),
        ];
        let mut binary = rockoon_tests::probe::RunningBinary::start(&cluster, name, &env).unwrap();
        binary
            .wait_ready(std::time::Duration::from_secs(30))
            .await
            .unwrap_or_else(|e| panic!("rockoon-{name} with the chart's RBAC: {e:#}"));
        assert!(
            !binary.log().contains("forbidden"),
            "rockoon-{name} was refused something:\n{}",
            binary.log_tail()
        );
        assert_eq!(
            binary
                .terminate(std::time::Duration::from_secs(15))
                .await
                .unwrap(),
            Some(0)
        );
    }
}
