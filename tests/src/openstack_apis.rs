//! Real Keystone and Masakari API servers for the instance-HA cluster test, started by the
//! project's own script `tests/cluster/openstack-apis.sh` (PyPI venv cached under
//! `${ROCKOON_CACHE_DIR:-~/.cache/rockoon}`, SQLite, loopback ports) and stopped on drop.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::devcluster::workspace_root;
use crate::harness::in_ci;

/// Keystone and Masakari serving from `dir`.
pub struct OpenStackApis {
    /// Keystone v3 URL.
    pub keystone: String,
    /// Masakari's root (`.../v1`).
    pub masakari: String,
    /// Password of Keystone's bootstrap `admin` (project `admin`, domain `Default`).
    pub admin_password: String,
    /// Folder of their configuration, databases and logs.
    pub dir: PathBuf,
    pids: Vec<i32>,
}

impl OpenStackApis {
    /// Starts both in `dir`, with Nova's and Neutron's catalog endpoints at `recorded` (the
    /// test's recorded responses). `None` (with a printed reason) when the script fails
    /// outside CI; under `CI=true` a failure panics.
    pub fn start_or_skip(dir: &Path, recorded: &str) -> Option<Self> {
        match Self::start(dir, recorded) {
            Ok(apis) => Some(apis),
            Err(error) if in_ci() => panic!("CI=true and no OpenStack API servers: {error:#}"),
            Err(error) => {
                eprintln!(
                    "SKIPPED: no OpenStack API servers ({error:#}).\n  They come from \
                     `tests/cluster/openstack-apis.sh install` (needs python3 with venv and PyPI)."
                );
                None
            }
        }
    }

    fn start(dir: &Path, recorded: &str) -> Result<Self> {
        let script = workspace_root().join("tests/cluster/openstack-apis.sh");
        let output = Command::new("bash")
            .arg(&script)
            .arg("serve")
            .arg(dir)
            .arg(recorded)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("running {}", script.display()))?;
        let pids: Vec<i32> = std::fs::read_to_string(dir.join("pids"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        let mut apis = Self {
            keystone: String::new(),
            masakari: String::new(),
            admin_password: String::new(),
            dir: dir.to_path_buf(),
            pids,
        };
        if !output.status.success() {
            bail!("{} serve failed ({})", script.display(), output.status);
        }
        for line in String::from_utf8(output.stdout)?.lines() {
            match line.split_once('=') {
                Some(("KEYSTONE_URL", v)) => apis.keystone = v.to_owned(),
                Some(("MASAKARI_URL", v)) => apis.masakari = v.to_owned(),
                Some(("ADMIN_PASSWORD", v)) => apis.admin_password = v.to_owned(),
                _ => {}
            }
        }
        if apis.keystone.is_empty() || apis.masakari.is_empty() || apis.admin_password.is_empty() {
            bail!("{} serve printed no URLs", script.display());
        }
        Ok(apis)
    }
}

impl Drop for OpenStackApis {
    fn drop(&mut self) {
        for pid in &self.pids {
            let _ = kill(Pid::from_raw(*pid), Signal::SIGTERM);
        }
    }
}
