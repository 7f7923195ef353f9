//! Removing everything a real node left on the host, after (or while) its processes stop.
//!
//! [`drain`] runs while containerd still answers, after the kubelet stopped: it kills and
//! deletes every task, so the shims exit on their own (removing their sockets under
//! `/run/containerd/s`) and containerd unmounts the containers' root filesystems.
//! [`clean`] then removes what remains, also after a supervisor killed with SIGKILL: the
//! processes in the node's cgroups and its shims, the mounts under its folder, its cgroups in
//! every hierarchy, its shim sockets, its link and CNI bridge, the kubelet's
//! `/var/log/containers` links into its folder. Both are idempotent.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

use super::config::Layout;
use super::{Host, cgroup_hierarchies};

/// Where containerd (1.6, hard-coded) puts its shims' sockets.
const SHIM_SOCKET_DIR: &str = "/run/containerd/s";
/// Where the kubelet (hard-coded) links container logs.
pub(super) const CONTAINER_LOG_LINKS: &str = "/var/log/containers";

/// Kills and deletes every task of the node's containerd (`k8s.io` namespace). The sockets of
/// their shims are noted first (`real-node/shim-sockets`): a shim that dies instead of
/// exiting leaves its socket, and containerd then removes the task folder [`clean`] would
/// otherwise name it from.
pub fn drain(run_dir: &Path) {
    let layout = Layout::new(run_dir);
    if !layout.containerd_socket.exists() {
        return;
    }
    let ctr = |args: &[&str]| {
        Command::new("ctr")
            .arg(format!("--address={}", layout.containerd_socket.display()))
            .arg("--namespace=k8s.io")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
    };
    let Some(tasks) = ctr(&["tasks", "ls", "--quiet"]) else {
        return;
    };
    let ids: Vec<&str> = tasks
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let noted: Vec<String> = ids
        .iter()
        .map(|id| shim_socket(&layout, id).display().to_string())
        .collect();
    let _ = std::fs::write(layout.dir.join(NOTED_SOCKETS), noted.join("\n"));
    // Every process first, then the tasks: a pod's containers share one shim, which exits
    // (removing its socket) once its last task is deleted.
    for id in &ids {
        let _ = ctr(&["tasks", "kill", "--all", "--signal=SIGKILL", id]);
    }
    for id in &ids {
        let _ = ctr(&["tasks", "delete", "--force", id]);
        let _ = ctr(&["containers", "delete", id]);
    }
}

/// File in the node folder listing the shim sockets `drain` saw.
const NOTED_SOCKETS: &str = "shim-sockets";

/// Removes everything the node of `run_dir` left on the host; returns what it could not
/// remove (empty when the host is clean of it).
pub fn clean(run_dir: &Path) -> Vec<String> {
    let Some(host) = Host::read(run_dir) else {
        return Vec::new();
    };
    let layout = Layout::new(run_dir);
    let mut left = Vec::new();
    let mut shim_sockets = shim_sockets(&layout);
    let noted = std::fs::read_to_string(layout.dir.join(NOTED_SOCKETS)).unwrap_or_default();
    shim_sockets.extend(noted.lines().map(PathBuf::from));

    kill_node_processes(&host, &layout);
    left.extend(unmount_under(&layout.dir));
    left.extend(unmount_under(&layout.runtime));
    left.extend(remove_cgroups(&host));
    for socket in shim_sockets {
        let _ = std::fs::remove_file(&socket);
    }
    // Empty only when no other containerd uses them.
    let _ = std::fs::remove_dir(SHIM_SOCKET_DIR);
    let _ = std::fs::remove_dir("/run/containerd");
    remove_log_links(&layout);
    // The link goes first: the shared leftovers go only when no other node's link is there.
    for link in [host.bridge(), host.link.clone()] {
        if link_exists(&link)
            && let Err(error) = super::run("ip", &["link", "delete", &link])
        {
            left.push(format!("{error:#}"));
        }
    }
    if !super::shared::other_nodes_running() {
        left.extend(super::shared::clean());
    }
    // Runtime state only (mounts are gone); the logs stay with the run folder.
    for dir in [
        &layout.runtime,
        &layout.dir.join("containerd"),
        &layout.dir.join("cni-ipam"),
    ] {
        let _ = std::fs::remove_dir_all(dir);
    }
    // Empty only when no other node's runtime folder is there.
    let _ = std::fs::remove_dir(super::config::RUNTIME_PARENT);
    if layout.runtime.exists() {
        left.push(format!(
            "folder {} is still there",
            layout.runtime.display()
        ));
    }
    if left.is_empty() {
        let _ = std::fs::remove_file(layout.dir.join("host.json"));
    }
    left
}

/// Whether a network link of that name exists.
pub fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// containerd 1.6 names a shim's socket `/run/containerd/s/<sha256(address/namespace/id)>`;
/// the ids are the task folders in its state.
pub fn shim_sockets(layout: &Layout) -> Vec<PathBuf> {
    let tasks = layout
        .containerd_state
        .join("io.containerd.runtime.v2.task/k8s.io");
    let Ok(entries) = std::fs::read_dir(tasks) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|entry| shim_socket(layout, &entry.file_name().to_string_lossy()))
        .collect()
}

/// The socket path of the shim of task `id`.
fn shim_socket(layout: &Layout, id: &str) -> PathBuf {
    let key = layout.containerd_socket.join("k8s.io").join(id);
    let digest = Sha256::digest(key.display().to_string().as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Path::new(SHIM_SOCKET_DIR).join(hex)
}

/// SIGKILLs the containers (processes in the node's cgroups) and the shims of its
/// containerd, until none is left (at most a few seconds).
fn kill_node_processes(host: &Host, layout: &Layout) {
    let root = format!("{}/", host.cgroup_root());
    let address = layout.containerd_socket.display().to_string();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut found = false;
        for pid in all_pids() {
            if is_zombie(pid) {
                continue; // already dead; whoever adopted it reaps it
            }
            let cgroups =
                std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
            let in_node = cgroups
                .lines()
                .filter_map(|l| l.splitn(3, ':').nth(2))
                .any(|path| path.starts_with(&root));
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            let our_shim = args
                .first()
                .is_some_and(|a| a.ends_with(b"containerd-shim-runc-v2"))
                && args.contains(&address.as_bytes());
            if in_node || our_shim {
                found = true;
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        if !found || Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn is_zombie(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state letter follows the parenthesised command name.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_none_or(|state| state == "Z" || state == "X")
}

fn all_pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Mount points at or under `dir`, deepest first (from /proc/self/mountinfo).
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let prefix = dir.display().to_string();
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut mounts: Vec<String> = info
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(unescape_mount_path)
        .filter(|m| m == &prefix || m.starts_with(&format!("{prefix}/")))
        .collect();
    mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
    mounts.dedup();
    mounts
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mount_path(raw: &str) -> String {
    let mut out = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let code: String = chars.by_ref().take(3).collect();
            if let Ok(byte) = u8::from_str_radix(&code, 8) {
                out.push(byte as char);
                continue;
            }
            out.push(c);
            out.push_str(&code);
        } else {
            out.push(c);
        }
    }
    out
}

fn unmount_under(dir: &Path) -> Vec<String> {
    // A mount can hide another at the same point: repeat until none is left.
    for _ in 0..5 {
        let mounts = mounts_under(dir);
        if mounts.is_empty() {
            return Vec::new();
        }
        for mount in mounts {
            let _ = nix::mount::umount2(mount.as_str(), nix::mount::MntFlags::MNT_DETACH);
        }
    }
    mounts_under(dir)
        .into_iter()
        .map(|m| format!("mount {m} is still there"))
        .collect()
}

/// The node's cgroup folders (its cgroup root and everything below) in every hierarchy.
pub fn node_cgroups(host: &Host) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for hierarchy in cgroup_hierarchies() {
        let root = hierarchy.join(host.cgroup_root().trim_start_matches('/'));
        collect_dirs(&root, &mut found);
    }
    found
}

fn collect_dirs(dir: &Path, found: &mut Vec<PathBuf>) {
    if !dir.is_dir() {
        return;
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                collect_dirs(&entry.path(), found);
            }
        }
    }
    found.push(dir.to_owned());
}

/// Removes the node's cgroups, children first (a cgroup can only go once it is empty).
fn remove_cgroups(host: &Host) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut left = Vec::new();
        for dir in node_cgroups(host) {
            if let Err(error) = std::fs::remove_dir(&dir) {
                left.push(format!("cgroup {}: {error}", dir.display()));
            }
        }
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The kubelet links each container's log into /var/log/containers; remove the links that
/// point into this node's folder.
fn remove_log_links(layout: &Layout) {
    let Ok(entries) = std::fs::read_dir(CONTAINER_LOG_LINKS) else {
        return;
    };
    for entry in entries.flatten() {
        if std::fs::read_link(entry.path()).is_ok_and(|target| target.starts_with(&layout.dir)) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
