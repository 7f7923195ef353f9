//! `health`: workload health of the deployment, and MariaDB primary/backup labels.
//!
//! Today the controller watches Deployments, StatefulSets and DaemonSets in the OpenStack
//! namespace and logs and counts what it sees, with each workload's ready/desired replicas.
//! Writing health into `OpenStackDeploymentStatus` and the MariaDB labels come with the health
//! issue.

mod workload;

use std::process::ExitCode;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kube::Api;
use kube::runtime::watcher;
use rockoon_core::controller::{self, Watch};
use rockoon_core::runtime::{Runtime, Task};
use rockoon_core::settings::{BinaryArgs, CommonArgs};

pub use workload::{Replicas, Workload, WorkloadObserver};

/// Name of this container; the `controller` label of its metrics.
pub const NAME: &str = "health";

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
}

impl BinaryArgs for Args {
    /// Rockoon's health liveness port.
    const DEFAULT_ADMIN_PORT: u16 = 32771;
}

/// Runs the container until SIGTERM.
pub async fn run(args: Args) -> ExitCode {
    rockoon_core::runtime::serve(NAME, args.common, |runtime| {
        vec![
            watch::<Deployment>(runtime, "Deployment"),
            watch::<StatefulSet>(runtime, "StatefulSet"),
            watch::<DaemonSet>(runtime, "DaemonSet"),
        ]
    })
    .await
}

fn watch<K: Workload>(runtime: &Runtime, resource: &'static str) -> Task {
    let api: Api<K> = Api::namespaced(runtime.client.clone(), &runtime.args.namespace);
    let watch = Watch {
        resource,
        api,
        config: watcher::Config::default(),
        crd: None,
    };
    controller::task(runtime, watch, WorkloadObserver)
}
