//! What every binary starts with: logs, metrics, the admin server, a client and signals.
//!
//! `main` parses its args and calls [`Runtime::start`]; the binary's library then runs its
//! controllers with [`crate::controller::run`] and hands their futures to [`Runtime::run`],
//! which returns once they all stopped after a shutdown signal (or the grace period ran out)
//! and the Lease, with `--leader-elect`, was released.

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::Duration;

use kube::Client;
use prometheus::Registry;

use crate::admin::{self, AdminState, Heartbeat, Readiness};
use crate::backoff::Backoff;
use crate::error::RuntimeError;
use crate::leader::{Election, LeaderGate};
use crate::metrics::ReconcileMetrics;
use crate::settings::CommonArgs;
use crate::shutdown::Shutdown;

/// Gate closed while the process shuts down, so traffic and probes see it go.
pub const SHUTDOWN_GATE: &str = "shutdown";

/// A long-running task of a binary (usually one controller).
pub type Task = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Shared handles of a running binary.
#[derive(Clone)]
pub struct Runtime {
    /// Binary name, the `controller` label of its metrics.
    pub name: &'static str,
    /// The common settings.
    pub args: CommonArgs,
    /// Kubernetes client.
    pub client: Client,
    /// The binary's metrics registry.
    pub registry: Registry,
    /// Reconcile metrics shared by the binary's controllers.
    pub metrics: ReconcileMetrics,
    /// Readiness gates.
    pub readiness: Readiness,
    /// Shutdown signal.
    pub shutdown: Shutdown,
    /// Whether this process may write now (always, without `--leader-elect`).
    pub leader: LeaderGate,
    /// The running leader election, released once every task stopped.
    election: Election,
}

impl Runtime {
    /// Registers a binary's own metrics in its registry. Only a name clash can fail this,
    /// which each binary's unit tests rule out; should it happen anyway, it is logged and the
    /// process stops (`None`: start no task).
    pub fn register<M>(
        &self,
        register: impl FnOnce(&Registry) -> prometheus::Result<M>,
    ) -> Option<M> {
        match register(&self.registry) {
            Ok(metrics) => Some(metrics),
            Err(error) => {
                tracing::error!(%error, "metrics registration failed");
                self.shutdown.trigger();
                None
            }
        }
    }

    /// Starts the admin server and signal handling, then connects to Kubernetes.
    ///
    /// The admin server comes first so `/livez` answers while the rest starts.
    pub async fn start(name: &'static str, args: CommonArgs) -> Result<Self, RuntimeError> {
        let registry = crate::metrics::registry(name);
        let metrics = ReconcileMetrics::register(&registry)
            .map_err(|e| RuntimeError::Settings(format!("metrics registration: {e}")))?;
        let leader_metric = crate::leader::register_metric(&registry)
            .map_err(|e| RuntimeError::Settings(format!("metrics registration: {e}")))?;
        let readiness = Readiness::default();
        readiness.pending("kube-client", "connecting to the Kubernetes API");
        let heartbeat = Heartbeat::default();
        heartbeat.spawn();
        let shutdown = Shutdown::new();
        shutdown.listen_for_signals();
        let state = AdminState {
            registry: registry.clone(),
            readiness: readiness.clone(),
            heartbeat,
        };
        admin::serve(args.admin_addr, state, shutdown.clone()).await?;
        let config = crate::client::config(&args).await?;
        // The elector's own client is the only one a standby writes with (the Lease).
        let lease_client = Client::try_from(config.clone())?;
        let (leader, election) = crate::leader::start(
            name,
            &args.leader,
            &args.controller_namespace,
            lease_client,
            leader_metric,
        )?;
        let client = crate::client::fenced(config, leader.clone())?;
        readiness.ready("kube-client");
        tracing::info!(controller = name, version = rockoon_core::VERSION, namespace = %args.namespace, "started");
        Ok(Self {
            name,
            args,
            client,
            registry,
            metrics,
            readiness,
            shutdown,
            leader,
            election,
        })
    }

    /// A retry policy built from the backoff settings.
    pub fn backoff(&self) -> Backoff {
        Backoff::new(
            Duration::from_secs(self.args.error_backoff_base_seconds.max(1)),
            Duration::from_secs(self.args.error_backoff_max_seconds.max(1)),
        )
    }

    /// Runs the tasks until they end; after a shutdown signal, waits at most the grace period.
    /// Returns whether the stop was the clean one (asked for by a signal).
    pub async fn run(self, tasks: Vec<Task>) -> bool {
        let all = futures::future::join_all(tasks);
        tokio::pin!(all);
        let clean = tokio::select! {
            _ = &mut all => {
                let asked = self.shutdown.is_triggered();
                if !asked {
                    tracing::error!("every controller stopped without a shutdown signal");
                }
                asked
            }
            () = self.shutdown.wait() => {
                self.readiness.pending(SHUTDOWN_GATE, "shutting down");
                let grace = self.args.shutdown_grace();
                tracing::info!(grace_seconds = grace.as_secs(), "finishing in-flight work");
                if tokio::time::timeout(grace, &mut all).await.is_err() {
                    tracing::warn!("grace period over; exiting with work still in flight");
                }
                true
            }
        };
        // Only now, with no task left to write, may another replica take over at once.
        self.election.release().await;
        tracing::info!(controller = self.name, "stopped");
        clean
    }
}

/// The body of every binary's `run`: logs, runtime, the binary's tasks, exit code.
///
/// `tasks` builds the binary's controllers from the started runtime. Start-up failures are
/// printed with their stable kind and give exit code 1, as do controllers that all stop
/// without a shutdown signal; a clean shutdown gives 0.
pub async fn serve<F>(name: &'static str, args: CommonArgs, tasks: F) -> ExitCode
where
    F: FnOnce(&Runtime) -> Vec<Task>,
{
    use crate::error::ErrorKind;
    if let Err(error) = crate::telemetry::init(&args.log_level, args.log_format) {
        eprintln!("rockoon-{name}: {error}");
        return ExitCode::FAILURE;
    }
    let runtime = match Runtime::start(name, args).await {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(error.kind = error.kind(), %error, "start-up failed");
            return ExitCode::FAILURE;
        }
    };
    let tasks = tasks(&runtime);
    if runtime.run(tasks).await {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
