//! What `make run` does with the suite's pod (`devcluster install-suite`, `devcluster
//! pod-rss`): the whole install on the running dev cluster of a run folder, and its memory
//! read from the host.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use super::{NodeAccess, Release};
use crate::devcluster::state::State;

/// `devcluster install-suite`'s arguments.
#[derive(Debug, Clone)]
pub struct Install {
    /// OCI archive of the image.
    pub image: PathBuf,
    /// Values files, in order.
    pub values: Vec<PathBuf>,
    /// Release name.
    pub release: String,
    /// Release namespace.
    pub namespace: String,
    /// How long to wait for 5/5 Ready.
    pub timeout: Duration,
}

/// Imports the image, installs the CRDs and the sample's inputs, installs the chart and waits
/// for the pod; prints what it did and how long `helm install` → Ready took.
pub async fn install_suite(dir: &Path, install: &Install) -> Result<()> {
    let state = State::read(dir).with_context(|| format!("no cluster in {}", dir.display()))?;
    let node = NodeAccess::of_cluster(dir, &state.kubeconfig)?;
    let bin_dir = crate::devcluster::build_components()?;
    let client = crate::devcluster::client_for(&state.kubeconfig).await?;

    let started = Instant::now();
    node.import_image(&install.image)
        .context("step 'import the image into the real node's containerd'")?;
    println!(
        "image {} imported into the real node's containerd in {:.1} s",
        install.image.display(),
        started.elapsed().as_secs_f64()
    );
    crate::suite::install_crds(&client)
        .await
        .context("step 'install CRDs'")?;
    crate::sample::seed_external_inputs(&client, "openstack", "openstack-ceph-shared")
        .await
        .context("step 'create the sample's TLS, OIDC, Vault and Ceph Secrets'")?;
    let charts = crate::devcluster::upstream_charts()?;
    let release = Release {
        name: install.release.clone(),
        namespace: install.namespace.clone(),
        values_files: install.values.clone(),
        overrides: super::run_overrides(&node.api_host, node.api_port, &charts),
    };
    let helm_started = Instant::now();
    super::helm_upgrade(
        &bin_dir.join("helm"),
        &state.kubeconfig,
        dir,
        &release,
        false,
    )
    .context("step 'helm upgrade --install'")?;
    let pod = super::wait_ready(
        &client,
        &install.namespace,
        &install.release,
        None,
        install.timeout,
    )
    .await
    .context("step 'wait for the suite's pod'")?;
    let (ready, total) = super::ready_count(&pod);
    println!(
        "pod {}/{} {ready}/{total} Ready on {} {:.1} s after helm upgrade --install",
        install.namespace,
        pod.metadata.name.as_deref().unwrap_or("?"),
        pod.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .unwrap_or("?"),
        helm_started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Prints the pod's resident memory by program; with `seconds`, samples that long and
/// prints the peak of the total too.
pub async fn print_rss(dir: &Path, namespace: &str, release: &str, seconds: u64) -> Result<()> {
    let state = State::read(dir).with_context(|| format!("no cluster in {}", dir.display()))?;
    let client = crate::devcluster::client_for(&state.kubeconfig).await?;
    let pod = super::wait_ready(&client, namespace, release, None, Duration::from_secs(5)).await?;
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let first = super::pod_processes(&uid)?;
    for (program, kib) in super::rss_by_program(&first) {
        println!("  {program:<24} {:>7.1} MiB", kib as f64 / 1024.0);
    }
    let total = |ps: &[super::PodProcess]| ps.iter().map(|p| p.rss_kib).sum::<u64>();
    println!(
        "pod RSS: {:.1} MiB ({} processes)",
        total(&first) as f64 / 1024.0,
        first.len()
    );
    if seconds > 0 {
        let mut peak = total(&first);
        for _ in 0..seconds {
            tokio::time::sleep(Duration::from_secs(1)).await;
            peak = peak.max(total(&super::pod_processes(&uid)?));
        }
        println!(
            "pod RSS peak over {seconds} s: {:.1} MiB",
            peak as f64 / 1024.0
        );
    }
    Ok(())
}

/// Prints the active targets of the cluster's Prometheus (`devcluster up --prometheus`), one
/// line each, as its web UI's targets page lists them, then where that page is (or why the
/// UI is missing); waits up to `wait` for `expect` healthy targets first.
pub async fn print_targets(dir: &Path, expect: usize, wait: Duration) -> Result<()> {
    let state = State::read(dir).with_context(|| format!("no cluster in {}", dir.display()))?;
    let url = state
        .prometheus_url
        .clone()
        .context("the cluster runs no Prometheus (devcluster up --prometheus)")?;
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .with_context(|| format!("no port in {url}"))?;
    let deadline = Instant::now() + wait;
    let targets = loop {
        let answer = crate::devcluster::http_get(port, "/api/v1/targets?state=active").await?;
        let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let parsed: serde_json::Value =
            serde_json::from_str(body).with_context(|| format!("Prometheus answered: {answer}"))?;
        let targets = parsed["data"]["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let up = targets.iter().filter(|t| t["health"] == "up").count();
        if up >= expect || Instant::now() > deadline {
            break targets;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    println!("Prometheus {url} targets ({url}/api/v1/targets):");
    for t in &targets {
        let label = |k: &str| t["labels"][k].as_str().unwrap_or("").to_owned();
        println!(
            "  {:<6} {:<14} {:<40} {} {}",
            t["health"].as_str().unwrap_or("?"),
            label("controller"),
            format!("{}/{}", label("namespace"), label("pod")),
            t["scrapeUrl"].as_str().unwrap_or("?"),
            t["lastError"].as_str().unwrap_or("")
        );
    }
    let up = targets.iter().filter(|t| t["health"] == "up").count();
    println!("{up}/{} targets up", targets.len());
    println!(
        "Prometheus: {}",
        crate::devcluster::prometheus_ui::describe(&url, &state)
    );
    Ok(())
}
