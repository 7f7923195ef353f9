//! The real node's configuration files, written before its processes start: containerd's
//! `config.toml`, the CNI network, kubelet's `KubeletConfiguration` and kubeconfig.
//!
//! Every path points inside the node's folder (`<run dir>/real-node/`) or, for what holds
//! unix sockets, its runtime folder (`/var/lib/rockoon-dev/<id>`, see [`Layout::runtime`]), so
//! the host keeps nothing of it except what the kernel or the runtimes cannot put elsewhere
//! (cgroups, the node link, shim sockets under `/run/containerd/s`), which `teardown` removes.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::Host;

/// Paths of the node's folder.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct Layout {
    pub dir: PathBuf,
    /// Short folder for the state that holds unix sockets (see [`Layout::new`]).
    pub runtime: PathBuf,
    pub containerd_config: PathBuf,
    pub containerd_root: PathBuf,
    pub containerd_state: PathBuf,
    pub containerd_socket: PathBuf,
    pub cni_conf_dir: PathBuf,
    pub kubelet_config: PathBuf,
    pub kubelet_kubeconfig: PathBuf,
    pub kubelet_root: PathBuf,
    pub kubelet_certs: PathBuf,
    pub pod_logs: PathBuf,
}

impl Layout {
    /// The layout under `<run dir>/real-node`, and under the node's runtime folder for the
    /// kubelet's root and containerd's state and socket. A unix socket path has at most 107
    /// bytes and the kubelet puts sockets 25 bytes below its root
    /// (`pod-resources/<10 digits>`), so these cannot live under a checkout whose path
    /// length nobody controls; the runtime folder is named after the run folder (a digest),
    /// so the teardown of a run finds it from the run folder alone.
    pub fn new(run_dir: &Path) -> Self {
        let dir = run_dir.join("real-node");
        let runtime = runtime_folder(run_dir);
        Self {
            containerd_config: dir.join("containerd.toml"),
            containerd_root: dir.join("containerd/root"),
            containerd_state: runtime.join("containerd"),
            containerd_socket: runtime.join("containerd.sock"),
            cni_conf_dir: dir.join("cni"),
            kubelet_config: dir.join("kubelet.yaml"),
            kubelet_kubeconfig: dir.join("kubelet.kubeconfig"),
            kubelet_root: runtime.join("kubelet"),
            kubelet_certs: dir.join("kubelet-pki"),
            pod_logs: dir.join("pod-logs"),
            dir,
            runtime,
        }
    }
}

/// Parent of every real node's runtime folder; removed by the teardown once empty.
pub const RUNTIME_PARENT: &str = "/var/lib/rockoon-dev";

/// `/var/lib/rockoon-dev/<first 12 hex digits of sha256(absolute run folder)>`.
fn runtime_folder(run_dir: &Path) -> PathBuf {
    use sha2::{Digest as _, Sha256};
    let absolute = std::path::absolute(run_dir).unwrap_or_else(|_| run_dir.to_owned());
    let digest = Sha256::digest(absolute.display().to_string().as_bytes());
    let id: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    Path::new(RUNTIME_PARENT).join(id)
}

/// containerd with CRI: the sandbox image is our own (imported, never pulled), runc with the
/// cgroupfs driver, its runc state and network namespaces inside its state folder.
/// `restrict_oom_score_adj`: without CAP_SYS_RESOURCE (as on some VMs) runc cannot lower a
/// process' OOM score below its parent's.
pub fn containerd_toml(layout: &Layout, sandbox_image: &str) -> String {
    let d = |p: &Path| p.display().to_string();
    let cri = "plugins.\"io.containerd.grpc.v1.cri\"";
    format!(
        r#"version = 2
root = "{root}"
state = "{state}"
[grpc]
  address = "{socket}"
[ttrpc]
  address = "{socket}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{opt}"
[{cri}]
  sandbox_image = "{sandbox_image}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [{cri}.containerd]
    default_runtime_name = "runc"
    snapshotter = "overlayfs"
    [{cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [{cri}.containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{runc_root}"
  [{cri}.cni]
    bin_dir = "{cni_bin}"
    conf_dir = "{cni_conf}"
"#,
        root = d(&layout.containerd_root),
        state = d(&layout.containerd_state),
        socket = d(&layout.containerd_socket),
        opt = d(&layout.dir.join("containerd/opt")),
        runc_root = d(&layout.containerd_state.join("runc")),
        cni_bin = super::CNI_BIN_DIR,
        cni_conf = d(&layout.cni_conf_dir),
    )
}

/// A bridge network of its own (per-host index in the bridge name and subnet, so a second
/// cluster's node does not share it) with IP bookkeeping inside the node folder. No IP
/// masquerading: that would add iptables chains, and the suite's pods use the host network.
pub fn cni_conflist(layout: &Layout, host: &Host) -> String {
    serde_json::json!({
        "cniVersion": "1.0.0",
        "name": format!("rockoon-{}", host.link),
        "plugins": [
            {
                "type": "bridge",
                "bridge": host.bridge(),
                "isGateway": true,
                "ipMasq": false,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": host.pod_subnet()}]],
                    "dataDir": layout.dir.join("cni-ipam"),
                },
            },
            {"type": "loopback"},
        ],
    })
    .to_string()
}

/// The kubelet: cgroupfs driver under a cgroup root named after the node's link (teardown
/// finds it by that name), cgroup v1 allowed, serving on the node IP at `port`, trusting
/// client certificates of `client_ca` only.
pub fn kubelet_yaml(
    layout: &Layout,
    host: &Host,
    port: u16,
    healthz_port: u16,
    client_ca: &Path,
) -> String {
    serde_json::json!({
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": host.ip.to_string(),
        "port": port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "containerRuntimeEndpoint": format!("unix://{}", layout.containerd_socket.display()),
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": host.cgroup_root(),
        "failCgroupV1": false,
        "failSwapOn": false,
        "podLogsDir": layout.pod_logs,
        "authentication": {
            "anonymous": {"enabled": false},
            "webhook": {"enabled": false},
            "x509": {"clientCAFile": client_ca},
        },
        "authorization": {"mode": "AlwaysAllow"},
        // A dev machine's disk is often fuller than the defaults allow; no evictions here.
        "evictionHard": {
            "memory.available": "1Mi",
            "nodefs.available": "1%",
            "imagefs.available": "1%",
            "nodefs.inodesFree": "1%",
        },
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "registerNode": true,
    })
    .to_string()
}

/// The kubelet's kubeconfig: its `system:node:` token against the API server.
pub fn kubelet_kubeconfig(server: &str, ca: &Path, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: devcluster\n  cluster:\n    server: {server}\n    certificate-authority: {ca}\nusers:\n- name: node\n  user:\n    token: {token}\ncontexts:\n- name: node\n  context:\n    cluster: devcluster\n    user: node\ncurrent-context: node\n",
        ca = ca.display()
    )
}

/// The kubelet's credentials and ports.
pub struct KubeletEndpoint<'a> {
    /// Its `system:node:` token.
    pub token: &'a str,
    /// Its API port (on the node IP; kube-apiserver connects there for logs and exec).
    pub port: u16,
    /// Its health port (on loopback).
    pub healthz_port: u16,
}

/// Writes every file of the node.
pub fn write_all(
    layout: &Layout,
    host: &Host,
    kubelet: &KubeletEndpoint<'_>,
    files: &super::super::files::Files,
    server: &str,
) -> Result<()> {
    for dir in [
        &layout.containerd_root,
        &layout.containerd_state,
        &layout.cni_conf_dir,
        &layout.kubelet_root,
        &layout.kubelet_certs,
        &layout.pod_logs,
    ] {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(
        &layout.containerd_config,
        containerd_toml(layout, super::SANDBOX_IMAGE),
    )?;
    std::fs::write(
        layout.cni_conf_dir.join("10-rockoon.conflist"),
        cni_conflist(layout, host),
    )?;
    std::fs::write(
        &layout.kubelet_config,
        kubelet_yaml(
            layout,
            host,
            kubelet.port,
            kubelet.healthz_port,
            &files.kubelet_client_ca,
        ),
    )?;
    std::fs::write(
        &layout.kubelet_kubeconfig,
        kubelet_kubeconfig(server, &files.cert_dir.join("apiserver.crt"), kubelet.token),
    )?;
    Ok(())
}

/// The node IP of host index `index` (a private /32 on the node's link).
pub fn node_ip(index: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 250, index, 1)
}
