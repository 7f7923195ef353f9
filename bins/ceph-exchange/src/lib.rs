//! `ceph-exchange`: exchanges data with Ceph through the shared namespace.
//!
//! Today the controller watches Secrets in the Ceph shared namespace and logs and counts what it
//! sees (names, types and labels only: never data). Keyring parsing, hashing into
//! `status.watched.ceph` and RGW credentials come with the Ceph issue.

mod reconcile;

use std::process::ExitCode;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::runtime::watcher;
use rockoon_runtime::controller::{self, Watch};
use rockoon_runtime::settings::{BinaryArgs, CommonArgs};

/// Name of this container; the `controller` label of its metrics.
pub const NAME: &str = "ceph-exchange";

/// Command line of `rockoon-ceph-exchange`.
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "rockoon-ceph-exchange",
    version,
    about = "Data exchange with Ceph."
)]
pub struct Args {
    /// Settings shared by every container.
    #[command(flatten)]
    pub common: CommonArgs,

    /// Namespace where Ceph and OpenStack exchange keys and endpoints.
    #[arg(
        long,
        env = "OSCTL_CEPH_SHARED_NAMESPACE",
        default_value = "openstack-ceph-shared"
    )]
    pub ceph_shared_namespace: String,
}

impl BinaryArgs for Args {
    /// Rockoon's ceph-secrets liveness port.
    const DEFAULT_ADMIN_PORT: u16 = 32774;
}

/// Runs the container until SIGTERM.
pub async fn run(args: Args) -> ExitCode {
    let ceph_namespace = args.ceph_shared_namespace;
    rockoon_runtime::runtime::serve(NAME, args.common, move |runtime| {
        let api: Api<Secret> = Api::namespaced(runtime.client.clone(), &ceph_namespace);
        let watch = Watch {
            resource: "Secret",
            api,
            config: watcher::Config::default(),
            crd: None,
        };
        vec![controller::task(
            runtime,
            watch,
            reconcile::CephSecretObserver,
        )]
    })
    .await
}
