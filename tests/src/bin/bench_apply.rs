//! `bench-apply` (`make bench`): the osdpl lifecycle on the dev cluster, measured.
//!
//! Starts a dev cluster, the `secrets` and `osdpl` binaries (release build by default) with the
//! upstream OpenStack-Helm charts, applies the sample compute OSDPL and prints: time from apply
//! to every service APPLIED, helm calls by operation and their summed time, osdpl's peak and
//! settled resident memory during the apply; then the cost of a reconcile of an unchanged OSDPL
//! (forced by touching an annotation): reconcile duration and helm calls; then one changed
//! value (a nova option): helm upgrades it caused and the time until APPLIED again. Nothing
//! asserts a target; the figures go to docs/benchmarks.md.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::Parser;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use rockoon_core::crd::{OpenStackDeployment, OpenStackDeploymentStatus};
use rockoon_tests::devcluster::{self, Component, DevCluster, NodeCounts, Options, http_get};
use rockoon_tests::measure::{percentile, rss_kib};
use rockoon_tests::{sample, suite};
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "bench-apply",
    about = "Apply time, helm calls and no-op reconcile cost of osdpl."
)]
struct Cli {
    /// Cargo output folder holding the rockoon-* binaries.
    #[arg(long, default_value = "target/release")]
    target_dir: PathBuf,
    /// No-op reconciles to time.
    #[arg(long, default_value_t = 20)]
    noop_runs: usize,
}

const NAMESPACE: &str = "openstack";

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let dir = devcluster::workspace_root().join("target/bench-apply-cluster");
    let _ = std::fs::remove_dir_all(&dir);
    let mut cluster = DevCluster::start(Options {
        dir: dir.clone(),
        bin_dir: None,
        nodes: NodeCounts::default(),
        real_node: devcluster::RealNodeMode::Off,
    })
    .await?;
    let result = run(&cli, &cluster).await;
    cluster.stop().await;
    result
}

async fn run(cli: &Cli, cluster: &DevCluster) -> Result<()> {
    let client = cluster.client().await?;
    suite::install_crds(&client).await?;
    suite::create_namespaces(&client).await?;
    sample::seed_external_inputs(&client, NAMESPACE, "openstack-ceph-shared").await?;
    let (mut secrets, _) = start(cli, cluster, "secrets").await?;
    let (mut osdpl, port) = start(cli, cluster, "osdpl").await?;
    let outcome = measure(cli, &client, &mut osdpl, port).await;
    osdpl.stop(Duration::from_secs(15)).await;
    secrets.stop(Duration::from_secs(15)).await;
    outcome
}

async fn measure(cli: &Cli, client: &Client, osdpl: &mut Component, port: u16) -> Result<()> {
    let osdpls: Api<OpenStackDeployment> = Api::namespaced(client.clone(), NAMESPACE);
    let statuses: Api<OpenStackDeploymentStatus> = Api::namespaced(client.clone(), NAMESPACE);
    let object = sample::sample_osdpl("compute", NAMESPACE)?;
    let pid = osdpl.pid().context("osdpl has no pid")?;
    let idle_rss = rss_kib(pid);
    let applied_at = Instant::now();
    osdpls
        .patch(
            "osh-dev",
            &PatchParams::apply("bench-apply"),
            &Patch::Apply(&object),
        )
        .await?;
    let mut peak_rss = idle_rss;
    loop {
        peak_rss = peak_rss.max(rss_kib(pid));
        let status = statuses.get_opt("osh-dev").await?.and_then(|s| s.status);
        let state = status
            .as_ref()
            .and_then(|s| s.osdpl.as_ref()?.state.clone());
        if state.as_deref() == Some("APPLIED") {
            break;
        }
        osdpl.check_alive()?;
        if applied_at.elapsed() > Duration::from_secs(600) {
            bail!("not APPLIED after 600 s: {state:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let apply_seconds = applied_at.elapsed().as_secs_f64();
    let metrics = scrape(port).await?;
    let upgrades = sum(&metrics, "rockoon_helm_operations_total", "op=\"upgrade\"");
    let all_helm = sum(&metrics, "rockoon_helm_operations_total", "");
    let helm_seconds = sum(&metrics, "rockoon_helm_duration_seconds_sum", "");
    wait_idle(port).await?;
    let settled_rss = rss_kib(pid);

    let mut durations = Vec::new();
    let mut end_to_end = Vec::new();
    for run in 0..cli.noop_runs {
        let before = scrape(port).await?;
        let (count, total) = (
            sum(&before, "rockoon_reconcile_duration_seconds_count", ""),
            sum(&before, "rockoon_reconcile_duration_seconds_sum", ""),
        );
        let touched = Instant::now();
        let patch = json!({"metadata": {"annotations": {"bench/touch": run.to_string()}}});
        osdpls
            .patch("osh-dev", &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        loop {
            let now = scrape(port).await?;
            let done = sum(&now, "rockoon_reconcile_duration_seconds_count", "");
            if done > count {
                end_to_end.push(touched.elapsed().as_secs_f64() * 1000.0);
                let spent = sum(&now, "rockoon_reconcile_duration_seconds_sum", "") - total;
                durations.push(spent / (done - count) * 1000.0);
                break;
            }
            if touched.elapsed() > Duration::from_secs(30) {
                bail!("no reconcile within 30 s of touching the OSDPL");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        wait_idle(port).await?;
    }
    let after = scrape(port).await?;
    let noop_helm = sum(&after, "rockoon_helm_operations_total", "") - all_helm;
    let (change_upgrades, change_seconds) = one_change(&osdpls, &statuses, port).await?;

    println!("sample compute OSDPL (20 services, 26 releases), upstream charts, 6 kwok nodes");
    println!("apply → all APPLIED:         {apply_seconds:>8.1} s");
    println!("helm calls during apply:     {all_helm:>8} ({upgrades} upgrades)");
    println!("helm time (sum of calls):    {helm_seconds:>8.1} s");
    println!(
        "osdpl RSS idle / peak / after: {:.1} / {:.1} / {:.1} MiB",
        idle_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0,
        settled_rss as f64 / 1024.0
    );
    println!(
        "no-op reconcile ({} runs):  duration p50 {:.1} ms, max {:.1} ms; touch → done p50 {:.0} ms (incl. {} ms debounce); helm calls {noop_helm}",
        durations.len(),
        percentile(&mut durations, 0.5),
        percentile(&mut durations, 1.0),
        percentile(&mut end_to_end, 0.5),
        300
    );
    println!(
        "one changed nova value:      {change_upgrades} helm upgrade(s), edit → APPLIED {change_seconds:.1} s"
    );
    Ok(())
}

/// Changes one nova option; returns the helm upgrades it caused and the time from the edit
/// until the deployment is APPLIED again with that upgrade done.
async fn one_change(
    osdpls: &Api<OpenStackDeployment>,
    statuses: &Api<OpenStackDeploymentStatus>,
    port: u16,
) -> Result<(f64, f64)> {
    let before = sum(
        &scrape(port).await?,
        "rockoon_helm_operations_total",
        "op=\"upgrade\"",
    );
    let edited = Instant::now();
    let patch = json!({"spec": {"services": {"compute": {"nova": {"values": {"conf": {"nova": {"DEFAULT": {"cpu_allocation_ratio": 3.0}}}}}}}}});
    osdpls
        .patch("osh-dev", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    loop {
        let upgrades = sum(
            &scrape(port).await?,
            "rockoon_helm_operations_total",
            "op=\"upgrade\"",
        );
        let state = statuses
            .get_opt("osh-dev")
            .await?
            .and_then(|s| s.status?.osdpl?.state);
        if upgrades > before && state.as_deref() == Some("APPLIED") {
            let took = edited.elapsed().as_secs_f64();
            wait_idle(port).await?;
            let after = sum(
                &scrape(port).await?,
                "rockoon_helm_operations_total",
                "op=\"upgrade\"",
            );
            return Ok((after - before, took));
        }
        if edited.elapsed() > Duration::from_secs(300) {
            bail!("the changed value was not applied within 300 s: {state:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts a binary of the suite and waits until it is ready; returns it and its admin port.
async fn start(cli: &Cli, cluster: &DevCluster, name: &str) -> Result<(Component, u16)> {
    let port = devcluster::ports::free_port()?;
    let env = [("OSCTL_LOG_LEVEL", "warn".to_owned())];
    let mut binary = suite::start_binary(
        &cli.target_dir,
        name,
        &cluster.dir,
        &cluster.kubeconfig,
        port,
        &env,
    )
    .with_context(|| format!("{name} (run `make release`)"))?;
    let since = Instant::now();
    loop {
        if let Ok(response) = http_get(port, "/readyz").await
            && response.starts_with("HTTP/1.0 200")
        {
            break;
        }
        binary.check_alive()?;
        if since.elapsed() > Duration::from_secs(60) {
            bail!("{name} not ready after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok((binary, port))
}

/// Waits until every started reconcile has finished and nothing is queued, five looks in a row.
async fn wait_idle(port: u16) -> Result<()> {
    let mut quiet = 0;
    let since = Instant::now();
    while quiet < 5 {
        let m = scrape(port).await?;
        let idle = sum(&m, "rockoon_reconcile_total", "")
            == sum(&m, "rockoon_reconcile_duration_seconds_count", "")
            && sum(&m, "rockoon_reconcile_queue_depth", "") == 0.0;
        quiet = if idle { quiet + 1 } else { 0 };
        if since.elapsed() > Duration::from_secs(60) {
            bail!("osdpl never idle");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

async fn scrape(port: u16) -> Result<String> {
    Ok(http_get(port, "/metrics").await?)
}

fn sum(metrics: &str, name: &str, label: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
