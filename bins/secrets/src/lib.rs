//! `secrets`: owns every generated credential and the exchange of secret data.
//!
//! One controller over the OpenStackDeployments of the OpenStack namespace, reconciled again
//! whenever a Secret it reads changes ([`watch`]). For each OSDPL it generates the credentials
//! of the enabled services, never changing a present value ([`write`]), rotates them when the
//! user raises a rotation id ([`rotation`]), hashes the Secrets the spec references into the
//! OSDPL status ([`value_from`]), keeps a `clouds.yaml` with the admin account in the
//! controller namespace ([`clouds`]) and reports conditions ([`status`]). The pipeline is in
//! [`reconcile`]. No secret value is ever logged, put in an event, a metric or an error.

mod clouds;
mod error;
mod metrics;
mod reconcile;
mod rotation;
mod status;
mod value_from;
mod watch;
mod write;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::core::DeserializeGuard;
use kube::runtime::watcher;
use rockoon_core::controller::{self, Scheduling, Watch};
use rockoon_core::crd::OpenStackDeployment;
use rockoon_core::credentials::OWNER_LABEL;
use rockoon_core::render::Templates;
use rockoon_core::runtime::{Runtime, Task};
use rockoon_core::settings::{BinaryArgs, CommonArgs};

pub use error::Error;
pub use value_from::OSDPL_SECRET_LABEL;

/// Name of this container; the `controller` label of its metrics.
pub const NAME: &str = "secrets";
/// Name of the OSDPL CRD this controller waits for.
pub const OSDPL_CRD: &str = "openstackdeployments.lcm.mirantis.com";

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

    /// Directory whose files replace the embedded templates of the same name; must be the
    /// same as osdpl's, since presets decide which services (and so credentials) are enabled.
    #[arg(long, env = "OSCTL_TEMPLATES_DIR")]
    pub templates: Option<PathBuf>,

    /// Milliseconds of quiet before a reconcile starts, so a burst of Secret changes makes one.
    #[arg(long, env = "OSCTL_SECRETS_DEBOUNCE_MS", default_value_t = 200)]
    pub debounce_ms: u64,
}

impl BinaryArgs for Args {
    /// Rockoon's secrets liveness port.
    const DEFAULT_ADMIN_PORT: u16 = 32770;
}

/// Runs the container until SIGTERM.
pub async fn run(args: Args) -> ExitCode {
    let templates = match &args.templates {
        None => Templates::embedded(),
        Some(dir) => match Templates::with_overrides(dir) {
            Ok(templates) => templates,
            Err(error) => {
                eprintln!("rockoon-{NAME}: --templates {}: {error}", dir.display());
                return ExitCode::FAILURE;
            }
        },
    };
    let Args {
        common,
        clouds_secret,
        templates: _,
        debounce_ms,
    } = args;
    rockoon_core::runtime::serve(NAME, common, move |runtime| {
        tasks(
            runtime,
            clouds_secret,
            templates,
            Duration::from_millis(debounce_ms),
        )
    })
    .await
}

fn tasks(
    runtime: &Runtime,
    clouds_secret: String,
    templates: Templates,
    debounce: Duration,
) -> Vec<Task> {
    let metrics = match metrics::Metrics::register(&runtime.registry) {
        Ok(metrics) => metrics,
        Err(error) => {
            // Only a name clash can fail this, which the unit tests rule out.
            tracing::error!(%error, "metrics registration failed");
            runtime.shutdown.trigger();
            return Vec::new();
        }
    };
    let client = runtime.client.clone();
    let namespace = runtime.args.namespace.clone();
    let controller_namespace = runtime.args.controller_namespace.clone();
    let secrets = |ns: &str| Api::<Secret>::namespaced(client.clone(), ns);
    let (stores, mut tasks, ticks) = watch::start(
        runtime,
        [
            watch::SecretWatch {
                resource: "Secret",
                api: secrets(&namespace),
                config: watcher::Config::default().labels(OWNER_LABEL),
            },
            watch::SecretWatch {
                resource: "ReferencedSecret",
                api: secrets(&namespace),
                config: watcher::Config::default().labels(&format!("{OSDPL_SECRET_LABEL}=true")),
            },
            watch::SecretWatch {
                resource: "CloudsSecret",
                api: secrets(&controller_namespace),
                config: watcher::Config::default()
                    .fields(&format!("metadata.name={clouds_secret}")),
            },
        ],
    );
    let settings = reconcile::Settings {
        namespace: namespace.clone(),
        controller_namespace,
        clouds_secret,
    };
    let reconciler = reconcile::Secrets::new(client.clone(), settings, stores, templates, metrics);
    let watch = Watch {
        resource: "OpenStackDeployment",
        api: Api::<DeserializeGuard<OpenStackDeployment>>::namespaced(client, &namespace),
        config: watcher::Config::default(),
        crd: Some(OSDPL_CRD),
    };
    let scheduling = Scheduling {
        triggers: vec![ticks.boxed()],
        debounce,
    };
    tasks.push(controller::task_with(
        runtime, watch, reconciler, scheduling,
    ));
    tasks
}
