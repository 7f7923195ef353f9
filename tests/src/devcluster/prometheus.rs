//! Prometheus for the dev cluster: finds the suite's pods through the Kubernetes API and
//! scrapes the five admin ports, as a user's Prometheus would.
//!
//! Started by `devcluster up --prometheus` (`make run`) after the control plane is healthy,
//! and by the pod tests for their own namespace. Discovery is `kubernetes_sd_configs` with the
//! pod role and the cluster's admin kubeconfig; the relabelling keeps the containers of pods
//! labelled `app.kubernetes.io/part-of=rockoon` whose port is one of the chart's admin port
//! names (`m-…`, the ports its Service and PodMonitor name), and gives each target a
//! `controller` label, its container name. The binaries put the same `controller` label on
//! every series (docs/metrics.md), so `honor_labels` keeps theirs and nothing is renamed.
//!
//! The binary comes from the Go module proxy (tests/cluster/go/prometheus, built by
//! `tests/cluster/build.sh` without the web UI's assets): it serves the UI pages from disk,
//! so [`start`] runs it in the folder `tests/cluster/prometheus-ui.sh` builds
//! ([`super::prometheus_ui`]). Without that folder the HTTP API (`/api/v1/targets`,
//! `/api/v1/query`) works and the UI pages answer 500.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use super::components::{Component, http_get, tail};

/// How long Prometheus may take to answer `/-/ready`.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// What to discover and where to keep the data.
#[derive(Debug, Clone)]
pub struct Config {
    /// Kubeconfig Prometheus discovers pods with.
    pub kubeconfig: PathBuf,
    /// Only pods of these namespaces; empty: every namespace.
    pub namespaces: Vec<String>,
    /// Seconds between scrapes (and between rule evaluations).
    pub scrape_interval_seconds: u32,
}

/// A running Prometheus.
pub struct Prometheus {
    /// The process, registered with the cluster's components so teardown finds it.
    pub component: Component,
    /// Its HTTP port on 127.0.0.1.
    pub port: u16,
    /// Whether it runs in a built web UI's folder (else only its HTTP API works).
    pub web_ui: bool,
}

impl Prometheus {
    /// Base URL of its HTTP API and UI.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// The configuration file's text (YAML). Kept a pure function so the relabelling is checked
/// without a cluster.
pub fn config_yaml(config: &Config) -> String {
    let namespaces = if config.namespaces.is_empty() {
        String::new()
    } else {
        let names = config
            .namespaces
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ");
        format!("\n        namespaces:\n          names: [{names}]")
    };
    let interval = config.scrape_interval_seconds;
    format!(
        r#"# Written by devcluster (tests/src/devcluster/prometheus.rs).
global:
  scrape_interval: {interval}s
  scrape_timeout: {interval}s
  evaluation_interval: {interval}s
scrape_configs:
  - job_name: rockoon
    # The binaries label every series `controller` themselves; keep theirs.
    honor_labels: true
    metrics_path: /metrics
    kubernetes_sd_configs:
      - role: pod
        kubeconfig_file: "{kubeconfig}"{namespaces}
    relabel_configs:
      # The suite's pods (the chart's `app.kubernetes.io/part-of` label) ...
      - source_labels: [__meta_kubernetes_pod_label_app_kubernetes_io_part_of]
        regex: rockoon
        action: keep
      # ... one target per admin port (the chart names them m-<controller>) ...
      - source_labels: [__meta_kubernetes_pod_container_port_name]
        regex: m-.+
        action: keep
      # ... of running pods only (a finished pod keeps its IP in the API).
      - source_labels: [__meta_kubernetes_pod_phase]
        regex: Running
        action: keep
      - source_labels: [__meta_kubernetes_pod_container_name]
        target_label: controller
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
      - source_labels: [__meta_kubernetes_pod_name]
        target_label: pod
      - source_labels: [__meta_kubernetes_pod_node_name]
        target_label: node
"#,
        kubeconfig = config.kubeconfig.display(),
    )
}

/// Starts Prometheus from `bin_dir` with its configuration and data in `<dir>/prometheus`,
/// and waits until it is ready. `web_ui` is the folder [`super::prometheus_ui::build`]
/// returned: Prometheus runs in it to serve the UI's pages.
pub async fn start(
    bin_dir: &Path,
    dir: &Path,
    config: &Config,
    web_ui: Option<&Path>,
) -> Result<Prometheus> {
    let program = std::path::absolute(bin_dir.join("prometheus"))?;
    if !program.exists() {
        bail!(
            "step 'find prometheus': {} does not exist; run tests/cluster/build.sh",
            program.display()
        );
    }
    // Absolute paths: Prometheus may run in the web UI's folder, not in ours.
    let home = std::path::absolute(dir.join("prometheus"))?;
    let config = &Config {
        kubeconfig: std::path::absolute(&config.kubeconfig)?,
        ..config.clone()
    };
    std::fs::create_dir_all(home.join("data")).context("creating the Prometheus folder")?;
    std::fs::create_dir_all(dir.join("logs"))?;
    let file = home.join("prometheus.yml");
    std::fs::write(&file, config_yaml(config)).context("writing prometheus.yml")?;
    let port = super::ports::free_port()?;
    let args = vec![
        format!("--config.file={}", file.display()),
        format!("--storage.tsdb.path={}", home.join("data").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
        // A disposable cluster: a day of samples is plenty and keeps the folder small.
        "--storage.tsdb.retention.time=1d".into(),
        "--log.level=warn".into(),
    ];
    let mut component = Component::spawn_in("prometheus", &program, &args, dir, &[], web_ui)?;
    component.register_in(super::stray::COMPONENTS)?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        component.check_alive()?;
        if let Ok(answer) = http_get(port, "/-/ready").await
            && answer.starts_with("HTTP/1.0 200")
        {
            return Ok(Prometheus {
                component,
                port,
                web_ui: web_ui.is_some(),
            });
        }
        if Instant::now() > deadline {
            bail!(
                "prometheus not ready after {START_TIMEOUT:?}; log tail:\n{}",
                tail(&component.log, 20)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(config: &Config) -> serde_json::Value {
        serde_norway::from_str(&config_yaml(config)).unwrap()
    }

    #[test]
    fn the_config_discovers_pods_with_the_kubeconfig_and_labels_each_target_by_container() {
        let yaml = parsed(&Config {
            kubeconfig: PathBuf::from("/run/cluster/kubeconfig"),
            namespaces: Vec::new(),
            scrape_interval_seconds: 5,
        });
        let job = &yaml["scrape_configs"][0];
        assert_eq!(job["honor_labels"], true);
        let sd = &job["kubernetes_sd_configs"][0];
        assert_eq!(sd["role"], "pod");
        assert_eq!(sd["kubeconfig_file"], "/run/cluster/kubeconfig");
        assert!(sd.get("namespaces").is_none(), "every namespace: {sd}");
        let rules = job["relabel_configs"].as_array().unwrap();
        let controller = rules
            .iter()
            .find(|r| r["target_label"] == "controller")
            .unwrap();
        assert_eq!(
            controller["source_labels"][0],
            "__meta_kubernetes_pod_container_name"
        );
        let kept: Vec<_> = rules
            .iter()
            .filter(|r| r["action"] == "keep")
            .map(|r| {
                (
                    r["source_labels"][0].as_str().unwrap(),
                    r["regex"].as_str().unwrap(),
                )
            })
            .collect();
        assert!(kept.contains(&(
            "__meta_kubernetes_pod_label_app_kubernetes_io_part_of",
            "rockoon"
        )));
        assert!(kept.contains(&("__meta_kubernetes_pod_container_port_name", "m-.+")));
        assert_eq!(yaml["global"]["scrape_interval"], "5s");
    }

    #[test]
    fn a_namespace_list_limits_discovery_to_those_namespaces() {
        let yaml = parsed(&Config {
            kubeconfig: PathBuf::from("/k"),
            namespaces: vec!["t-pod-1".into(), "t-pod-2".into()],
            scrape_interval_seconds: 2,
        });
        assert_eq!(
            yaml["scrape_configs"][0]["kubernetes_sd_configs"][0]["namespaces"]["names"],
            serde_json::json!(["t-pod-1", "t-pod-2"])
        );
    }
}
