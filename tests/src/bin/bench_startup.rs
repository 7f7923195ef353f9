//! `bench-startup` (`make bench`): measures the five binaries and the dev cluster, prints figures.
//!
//! For each binary of `--target-dir` (release by default): file size; time from spawn to the
//! first 200 of `/livez` and of `/readyz`; resident memory once idle after its first sync.
//! For the dev cluster: start time and each component's resident memory. Figures are medians
//! over `--runs` starts; nothing here asserts a target, the numbers go to docs/benchmarks.md.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::Parser;
use rockoon_tests::devcluster::{self, DevCluster, NodeCounts, Options, http_get};
use rockoon_tests::measure::rss_kib;
use rockoon_tests::suite;

#[derive(Parser)]
#[command(
    name = "bench-startup",
    about = "Start-up time and idle memory of the five binaries."
)]
struct Cli {
    /// Cargo output folder holding the rockoon-* binaries.
    #[arg(long, default_value = "target/release")]
    target_dir: PathBuf,
    /// Starts per binary.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Seconds to stay idle after the first sync before reading memory.
    #[arg(long, default_value_t = 2)]
    idle_seconds: u64,
}

struct Sample {
    livez: Duration,
    readyz: Duration,
    rss_kib: u64,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let dir = devcluster::workspace_root().join("target/bench-cluster");
    let _ = std::fs::remove_dir_all(&dir);
    let started = Instant::now();
    let mut cluster = DevCluster::start(Options {
        dir: dir.clone(),
        bin_dir: None,
        nodes: NodeCounts::default(),
        real_node: devcluster::RealNodeMode::Off,
    })
    .await?;
    println!(
        "dev cluster: started in {:.2} s (6 kwok nodes)",
        started.elapsed().as_secs_f64()
    );
    let client = cluster.client().await?;
    suite::install_crds(&client).await?;
    suite::create_namespaces(&client).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut total_kib = 0;
    for component in &cluster.components {
        let kib = component.pid().map(rss_kib).unwrap_or(0);
        total_kib += kib;
        println!(
            "  {:<26} RSS {:>7.1} MiB",
            component.name,
            kib as f64 / 1024.0
        );
    }
    println!(
        "  {:<26} RSS {:>7.1} MiB",
        "control plane total",
        total_kib as f64 / 1024.0
    );

    println!(
        "\nbinary                 size      /livez p50  /readyz p50  idle RSS p50  (runs: {})",
        cli.runs
    );
    let result = measure_all(&cli, &cluster).await;
    cluster.stop().await;
    result
}

async fn measure_all(cli: &Cli, cluster: &DevCluster) -> Result<()> {
    for name in suite::BINARIES {
        let path = suite::binary_path(&cli.target_dir, name);
        let size = std::fs::metadata(&path)
            .with_context(|| format!("{} (run `make release`)", path.display()))?
            .len();
        let mut samples = Vec::new();
        for _ in 0..cli.runs {
            samples.push(measure_once(cli, cluster, name).await?);
        }
        let livez = median(
            samples
                .iter()
                .map(|s| s.livez.as_secs_f64() * 1000.0)
                .collect(),
        );
        let readyz = median(
            samples
                .iter()
                .map(|s| s.readyz.as_secs_f64() * 1000.0)
                .collect(),
        );
        let rss = median(samples.iter().map(|s| s.rss_kib as f64 / 1024.0).collect());
        println!(
            "rockoon-{name:<14} {:>6.1} MiB  {livez:>7.1} ms  {readyz:>8.1} ms  {rss:>9.1} MiB",
            size as f64 / (1024.0 * 1024.0)
        );
    }
    Ok(())
}

async fn measure_once(cli: &Cli, cluster: &DevCluster, name: &str) -> Result<Sample> {
    let port = devcluster::ports::free_port()?;
    let env = [("OSCTL_LOG_LEVEL", "warn".to_owned())];
    // Timed from the spawn itself: preparing osdpl's environment runs the chart and component
    // cache scripts, which is the harness's work, not the binary's.
    let mut binary = suite::start_binary(
        &cli.target_dir,
        name,
        &cluster.dir,
        &cluster.kubeconfig,
        port,
        &env,
    )?;
    let spawned = binary.spawned;
    let livez = wait_for(port, "/livez", spawned, &mut binary).await?;
    let readyz = wait_for(port, "/readyz", spawned, &mut binary).await?;
    tokio::time::sleep(Duration::from_secs(cli.idle_seconds)).await;
    let rss_kib = binary.pid().map(rss_kib).unwrap_or(0);
    binary.stop(Duration::from_secs(15)).await;
    Ok(Sample {
        livez,
        readyz,
        rss_kib,
    })
}

async fn wait_for(
    port: u16,
    path: &str,
    since: Instant,
    binary: &mut devcluster::Component,
) -> Result<Duration> {
    loop {
        if let Ok(response) = http_get(port, path).await
            && response.starts_with("HTTP/1.0 200")
        {
            return Ok(since.elapsed());
        }
        binary.check_alive()?;
        if since.elapsed() > Duration::from_secs(30) {
            bail!("{path} of {} not 200 after 30 s", binary.name);
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
