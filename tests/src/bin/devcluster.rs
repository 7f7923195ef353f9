//! `devcluster`: the dev cluster for humans (`make cluster-up`, `make run`) and for the tests.
//!
//! `up` starts the cluster in the foreground and supervises it: it stops everything on SIGTERM
//! or SIGINT, and with `--exit-on-stdin-eof` also when its parent (the test process) goes away.
//! `down`, `status` and `wait` act on the run folder of a running `up`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::ListParams;
use rockoon_tests::devcluster::state::State;
use rockoon_tests::devcluster::supervise::{self, Supervisor};
use rockoon_tests::devcluster::{
    self, Component, DevCluster, NodeCounts, Options, RealNodeMode, stray,
};
use rockoon_tests::suite;

#[derive(Parser)]
#[command(
    name = "devcluster",
    about = "A real, disposable Kubernetes control plane on loopback."
)]
struct Cli {
    /// Run folder (kubeconfig, certificates, data, logs, state.json).
    #[arg(
        long,
        env = "ROCKOON_DEVCLUSTER_DIR",
        default_value = ".run/cluster",
        global = true
    )]
    dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the cluster and supervise it until SIGTERM/SIGINT.
    Up {
        /// Fake nodes labelled openstack-control-plane=enabled.
        #[arg(
            long,
            env = "ROCKOON_DEVCLUSTER_CONTROL_PLANE_NODES",
            default_value_t = 3
        )]
        control_plane_nodes: u32,
        /// Fake nodes labelled openstack-compute-node=enabled and openvswitch=enabled.
        #[arg(long, env = "ROCKOON_DEVCLUSTER_COMPUTE_NODES", default_value_t = 2)]
        compute_nodes: u32,
        /// Fake nodes labelled openstack-gateway=enabled.
        #[arg(long, env = "ROCKOON_DEVCLUSTER_GATEWAY_NODES", default_value_t = 1)]
        gateway_nodes: u32,
        /// Also install the CRDs and run the five binaries found in this cargo output folder.
        #[arg(long)]
        controllers: Option<PathBuf>,
        /// Tear down when stdin reaches end of file (the parent process went away).
        #[arg(long)]
        exit_on_stdin_eof: bool,
        /// Run one real node (containerd + kubelet; needs root and Debian packages, see
        /// docs/testing.md): `auto` runs it when the host can and says why not otherwise.
        #[arg(
            long,
            value_enum,
            env = "ROCKOON_DEVCLUSTER_REAL_NODE",
            default_value = "off",
            default_missing_value = "on",
            num_args = 0..=1
        )]
        real_node: RealNodeMode,
        /// Also run Prometheus, discovering the suite's pods in every namespace through the
        /// API (its URL goes to state.json and `status`).
        #[arg(long, env = "ROCKOON_DEVCLUSTER_PROMETHEUS")]
        prometheus: bool,
    },
    /// Stop the cluster of the run folder; no process is left behind.
    Down,
    /// Stop one process of the running cluster (e.g. `kube-apiserver`, `rockoon-osdpl`) and
    /// keep it stopped until `start-component` (the supervisor restarts any other exit).
    StopComponent {
        /// Its name in `devcluster status`.
        name: String,
    },
    /// Let the supervisor start a process stopped by `stop-component` again.
    StartComponent {
        /// Its name in `devcluster status`.
        name: String,
    },
    /// Show components, API server health and nodes.
    Status,
    /// Wait until `up` reports ready (or failed).
    Wait {
        /// Seconds to wait.
        #[arg(long, default_value_t = 900)]
        timeout: u64,
    },
    /// Wait (by watching) until an OSDPL's status shows every service APPLIED; prints each
    /// change of its overall state and progress meanwhile.
    WaitApplied {
        /// Namespace of the OSDPL.
        #[arg(long, default_value = "openstack")]
        namespace: String,
        /// Name of the OSDPL.
        #[arg(long, default_value = "osh-dev")]
        name: String,
        /// Seconds to wait.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Install the suite as its pod on the real node (`make run`): import the image into the
    /// node's containerd, install the CRDs and the sample's inputs, `helm upgrade --install`
    /// the chart, wait until its five containers are Ready.
    InstallSuite {
        /// OCI archive of the image (`make image`).
        #[arg(long)]
        image: PathBuf,
        /// Values files, in order (e.g. deploy/dev/values.yaml).
        #[arg(long)]
        values: Vec<PathBuf>,
        /// Release name.
        #[arg(long, default_value = "rockoon")]
        release: String,
        /// Release namespace.
        #[arg(long, default_value = "osh-system")]
        namespace: String,
        /// Seconds to wait for 5/5 Ready.
        #[arg(long, default_value_t = 180)]
        timeout: u64,
    },
    /// Resident memory of the suite's pod, per process, read from the host's /proc; with
    /// `--seconds`, sampled every second that long and the peak printed too.
    PodRss {
        /// Release namespace.
        #[arg(long, default_value = "osh-system")]
        namespace: String,
        /// Release name.
        #[arg(long, default_value = "rockoon")]
        release: String,
        /// Seconds to sample.
        #[arg(long, default_value_t = 0)]
        seconds: u64,
    },
    /// List the active targets of the cluster's Prometheus (`up --prometheus`) with their
    /// health, as the web UI's targets page would (this build has no web UI).
    Targets {
        /// Wait until this many targets are up (or the timeout passed) before listing.
        #[arg(long, default_value_t = 0)]
        expect: usize,
        /// Seconds to wait for them.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up {
            control_plane_nodes,
            compute_nodes,
            gateway_nodes,
            controllers,
            exit_on_stdin_eof,
            real_node,
            prometheus,
        } => {
            let nodes = NodeCounts {
                control_plane: control_plane_nodes,
                compute: compute_nodes,
                gateway: gateway_nodes,
            };
            up(
                &cli.dir,
                nodes,
                real_node,
                controllers,
                exit_on_stdin_eof,
                prometheus,
            )
            .await
        }
        Command::Down => down(&cli.dir).await,
        Command::StopComponent { name } => {
            supervise::stop_component(&cli.dir, &name, Duration::from_secs(30)).await
        }
        Command::StartComponent { name } => {
            supervise::start_component(&cli.dir, &name, Duration::from_secs(30))
                .await
                .map(|pid| println!("{name} running, pid {pid}"))
        }
        Command::Status => status(&cli.dir).await,
        Command::Wait { timeout } => wait(&cli.dir, Duration::from_secs(timeout)).await,
        Command::WaitApplied {
            namespace,
            name,
            timeout,
        } => wait_applied(&cli.dir, &namespace, &name, Duration::from_secs(timeout)).await,
        Command::InstallSuite {
            image,
            values,
            release,
            namespace,
            timeout,
        } => {
            let install = rockoon_tests::pod::dev::Install {
                image,
                values,
                release,
                namespace,
                timeout: Duration::from_secs(timeout),
            };
            rockoon_tests::pod::dev::install_suite(&cli.dir, &install).await
        }
        Command::PodRss {
            namespace,
            release,
            seconds,
        } => rockoon_tests::pod::dev::print_rss(&cli.dir, &namespace, &release, seconds).await,
        Command::Targets { expect, timeout } => {
            rockoon_tests::pod::dev::print_targets(&cli.dir, expect, Duration::from_secs(timeout))
                .await
        }
    };
    let code = match result {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("devcluster: {error:#}");
            1
        }
    };
    // Exit here rather than return: `up --exit-on-stdin-eof` reads stdin on one of tokio's
    // blocking threads, a read nothing can cancel, and dropping the runtime waits for it, so a
    // failed start-up (or a SIGTERM while stdin stays open) would leave the process hanging
    // with the caller's pipe open. Everything was stopped before `result` came back.
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}

async fn up(
    dir: &Path,
    nodes: NodeCounts,
    real_node: RealNodeMode,
    controllers: Option<PathBuf>,
    exit_on_stdin_eof: bool,
    prometheus: bool,
) -> Result<()> {
    if let Ok(state) = State::read(dir)
        && process_alive(state.supervisor_pid)
    {
        bail!(
            "a cluster is already running from {} (pid {}); run `make cluster-down` first",
            dir.display(),
            state.supervisor_pid
        );
    }
    // A fresh run folder each time; the previous run's logs are kept beside it.
    if dir.exists() {
        let previous = dir.with_extension("previous");
        let _ = std::fs::remove_dir_all(&previous);
        std::fs::rename(dir, &previous)
            .with_context(|| format!("moving the old {} aside", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    let dir = dir.canonicalize()?;
    let mut state = State {
        supervisor_pid: std::process::id(),
        ..State::default()
    };
    state.write(&dir)?;

    // Signals are handled from the start: a stop asked during start-up drops the half-started
    // cluster, whose processes are killed on drop, instead of orphaning them.
    let stop = wait_for_stop(exit_on_stdin_eof);
    tokio::pin!(stop);
    let started = tokio::select! {
        started = DevCluster::start(Options { dir: dir.clone(), bin_dir: None, nodes, real_node }) => started,
        () = &mut stop => {
            state.error = Some("stopped during start-up".into());
            state.write(&dir)?;
            eprintln!("devcluster: stopped during start-up");
            return Ok(());
        }
    };
    let mut cluster = match started {
        Ok(cluster) => cluster,
        Err(error) => {
            state.error = Some(format!("{error:#}"));
            state.write(&dir)?;
            return Err(error);
        }
    };
    state.kubeconfig = cluster.kubeconfig.clone();
    for component in &cluster.components {
        state
            .pids
            .insert(component.name.clone(), component.pid().unwrap_or_default());
    }
    if prometheus && let Err(error) = start_prometheus(&mut cluster, &dir, &mut state).await {
        state.error = Some(format!("{error:#}"));
        state.write(&dir)?;
        cluster.stop().await;
        return Err(error);
    }
    let mut binaries = Vec::new();
    if let Some(target_dir) = controllers {
        match start_suite(&cluster, &dir, &target_dir, &mut state).await {
            Ok(started) => binaries = started,
            Err(error) => {
                state.error = Some(format!("{error:#}"));
                state.write(&dir)?;
                cluster.stop().await;
                return Err(error);
            }
        }
    }
    state.ready = true;
    state.startup_seconds = cluster.startup.as_secs_f64();
    match &cluster.real_node {
        Some(Ok(ready)) => {
            state.real_node = Some(devcluster::real_node::NODE_NAME.to_owned());
            state.real_node_ready_seconds = Some(ready.as_secs_f64());
        }
        Some(Err(reason)) => state.real_node_skipped = Some(reason.clone()),
        None => {}
    }
    state.write(&dir)?;
    println!(
        "ready kubeconfig={} startup_seconds={:.1}",
        cluster.kubeconfig.display(),
        state.startup_seconds
    );

    // Supervise until asked to stop: a process that exits is restarted (see `supervise`).
    let mut supervisor = Supervisor::default();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            () = &mut stop => break,
            _ = tick.tick() => {
                let processes = cluster
                    .components
                    .iter_mut()
                    .map(|c| (c.name.clone(), c))
                    .chain(binaries.iter_mut().map(|b| (format!("rockoon-{}", b.name), b)));
                if supervisor.check(processes, &mut state, &dir) {
                    state.write(&dir)?;
                }
            }
        }
    }
    for binary in binaries.iter_mut().rev() {
        binary.stop(Duration::from_secs(15)).await;
    }
    cluster.stop().await;
    state.ready = false;
    state.pids.clear();
    state.write(&dir)?;
    eprintln!("devcluster: stopped");
    Ok(())
}

/// Starts Prometheus over every namespace; it joins the supervised components.
async fn start_prometheus(cluster: &mut DevCluster, dir: &Path, state: &mut State) -> Result<()> {
    let config = devcluster::prometheus::Config {
        kubeconfig: cluster.kubeconfig.clone(),
        namespaces: Vec::new(),
        scrape_interval_seconds: 5,
    };
    // The web UI is a convenience: without it Prometheus still scrapes and its API answers,
    // so a failed UI build is reported (`devcluster status`, `targets`), not fatal.
    let web_ui = devcluster::prometheus_ui::build()
        .inspect_err(|e| eprintln!("devcluster: Prometheus runs without its web UI: {e:#}"));
    let prometheus =
        devcluster::prometheus::start(&cluster.bin_dir, dir, &config, web_ui.as_deref().ok())
            .await
            .context("step 'start prometheus'")?;
    state.prometheus_url = Some(prometheus.url());
    state.prometheus_no_ui = web_ui.err().map(|e| format!("{e:#}"));
    state.pids.insert(
        "prometheus".into(),
        prometheus.component.pid().unwrap_or_default(),
    );
    cluster.components.push(prometheus.component);
    Ok(())
}

async fn start_suite(
    cluster: &DevCluster,
    dir: &Path,
    target_dir: &Path,
    state: &mut State,
) -> Result<Vec<Component>> {
    let client = cluster.client().await?;
    suite::install_crds(&client)
        .await
        .context("step 'install CRDs'")?;
    // The namespaces exist already: DevCluster::start creates them.
    rockoon_tests::sample::seed_external_inputs(&client, "openstack", "openstack-ceph-shared")
        .await
        .context("step 'create the sample's TLS, OIDC, Vault and Ceph Secrets'")?;
    let mut started = Vec::new();
    for name in suite::BINARIES {
        let port = devcluster::ports::free_port()?;
        // As the chart does by default: OSDPLs outside the managed namespace are told so.
        let extra = match *name {
            "osdpl" => vec![("OSCTL_UNMANAGED_SELECTOR", "*".to_owned())],
            _ => Vec::new(),
        };
        let binary = suite::start_binary(target_dir, name, dir, &cluster.kubeconfig, port, &extra)
            .with_context(|| format!("step 'start rockoon-{name}'"))?;
        state
            .pids
            .insert(format!("rockoon-{name}"), binary.pid().unwrap_or_default());
        state
            .admin_addrs
            .insert((*name).to_owned(), format!("127.0.0.1:{port}"));
        started.push(binary);
    }
    Ok(started)
}

async fn wait_for_stop(exit_on_stdin_eof: bool) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return;
    };
    let stdin_closed = async {
        if exit_on_stdin_eof {
            let mut buf = [0u8; 64];
            let mut stdin = tokio::io::stdin();
            use tokio::io::AsyncReadExt as _;
            while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
        () = stdin_closed => {}
    }
}

/// Whether `pid` runs. A zombie (exited, not yet reaped because its parent is gone and PID 1
/// does not reap) counts as stopped.
fn process_alive(pid: u32) -> bool {
    if pid == 0 || nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_err() {
        return false;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Field 3, after the parenthesised command name, is the state letter.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z") | Some("X"))
}

fn signal(pid: u32, signal: nix::sys::signal::Signal) {
    if pid != 0 {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal);
    }
}

async fn down(dir: &Path) -> Result<()> {
    let Ok(state) = State::read(dir) else {
        // A real node's host record outlives a lost state.json: clean what it names.
        for left in devcluster::real_node::teardown::clean(dir) {
            eprintln!("devcluster: real node teardown: {left}");
        }
        println!("no cluster state in {}; nothing to stop", dir.display());
        return Ok(());
    };
    signal(state.supervisor_pid, nix::sys::signal::Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(40);
    while process_alive(state.supervisor_pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Whatever survived (a supervisor killed with SIGKILL leaves its children) goes now.
    let mut killed: Vec<String> = [stray::BINARIES, stray::COMPONENTS]
        .iter()
        .flat_map(|group| stray::kill_registered(dir, group))
        .map(|pid| format!("pid {pid}"))
        .collect();
    for (name, pid) in &state.pids {
        if process_alive(*pid) {
            signal(*pid, nix::sys::signal::Signal::SIGKILL);
            killed.push(name.clone());
        }
    }
    if process_alive(state.supervisor_pid) {
        signal(state.supervisor_pid, nix::sys::signal::Signal::SIGKILL);
        killed.push("supervisor".into());
    }
    // The real node's containers, mounts, cgroups and links (nothing when the supervisor
    // already removed them).
    for left in devcluster::real_node::teardown::clean(dir) {
        eprintln!("devcluster: real node teardown: {left}");
    }
    if killed.is_empty() {
        println!(
            "cluster stopped; logs kept in {}",
            dir.join("logs").display()
        );
    } else {
        println!("cluster stopped; had to kill {}", killed.join(", "));
    }
    Ok(())
}

async fn wait(dir: &Path, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(state) = State::read(dir) {
            if state.ready {
                println!(
                    "ready kubeconfig={} startup_seconds={:.1}",
                    state.kubeconfig.display(),
                    state.startup_seconds
                );
                return Ok(());
            }
            if let Some(error) = state.error {
                bail!("cluster failed to start: {error}");
            }
            if !process_alive(state.supervisor_pid) {
                bail!(
                    "devcluster up exited before the cluster was ready; see {}",
                    dir.join("devcluster.log").display()
                );
            }
        }
        if Instant::now() > deadline {
            bail!("cluster not ready after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn status(dir: &Path) -> Result<()> {
    let state = State::read(dir).with_context(|| format!("no cluster in {}", dir.display()))?;
    println!("run folder:  {}", dir.display());
    println!("kubeconfig:  {}", state.kubeconfig.display());
    println!(
        "supervisor:  pid {} {}",
        state.supervisor_pid,
        alive_word(state.supervisor_pid)
    );
    for (name, pid) in &state.pids {
        let held = supervise::hold_path(dir, name).exists();
        let restarts = state.restarts.get(name).copied().unwrap_or(0);
        let last_exit = state
            .exits
            .get(name)
            .map_or(String::new(), |e| format!(", last exit {e}"));
        println!(
            "  {name:<26} pid {pid:<8} {}{}{}",
            alive_word(*pid),
            if held {
                " (held: start-component to release)"
            } else {
                ""
            },
            if restarts > 0 {
                format!(" (restarted {restarts}x{last_exit})")
            } else {
                String::new()
            },
        );
    }
    for (name, addr) in &state.admin_addrs {
        println!("  admin {name:<20} http://{addr}/metrics /livez /readyz");
    }
    if let Some(url) = &state.prometheus_url {
        println!(
            "prometheus:  {}",
            devcluster::prometheus_ui::describe(url, &state)
        );
    }
    if !state.ready {
        bail!("cluster is not ready");
    }
    let client = devcluster::client_for(&state.kubeconfig).await?;
    let readyz = client
        .request_text(http::Request::get("/readyz").body(Vec::new())?)
        .await?;
    println!("apiserver:   /readyz {readyz}");
    let nodes: Api<Node> = Api::all(client);
    for node in nodes.list(&ListParams::default()).await? {
        let name = node.metadata.name.clone().unwrap_or_default();
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .map_or("Unknown", |c| c.status.as_str())
            .to_owned();
        let roles: Vec<String> = node
            .metadata
            .labels
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| k.starts_with("openstack-") || k == "openvswitch")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!("  node {name:<8} Ready={ready:<5} {}", roles.join(","));
    }
    Ok(())
}

fn alive_word(pid: u32) -> &'static str {
    if process_alive(pid) {
        "running"
    } else {
        "not running"
    }
}

async fn wait_applied(dir: &Path, namespace: &str, name: &str, timeout: Duration) -> Result<()> {
    use futures::StreamExt as _;
    use kube::runtime::{WatchStreamExt as _, watcher};
    use rockoon_core::crd::OpenStackDeploymentStatus;

    let state = State::read(dir).context("no running cluster (run `make cluster-up`)")?;
    let client = devcluster::client_for(&state.kubeconfig).await?;
    let api: Api<OpenStackDeploymentStatus> = Api::namespaced(client, namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut changes = std::pin::pin!(watcher(api, config).applied_objects());
    let mut last = String::new();
    let started = Instant::now();
    let watch = async {
        while let Some(object) = changes.next().await {
            let summary = object?.status.and_then(|s| s.osdpl).unwrap_or_default();
            let state = summary.state.unwrap_or_default();
            let line = format!("{state} {}", summary.lcm_progress.unwrap_or_default());
            if line != last {
                println!(
                    "{:>5.1} s  osdplst/{name}: {line}",
                    started.elapsed().as_secs_f64()
                );
                last = line;
            }
            if state == "APPLIED" {
                return Ok(());
            }
        }
        bail!("the watch ended")
    };
    tokio::time::timeout(timeout, watch)
        .await
        .with_context(|| format!("osdplst/{name} not APPLIED after {timeout:?} (last: {last})"))?
}
