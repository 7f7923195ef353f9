//! `ceph-exchange`: exchanges data with Ceph through the shared namespace.
//!
//! **Ceph → OpenStack.** Ceph publishes `openstack-ceph-keys` in `--ceph-shared-namespace`
//! (monitors, fsid, one cephx key per client). This container owns, in the OpenStack
//! namespace (`--namespace`), the objects the upstream charts mount: `ConfigMap/ceph-etc`
//! (`ceph.conf`) and one `Secret/<user>-rbd-keyring` (key `key`) per Ceph client user that an
//! enabled service reads ([`plan`]). It follows new keys and monitors, deletes the keyrings of
//! users no enabled service needs, records the hash of the publication in the OSDPL's
//! `status.watched.ceph.secret.hash` with a `CephKeys` condition, and changes nothing on bad
//! or missing input ([`reconcile`]).
//!
//! **OpenStack → Ceph.** While an OSDPL enables `object-storage`, `openstack-rgw-creds` in the
//! Ceph shared namespace carries the RGW service user's active credentials and the endpoints
//! Ceph needs ([`rgw`]); it is deleted when object-storage is disabled.
//!
//! One controller over the OpenStackDeployments of the namespace, reconciled again whenever
//! `openstack-ceph-keys`, an owned object, object-storage's credentials or a referenced Secret
//! changes; its first reconciles after start-up cover a publication made while it was not
//! running.

mod metrics;
pub mod plan;
mod reconcile;
pub mod rgw;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;
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

use crate::watch::Mirrors;

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

    /// Directory whose files replace the embedded templates of the same name; must be the
    /// same as osdpl's, since presets decide which services (and so Ceph users) are enabled.
    #[arg(long, env = "OSCTL_TEMPLATES_DIR")]
    pub templates: Option<PathBuf>,

    /// Milliseconds of quiet before a reconcile starts, so a burst of changes makes one.
    #[arg(long, env = "OSCTL_CEPH_EXCHANGE_DEBOUNCE_MS", default_value_t = 200)]
    pub debounce_ms: u64,
}

impl BinaryArgs for Args {
    /// Rockoon's ceph-secrets liveness port, 4000 lower: out of the ephemeral range (docs/configuration.md).
    const DEFAULT_ADMIN_PORT: u16 = 28774;
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
        ceph_shared_namespace,
        templates: _,
        debounce_ms,
    } = args;
    rockoon_runtime::runtime::serve(NAME, common, move |runtime| {
        tasks(
            runtime,
            ceph_shared_namespace,
            templates,
            Duration::from_millis(debounce_ms),
        )
    })
    .await
}

fn tasks(
    runtime: &Runtime,
    ceph_namespace: String,
    templates: Templates,
    debounce: Duration,
) -> Vec<Task> {
    let Some(metrics) = runtime.register(metrics::Metrics::register) else {
        return Vec::new();
    };
    let client = runtime.client.clone();
    let namespace = runtime.args.namespace.clone();
    let (mirrors, triggers) = Mirrors::start(runtime, &ceph_namespace);
    let settings = reconcile::Settings {
        namespace: namespace.clone(),
        ceph_namespace,
        controller_namespace: runtime.args.controller_namespace.clone(),
    };
    let reconciler =
        reconcile::CephExchange::new(client.clone(), settings, mirrors, templates, metrics);
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
