//! `health`: workload health of the deployment, and MariaDB primary/backup labels.
//!
//! Wiring only. Mirrors (reflector caches running as their own tasks) hold the namespace's
//! Deployments, StatefulSets and DaemonSets, the MariaDB server pods and Services, and the
//! OpenStackDeploymentStatus objects. Two controllers act on them:
//!
//! - [`status::StatusWriter`], per OpenStackDeploymentStatus, triggered by any workload
//!   change: [`workload`] → [`rules`] → [`report`] → server-side apply of `status.health`,
//!   `status.osdpl.health` and the OSDPL's `status.health_summary`, at most one write per
//!   `--min-write-interval-ms`;
//! - [`labels::PrimaryLabeller`], per MariaDB server StatefulSet, triggered by its pods and
//!   Services: [`mariadb`] picks the primary, the labeller writes the labels in a safe order.

mod error;
pub mod labels;
pub mod mariadb;
pub mod metrics;
pub mod report;
pub mod rules;
pub mod status;
pub mod workload;

use std::process::ExitCode;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use kube::runtime::watcher;
use rockoon_core::crd::OpenStackDeploymentStatus;
use rockoon_runtime::controller::{self, Scheduling, Watch};
use rockoon_runtime::mirror;
use rockoon_runtime::owner::Osdpls;
use rockoon_runtime::runtime::Runtime;
use rockoon_runtime::settings::{BinaryArgs, CommonArgs};

pub use error::Error;

use crate::labels::{MARIADB_SERVER, PrimaryLabeller};
use crate::metrics::HealthMetrics;
use crate::status::{StatusWriter, Workloads};

/// Name of this container; the `controller` label of its metrics.
pub const NAME: &str = "health";
/// Name of the OpenStackDeploymentStatus CRD the status writer waits for.
pub const OSDPLST_CRD: &str = "openstackdeploymentstatus.lcm.mirantis.com";

/// Command line of `rockoon-health`.
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "rockoon-health",
    version,
    about = "Workload health and MariaDB primary/backup labels."
)]
pub struct Args {
    /// Settings shared by every container.
    #[command(flatten)]
    pub common: CommonArgs,

    /// Health settings.
    #[command(flatten)]
    pub health: HealthArgs,
}

/// Settings of the health controllers.
#[derive(clap::Args, Debug, Clone)]
pub struct HealthArgs {
    /// Shortest time between two health writes to one OpenStackDeploymentStatus, in
    /// milliseconds: changes during it are written together when it ends.
    #[arg(
        long,
        env = "OSCTL_HEALTH_MIN_WRITE_INTERVAL_MS",
        default_value_t = 500
    )]
    pub min_write_interval_ms: u64,
    /// Label key of the MariaDB pods' role (`primary` or `backup`), also added to the MariaDB
    /// Service's selector.
    #[arg(long, env = "OSCTL_MARIADB_ROLE_LABEL", default_value = "mariadb_role")]
    pub mariadb_role_label: String,
    /// The MariaDB Service the OpenStack services connect to (the charts' `oslo_db` host);
    /// its selector gets `<role label>: primary`. The upstream mariadb chart puts no labels on
    /// it, so it is found by name.
    #[arg(long, env = "OSCTL_MARIADB_SERVICE", default_value = "mariadb")]
    pub mariadb_service: String,
}

impl BinaryArgs for Args {
    /// Rockoon's health liveness port, 4000 lower: out of the ephemeral range (docs/configuration.md).
    const DEFAULT_ADMIN_PORT: u16 = 28771;
}

/// Runs the container until SIGTERM.
pub async fn run(args: Args) -> ExitCode {
    let settings = args.health;
    rockoon_runtime::runtime::serve(NAME, args.common, move |runtime| {
        let metrics = match HealthMetrics::register(&runtime.registry) {
            Ok(metrics) => metrics,
            Err(error) => {
                tracing::error!(%error, "health metrics registration failed");
                return vec![];
            }
        };
        vec![
            status_task(runtime, &settings, metrics.clone()),
            labels_task(runtime, &settings, metrics),
        ]
    })
    .await
}

fn namespaced<K>(runtime: &Runtime) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    Api::namespaced(runtime.client.clone(), &runtime.args.namespace)
}

/// The status writer over every OpenStackDeploymentStatus, triggered by the workloads.
fn status_task(
    runtime: &Runtime,
    settings: &HealthArgs,
    metrics: HealthMetrics,
) -> rockoon_runtime::runtime::Task {
    let (readiness, counts) = (&runtime.readiness, &runtime.metrics);
    let all = watcher::Config::default;
    let (deployments, t1) =
        mirror::counted_objects("Deployment", namespaced(runtime), all(), readiness, counts);
    let (statefulsets, t2) =
        mirror::counted_objects("StatefulSet", namespaced(runtime), all(), readiness, counts);
    let (daemonsets, t3) =
        mirror::counted_objects("DaemonSet", namespaced(runtime), all(), readiness, counts);
    // Read to compare with what is to be written; not a trigger, as the controller already
    // watches these objects.
    let (statuses, _) = mirror::objects("osdplst", namespaced(runtime), all(), readiness);
    // Only the namespace owner's osdplst gets health; when OSDPLs come or go, ask again.
    let (osdpls, t4) = Osdpls::start(runtime, &runtime.args.namespace);
    let workloads = Workloads {
        deployments,
        statefulsets,
        daemonsets,
    };
    let writer = StatusWriter::new(
        runtime.client.clone(),
        workloads,
        statuses,
        osdpls,
        metrics,
        Duration::from_millis(settings.min_write_interval_ms),
    );
    let watch = Watch {
        resource: "OpenStackDeploymentStatus",
        api: namespaced::<OpenStackDeploymentStatus>(runtime),
        config: all(),
        crd: Some(OSDPLST_CRD),
    };
    // No debounce: the writer paces itself, and a debounce would starve under steady churn.
    let scheduling = Scheduling {
        triggers: vec![t1, t2, t3, t4],
        debounce: Duration::ZERO,
    };
    controller::task_with(runtime, watch, writer, scheduling)
}

/// The MariaDB labeller over the MariaDB server StatefulSets, triggered by pods and Services.
fn labels_task(
    runtime: &Runtime,
    settings: &HealthArgs,
    metrics: HealthMetrics,
) -> rockoon_runtime::runtime::Task {
    let readiness = &runtime.readiness;
    let mariadb = || watcher::Config::default().labels(MARIADB_SERVER);
    let (pods, t1) = mirror::objects(
        "mariadb-pods",
        namespaced::<Pod>(runtime),
        mariadb(),
        readiness,
    );
    let (services, t2) = mirror::objects(
        "mariadb-services",
        namespaced::<Service>(runtime),
        watcher::Config::default().fields(&format!("metadata.name={}", settings.mariadb_service)),
        readiness,
    );
    let labeller = PrimaryLabeller::new(
        runtime.client.clone(),
        pods,
        services,
        settings.mariadb_role_label.clone(),
        metrics,
    );
    let watch = Watch {
        resource: "mariadb-server",
        api: namespaced::<StatefulSet>(runtime),
        config: mariadb(),
        crd: None,
    };
    let scheduling = Scheduling {
        triggers: vec![t1, t2],
        debounce: Duration::ZERO,
    };
    controller::task_with(runtime, watch, labeller, scheduling)
}
