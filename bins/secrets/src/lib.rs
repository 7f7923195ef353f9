//! `secrets`: owns every generated credential and the exchange of secret data.
//!
//! One controller over the OpenStackDeployments of the OpenStack namespace, reconciled again
//! whenever a Secret it reads changes ([`watch`]). For each OSDPL it generates the credentials
//! of the enabled services, never changing a present value ([`write`]) nor losing one to a
//! deletion ([`backup`]), generates the CAs and certificates of libvirt TLS and VeNCrypt when
//! the spec asks for them, never replacing one ([`certificates`]), rotates them when the
//! user raises a rotation id ([`rotation`]), hashes the Secrets the spec references into the
//! OSDPL status ([`value_from`]), keeps a `clouds.yaml` with the admin account in the
//! controller namespace ([`clouds`]) and reports conditions ([`status`]). The pipeline is in
//! [`reconcile`]. No secret value is ever logged, put in an event, a metric or an error.

mod backup;
mod certificates;
mod clouds;
mod error;
mod generate;
mod metrics;
mod reconcile;
mod report;
mod rotation;
mod status;
mod value_from;
mod verdicts;
mod watch;
mod write;

use std::process::ExitCode;
use std::time::Duration;

use kube::Api;
use kube::runtime::watcher;
use rockoon_core::crd::OpenStackDeployment;
use rockoon_core::names::OSDPL_CRD;
use rockoon_runtime::controller::{self, Scheduling, Watch};
use rockoon_runtime::guard::Guarded;
use rockoon_runtime::runtime::{Runtime, Task};
use rockoon_runtime::settings::{BinaryArgs, CommonArgs};

use crate::watch::Stores;

pub use error::Error;
pub use value_from::OSDPL_SECRET_LABEL;

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

    /// Name of the Secret holding clouds.yaml (admin account) in the controller namespace.
    #[arg(
        long,
        env = "OSCTL_CLOUDS_SECRET_NAME",
        default_value = "keystone-os-clouds"
    )]
    pub clouds_secret: String,

    /// Milliseconds of quiet before a reconcile starts, so a burst of Secret changes makes one.
    #[arg(long, env = "OSCTL_SECRETS_DEBOUNCE_MS", default_value_t = 200)]
    pub debounce_ms: u64,
}

impl BinaryArgs for Args {
    /// Rockoon's secrets liveness port, 4000 lower: out of the ephemeral range (docs/configuration.md).
    const DEFAULT_ADMIN_PORT: u16 = 28770;
}

/// Runs the container until SIGTERM.
pub async fn run(args: Args) -> ExitCode {
    let Args {
        common,
        clouds_secret,
        debounce_ms,
    } = args;
    rockoon_runtime::runtime::serve(NAME, common, move |runtime| {
        tasks(runtime, clouds_secret, Duration::from_millis(debounce_ms))
    })
    .await
}

fn tasks(runtime: &Runtime, clouds_secret: String, debounce: Duration) -> Vec<Task> {
    let Some(metrics) = runtime.register(metrics::Metrics::register) else {
        return Vec::new();
    };
    let client = runtime.client.clone();
    let namespace = runtime.args.namespace.clone();
    let (stores, triggers) = Stores::start(runtime, &clouds_secret);
    let settings = reconcile::Settings {
        namespace: namespace.clone(),
        controller_namespace: runtime.args.controller_namespace.clone(),
        clouds_secret,
    };
    let reconciler = reconcile::Secrets::new(client.clone(), settings, stores, metrics);
    let watch = Watch {
        resource: "OpenStackDeployment",
        api: Api::<Guarded<OpenStackDeployment>>::namespaced(client, &namespace),
        config: watcher::Config::default(),
        crd: Some(OSDPL_CRD),
    };
    let scheduling = Scheduling { triggers, debounce };
    vec![controller::task_with(
        runtime, watch, reconciler, scheduling,
    )]
}
