//! `bench-health` (`make bench`): the health binary at scale on the dev cluster, measured.
//!
//! Starts a dev cluster with enough kwok nodes, creates 500 workloads (450 Deployments, 50
//! StatefulSets, 10 pods each: 5,000 pods) in 50 applications, an OSDPL and its osdplst, and
//! `rockoon-health` (release build by default). Once every pod is ready and health shows
//! `50/50`, it measures idle RSS and CPU, then churns: flips the readiness of random pods
//! (`--flips-per-second` for `--churn-seconds`) while watching both the Deployments and the
//! osdplst. For each Deployment status change it records the time until the osdplst shows that
//! workload's new state (the same rules as health, from `rockoon_health`), and reports p50/p99
//! of that delay, health's API writes per minute, its CPU and peak RSS. Nothing asserts a
//! target; the figures go to docs/benchmarks.md.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::Parser;
use futures::TryStreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use rockoon_core::crd::{OpenStackDeployment, OpenStackDeploymentStatus};
use rockoon_health::rules::assess;
use rockoon_health::workload::Workload;
use rockoon_tests::devcluster::{self, Component, DevCluster, NodeCounts, Options, http_get};
use rockoon_tests::measure::{percentile, proc_status_kib};
use rockoon_tests::{sample, suite};
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "bench-health",
    about = "RSS, CPU, latency and writes of health at scale."
)]
struct Cli {
    /// Cargo output folder holding the rockoon-* binaries.
    #[arg(long, default_value = "target/release")]
    target_dir: PathBuf,
    /// Run folder of the bench's dev cluster (default: `target/bench-health-cluster`).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Workloads (a tenth are StatefulSets).
    #[arg(long, default_value_t = 500)]
    workloads: usize,
    /// Pods per workload.
    #[arg(long, default_value_t = 10)]
    replicas: usize,
    /// Pod readiness flips per second during the churn.
    #[arg(long, default_value_t = 10)]
    flips_per_second: u32,
    /// Length of the churn.
    #[arg(long, default_value_t = 60)]
    churn_seconds: u64,
}

const NAMESPACE: &str = "openstack";
const OSDPL: &str = "osh-dev";
const APPLICATIONS: usize = 50;

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let dir = cli
        .dir
        .clone()
        .unwrap_or_else(|| devcluster::workspace_root().join("target/bench-health-cluster"));
    let _ = std::fs::remove_dir_all(&dir);
    let pods = (cli.workloads * cli.replicas) as u32;
    let mut cluster = DevCluster::start(Options {
        dir: dir.clone(),
        bin_dir: None,
        // 250 pods per fake node, with room to spare.
        nodes: NodeCounts {
            control_plane: pods / 200 + 1,
            compute: 1,
            gateway: 1,
        },
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
    let started = Instant::now();
    create_workloads(cli, &client).await?;
    create_osdpl(&client).await?;
    eprintln!(
        "{} workloads created; waiting for every pod and for health",
        cli.workloads
    );
    let port = devcluster::ports::free_port()?;
    let env = [("OSCTL_LOG_LEVEL", "warn".to_owned())];
    let mut health = suite::start_binary(
        &cli.target_dir,
        "health",
        &cluster.dir,
        &cluster.kubeconfig,
        port,
        &env,
    )
    .context("health (run `make release`)")?;
    let outcome = measure(cli, &client, &mut health, port, started).await;
    health.stop(Duration::from_secs(15)).await;
    outcome
}

fn labels(index: usize) -> serde_json::Value {
    let application = format!("app{}", index % APPLICATIONS);
    json!({"application": application, "component": format!("c{index}"), "release_group": application})
}

async fn create_workloads(cli: &Cli, client: &Client) -> Result<()> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), NAMESPACE);
    let params = PatchParams::apply("bench-health");
    for index in 0..cli.workloads {
        let statefulset = index % 10 == 9;
        let name = format!(
            "{}-w{index}",
            labels(index)["application"].as_str().unwrap_or("")
        );
        let mut pod_labels = labels(index);
        pod_labels["workload"] = json!(name);
        let mut spec = json!({
            "replicas": cli.replicas,
            "selector": {"matchLabels": {"workload": name}},
            "template": {"metadata": {"labels": pod_labels}, "spec": {
                "nodeSelector": {"openstack-control-plane": "enabled"},
                "containers": [{"name": "main", "image": "registry.invalid/fake:1"}]}},
        });
        let kind = if statefulset {
            "StatefulSet"
        } else {
            "Deployment"
        };
        if statefulset {
            spec["serviceName"] = json!(name);
            spec["podManagementPolicy"] = json!("Parallel");
        }
        let body = json!({"apiVersion": "apps/v1", "kind": kind,
                          "metadata": {"name": name, "labels": labels(index)}, "spec": spec});
        if statefulset {
            statefulsets
                .patch(&name, &params, &Patch::Apply(&body))
                .await?;
        } else {
            deployments
                .patch(&name, &params, &Patch::Apply(&body))
                .await?;
        }
    }
    Ok(())
}

async fn create_osdpl(client: &Client) -> Result<()> {
    let osdpls: Api<OpenStackDeployment> = Api::namespaced(client.clone(), NAMESPACE);
    let osdpl: OpenStackDeployment =
        serde_json::from_value(sample::sample_osdpl("compute", NAMESPACE)?)?;
    let osdpl = osdpls.create(&PostParams::default(), &osdpl).await?;
    let body = json!({
        "apiVersion": "lcm.mirantis.com/v1alpha1", "kind": "OpenStackDeploymentStatus",
        "metadata": {"name": OSDPL, "ownerReferences": [osdpl.controller_owner_ref(&())]},
        "spec": {},
    });
    Api::<OpenStackDeploymentStatus>::namespaced(client.clone(), NAMESPACE)
        .patch(
            OSDPL,
            &PatchParams::apply("bench-health"),
            &Patch::Apply(&body),
        )
        .await?;
    Ok(())
}

/// State words of the osdplst entries, by `application/component`.
fn shown(o: &OpenStackDeploymentStatus) -> HashMap<String, String> {
    let mut entries = HashMap::new();
    for (application, components) in o.status.iter().flat_map(|s| s.health.iter().flatten()) {
        for (component, entry) in components {
            let word = entry.status.clone().unwrap_or_default();
            entries.insert(format!("{application}/{component}"), word);
        }
    }
    entries
}

fn summary(o: &OpenStackDeploymentStatus) -> Option<String> {
    o.status.as_ref()?.osdpl.as_ref()?.health.clone()
}

/// Workload changes waiting to be shown: entry → (expected state, when the workload changed).
type Pending = Arc<Mutex<HashMap<String, (String, Instant)>>>;

async fn measure(
    cli: &Cli,
    client: &Client,
    health: &mut Component,
    port: u16,
    started: Instant,
) -> Result<()> {
    let pid = health.pid().context("health has no pid")?;
    let statuses: Api<OpenStackDeploymentStatus> = Api::namespaced(client.clone(), NAMESPACE);
    let expected = format!("{APPLICATIONS}/{APPLICATIONS}");
    loop {
        let status = statuses.get_opt(OSDPL).await?;
        if status.as_ref().and_then(summary).as_deref() == Some(&expected) {
            break;
        }
        health.check_alive()?;
        if started.elapsed() > Duration::from_secs(1800) {
            bail!(
                "not {expected} after 30 min: {:?}",
                status.as_ref().and_then(summary)
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let settle = started.elapsed().as_secs_f64();
    eprintln!("settled after {settle:.0} s; measuring idle, then churn");
    let pods: Api<Pod> = Api::namespaced(client.clone(), NAMESPACE);
    let pod_count = pods
        .list_metadata(&ListParams::default())
        .await?
        .items
        .len();
    let (ticks0, at0) = (cpu_ticks(pid), Instant::now());
    let writes0 = writes(port).await?;
    tokio::time::sleep(Duration::from_secs(30)).await;
    let idle_cpu = cpu_percent(ticks0, cpu_ticks(pid), at0.elapsed());
    let idle_writes = writes(port).await? - writes0;
    let idle_rss = proc_status_kib(pid, "VmRSS:");

    // Watch workloads and status during the churn.
    let pending: Pending = Arc::default();
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NAMESPACE);
    let p = pending.clone();
    let workload_watch = tokio::spawn(async move {
        let mut last: HashMap<String, String> = HashMap::new();
        let stream = watcher(deployments, watcher::Config::default()).applied_objects();
        let mut stream = std::pin::pin!(stream);
        while let Ok(Some(d)) = stream.try_next().await {
            let (application, component) = d.ident();
            let key = format!("{application}/{component}");
            let state = assess(&d.observe()).word().to_owned();
            if last.get(&key) != Some(&state) {
                if last.contains_key(&key) {
                    let mut pending = p.lock().unwrap_or_else(|e| e.into_inner());
                    pending.insert(key.clone(), (state.clone(), Instant::now()));
                }
                last.insert(key, state);
            }
        }
    });
    let (p, l) = (pending.clone(), latencies.clone());
    let status_watch = tokio::spawn(async move {
        let config = watcher::Config::default().fields(&format!("metadata.name={OSDPL}"));
        let stream = watcher(statuses, config).applied_objects();
        let mut stream = std::pin::pin!(stream);
        while let Ok(Some(o)) = stream.try_next().await {
            let now = Instant::now();
            let entries = shown(&o);
            let mut pending = p.lock().unwrap_or_else(|e| e.into_inner());
            pending.retain(|key, (state, since)| {
                if entries.get(key) == Some(state) {
                    let ms = now.duration_since(*since).as_secs_f64() * 1000.0;
                    l.lock().unwrap_or_else(|e| e.into_inner()).push(ms);
                    false
                } else {
                    true
                }
            });
        }
    });

    // Churn: flip the readiness of random Deployment pods.
    let candidates: Vec<String> = pods
        .list_metadata(&ListParams::default())
        .await?
        .items
        .iter()
        .filter(|p| p.owner_references().iter().any(|o| o.kind == "ReplicaSet"))
        .map(|p| p.name_any())
        .collect();
    let (ticks1, at1) = (cpu_ticks(pid), Instant::now());
    let writes1 = writes(port).await?;
    let mut unready: Vec<String> = Vec::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let period = Duration::from_secs_f64(1.0 / f64::from(cli.flips_per_second.max(1)));
    let mut flips = 0u64;
    let mut tick = tokio::time::interval(period);
    while at1.elapsed() < Duration::from_secs(cli.churn_seconds) {
        tick.tick().await;
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Half the flips make a pod unready, half bring one back.
        let (pod, ready) = if unready.len() > 20 || (seed & 1 == 0 && !unready.is_empty()) {
            (unready.remove(0), true)
        } else {
            let pod = candidates[(seed as usize / 2) % candidates.len()].clone();
            unready.push(pod.clone());
            (pod, false)
        };
        set_ready(&pods, &pod, ready).await;
        flips += 1;
    }
    for pod in unready.drain(..) {
        set_ready(&pods, &pod, true).await;
    }
    let churn = at1.elapsed();
    let churn_cpu = cpu_percent(ticks1, cpu_ticks(pid), churn);
    let churn_writes = writes(port).await? - writes1;
    // Let the last changes land before reading the figures.
    tokio::time::sleep(Duration::from_secs(3)).await;
    workload_watch.abort();
    status_watch.abort();
    let mut latencies = latencies.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let unshown = pending.lock().unwrap_or_else(|e| e.into_inner()).len();
    let peak_rss = proc_status_kib(pid, "VmHWM:");
    let minutes = churn.as_secs_f64() / 60.0;

    println!(
        "{} workloads ({} StatefulSets), {pod_count} pods, {APPLICATIONS} applications; setup → {expected}: {settle:.0} s",
        cli.workloads,
        cli.workloads / 10
    );
    println!(
        "health idle (30 s): RSS {:.1} MiB, CPU {idle_cpu:.2} %, API writes {idle_writes}",
        idle_rss as f64 / 1024.0
    );
    println!(
        "churn: {flips} pod readiness flips in {:.0} s ({} /s)",
        churn.as_secs_f64(),
        cli.flips_per_second
    );
    println!(
        "  workload status change → osdplst shows it ({} changes, {unshown} not shown): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        latencies.len(),
        percentile(&mut latencies, 0.5),
        percentile(&mut latencies, 0.99),
        percentile(&mut latencies, 1.0)
    );
    println!(
        "  health API writes: {churn_writes} ({:.0} per minute); CPU {churn_cpu:.1} %; peak RSS {:.1} MiB",
        churn_writes as f64 / minutes,
        peak_rss as f64 / 1024.0
    );
    Ok(())
}

async fn set_ready(pods: &Api<Pod>, pod: &str, ready: bool) {
    let status = if ready { "True" } else { "False" };
    let patch = json!({"status": {"conditions": [
        {"type": "Ready", "status": status}, {"type": "ContainersReady", "status": status}]}});
    // A pod may be gone (never here, but churn must go on): ignore failures.
    let _ = pods
        .patch_status(pod, &PatchParams::default(), &Patch::Strategic(&patch))
        .await;
}

/// Health's writes so far: osdplst and OSDPL status writes plus label writes.
async fn writes(port: u16) -> Result<u64> {
    let metrics = http_get(port, "/metrics").await?;
    Ok(metrics
        .lines()
        .filter(|l| {
            (l.starts_with("rockoon_health_status_writes_total{")
                || l.starts_with("rockoon_health_mariadb_label_writes_total{"))
                && l.contains("outcome=\"written\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64)
}

/// User plus system CPU time of `pid`, in clock ticks (1/100 s).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

fn cpu_percent(before: u64, after: u64, wall: Duration) -> f64 {
    (after.saturating_sub(before)) as f64 / wall.as_secs_f64()
}
