//! `osdpl`: turns an `OpenStackDeployment` into Helm releases and reports progress.
//!
//! Wiring only: flags, the caches a reconcile reads ([`fetch`]), the helm runner ([`helm`],
//! driven by [`apply`]) and the reconciler ([`reconcile`]: read → [`fetch`] → render →
//! [`plan`] → [`rollout`] → [`report`], with the [`finalizer`] on deletion), and, when asked,
//! the reporter of OSDPLs outside the managed namespace ([`unmanaged`]). `render` and `diff`
//! ([`cli`]) work offline.

pub mod apply;
pub mod cli;
mod error;
pub mod fetch;
mod finalizer;
pub mod helm;
pub mod inputs;
pub mod metrics;
pub mod plan;
mod reconcile;
pub mod report;
pub mod rollout;
pub mod state;
pub mod status;
pub mod unmanaged;
pub mod upgrade;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use kube::Api;
use kube::runtime::watcher;
use rockoon_core::crd::OpenStackDeployment;
use rockoon_core::names::OSDPL_CRD;
use rockoon_core::render::Templates;
use rockoon_runtime::controller::{self, Scheduling, Watch};
use rockoon_runtime::guard::Guarded;
use rockoon_runtime::runtime::{Runtime, Task};
use rockoon_runtime::settings::{BinaryArgs, CommonArgs};

pub use error::Error;

use crate::apply::{Applier, ApplierConfig};
use crate::fetch::{Mirrors, RenderSettings};
use crate::helm::{ChartSource, Helm, HelmConfig, HelmMetrics};
use crate::reconcile::Osdpl;
use crate::report::Report;
use crate::unmanaged::Unmanaged;

/// Name of this container; the `controller` label of its metrics.
pub const NAME: &str = "osdpl";
/// Default admin port: Rockoon's osdpl liveness port moved out of the ephemeral range.
pub const DEFAULT_ADMIN_PORT: u16 = 28768;
/// Upstream OpenStack-Helm chart repository (both groups since the 2025 merge).
pub const UPSTREAM_CHARTS: &str = helm::chart::UPSTREAM_REPOSITORY;

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

    /// Controller settings.
    #[command(flatten)]
    pub controller: ControllerArgs,

    /// An offline command instead of the controller.
    #[command(subcommand)]
    pub command: Option<cli::Command>,
}

/// Settings of the controller (ignored by the offline commands).
#[derive(clap::Args, Debug, Clone)]
pub struct ControllerArgs {
    /// The helm v3 binary.
    #[arg(long, env = "OSCTL_HELM_BINARY", default_value = "helm")]
    pub helm_binary: PathBuf,
    /// Time limit of one helm command, in seconds; the process is killed after it.
    #[arg(long, env = "OSCTL_HELM_TIMEOUT_SECONDS", default_value_t = 300)]
    pub helm_timeout_seconds: u64,
    /// Helm commands run at once (different releases only; one release never has two).
    #[arg(long, env = "OSCTL_HELM_CONCURRENCY", default_value_t = 4)]
    pub helm_concurrency: usize,
    /// Revisions helm keeps per release.
    #[arg(long, env = "OSCTL_HELM_HISTORY_MAX", default_value_t = 3)]
    pub helm_history_max: u32,
    /// Writable directory for helm's cache and config.
    #[arg(long, env = "OSCTL_HELM_HOME")]
    pub helm_home: Option<PathBuf>,
    /// Source of the `openstack` chart group: a directory of charts, or a Helm repository
    /// URL (`https://…`, `oci://…`).
    #[arg(long, env = "OSCTL_CHARTS_OPENSTACK", default_value = UPSTREAM_CHARTS)]
    pub openstack_charts: ChartSource,
    /// Source of the `infra` chart group (same forms).
    #[arg(long, env = "OSCTL_CHARTS_INFRA", default_value = UPSTREAM_CHARTS)]
    pub infra_charts: ChartSource,
    /// Namespace where Ceph publishes `openstack-ceph-keys`.
    #[arg(
        long,
        env = "OSCTL_CEPH_SHARED_NAMESPACE",
        default_value = "openstack-ceph-shared"
    )]
    pub ceph_shared_namespace: String,
    /// Registry prefix for images when the spec sets none.
    #[arg(long, env = "OSCTL_IMAGES_BASE_URL", default_value = "")]
    pub images_base_url: String,
    /// Binary artifacts prefix when the spec sets none.
    #[arg(long, env = "OSCTL_BINARY_BASE_URL", default_value = "")]
    pub binary_base_url: String,
    /// Directory whose files replace the embedded templates of the same relative name.
    #[arg(long = "templates", env = "OSCTL_TEMPLATES_DIR")]
    pub templates_dir: Option<PathBuf>,
    /// Gateway the public HTTPRoutes attach to: `[<namespace>/]<name>[/<section>]`.
    #[arg(long, env = "OSCTL_GATEWAY_PARENT", default_value = rockoon_core::render::routes::DEFAULT_GATEWAY)]
    pub gateway_parent: rockoon_core::render::ParentRef,
    /// Render the Gateway itself (with this gatewayClassName) and its TLS Secret; unset, the
    /// platform provides the Gateway.
    #[arg(long, env = "OSCTL_GATEWAY_CLASS", value_parser = rockoon_core::render::routes::gateway_class)]
    pub gateway_class: Option<String>,
    /// Quiet time before a reconcile starts, in milliseconds, so bursts of changes (a helm
    /// upgrade writes several objects) make one reconcile.
    #[arg(long, env = "OSCTL_RECONCILE_DEBOUNCE_MS", default_value_t = 300)]
    pub debounce_ms: u64,
    /// Give OSDPLs outside `--namespace` that match this label selector (`*`: every one) the
    /// state UNMANAGED, so they are not left without status; unset, they are not watched.
    #[arg(long, env = "OSCTL_UNMANAGED_SELECTOR")]
    pub unmanaged_selector: Option<String>,
}

impl BinaryArgs for Args {
    const DEFAULT_ADMIN_PORT: u16 = DEFAULT_ADMIN_PORT;
}

/// Runs the container until SIGTERM.
pub async fn run(args: Args) -> ExitCode {
    if let Some(command) = args.command {
        return cli::run(command);
    }
    let settings = args.controller;
    let templates = match cli::templates(settings.templates_dir.as_deref()) {
        Ok(templates) => templates,
        Err(error) => {
            eprintln!("rockoon-osdpl: templates: {error}");
            return ExitCode::FAILURE;
        }
    };
    rockoon_runtime::runtime::serve(NAME, args.common, move |runtime| {
        tasks(runtime, &settings, templates)
    })
    .await
}

/// The controller over the OSDPLs, with its caches and helm runner.
fn tasks(runtime: &Runtime, settings: &ControllerArgs, templates: Templates) -> Vec<Task> {
    let client = runtime.client.clone();
    let (mirrors, triggers) = Mirrors::start(runtime, &settings.ceph_shared_namespace);
    let registered = HelmMetrics::register(&runtime.registry)
        .and_then(|helm| Ok((helm, metrics::StateMetrics::register(&runtime.registry)?)));
    let (helm_metrics, state_metrics) = match registered {
        Ok(metrics) => metrics,
        Err(error) => {
            tracing::error!(%error, "metrics registration failed");
            return vec![];
        }
    };
    let applier = applier(runtime, settings, helm_metrics, &mirrors);
    let render = RenderSettings {
        templates,
        images_base_url: settings.images_base_url.clone(),
        binary_base_url: settings.binary_base_url.clone(),
        gateway: rockoon_core::render::GatewaySettings {
            parent: settings.gateway_parent.clone(),
            class: settings.gateway_class.clone(),
        },
    };
    let report = Report::new(client.clone(), state_metrics);
    let reconciler = Osdpl::new(client.clone(), Arc::new(applier), mirrors, render, report);
    let namespace = &runtime.args.namespace;
    let watch = Watch {
        resource: "OpenStackDeployment",
        api: Api::<Guarded<OpenStackDeployment>>::namespaced(client.clone(), namespace),
        config: watcher::Config::default(),
        crd: Some(OSDPL_CRD),
    };
    let scheduling = Scheduling {
        triggers,
        debounce: Duration::from_millis(settings.debounce_ms),
    };
    let mut tasks = vec![controller::task_with(
        runtime, watch, reconciler, scheduling,
    )];
    if let Some(selector) = &settings.unmanaged_selector {
        let watch = Unmanaged::watch(client.clone(), namespace, selector);
        let reporter = Unmanaged::new(client, namespace);
        tasks.push(controller::task(runtime, watch, reporter));
    }
    tasks
}

/// The helm runner with the chart sources and limits of the flags.
fn applier(
    runtime: &Runtime,
    settings: &ControllerArgs,
    metrics: HelmMetrics,
    mirrors: &Mirrors,
) -> Applier {
    let helm = Helm::new(
        HelmConfig {
            binary: settings.helm_binary.clone(),
            kubeconfig: runtime.args.kubeconfig_paths().into_iter().next(),
            kube_context: runtime.args.kube_context.clone(),
            timeout: Duration::from_secs(settings.helm_timeout_seconds.max(1)),
            history_max: settings.helm_history_max.max(2),
            home: settings
                .helm_home
                .clone()
                .unwrap_or_else(|| std::env::temp_dir().join("rockoon-helm")),
        },
        metrics,
    )
    .fenced_by(runtime.leader.clone());
    let config = ApplierConfig {
        openstack: settings.openstack_charts.clone(),
        infra: settings.infra_charts.clone(),
        concurrency: settings.helm_concurrency,
        backoff: (
            Duration::from_secs(runtime.args.error_backoff_base_seconds.max(1)),
            Duration::from_secs(runtime.args.error_backoff_max_seconds.max(1)),
        ),
    };
    Applier::new(
        helm,
        config,
        runtime.client.clone(),
        mirrors.releases.clone(),
    )
}
