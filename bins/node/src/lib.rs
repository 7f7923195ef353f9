//! `node`: reacts to Node events.
//!
//! Today the controller watches Nodes cluster-wide and logs and counts what it sees, with the
//! OpenStack roles their labels give them. Role labels, NodeWorkloadLocks and NotReady handling
//! come with the node issue.

mod reconcile;

use std::process::ExitCode;

use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::runtime::watcher;
use rockoon_runtime::controller::{self, Watch};
use rockoon_runtime::settings::{BinaryArgs, CommonArgs};

pub use reconcile::openstack_roles;

/// Name of this container; the `controller` label of its metrics.
pub const NAME: &str = "node";

/// Command line of `rockoon-node`.
#[derive(clap::Parser, Debug, Clone)]
#[command(name = "rockoon-node", version, about = "Reacts to Node events.")]
pub struct Args {
    /// Settings shared by every container.
    #[command(flatten)]
    pub common: CommonArgs,
}

impl BinaryArgs for Args {
    /// Rockoon's node liveness port.
    const DEFAULT_ADMIN_PORT: u16 = 32772;
}

/// Runs the container until SIGTERM.
pub async fn run(args: Args) -> ExitCode {
    rockoon_runtime::runtime::serve(NAME, args.common, |runtime| {
        let api: Api<Node> = Api::all(runtime.client.clone());
        let watch = Watch {
            resource: "Node",
            api,
            config: watcher::Config::default(),
            crd: None,
        };
        vec![controller::task(runtime, watch, reconcile::NodeObserver)]
    })
    .await
}
