//! `rockoon-osdpl diff` against real Helm releases on the dev cluster.

use std::path::Path;
use std::process::Command;

use rockoon_tests::devcluster::build_components;
use rockoon_tests::harness::TestNamespace;
use rockoon_tests::suite::{binary_path, current_target_dir};

use crate::cluster_or_return;

fn osdpl(namespace: &str, replicas: Option<u32>) -> String {
    let services = replicas.map_or(String::new(), |n| {
        format!("  services:\n    memcached:\n      memcached:\n        values:\n          pod:\n            replicas:\n              server: {n}\n")
    });
    format!(
        "apiVersion: lcm.mirantis.com/v1alpha1\nkind: OpenStackDeployment\nmetadata:\n  name: osh\n  namespace: {namespace}\nspec:\n  openstack_version: caracal\n  preset: core\n  size: tiny\n  public_domain_name: it.example.com\n{services}"
    )
}

fn osdpl_cli(args: &[&str], kubeconfig: &Path, helm: &Path) -> (Option<i32>, String) {
    let out = Command::new(binary_path(&current_target_dir().unwrap(), "osdpl"))
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("OSCTL_HELM_BINARY", helm)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

#[tokio::test]
async fn diff_shows_what_a_change_of_the_spec_would_change_in_an_installed_release() {
    let cluster = cluster_or_return!();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "diff").await.unwrap();
    let dir = cluster.dir.join(&ns.name);
    std::fs::create_dir_all(dir.join("chart")).unwrap();
    // A chart with no templates: Helm stores the release and its values, nothing else.
    std::fs::write(
        dir.join("chart/Chart.yaml"),
        "apiVersion: v2\nname: memcached\nversion: 0.1.0\n",
    )
    .unwrap();
    let file = dir.join("osdpl.yaml");
    std::fs::write(&file, osdpl(&ns.name, None)).unwrap();
    let helm = build_components().unwrap().join("helm");
    let file_arg = file.display().to_string();

    let diff = ["diff", "-f", &file_arg, "--service", "memcached"];
    let (code, text) = osdpl_cli(&diff, &cluster.kubeconfig, &helm);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("=== openstack-memcached") && text.contains("+ not installed"),
        "{text}"
    );

    // Install exactly what render produces, then nothing differs.
    let (code, json) = osdpl_cli(
        &[
            "render",
            "-f",
            &file_arg,
            "--service",
            "memcached",
            "-o",
            "json",
        ],
        &cluster.kubeconfig,
        &helm,
    );
    assert_eq!(code, Some(0), "{json}");
    let rendered: serde_json::Value = serde_json::from_str(&json).unwrap();
    let values = &rendered["services"][0][1]["releases"][0]["values"];
    std::fs::write(dir.join("values.json"), values.to_string()).unwrap();
    let install = Command::new(&helm)
        .args(["upgrade", "--install", "openstack-memcached"])
        .arg(dir.join("chart"))
        .args(["--namespace", &ns.name, "--values"])
        .arg(dir.join("values.json"))
        .env("KUBECONFIG", &cluster.kubeconfig)
        .output()
        .unwrap();
    assert!(
        install.status.success(),
        "{}",
        String::from_utf8_lossy(&install.stderr)
    );
    let (code, text) = osdpl_cli(&diff, &cluster.kubeconfig, &helm);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("(no changes)"), "{text}");

    // One override changed: exactly that value differs.
    std::fs::write(&file, osdpl(&ns.name, Some(7))).unwrap();
    let (code, text) = osdpl_cli(&diff, &cluster.kubeconfig, &helm);
    assert_eq!(code, Some(1), "{text}");
    let changes: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(['+', '-', '~']))
        .collect();
    assert_eq!(changes, vec!["~ pod.replicas.server: 1 -> 7"], "{text}");
    ns.delete().await.unwrap();
}
