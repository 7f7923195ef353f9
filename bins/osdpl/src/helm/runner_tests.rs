//! The runner against a stand-in helm (a shell script): what a timeout leaves behind.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

/// A fresh directory under the system temp dir for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rockoon-helm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A "helm" that starts a long-lived child, writes its pid to `pidfile`, and hangs.
fn hanging_helm(dir: &Path, pidfile: &Path) -> PathBuf {
    let script = dir.join("helm");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nsleep 600 &\necho $! > {}\nwait\n",
            pidfile.display()
        ),
    )
    .unwrap();
    let status = std::process::Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    assert!(status.success());
    script
}

fn alive(pid: &str) -> bool {
    // A killed child of the killed script becomes a zombie until init reaps it.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.split(' ').nth(2).is_none_or(|state| state != "Z"))
}

#[tokio::test]
async fn a_timed_out_helm_is_killed_with_everything_it_started() {
    let dir = scratch("timeout");
    let pidfile = dir.join("child.pid");
    let config = HelmConfig {
        binary: hanging_helm(&dir, &pidfile),
        kubeconfig: None,
        kube_context: None,
        timeout: Duration::from_secs(2),
        history_max: 3,
        home: dir.clone(),
    };
    let metrics = HelmMetrics::register(&Registry::new()).unwrap();
    let helm = Helm::new(config, metrics);

    let result = helm.rollback("r", "ns").await;
    assert!(
        matches!(result, Err(HelmError::Timeout { .. })),
        "{result:?}"
    );

    let pid = std::fs::read_to_string(&pidfile).unwrap().trim().to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while alive(&pid) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!alive(&pid), "helm's child {pid} outlived the timeout");
    let _ = std::fs::remove_dir_all(&dir);
}

fn config(binary: PathBuf, dir: &Path) -> HelmConfig {
    HelmConfig {
        binary,
        kubeconfig: None,
        kube_context: None,
        timeout: Duration::from_secs(60),
        history_max: 3,
        home: dir.to_owned(),
    }
}

#[tokio::test]
async fn a_standby_starts_no_helm_at_all() {
    let dir = scratch("standby");
    let pidfile = dir.join("child.pid");
    let metrics = HelmMetrics::register(&Registry::new()).unwrap();
    let helm = Helm::new(config(hanging_helm(&dir, &pidfile), &dir), metrics)
        .fenced_by(LeaderGate::elected());

    let result = helm.uninstall("r", "ns").await;
    assert!(
        matches!(result, Err(HelmError::NotLeader { op: "uninstall" })),
        "{result:?}"
    );
    assert!(!pidfile.exists(), "helm ran on a standby");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn helm_running_when_the_term_ends_is_killed_with_everything_it_started() {
    let dir = scratch("term-end");
    let pidfile = dir.join("child.pid");
    let metrics = HelmMetrics::register(&Registry::new()).unwrap();
    let gate = LeaderGate::elected();
    let now = std::time::Instant::now();
    gate.extend(now + Duration::from_secs(2), now);
    let helm =
        Helm::new(config(hanging_helm(&dir, &pidfile), &dir), metrics).fenced_by(gate.clone());

    let result = tokio::time::timeout(Duration::from_secs(20), helm.rollback("r", "ns")).await;
    assert!(
        matches!(result, Ok(Err(HelmError::NotLeader { op: "rollback" }))),
        "{result:?}"
    );
    assert!(
        now.elapsed() < Duration::from_secs(10),
        "killed late: {:?}",
        now.elapsed()
    );

    let pid = std::fs::read_to_string(&pidfile).unwrap().trim().to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while alive(&pid) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!alive(&pid), "helm's child {pid} outlived the term");
    let _ = std::fs::remove_dir_all(&dir);
}
