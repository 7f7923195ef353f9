//! The dev cluster: a real, disposable Kubernetes control plane on loopback.
//!
//! [`DevCluster::start`] runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
//! kwok (fake nodes and pods) from the binaries `tests/cluster/build.sh` builds, on free ports
//! and in a run folder that keeps every component's log. It writes a kubeconfig, creates fake
//! nodes with the seed's placement labels and returns once everything is healthy.
//! With [`Options::real_node`] it also runs one real node (containerd and kubelet, see
//! `real_node`). [`DevCluster::stop`] stops the components in reverse order. Children are spawned with
//! `kill_on_drop`, so even a panic of the supervisor cannot leave them behind.
//!
//! The `devcluster` binary wraps this for humans (`make cluster-up`) and for the test suite,
//! which runs it as a child that tears the cluster down when the test process goes away.

mod components;
mod extras;
mod files;
pub mod gateway_api;
mod nodes;
pub mod ports;
pub mod prometheus;
pub mod prometheus_ui;
pub mod real_node;
pub mod state;
pub mod stray;
pub mod supervise;
mod volumes;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use kube::Client;

pub use components::{Component, http_get, tail};
pub use nodes::{KWOK_ANNOTATION, NodeCounts};
pub use real_node::Mode as RealNodeMode;

/// How to start a cluster.
#[derive(Debug, Clone)]
pub struct Options {
    /// Run folder: kubeconfig, certificates, data and logs.
    pub dir: PathBuf,
    /// Folder with the component binaries; built with `tests/cluster/build.sh` when absent.
    pub bin_dir: Option<PathBuf>,
    /// Fake nodes per role.
    pub nodes: NodeCounts,
    /// Whether to run the real node.
    pub real_node: RealNodeMode,
}

/// A running cluster.
pub struct DevCluster {
    /// Run folder.
    pub dir: PathBuf,
    /// Admin kubeconfig.
    pub kubeconfig: PathBuf,
    /// Folder of the component binaries.
    pub bin_dir: PathBuf,
    /// Running components, in start order.
    pub components: Vec<Component>,
    /// Time from start to healthy.
    pub startup: Duration,
    /// The real node: `Ok(time from kubelet start to Ready)` when it runs, `Err(why not)`
    /// when `RealNodeMode::Auto` found the host unable to, `None` when not asked for.
    pub real_node: Option<std::result::Result<Duration, String>>,
    /// The volume provisioner's task (binds every claim), stopped with the cluster.
    provisioner: Option<tokio::task::JoinHandle<()>>,
}

impl DevCluster {
    /// Starts every component and waits until the cluster is usable.
    ///
    /// Each failure names the step that failed, so CI logs say what is missing.
    pub async fn start(options: Options) -> Result<Self> {
        let started = Instant::now();
        let bin_dir = match options.bin_dir.clone() {
            Some(dir) => dir,
            None => build_components().context("step 'build dev cluster components'")?,
        };
        for binary in [
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kwok",
        ] {
            if !bin_dir.join(binary).exists() {
                bail!(
                    "step 'find {binary}': {} does not exist; run tests/cluster/build.sh",
                    bin_dir.join(binary).display()
                );
            }
        }
        let dir = options.dir.clone();
        std::fs::create_dir_all(dir.join("logs")).context("step 'create run folder'")?;
        let ports = ports::Ports::allocate().context("step 'allocate ports'")?;
        let files = files::Files::write(&dir, &ports)
            .context("step 'write certificates and kubeconfig'")?;
        let real_node = match options.real_node {
            RealNodeMode::Off => None,
            mode => match real_node::preflight(&bin_dir) {
                Ok(()) => Some(Ok(Duration::ZERO)),
                Err(error) if mode == RealNodeMode::Auto => {
                    eprintln!("devcluster: no real node: {error:#}");
                    Some(Err(format!("{error:#}")))
                }
                Err(error) => return Err(error.context("step 'check the real node's host'")),
            },
        };

        let mut cluster = DevCluster {
            dir: dir.clone(),
            kubeconfig: files.kubeconfig.clone(),
            bin_dir: bin_dir.clone(),
            components: Vec::new(),
            startup: Duration::ZERO,
            real_node,
            provisioner: None,
        };
        let result = cluster
            .start_components(&ports, &files, &options.nodes)
            .await;
        if let Err(error) = result {
            cluster.stop().await;
            return Err(error);
        }
        cluster.startup = started.elapsed();
        Ok(cluster)
    }

    async fn start_components(
        &mut self,
        ports: &ports::Ports,
        files: &files::Files,
        nodes: &NodeCounts,
    ) -> Result<()> {
        let launcher = components::Launcher {
            bin_dir: &self.bin_dir,
            dir: &self.dir,
        };
        self.components
            .push(launcher.etcd(ports).context("step 'start etcd'")?);
        components::wait_for_etcd(ports.etcd_client, &mut self.components[0])
            .await
            .context("step 'wait for etcd'")?;

        self.components.push(
            launcher
                .apiserver(ports, files)
                .context("step 'start kube-apiserver'")?,
        );
        let client = components::wait_for_apiserver(
            &files.kubeconfig,
            self.components.last_mut().expect("just pushed"),
        )
        .await
        .context("step 'wait for kube-apiserver'")?;

        self.components.push(
            launcher
                .controller_manager(ports, files)
                .context("step 'start kube-controller-manager'")?,
        );
        self.components.push(
            launcher
                .scheduler(ports, files)
                .context("step 'start kube-scheduler'")?,
        );
        self.components
            .push(launcher.kwok(ports, files).context("step 'start kwok'")?);
        // Started now and awaited last: the kubelet registers while the rest comes up.
        let real_node_started = Instant::now();
        if matches!(self.real_node, Some(Ok(_))) {
            let node = real_node::start(real_node::StartInputs {
                run_dir: &self.dir,
                bin_dir: &self.bin_dir,
                files,
                server: format!("https://127.0.0.1:{}", ports.apiserver),
            })
            .await
            .context("step 'start the real node'")?;
            self.components.extend(node);
        }

        nodes::create(&client, nodes)
            .await
            .context("step 'create fake nodes'")?;
        nodes::wait_ready(&client, nodes, &mut self.components)
            .await
            .context("step 'wait for nodes to be Ready'")?;
        components::wait_for_default_service_account(&client, &mut self.components)
            .await
            .context("step 'wait for kube-controller-manager'")?;
        extras::install(&client)
            .await
            .context("step 'install the PodMonitor CRD'")?;
        gateway_api::install(&client, &self.bin_dir)
            .await
            .context("step 'install the Gateway API CRDs'")?;
        crate::suite::create_namespaces(&client)
            .await
            .context("step 'create the suite's namespaces'")?;
        if matches!(self.real_node, Some(Ok(_))) {
            real_node::wait_ready(&client, &mut self.components)
                .await
                .context("step 'wait for the real node to be Ready'")?;
            self.real_node = Some(Ok(real_node_started.elapsed()));
        }
        self.provisioner = Some(tokio::spawn(volumes::provision(client)));
        Ok(())
    }

    /// A client for the cluster's admin user.
    pub async fn client(&self) -> Result<Client> {
        client_for(&self.kubeconfig).await
    }

    /// Stops every component, last started first.
    pub async fn stop(&mut self) {
        // Binaries of the suite a test started (and could not stop because it was killed)
        // go first, while the API server they talk to is still up.
        stray::kill_registered(&self.dir, stray::BINARIES);
        if let Some(provisioner) = self.provisioner.take() {
            provisioner.abort();
        }
        while let Some(mut component) = self.components.pop() {
            if component.name == "containerd" {
                // The kubelet is stopped: end the containers while containerd still can.
                real_node::teardown::drain(&self.dir);
            }
            component.stop(Duration::from_secs(10)).await;
        }
        for left in real_node::teardown::clean(&self.dir) {
            eprintln!("devcluster: real node teardown: {left}");
        }
    }
}

/// A client for a kubeconfig file.
pub async fn client_for(kubeconfig: &Path) -> Result<Client> {
    let file = kube::config::Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading {}", kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(file, &Default::default()).await?;
    Ok(Client::try_from(config)?)
}

/// Root of the workspace (this crate lives in `<root>/tests`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Builds (or finds in the cache) the pinned components; returns their folder.
pub fn build_components() -> Result<PathBuf> {
    match std::env::var_os("ROCKOON_DEVCLUSTER_BIN") {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => cached_folder("tests/cluster/build.sh", "build dev cluster components"),
    }
}

/// The upstream OpenStack-Helm charts, prepared for installation (dependencies built) by
/// `tests/cluster/charts.sh` into a cache outside the repository; returns their directory.
/// `ROCKOON_CHARTS_DIR` points at an already prepared directory instead.
pub fn upstream_charts() -> Result<PathBuf> {
    match std::env::var_os("ROCKOON_CHARTS_DIR") {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => cached_folder("tests/cluster/charts.sh", "prepare the upstream charts"),
    }
}

/// Runs one of the project's cache scripts (it fills a cache outside the repository when
/// needed, then prints the folder); its progress goes to our stderr.
fn cached_folder(script: &str, step: &str) -> Result<PathBuf> {
    let script = workspace_root().join(script);
    let output = std::process::Command::new("bash")
        .arg(&script)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !output.status.success() {
        bail!(
            "step '{step}': {} failed ({}); see its output above",
            script.display(),
            output.status
        );
    }
    Ok(PathBuf::from(String::from_utf8(output.stdout)?.trim()))
}
