//! `node`: keeps OpenStack's view of the cluster's Nodes.
//!
//! Wiring only. Mirrors hold the Nodes, this suite's NodeWorkloadLocks and the
//! NodeDisableNotifications. Two controllers act on them:
//!
//! - [`reconcile::NodeReconciler`], per Node (and every Node on a lock change): strips
//!   Rockoon's old finalizers, sets the internal role labels ([`roles`], [`node_write`]), keeps
//!   the lock `openstack-<node>` ([`lock`]) and, for a node NotReady past the flapping timeout
//!   ([`readiness`]), deletes its OpenStack pods ([`evict`]) and, for a compute node, runs
//!   instance HA ([`instance_ha`]: [`masakari`] over the [`openstack`] client);
//! - [`cleanup::LockCleaner`], per lock (and every lock on a Node or notification change):
//!   deletes the lock of a Node that is gone, at start-up too.

pub mod cleanup;
mod error;
pub mod evict;
pub mod instance_ha;
pub mod lock;
pub mod masakari;
pub mod metrics;
pub mod node_write;
pub mod openstack;
pub mod readiness;
pub mod reconcile;
pub mod roles;
pub mod scope;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::runtime::watcher;
use rockoon_core::crd::{NodeDisableNotification, NodeWorkloadLock};
use rockoon_runtime::controller::{self, Scheduling, Watch};
use rockoon_runtime::events::Events;
use rockoon_runtime::mirror;
use rockoon_runtime::runtime::{Runtime, Task};
use rockoon_runtime::settings::{BinaryArgs, CommonArgs};

pub use error::Error;
pub use roles::openstack_roles;

use crate::cleanup::LockCleaner;
use crate::instance_ha::Mode;
use crate::masakari::{Masakari, Settings};
use crate::metrics::NodeMetrics;
use crate::reconcile::{NodeReconciler, Shared};
use crate::scope::Scope;

/// Name of this container; the `controller` label of its metrics.
pub const NAME: &str = "node";
/// CRD of the locks.
pub const LOCK_CRD: &str = "nodeworkloadlocks.lcm.mirantis.com";

/// Command line of `rockoon-node`.
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "rockoon-node",
    version,
    about = "Role labels, NodeWorkloadLocks and dead-node handling of the Nodes."
)]
pub struct Args {
    /// Settings shared by every container.
    #[command(flatten)]
    pub common: CommonArgs,

    /// Node settings.
    #[command(flatten)]
    pub node: NodeArgs,
}

/// Settings of the node controllers.
#[derive(clap::Args, Debug, Clone)]
pub struct NodeArgs {
    /// Seconds a Node may be NotReady (from its Ready condition's lastTransitionTime) before
    /// its pods in the OpenStack namespace are deleted; shorter outages are flapping.
    #[arg(
        long,
        env = "OSCTL_NODE_NOT_READY_FLAPPING_TIMEOUT",
        default_value_t = 120
    )]
    pub node_not_ready_flapping_timeout: u64,
    /// Label selector (`key=value`, comma-separated) of the Nodes this binary manages; empty:
    /// every Node.
    #[arg(long, env = "OSCTL_NODE_SELECTOR", default_value = "")]
    pub node_selector: String,
    /// Cluster release written into the NodeWorkloadLocks' `status.release`; a lock of another
    /// release is reset to `active`. Empty: none.
    #[arg(long, env = "OSCTL_CLUSTER_RELEASE", default_value = "")]
    pub cluster_release: String,
    /// Instance HA for dead compute nodes (Masakari `COMPUTE_HOST` notifications): `auto`
    /// when the OpenStackDeployment of `--namespace` enables the `instance-ha` service,
    /// `enabled` always, `disabled` never.
    #[arg(long, env = "OSCTL_NODE_INSTANCE_HA", value_enum, default_value_t = Mode::Auto)]
    pub instance_ha: Mode,
    /// Secret in the controller namespace whose `clouds.yaml` has the OpenStack credentials
    /// (kept by the secrets container).
    #[arg(
        long,
        env = "OSCTL_CLOUDS_SECRET_NAME",
        default_value = "keystone-os-clouds"
    )]
    pub clouds_secret: String,
    /// Cloud of that clouds.yaml to log in as.
    #[arg(long, env = "OS_CLOUD", default_value = "osctl")]
    pub os_cloud: String,
    /// Endpoint interface to use instead of the cloud's (`public` from outside the cluster).
    #[arg(long, env = "OSCTL_OS_INTERFACE", default_value = "")]
    pub os_interface: String,
    /// TCP port of a compute node that, when it accepts a connection, shows the host alive
    /// (no notification yet).
    #[arg(long, env = "OSCTL_INSTANCE_HA_PROBE_PORT", default_value_t = 22)]
    pub instance_ha_probe_port: u16,
    /// Seconds that probe waits for a connection.
    #[arg(long, env = "OSCTL_INSTANCE_HA_PROBE_TIMEOUT", default_value_t = 10)]
    pub instance_ha_probe_timeout: u64,
    /// Seconds before checking again a dead compute node OpenStack still sees alive.
    #[arg(long, env = "OSCTL_INSTANCE_HA_RECHECK", default_value_t = 60)]
    pub instance_ha_recheck: u64,
}

impl BinaryArgs for Args {
    /// Rockoon's node liveness port, 4000 lower: out of the ephemeral range (docs/configuration.md).
    const DEFAULT_ADMIN_PORT: u16 = 28772;
}

/// Runs the container until SIGTERM.
pub async fn run(args: Args) -> ExitCode {
    let settings = args.node;
    rockoon_runtime::runtime::serve(NAME, args.common, move |runtime| {
        let scope = match Scope::parse(&settings.node_selector) {
            Ok(scope) => scope,
            Err(error) => {
                tracing::error!(%error, "invalid --node-selector");
                return vec![];
            }
        };
        let Some(metrics) = runtime.register(NodeMetrics::register) else {
            return vec![];
        };
        tasks(runtime, &settings, scope, metrics)
    })
    .await
}

fn tasks(runtime: &Runtime, settings: &NodeArgs, scope: Scope, metrics: NodeMetrics) -> Vec<Task> {
    let readiness = &runtime.readiness;
    let all = watcher::Config::default;
    let in_scope = || match scope.selector() {
        Some(selector) => all().labels(&selector),
        None => all(),
    };
    let client = || runtime.client.clone();
    let (nodes, node_changes) =
        mirror::objects("nodes", Api::<Node>::all(client()), in_scope(), readiness);
    let (locks, lock_changes) = mirror::objects(
        "locks",
        Api::<NodeWorkloadLock>::all(client()),
        all(),
        readiness,
    );
    let (notifications, notification_changes) = mirror::objects(
        "notifications",
        Api::<NodeDisableNotification>::all(client()),
        all(),
        readiness,
    );
    let shared = Shared {
        nodes,
        locks,
        notifications,
        client: client(),
        namespace: runtime.args.namespace.clone(),
        events: Arc::new(Events::new(client(), "rockoon-node", "Reconcile")),
        metrics,
        scope: scope.clone(),
    };
    let instance_ha = match settings.instance_ha {
        Mode::Disabled => masakari::Choice::Off(instance_ha::Disabled),
        mode => {
            let masakari_settings = Settings {
                mode,
                namespace: runtime.args.namespace.clone(),
                secret_namespace: runtime.args.controller_namespace.clone(),
                secret: settings.clouds_secret.clone(),
                cloud: settings.os_cloud.clone(),
                interface: Some(settings.os_interface.clone()).filter(|i| !i.is_empty()),
                probe_port: settings.instance_ha_probe_port,
                probe_timeout: Duration::from_secs(settings.instance_ha_probe_timeout),
                recheck: Duration::from_secs(settings.instance_ha_recheck),
            };
            masakari::Choice::On(Box::new(Masakari::new(
                masakari_settings,
                client(),
                shared.locks.clone(),
                shared.events.clone(),
                shared.metrics.clone(),
            )))
        }
    };
    let node_reconciler = NodeReconciler {
        shared: shared.clone(),
        flapping_timeout: Duration::from_secs(settings.node_not_ready_flapping_timeout),
        instance_ha,
        cluster_release: Some(settings.cluster_release.clone()).filter(|r| !r.is_empty()),
    };
    let node_watch = Watch {
        resource: "Node",
        api: Api::all(client()),
        config: in_scope(),
        crd: None,
    };
    let lock_watch = Watch {
        resource: "NodeWorkloadLock",
        api: Api::all(client()),
        config: all(),
        crd: Some(LOCK_CRD),
    };
    let on = |triggers| Scheduling {
        triggers,
        debounce: Duration::ZERO,
    };
    vec![
        controller::task_with(runtime, node_watch, node_reconciler, on(vec![lock_changes])),
        controller::task_with(
            runtime,
            lock_watch,
            LockCleaner { shared },
            on(vec![node_changes, notification_changes]),
        ),
    ]
}
