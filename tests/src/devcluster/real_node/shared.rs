//! What every real node on the host shares, because the kubelet puts it at fixed places: its
//! iptables chains (`KUBE-FIREWALL`, `KUBE-KUBELET-CANARY`, `KUBE-IPTABLES-HINT`, IPv4 and
//! IPv6), `/var/lib/kubelet/device-plugins` (its device-plugin socket) and
//! `/var/log/containers`. The teardown of the last real node on the host removes them; while
//! another node's link (`rkn<N>`) exists they stay.

use std::io::Write as _;
use std::process::{Command, Stdio};

/// The chains the kubelet creates.
pub const KUBELET_CHAINS: &[&str] = &["KUBE-FIREWALL", "KUBE-KUBELET-CANARY", "KUBE-IPTABLES-HINT"];
const DEVICE_PLUGINS: &str = "/var/lib/kubelet/device-plugins";

/// Whether another real node's link exists on the host.
pub fn other_nodes_running() -> bool {
    std::fs::read_dir("/sys/class/net")
        .map(|entries| {
            entries.flatten().any(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_prefix(super::LINK_PREFIX)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
        })
        .unwrap_or(false)
}

/// Removes the shared leftovers; returns what could not be removed.
pub fn clean() -> Vec<String> {
    let mut left = Vec::new();
    for (save, restore) in [
        ("iptables-save", "iptables-restore"),
        ("ip6tables-save", "ip6tables-restore"),
    ] {
        for table in ["filter", "nat", "mangle"] {
            if let Err(error) = remove_chains(save, restore, table) {
                left.push(format!("{restore} -t {table}: {error}"));
            }
        }
    }
    let socket = std::path::Path::new(DEVICE_PLUGINS).join("kubelet.sock");
    let _ = std::fs::remove_file(socket);
    let _ = std::fs::remove_dir(DEVICE_PLUGINS);
    let _ = std::fs::remove_dir("/var/lib/kubelet");
    // Created by the kubelet when missing; gone again when empty.
    let _ = std::fs::remove_dir(super::teardown::CONTAINER_LOG_LINKS);
    left
}

/// The `iptables-restore --noflush` input that removes the kubelet's chains of one table:
/// first the rules of other chains that jump to them, then their rules, then the chains.
pub fn removal_script(table: &str, saved: &str) -> Option<String> {
    let mut lines = Vec::new();
    let present: Vec<&str> = saved
        .lines()
        .filter_map(|l| l.strip_prefix(':')?.split(' ').next())
        .filter(|chain| KUBELET_CHAINS.contains(chain))
        .collect();
    if present.is_empty() {
        return None;
    }
    for rule in saved.lines().filter_map(|l| l.strip_prefix("-A ")) {
        let chain = rule.split(' ').next().unwrap_or_default();
        let target = rule.rsplit_once("-j ").map(|(_, t)| t.trim());
        if !present.contains(&chain) && target.is_some_and(|t| present.contains(&t)) {
            lines.push(format!("-D {rule}"));
        }
    }
    lines.extend(present.iter().map(|c| format!("-F {c}")));
    lines.extend(present.iter().map(|c| format!("-X {c}")));
    Some(format!("*{table}\n{}\nCOMMIT\n", lines.join("\n")))
}

fn remove_chains(save: &str, restore: &str, table: &str) -> Result<(), String> {
    let Ok(saved) = Command::new(save).args(["-t", table]).output() else {
        return Ok(()); // no iptables on this host: nothing of it to remove
    };
    let saved = String::from_utf8_lossy(&saved.stdout);
    let Some(script) = removal_script(table, &saved) else {
        return Ok(());
    };
    let mut child = Command::new(restore)
        .arg("--noflush")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::removal_script;

    #[test]
    fn the_removal_script_unhooks_flushes_and_deletes_only_the_kubelets_chains() {
        let saved = "*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:KUBE-FIREWALL - [0:0]\n:KUBE-KUBELET-CANARY - [0:0]\n:OTHER - [0:0]\n-A INPUT -j KUBE-FIREWALL\n-A INPUT -j OTHER\n-A OUTPUT -j KUBE-FIREWALL\n-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -j DROP\nCOMMIT\n";
        assert_eq!(
            removal_script("filter", saved).unwrap(),
            "*filter\n-D INPUT -j KUBE-FIREWALL\n-D OUTPUT -j KUBE-FIREWALL\n-F KUBE-FIREWALL\n-F KUBE-KUBELET-CANARY\n-X KUBE-FIREWALL\n-X KUBE-KUBELET-CANARY\nCOMMIT\n"
        );
    }

    #[test]
    fn a_table_without_the_kubelets_chains_needs_no_script() {
        assert_eq!(
            removal_script("nat", "*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n"),
            None
        );
    }
}
