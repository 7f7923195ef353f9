//! The suite as its real pod on the dev cluster's real node: the image `make image` built,
//! imported into the node's containerd, the chart (deploy/chart/rockoon) installed with the
//! pinned helm, and the pod watched until its five containers are Ready. From the host side,
//! the pod's processes are found through /proc (uid 42424 and the pod's cgroup) to read their
//! memory or freeze one.
//!
//! Used by `devcluster install-suite` (`make run`) and the `pod` cluster tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::{Api, Client};
use serde_json::{Value, json};

use crate::devcluster::workspace_root;

pub mod dev;

/// The uid (and gid) every container of the chart runs as.
pub const SUITE_UID: u32 = 42424;

/// One helm release of the chart.
#[derive(Debug, Clone)]
pub struct Release {
    /// Release name (also its `app.kubernetes.io/instance` label).
    pub name: String,
    /// Release namespace.
    pub namespace: String,
    /// Values files, in order (later ones win).
    pub values_files: Vec<PathBuf>,
    /// Values of this run, written to a file of the run folder and passed last.
    pub overrides: Value,
}

/// How the host reaches the real node of a dev cluster, and the node the API server.
#[derive(Debug, Clone)]
pub struct NodeAccess {
    /// Where a pod with the host network on the real node reaches the API server.
    pub api_host: String,
    /// The API server's port.
    pub api_port: u16,
    /// The node's folders and containerd socket.
    pub layout: crate::devcluster::real_node::config::Layout,
}

impl NodeAccess {
    /// The real node of the cluster in run folder `dir` (admin `kubeconfig`); fails, saying
    /// why, when the cluster runs without one.
    pub fn of_cluster(dir: &Path, kubeconfig: &Path) -> Result<Self> {
        let state = crate::devcluster::state::State::read(dir)
            .with_context(|| format!("no cluster in {}", dir.display()))?;
        if state.real_node.is_none() {
            bail!(
                "no real node: {}",
                state
                    .real_node_skipped
                    .unwrap_or_else(|| "the cluster was started without --real-node".into())
            );
        }
        let (api_host, api_port) = apiserver_address(kubeconfig)?;
        Ok(Self {
            api_host,
            api_port,
            layout: crate::devcluster::real_node::config::Layout::new(dir),
        })
    }

    /// Imports an OCI image archive into the node's containerd (the `k8s.io` namespace the
    /// kubelet uses), so pods with `imagePullPolicy: Never` find it.
    pub fn import_image(&self, archive: &Path) -> Result<()> {
        crate::devcluster::real_node::import_image(&self.layout, archive)
    }
}

/// The API server's host and port, from the admin kubeconfig's `server: https://<host>:<port>`.
/// The dev cluster's API server listens on loopback, which a pod with the host network on the
/// host's own node reaches as the admin does (and the serving certificate names).
fn apiserver_address(kubeconfig: &Path) -> Result<(String, u16)> {
    let text = std::fs::read_to_string(kubeconfig)
        .with_context(|| format!("reading {}", kubeconfig.display()))?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .and_then(|url| {
            let (host, port) = url
                .strip_prefix("https://")?
                .trim_end_matches('/')
                .rsplit_once(':')?;
            Some((host.to_owned(), port.parse().ok()?))
        })
        .with_context(|| format!("no server URL in {}", kubeconfig.display()))
}

/// The values a dev-cluster run adds to deploy/dev/values.yaml: where the pod reaches the API
/// server, and the host folder of the prepared upstream charts (mounted at /charts).
pub fn run_overrides(api_host: &str, api_port: u16, charts_dir: &Path) -> Value {
    json!({
        "apiServerOverride": {"host": api_host, "port": api_port.to_string()},
        "extraVolumes": [{
            "name": "charts",
            "hostPath": {"path": charts_dir.display().to_string(), "type": "Directory"},
        }],
    })
}

/// The chart of the repository.
pub fn chart_dir() -> PathBuf {
    workspace_root().join("deploy/chart/rockoon")
}

/// `helm upgrade --install` of `release` (or an upgrade with `--reuse-values` when
/// `reuse_values`), with helm's own folders in `run_dir` so the user's are left alone.
pub fn helm_upgrade(
    helm: &Path,
    kubeconfig: &Path,
    run_dir: &Path,
    release: &Release,
    reuse_values: bool,
) -> Result<()> {
    let home = run_dir.join("helm-home-pod");
    std::fs::create_dir_all(&home)?;
    let overrides = run_dir.join(format!(
        "values-{}-{}.json",
        release.namespace, release.name
    ));
    std::fs::write(&overrides, serde_json::to_vec_pretty(&release.overrides)?)?;
    let mut command = Command::new(helm);
    command
        .args(["upgrade", "--install", &release.name])
        .arg(chart_dir())
        .args(["--namespace", &release.namespace])
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"));
    if reuse_values {
        command.arg("--reuse-values");
    }
    for file in &release.values_files {
        command.arg("-f").arg(file);
    }
    command.arg("-f").arg(&overrides);
    let output = command.output().context("running helm")?;
    if !output.status.success() {
        bail!(
            "helm upgrade --install {} failed: {}",
            release.name,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Selector of the pods of a release of the chart.
pub fn selector(release: &str) -> String {
    format!("app.kubernetes.io/part-of=rockoon,app.kubernetes.io/instance={release}")
}

/// Ready containers and all containers of a pod.
pub fn ready_count(pod: &Pod) -> (usize, usize) {
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.clone())
        .unwrap_or_default();
    let total = pod.spec.as_ref().map_or(0, |s| s.containers.len());
    (statuses.iter().filter(|s| s.ready).count(), total)
}

/// Waits until a pod of `release`, not being deleted and not `skip` (an old pod's uid), has
/// all its containers Ready; returns it. A timeout names each container's waiting reason.
pub async fn wait_ready(
    client: &Client,
    namespace: &str,
    release: &str,
    skip: Option<&str>,
    timeout: Duration,
) -> Result<Pod> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let params = ListParams::default().labels(&selector(release));
    let deadline = Instant::now() + timeout;
    loop {
        let pods = api.list(&params).await?.items;
        let candidate = pods
            .into_iter()
            .find(|p| p.metadata.deletion_timestamp.is_none() && p.metadata.uid.as_deref() != skip);
        if let Some(pod) = &candidate {
            let (ready, total) = ready_count(pod);
            if total > 0 && ready == total {
                return Ok(candidate.expect("just matched"));
            }
        }
        if Instant::now() > deadline {
            bail!(
                "no pod of release {release} in {namespace} Ready after {timeout:?}: {}",
                candidate.as_ref().map_or("no pod".to_owned(), describe)
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One line per container: ready, restarts, and why it waits.
pub fn describe(pod: &Pod) -> String {
    let status = pod.status.clone().unwrap_or_default();
    let mut parts = vec![format!(
        "pod {} phase {}",
        pod.metadata.name.as_deref().unwrap_or("?"),
        status.phase.unwrap_or_default()
    )];
    for c in status.container_statuses.unwrap_or_default() {
        let waiting = c
            .state
            .and_then(|s| s.waiting)
            .map(|w| {
                format!(
                    " waiting {} {}",
                    w.reason.unwrap_or_default(),
                    w.message.unwrap_or_default()
                )
            })
            .unwrap_or_default();
        parts.push(format!(
            "{} ready={} restarts={}{waiting}",
            c.name, c.ready, c.restart_count
        ));
    }
    if let Some(conditions) = pod.status.as_ref().and_then(|s| s.conditions.as_ref()) {
        for c in conditions.iter().filter(|c| c.status != "True") {
            parts.push(format!(
                "{} {} {}",
                c.type_,
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default()
            ));
        }
    }
    parts.join("; ")
}

/// A process of the suite's pod, seen from the host.
#[derive(Debug, Clone)]
pub struct PodProcess {
    /// Host pid.
    pub pid: u32,
    /// Its program's file name (`rockoon-osdpl`, `helm`, ...).
    pub program: String,
    /// Resident memory, KiB.
    pub rss_kib: u64,
}

/// The processes of the pod with `pod_uid` running as the suite's uid: a process belongs to
/// the pod when its cgroup path names the pod (`pod<uid>`; the systemd driver writes the
/// uid with underscores).
pub fn pod_processes(pod_uid: &str) -> Result<Vec<PodProcess>> {
    let dashed = format!("pod{pod_uid}");
    let underscored = format!("pod{}", pod_uid.replace('-', "_"));
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let Ok(pid) = entry?.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // Processes come and go while we read: a vanished one is skipped.
        let (Ok(status), Ok(cgroup), Ok(cmdline)) = (
            std::fs::read_to_string(format!("/proc/{pid}/status")),
            std::fs::read_to_string(format!("/proc/{pid}/cgroup")),
            std::fs::read(format!("/proc/{pid}/cmdline")),
        ) else {
            continue;
        };
        if status_field(&status, "Uid:").and_then(|v| v.split_whitespace().next())
            != Some(&SUITE_UID.to_string())
        {
            continue;
        }
        if !cgroup.contains(&dashed) && !cgroup.contains(&underscored) {
            continue;
        }
        let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
        let program = Path::new(&*String::from_utf8_lossy(argv0))
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let rss_kib = status_field(&status, "VmRSS:")
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        found.push(PodProcess {
            pid,
            program,
            rss_kib,
        });
    }
    Ok(found)
}

fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .map(str::trim)
}

/// Resident memory of the pod's processes, KiB, by program.
pub fn rss_by_program(processes: &[PodProcess]) -> BTreeMap<String, u64> {
    let mut by = BTreeMap::new();
    for p in processes {
        *by.entry(p.program.clone()).or_insert(0) += p.rss_kib;
    }
    by
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_overrides_point_the_pod_at_the_api_server_and_mount_the_charts_folder() {
        let v = run_overrides("10.0.0.5", 6443, Path::new("/cache/charts/osh-1"));
        assert_eq!(v["apiServerOverride"]["host"], "10.0.0.5");
        assert_eq!(v["apiServerOverride"]["port"], "6443");
        assert_eq!(
            v["extraVolumes"][0]["hostPath"]["path"],
            "/cache/charts/osh-1"
        );
        // The name deploy/dev/values.yaml mounts into the osdpl container.
        let dev: Value = serde_norway::from_str(
            &std::fs::read_to_string(workspace_root().join("deploy/dev/values.yaml")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            dev["controllers"]["osdpl"]["extraVolumeMounts"][0]["name"],
            v["extraVolumes"][0]["name"]
        );
    }

    #[test]
    fn the_api_server_address_is_read_from_the_kubeconfig() {
        let dir = std::env::temp_dir().join(format!("rockoon-pod-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("kubeconfig");
        std::fs::write(
            &file,
            "clusters:\n- cluster:\n    server: https://127.0.0.1:36443\n",
        )
        .unwrap();
        assert_eq!(
            apiserver_address(&file).unwrap(),
            ("127.0.0.1".to_owned(), 36443)
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn this_process_is_not_taken_for_a_pod_process() {
        let mine = pod_processes("00000000-0000-0000-0000-000000000000").unwrap();
        assert!(mine.is_empty(), "{mine:?}");
    }

    #[test]
    fn rss_is_summed_per_program() {
        let p = |program: &str, rss_kib| PodProcess {
            pid: 1,
            program: program.into(),
            rss_kib,
        };
        let by = rss_by_program(&[p("rockoon-osdpl", 10), p("helm", 5), p("helm", 7)]);
        assert_eq!(by["helm"], 12);
        assert_eq!(by["rockoon-osdpl"], 10);
    }
}
