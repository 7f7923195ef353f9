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

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::core::DeserializeGuard;
use kube::runtime::watcher;
use rockoon_core::crd::OpenStackDeployment;
use rockoon_core::names::OSDPL_CRD;
use rockoon_core::render::Templates;
use rockoon_runtime::controller::{self, Scheduling, Watch};
use rockoon_runtime::mirror;
use rockoon_runtime::runtime::{Runtime, Task};
use rockoon_runtime::settings::{BinaryArgs, CommonArgs};

/// Name of this container; the `controller` label of its metrics.
pub const NAME: &str = "ceph-exchange";
/// Label of the Secrets an OSDPL's `value_from` references (the public certificate).
const OSDPL_SECRET_LABEL: &str = "openstack.lcm.mirantis.com/osdpl_secret";

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
    /// Rockoon's ceph-secrets liveness port.
    const DEFAULT_ADMIN_PORT: u16 = 32774;
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
    let owned = format!("{}={}", plan::MANAGED_BY_LABEL, plan::MANAGED_BY);
    // Gate and metric label `Secret`: the Secret of the Ceph shared namespace it always watched.
    let (keys, t1) = mirror::counted_objects(
        "Secret",
        Api::<Secret>::namespaced(client.clone(), &ceph_namespace),
        watcher::Config::default().fields(&format!(
            "metadata.name={}",
            rockoon_core::ceph::KEYS_SECRET
        )),
        &runtime.readiness,
        &runtime.metrics,
    );
    let (secrets, t2) = mirror::counted_objects(
        "KeyringSecret",
        Api::<Secret>::namespaced(client.clone(), &namespace),
        watcher::Config::default().labels(&owned),
        &runtime.readiness,
        &runtime.metrics,
    );
    let (config_maps, t3) = mirror::counted_objects(
        "ConfigMap",
        Api::<ConfigMap>::namespaced(client.clone(), &namespace),
        watcher::Config::default().labels(&owned),
        &runtime.readiness,
        &runtime.metrics,
    );
    let (osdpls, t4) = mirror::objects(
        "osdpls",
        Api::<DeserializeGuard<OpenStackDeployment>>::namespaced(client.clone(), &namespace),
        watcher::Config::default(),
        &runtime.readiness,
    );
    let (credentials, t5) = mirror::objects(
        "CredentialSecret",
        Api::<Secret>::namespaced(client.clone(), &namespace),
        watcher::Config::default().labels(&format!(
            "{}={}",
            rockoon_core::credentials::OWNER_LABEL,
            rgw::SERVICE
        )),
        &runtime.readiness,
    );
    let (referenced, t6) = mirror::objects(
        "ReferencedSecret",
        Api::<Secret>::namespaced(client.clone(), &namespace),
        watcher::Config::default().labels(&format!("{OSDPL_SECRET_LABEL}=true")),
        &runtime.readiness,
    );
    let (rgw, t7) = mirror::counted_objects(
        "RgwSecret",
        Api::<Secret>::namespaced(client.clone(), &ceph_namespace),
        watcher::Config::default().labels(&owned),
        &runtime.readiness,
        &runtime.metrics,
    );
    let mirrors = reconcile::Mirrors {
        keys,
        secrets,
        config_maps,
        osdpls,
        credentials,
        referenced,
        rgw,
    };
    let settings = reconcile::Settings {
        namespace: namespace.clone(),
        ceph_namespace,
    };
    let reconciler =
        reconcile::CephExchange::new(client.clone(), settings, mirrors, templates, metrics);
    let watch = Watch {
        resource: "OpenStackDeployment",
        api: Api::<DeserializeGuard<OpenStackDeployment>>::namespaced(client, &namespace),
        config: watcher::Config::default(),
        crd: Some(OSDPL_CRD),
    };
    // A change of any OSDPL already reconciles it through the primary watch, which plans for
    // the whole namespace: the OSDPL mirror needs no trigger of its own.
    drop(t4);
    let scheduling = Scheduling {
        triggers: vec![t1, t2, t3, t5, t6, t7],
        debounce,
    };
    vec![controller::task_with(
        runtime, watch, reconciler, scheduling,
    )]
}
