//! `secrets`: owns generated credentials and the exchange of secret data.
//!
//! Today the controller watches Secrets in the OpenStack namespace and logs and counts what it
//! sees (names, types and labels only: never data). Credential generation, rotation and
//! `value_from` hashing come with the secrets issue.

mod reconcile;

use std::process::ExitCode;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::runtime::watcher;
use rockoon_core::controller::{self, Watch};
use rockoon_core::settings::{BinaryArgs, CommonArgs};

/// Name of this container; the `controller` label of its metrics.
pub const NAME: &str = "secrets";

/// Command line of `rockoon-secrets`.
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "rockoon-secrets",
    version,
    about = "Generated credentials and secret data exchange."
)]
pub struct Args {
    /// Settings shared by every container.
    #[command(flatten)]
    pub common: CommonArgs,
}

impl BinaryArgs for Args {
    /// Rockoon's secrets liveness port.
    const DEFAULT_ADMIN_PORT: u16 = 32770;
}

/// Runs the container until SIGTERM.
pub async fn run(args: Args) -> ExitCode {
    rockoon_core::runtime::serve(NAME, args.common, |runtime| {
        let api: Api<Secret> = Api::namespaced(runtime.client.clone(), &runtime.args.namespace);
        let watch = Watch {
            resource: "Secret",
            api,
            config: watcher::Config::default(),
            crd: None,
        };
        vec![controller::task(runtime, watch, reconcile::SecretObserver)]
    })
    .await
}
