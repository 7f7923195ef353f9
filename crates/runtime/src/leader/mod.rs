//! Leader election: one active writer per binary, however many replicas run.
//!
//! With `--leader-elect` (on in the chart), [`start`] runs the [`elector`] over the Lease
//! `rockoon-<binary>` in `--controller-namespace`, and every write of the process passes the
//! [`LeaderGate`]: the Kubernetes client refuses writes while the gate is closed
//! ([`fence`]), controllers skip their reconciles and reconcile everything when a term starts
//! (`crate::controller`), and osdpl's helm runner starts no helm and kills a running one's
//! process group when the term ends. A standby keeps every watch and cache warm and is Ready,
//! so a rolling update proceeds; the metric `rockoon_leader` and the Lease's `holderIdentity`
//! say who leads. Without the flag the gate is always open (one process, as before).

pub mod elector;
pub mod fence;
mod gate;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, Client};
use prometheus::{IntGauge, Registry};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use gate::{LeaderGate, Timings};

use crate::error::RuntimeError;

/// Leader election settings (flattened into the common settings).
#[derive(clap::Args, Debug, Clone)]
pub struct LeaderArgs {
    /// Take part in leader election: write only while holding this binary's Lease in
    /// `--controller-namespace`. Off by default for processes started by hand and by the
    /// tests; on in the chart. Turn it on for a local run next to an installed suite.
    #[arg(long, env = "OSCTL_LEADER_ELECT")]
    pub leader_elect: bool,

    /// Name of the Lease (default `rockoon-<binary>`, e.g. `rockoon-osdpl`).
    #[arg(long, env = "OSCTL_LEADER_LEASE_NAME")]
    pub leader_lease_name: Option<String>,

    /// This process's name in the Lease (default `<host name>-<pid>`; the chart passes the
    /// pod name).
    #[arg(long, env = "OSCTL_LEADER_IDENTITY")]
    pub leader_identity: Option<String>,

    /// Seconds other processes wait after the last renewal they saw before taking the Lease.
    #[arg(long, env = "OSCTL_LEADER_LEASE_SECONDS", default_value_t = 10.0)]
    pub leader_lease_seconds: f64,

    /// Seconds after a renewal started during which the leader writes; it stops writing if
    /// no renewal succeeded by then. Must be below the lease duration.
    #[arg(
        long,
        env = "OSCTL_LEADER_RENEW_DEADLINE_SECONDS",
        default_value_t = 7.0
    )]
    pub leader_renew_deadline_seconds: f64,

    /// Seconds between renewals by the leader and tries by a standby. Must be below the renew
    /// deadline.
    #[arg(long, env = "OSCTL_LEADER_RETRY_SECONDS", default_value_t = 2.0)]
    pub leader_retry_seconds: f64,
}

impl LeaderArgs {
    /// The validated timings.
    pub fn timings(&self) -> Result<Timings, RuntimeError> {
        let seconds = |name: &str, value: f64| {
            Duration::try_from_secs_f64(value)
                .map_err(|_| RuntimeError::Settings(format!("--{name}: {value} is not a duration")))
        };
        Timings::new(
            seconds("leader-lease-seconds", self.leader_lease_seconds)?,
            seconds(
                "leader-renew-deadline-seconds",
                self.leader_renew_deadline_seconds,
            )?,
            seconds("leader-retry-seconds", self.leader_retry_seconds)?,
        )
        .map_err(RuntimeError::Settings)
    }

    /// The Lease name for `binary`.
    pub fn lease_name(&self, binary: &str) -> String {
        self.leader_lease_name
            .clone()
            .unwrap_or_else(|| format!("rockoon-{binary}"))
    }

    /// This process's identity.
    pub fn identity(&self) -> String {
        self.leader_identity
            .clone()
            .filter(|identity| !identity.is_empty())
            .unwrap_or_else(default_identity)
    }
}

/// `<host name>-<pid>`: unique among processes of one host, and says where to look.
fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    format!("{host}-{}", std::process::id())
}

/// The elector's stop signal and its task.
type Running = (watch::Sender<bool>, JoinHandle<()>);

/// A running election: stops and releases the Lease on [`Election::release`].
#[derive(Clone, Default)]
pub struct Election {
    running: Arc<Mutex<Option<Running>>>,
}

impl Election {
    /// Stops renewing and gives the Lease up (waits at most for one Lease request). Called
    /// once every task of the binary has stopped; a no-op without election.
    pub async fn release(&self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((stop, task)) = running {
            stop.send_replace(true);
            let _ = task.await;
        }
    }
}

/// The gauge `rockoon_leader`.
pub fn register_metric(registry: &Registry) -> prometheus::Result<IntGauge> {
    let gauge = IntGauge::new(
        "leader",
        "1 while this process may write (it holds its Lease within the renew deadline, or \
         leader election is off), else 0.",
    )?;
    registry.register(Box::new(gauge.clone()))?;
    Ok(gauge)
}

/// The gate for `binary` and, with `--leader-elect`, its elector running over `client`
/// (unfenced: the Lease is the one write a standby makes).
pub fn start(
    binary: &str,
    args: &LeaderArgs,
    namespace: &str,
    client: Client,
    metric: IntGauge,
) -> Result<(LeaderGate, Election), RuntimeError> {
    if !args.leader_elect {
        metric.set(1);
        return Ok((LeaderGate::always(), Election::default()));
    }
    let timings = args.timings()?;
    let gate = LeaderGate::elected();
    metric.set(0);
    let elector = elector::Elector::new(
        Api::<Lease>::namespaced(client, namespace),
        args.lease_name(binary),
        args.identity(),
        timings,
        gate.clone(),
        metric,
    );
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(elector.run(stopped));
    let election = Election {
        running: Arc::new(Mutex::new(Some((stop, task)))),
    };
    Ok((gate, election))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Test {
        #[command(flatten)]
        leader: LeaderArgs,
    }

    fn parse(args: &[&str]) -> LeaderArgs {
        use clap::Parser;
        Test::parse_from(std::iter::once("test").chain(args.iter().copied())).leader
    }

    #[test]
    fn the_defaults_fail_over_within_fifteen_seconds() {
        let args = parse(&[]);
        assert!(!args.leader_elect);
        let timings = args.timings().unwrap();
        // Worst case: the leader dies right after a renewal; a standby saw it at most one
        // retry later and takes over at its first try after the lease ran out.
        assert!(timings.lease + 2 * timings.retry < Duration::from_secs(15));
        assert_eq!(args.lease_name("osdpl"), "rockoon-osdpl");
    }

    #[test]
    fn bad_timings_are_refused_with_the_rule() {
        let args = parse(&[
            "--leader-lease-seconds",
            "3",
            "--leader-renew-deadline-seconds",
            "4",
        ]);
        let error = args.timings().unwrap_err().to_string();
        assert!(error.contains("renew deadline"), "{error}");
        let args = parse(&["--leader-retry-seconds=-1"]);
        assert!(args.timings().is_err());
    }

    #[test]
    fn the_identity_names_the_host_and_process_unless_given() {
        assert!(
            parse(&[])
                .identity()
                .ends_with(&format!("-{}", std::process::id()))
        );
        assert_eq!(parse(&["--leader-identity", "pod-a"]).identity(), "pod-a");
    }
}
