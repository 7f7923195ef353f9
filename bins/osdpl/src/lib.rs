//! `osdpl`: turns an `OpenStackDeployment` into Helm releases and reports progress.
//!
//! Pipeline (filled in by later work): fetch → validate → render (pure) → apply (Helm) →
//! update status. Today the controller watches OpenStackDeployments in the OpenStack namespace,
//! reports specs the API accepted but the suite cannot read (Warning event + error metric), and
//! logs and counts what it sees; it applies nothing yet.

pub mod cli;
mod error;
mod reconcile;

use std::process::ExitCode;

use kube::Api;
use kube::core::DeserializeGuard;
use kube::runtime::watcher;
use rockoon_core::controller::{self, Watch};
use rockoon_core::crd::OpenStackDeployment;
use rockoon_core::settings::{BinaryArgs, CommonArgs};

pub use error::Error;

/// Name of this container; the `controller` label of its metrics.
pub const NAME: &str = "osdpl";
/// Default admin port (Rockoon's osdpl liveness port).
pub const DEFAULT_ADMIN_PORT: u16 = 32768;
/// Name of the OSDPL CRD this controller waits for.
pub const OSDPL_CRD: &str = "openstackdeployments.lcm.mirantis.com";

/// Command line of `rockoon-osdpl`.
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "rockoon-osdpl",
    version,
    about = "Renders OpenStackDeployments into Helm releases."
)]
pub struct Args {
    /// Settings shared by every container.
    #[command(flatten)]
    pub common: CommonArgs,

    /// An offline command instead of the controller.
    #[command(subcommand)]
    pub command: Option<cli::Command>,
}

impl BinaryArgs for Args {
    const DEFAULT_ADMIN_PORT: u16 = DEFAULT_ADMIN_PORT;
}

/// Runs the container until SIGTERM.
pub async fn run(args: Args) -> ExitCode {
    if let Some(command) = args.command {
        return cli::run(command);
    }
    rockoon_core::runtime::serve(NAME, args.common, |runtime| {
        let api: Api<DeserializeGuard<OpenStackDeployment>> =
            Api::namespaced(runtime.client.clone(), &runtime.args.namespace);
        let watch = Watch {
            resource: "OpenStackDeployment",
            api,
            config: watcher::Config::default(),
            crd: Some(OSDPL_CRD),
        };
        let reconciler = reconcile::Osdpl::new(runtime.client.clone());
        vec![controller::task(runtime, watch, reconciler)]
    })
    .await
}
