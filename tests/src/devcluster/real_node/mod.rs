//! One real node next to kwok's fake ones: containerd (Debian's package, runc) and the pinned
//! kubelet, run and supervised by the dev cluster like its other components.
//!
//! Flow: [`preflight`] checks the host (root, Debian packages installed by
//! `tests/cluster/host-packages.sh`, the kubelet and pause image from `tests/cluster/build.sh`);
//! [`start`] claims a host index (a link `rkn<N>`, a bridge without ports, with the node IP 10.250.N.1, which no
//! other cluster on the host can claim twice), creates the node's cgroup root, writes the
//! configuration (`config`), starts containerd, imports the locally built pause image and
//! starts the kubelet; [`wait_ready`] waits for the node to register and turn Ready.
//! [`teardown`] removes everything the node left on the host; `DevCluster::stop` and
//! `devcluster down` call it after stopping the processes.
//!
//! The node is `real-0`, labelled and tainted `rockoon.dev/real-node=true` (NoSchedule), so
//! only pods that tolerate the taint (the suite's own pod) land on it. It carries no kwok
//! annotation, so kwok leaves it alone. Its pods use the host network (there is no
//! kube-proxy): they reach the API server on 127.0.0.1 at the API server's port.

pub mod config;
pub mod shared;
pub mod teardown;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use k8s_openapi::api::core::v1::Node;
use kube::{Api, Client};
use serde::{Deserialize, Serialize};

use super::components::Component;

/// Name of the real node.
pub const NODE_NAME: &str = "real-0";
/// Label and taint key of the real node (value `true`; the taint's effect is NoSchedule).
pub const LABEL: &str = "rockoon.dev/real-node";
/// Where Debian's containernetworking-plugins puts the CNI plugins.
pub const CNI_BIN_DIR: &str = "/usr/lib/cni";
/// Reference of the locally built sandbox image (`tests/cluster/pause/ref`).
pub const SANDBOX_IMAGE: &str = include_str!("../../../cluster/pause/ref").trim_ascii_end();
/// Prefix of the node link (and of the CNI bridge and cgroup root names) of a real node.
pub const LINK_PREFIX: &str = "rkn";

const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// What a real node claimed on the host; saved as `real-node/host.json` before anything is
/// created, so a teardown (even by another process) knows what to remove.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Host {
    /// Host-wide index (0..250) of this node.
    pub index: u8,
    /// Its link (a bridge without ports), `rkn<index>`.
    pub link: String,
    /// The node IP, on that link.
    pub ip: Ipv4Addr,
}

impl Host {
    /// The CNI bridge of this node.
    pub fn bridge(&self) -> String {
        format!("{}br", self.link)
    }

    /// The pod subnet of that bridge.
    pub fn pod_subnet(&self) -> String {
        format!("10.251.{}.0/24", self.index)
    }

    /// The kubelet's cgroup root (pods go under `<root>/kubepods` in every hierarchy).
    pub fn cgroup_root(&self) -> String {
        format!("/rockoon-{}", self.link)
    }

    fn path(layout: &config::Layout) -> PathBuf {
        layout.dir.join("host.json")
    }

    /// The host record of the node in run folder `run_dir`, if it has one.
    pub fn read(run_dir: &Path) -> Option<Self> {
        let path = Self::path(&config::Layout::new(run_dir));
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }
}

/// Checks that this host can run the real node; the error says what is missing. Installs
/// missing Debian packages when it can (root with apt).
pub fn preflight(bin_dir: &Path) -> Result<()> {
    if !nix::unistd::geteuid().is_root() {
        bail!("the real node needs root (containerd, kubelet, cgroups, network links)");
    }
    let script = super::workspace_root().join("tests/cluster/host-packages.sh");
    let status = Command::new("bash")
        .arg(&script)
        .status()
        .with_context(|| format!("running {}", script.display()))?;
    if !status.success() {
        bail!(
            "the real node's Debian packages are missing and {} could not install them (see \
             its message above)",
            script.display()
        );
    }
    for path in [
        bin_dir.join("kubelet"),
        bin_dir.join("pause.tar"),
        PathBuf::from(CNI_BIN_DIR).join("bridge"),
    ] {
        if !path.exists() {
            bail!(
                "{} does not exist (run tests/cluster/build.sh and tests/cluster/host-packages.sh)",
                path.display()
            );
        }
    }
    Ok(())
}

/// Inputs of [`start`].
pub struct StartInputs<'a> {
    /// Run folder of the cluster.
    pub run_dir: &'a Path,
    /// Component binaries (kubelet, pause.tar).
    pub bin_dir: &'a Path,
    /// The cluster's generated files (node token, kubelet client CA).
    pub files: &'a super::files::Files,
    /// The API server's URL, as the kubelet reaches it.
    pub server: String,
}

/// Claims the host resources, writes the configuration and starts containerd and the
/// kubelet; returns them (containerd first) for the cluster to supervise.
pub async fn start(inputs: StartInputs<'_>) -> Result<Vec<Component>> {
    let layout = config::Layout::new(inputs.run_dir);
    std::fs::create_dir_all(&layout.dir)?;
    let host = claim_host(&layout).context("step 'create the node's link'")?;
    create_cgroup_root(&host).context("step 'create the node's cgroup root'")?;
    let port = super::ports::free_port()?;
    let healthz = super::ports::free_port()?;
    config::write_all(
        &layout,
        &host,
        &config::KubeletEndpoint {
            token: &inputs.files.node_token,
            port,
            healthz_port: healthz,
        },
        inputs.files,
        &inputs.server,
    )
    .context("step 'write the node's configuration'")?;

    let mut containerd = Component::spawn(
        "containerd",
        Path::new("containerd"),
        &[format!("--config={}", layout.containerd_config.display())],
        inputs.run_dir,
        &[],
    )
    .context("step 'start containerd'")?;
    containerd.register_in(super::stray::COMPONENTS)?;
    wait_for_socket(&layout.containerd_socket, &mut containerd)
        .await
        .context("step 'wait for containerd'")?;
    import_image(&layout, &inputs.bin_dir.join("pause.tar"))
        .context("step 'import the pause image'")?;

    let mut kubelet = Component::spawn(
        "kubelet",
        &inputs.bin_dir.join("kubelet"),
        &[
            format!("--config={}", layout.kubelet_config.display()),
            format!("--kubeconfig={}", layout.kubelet_kubeconfig.display()),
            format!("--root-dir={}", layout.kubelet_root.display()),
            format!("--cert-dir={}", layout.kubelet_certs.display()),
            format!("--hostname-override={NODE_NAME}"),
            format!("--node-ip={}", host.ip),
            format!("--node-labels={LABEL}=true"),
            format!("--register-with-taints={LABEL}=true:NoSchedule"),
            "--v=1".into(),
        ],
        inputs.run_dir,
        &[],
    )
    .context("step 'start kubelet'")?;
    kubelet.register_in(super::stray::COMPONENTS)?;
    Ok(vec![containerd, kubelet])
}

/// Imports an OCI archive into containerd's `k8s.io` namespace (the one CRI uses), so pods
/// can use it with `imagePullPolicy: Never` (or IfNotPresent).
pub fn import_image(layout: &config::Layout, archive: &Path) -> Result<()> {
    let output = Command::new("ctr")
        .arg(format!("--address={}", layout.containerd_socket.display()))
        .args(["--namespace=k8s.io", "images", "import"])
        .arg(archive)
        .output()
        .context("running ctr")?;
    if !output.status.success() {
        bail!(
            "ctr images import {} failed: {}",
            archive.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Takes the first free host index by creating its link (creation is atomic: two
/// clusters starting at once get different indexes), gives it the node IP and records it.
fn claim_host(layout: &config::Layout) -> Result<Host> {
    for index in 0..250u8 {
        let link = format!("{LINK_PREFIX}{index}");
        let created = Command::new("ip")
            // A bridge without ports: always built in where CNI's bridge plugin works (the
            // dummy link type is a module some kernels lack).
            .args(["link", "add", &link, "type", "bridge"])
            .output()
            .context("running ip")?;
        if !created.status.success() {
            continue; // taken by another cluster (or a leftover that its teardown removes)
        }
        let host = Host {
            index,
            ip: config::node_ip(index),
            link,
        };
        // Recorded before anything else, so a teardown finds the link even if the next step
        // fails.
        std::fs::write(Host::path(layout), serde_json::to_vec(&host)?)?;
        run(
            "ip",
            &["addr", "add", &format!("{}/32", host.ip), "dev", &host.link],
        )?;
        run("ip", &["link", "set", &host.link, "up"])?;
        return Ok(host);
    }
    bail!("no free node link {LINK_PREFIX}0..{LINK_PREFIX}249 (`ip link add` failed for all)")
}

/// The cgroup v1 hierarchies (and the unified one) mounted under /sys/fs/cgroup.
pub fn cgroup_hierarchies() -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    if base.join("cgroup.procs").exists() {
        return vec![base.to_owned()]; // pure cgroup v2
    }
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let mut hierarchies: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("cgroup.procs").exists())
        .collect();
    hierarchies.sort();
    hierarchies
}

/// The kubelet refuses a cgroup root that does not exist: create it in every hierarchy. A
/// new v1 cpuset cgroup has no CPUs or memory nodes; give it its parent's.
fn create_cgroup_root(host: &Host) -> Result<()> {
    let root = host.cgroup_root();
    for hierarchy in cgroup_hierarchies() {
        let dir = hierarchy.join(root.trim_start_matches('/'));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for file in ["cpuset.cpus", "cpuset.mems"] {
            if let Ok(parent) = std::fs::read_to_string(hierarchy.join(file)) {
                std::fs::write(dir.join(file), parent.trim())
                    .with_context(|| format!("writing {}", dir.join(file).display()))?;
            }
        }
    }
    Ok(())
}

async fn wait_for_socket(socket: &Path, containerd: &mut Component) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !socket.exists() {
        containerd.check_alive()?;
        if Instant::now() > deadline {
            bail!("no {} after 30s", socket.display());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Waits until the node registered and reports Ready (its runtime and network are up).
pub async fn wait_ready(client: &Client, components: &mut [Component]) -> Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(node) = api.get_opt(NODE_NAME).await?
            && super::nodes::is_node_ready(Some(&node))
        {
            return Ok(());
        }
        for component in components.iter_mut() {
            component.check_alive()?;
        }
        if Instant::now() > deadline {
            bail!("node {NODE_NAME} not Ready after {READY_TIMEOUT:?} (see logs/kubelet.log)");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs a host command; its stderr in the error.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<()> {
    let output = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))?;
    if !output.status.success() {
        bail!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Whether a cluster runs the real node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// No real node.
    Off,
    /// A real node when the host can run one; otherwise the cluster starts without it and
    /// says why (`state.json`'s `real_node_skipped`).
    Auto,
    /// A real node, or the cluster fails to start.
    On,
}
