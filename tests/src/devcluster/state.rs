//! `state.json` in the run folder: what `devcluster status` and `devcluster down` read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Everything a later command needs to find and stop a running cluster.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// Pid of the supervising `devcluster up` process.
    pub supervisor_pid: u32,
    /// Pids of every component and controller, by name.
    pub pids: BTreeMap<String, u32>,
    /// Admin addresses of the controllers started with `--controllers`, by name.
    pub admin_addrs: BTreeMap<String, String>,
    /// Admin kubeconfig.
    pub kubeconfig: PathBuf,
    /// Base URL of the Prometheus started with `--prometheus`.
    #[serde(default)]
    pub prometheus_url: Option<String>,
    /// Why that Prometheus serves no web UI (its UI build failed), if it does not.
    #[serde(default)]
    pub prometheus_no_ui: Option<String>,
    /// Whether the cluster finished starting.
    pub ready: bool,
    /// Why starting failed, if it did.
    pub error: Option<String>,
    /// Seconds from start to healthy.
    pub startup_seconds: f64,
    /// How often the supervisor started each process again after it exited.
    #[serde(default)]
    pub restarts: BTreeMap<String, u32>,
    /// The last exit status of each process that exited while supervised.
    #[serde(default)]
    pub exits: BTreeMap<String, String>,
    /// Processes that kept exiting and are left stopped.
    #[serde(default)]
    pub given_up: std::collections::BTreeSet<String>,
    /// Name of the real node, when the cluster runs one.
    #[serde(default)]
    pub real_node: Option<String>,
    /// Seconds from the kubelet's start to its node being Ready.
    #[serde(default)]
    pub real_node_ready_seconds: Option<f64>,
    /// Why a real node was asked for (`--real-node=auto`) but does not run.
    #[serde(default)]
    pub real_node_skipped: Option<String>,
}

impl State {
    /// Path of the state file in a run folder.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("state.json")
    }

    /// Reads the state of a run folder.
    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        Ok(serde_json::from_slice(&std::fs::read(Self::path(dir))?)?)
    }

    /// Writes the state atomically.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let tmp = dir.join("state.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(tmp, Self::path(dir))?;
        Ok(())
    }
}
