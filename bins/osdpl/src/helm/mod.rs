//! The helm runner: the pinned helm v3 binary run as a child process, one command per call.
//!
//! Values always go through stdin (`--values -`), never the command line, because they hold
//! credentials. Every command has a time limit after which the process is killed (a killed
//! upgrade leaves the release `pending-*`, which the apply step recovers). Helm runs in a
//! process group of its own, and the whole group is killed (on timeout, or when the caller
//! gives up), so no plugin or post-renderer it started lives on. Failures are read
//! into [`HelmError`] kinds. With leader election, no helm starts while the process does not
//! lead, and a running one's group is killed the moment the term ends, before another replica
//! can take the Lease ([`rockoon_runtime::leader`]). Concurrency limits and per-release locking belong to the caller
//! (`apply`), which knows what may run together.

pub mod chart;
mod chart_digest;
pub mod error;
pub mod installed;
pub mod stored;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use rockoon_runtime::leader::LeaderGate;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

pub use chart::ChartSource;
pub use error::HelmError;

/// Settings of the helm runner.
#[derive(Debug, Clone)]
pub struct HelmConfig {
    /// The helm v3 binary.
    pub binary: PathBuf,
    /// Kubeconfig for helm; `None` for in-cluster configuration.
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context.
    pub kube_context: Option<String>,
    /// Time limit of one helm command.
    pub timeout: Duration,
    /// Revisions kept per release (enough to roll back a stuck upgrade).
    pub history_max: u32,
    /// Writable directory for helm's cache, config and data (the root filesystem may be
    /// read-only).
    pub home: PathBuf,
}

/// Helm operation counts and durations.
#[derive(Clone)]
pub struct HelmMetrics {
    operations: IntCounterVec,
    duration: HistogramVec,
}

impl HelmMetrics {
    /// Creates the metrics and registers them on `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let operations = IntCounterVec::new(
            Opts::new(
                "helm_operations_total",
                "Helm commands run, by operation and result (ok or the error kind).",
            ),
            &["op", "result"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new("helm_duration_seconds", "Duration of helm commands.").buckets(
                vec![
                    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
                ],
            ),
            &["op"],
        )?;
        registry.register(Box::new(operations.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        Ok(Self {
            operations,
            duration,
        })
    }

    fn observe(&self, op: &str, started: Instant, result: &Result<String, HelmError>) {
        let outcome = match result {
            Ok(_) => "ok",
            Err(e) => e.kind(),
        };
        self.operations.with_label_values(&[op, outcome]).inc();
        self.duration
            .with_label_values(&[op])
            .observe(started.elapsed().as_secs_f64());
    }
}

/// One `helm upgrade --install`.
#[derive(Debug)]
pub struct Upgrade<'a> {
    /// Release name.
    pub release: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Chart arguments from [`ChartSource::helm_args`].
    pub chart: Vec<OsString>,
    /// The values (sent on stdin).
    pub values: &'a serde_json::Value,
    /// Labels stored on the release.
    pub labels: &'a [(&'a str, String)],
}

/// Runs helm commands.
#[derive(Clone)]
pub struct Helm {
    config: HelmConfig,
    metrics: HelmMetrics,
    leader: LeaderGate,
}

impl Helm {
    /// A runner with `config`, counting into `metrics`, always allowed to run helm.
    pub fn new(config: HelmConfig, metrics: HelmMetrics) -> Self {
        Self {
            config,
            metrics,
            leader: LeaderGate::always(),
        }
    }

    /// The runner fenced by `leader`: helm runs only while the process leads.
    pub fn fenced_by(self, leader: LeaderGate) -> Self {
        Self { leader, ..self }
    }

    /// `helm upgrade --install`, values on stdin.
    pub async fn upgrade(&self, request: &Upgrade<'_>) -> Result<(), HelmError> {
        let mut args: Vec<OsString> = vec!["upgrade".into(), request.release.into()];
        args.extend(request.chart.iter().cloned());
        args.extend(
            [
                "--install",
                "--namespace",
                request.namespace,
                "--values",
                "-",
                "--history-max",
            ]
            .map(OsString::from),
        );
        args.push(self.config.history_max.to_string().into());
        args.push("--timeout".into());
        args.push(format!("{}s", self.config.timeout.as_secs().max(1)).into());
        if !request.labels.is_empty() {
            let labels: Vec<String> = request
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            args.push("--labels".into());
            args.push(labels.join(",").into());
        }
        // JSON is YAML, and serde_json cannot fail on a Value.
        let values = serde_json::to_vec(request.values).unwrap_or_default();
        self.run("upgrade", args, Some(values)).await.map(drop)
    }

    /// `helm uninstall`; a release that is already gone is fine.
    pub async fn uninstall(&self, release: &str, namespace: &str) -> Result<(), HelmError> {
        let args = ["uninstall", release, "--namespace", namespace].map(OsString::from);
        match self.run("uninstall", args.to_vec(), None).await {
            Ok(_) => Ok(()),
            Err(HelmError::Failed { message })
                if message.contains("not found") || message.contains("Release not loaded") =>
            {
                Ok(())
            }
            Err(other) => Err(other),
        }
    }

    /// `helm rollback` to the previous revision (clears a stuck `pending-*` upgrade).
    pub async fn rollback(&self, release: &str, namespace: &str) -> Result<(), HelmError> {
        let args = [
            "rollback",
            release,
            "--namespace",
            namespace,
            "--history-max",
        ]
        .map(OsString::from)
        .to_vec();
        let mut args = args;
        args.push(self.config.history_max.to_string().into());
        self.run("rollback", args, None).await.map(drop)
    }

    async fn run(
        &self,
        op: &'static str,
        mut args: Vec<OsString>,
        stdin: Option<Vec<u8>>,
    ) -> Result<String, HelmError> {
        if let Some(kubeconfig) = &self.config.kubeconfig {
            args.push("--kubeconfig".into());
            args.push(kubeconfig.into());
        }
        if let Some(context) = &self.config.kube_context {
            args.push("--kube-context".into());
            args.push(context.into());
        }
        let started = Instant::now();
        let result = self.spawn_and_wait(op, args, stdin).await;
        self.metrics.observe(op, started, &result);
        result
    }

    async fn spawn_and_wait(
        &self,
        op: &'static str,
        args: Vec<OsString>,
        stdin: Option<Vec<u8>>,
    ) -> Result<String, HelmError> {
        if !self.leader.is_leading() {
            return Err(HelmError::NotLeader { op });
        }
        let home = &self.config.home;
        let mut command = Command::new(&self.config.binary);
        command
            .args(&args)
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_DATA_HOME", home.join("data"))
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .map_err(|e| HelmError::Spawn(format!("{}: {e}", self.config.binary.display())))?;
        let mut group = Group(child.id());
        if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // Helm reads all of stdin before it starts; a write error shows up as its exit.
            let _ = pipe.write_all(&data).await;
            drop(pipe);
        }
        let waited = tokio::select! {
            waited = tokio::time::timeout(self.config.timeout, child.wait_with_output()) => waited,
            // Dropping `group` kills helm and everything it started: the term ended.
            () = self.leader.lost() => {
                tracing::warn!(op, "no longer leading: helm killed");
                return Err(HelmError::NotLeader { op });
            }
        };
        let output = match waited {
            Ok(output) => {
                // Helm has exited: its group id may be reused from now on.
                group.0 = None;
                output.map_err(|e| HelmError::Spawn(e.to_string()))?
            }
            // Dropping `group` kills helm and everything it started.
            Err(_) => {
                return Err(HelmError::Timeout {
                    op,
                    after: self.config.timeout,
                });
            }
        };
        drop(group);
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(HelmError::from_stderr(&String::from_utf8_lossy(
                &output.stderr,
            )))
        }
    }
}

/// The process group of a running helm (its id is helm's pid), killed when dropped: on
/// timeout, and when the future running helm is dropped (shutdown, a cancelled reconcile).
struct Group(Option<u32>);

impl Drop for Group {
    fn drop(&mut self) {
        let Some(id) = self.0.and_then(|id| i32::try_from(id).ok()) else {
            return;
        };
        let group = nix::unistd::Pid::from_raw(id);
        // ESRCH: everything already exited.
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
    }
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;
