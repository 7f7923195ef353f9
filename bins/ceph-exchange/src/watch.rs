//! The caches behind the ceph-exchange reconcile (runtime mirrors): Ceph's keys, the objects
//! this container owns on both sides, the OSDPLs (their enabled services), object-storage's
//! credentials and the Secrets the OSDPLs reference. A change of any but the OSDPLs reconciles
//! again; the OSDPLs are the controller's own watch already.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::runtime::watcher;
use rockoon_core::crd::OpenStackDeployment;
use rockoon_core::credentials::OWNER_LABEL;
use rockoon_core::names::{CEPH_KEYS_SECRET, OSDPL_SECRET_SELECTOR};
use rockoon_runtime::controller::Trigger;
use rockoon_runtime::guard::Guarded;
use rockoon_runtime::mirror::{self, Mirror};
use rockoon_runtime::runtime::Runtime;

use crate::{plan, rgw};

/// The caches a reconcile reads.
pub struct Mirrors {
    /// `openstack-ceph-keys` in the Ceph shared namespace.
    pub keys: Mirror<Secret>,
    /// Secrets of the OpenStack namespace labelled as this container's.
    pub secrets: Mirror<Secret>,
    /// ConfigMaps of the OpenStack namespace labelled as this container's.
    pub config_maps: Mirror<ConfigMap>,
    /// Every OSDPL of the OpenStack namespace (their enabled services).
    pub osdpls: Mirror<Guarded<OpenStackDeployment>>,
    /// The generated credentials of `object-storage` (its service user).
    pub credentials: Mirror<Secret>,
    /// Secrets the OSDPLs reference (`osdpl_secret=true`), for the public certificate.
    pub referenced: Mirror<Secret>,
    /// Secrets of the Ceph shared namespace labelled as this container's (`openstack-rgw-creds`).
    pub rgw: Mirror<Secret>,
}

impl Mirrors {
    /// Starts the caches; returns them and the triggers whose changes reconcile every OSDPL.
    pub fn start(runtime: &Runtime, ceph_namespace: &str) -> (Self, Vec<Trigger>) {
        let (client, readiness, metrics) = (&runtime.client, &runtime.readiness, &runtime.metrics);
        let namespace = &runtime.args.namespace;
        let secrets = |ns: &str| Api::<Secret>::namespaced(client.clone(), ns);
        let labelled = |selector: &str| watcher::Config::default().labels(selector);
        let owned = format!("{}={}", plan::MANAGED_BY_LABEL, plan::MANAGED_BY);
        // Gate and metric label `Secret`: the Secret of the Ceph shared namespace it always
        // watched.
        let (keys, t1) = mirror::counted_objects(
            "Secret",
            secrets(ceph_namespace),
            watcher::Config::default().fields(&format!("metadata.name={CEPH_KEYS_SECRET}")),
            readiness,
            metrics,
        );
        let (keyrings, t2) = mirror::counted_objects(
            "KeyringSecret",
            secrets(namespace),
            labelled(&owned),
            readiness,
            metrics,
        );
        let (config_maps, t3) = mirror::counted_objects(
            "ConfigMap",
            Api::<ConfigMap>::namespaced(client.clone(), namespace),
            labelled(&owned),
            readiness,
            metrics,
        );
        // A change of any OSDPL already reconciles it through the primary watch, which plans
        // for the whole namespace: the OSDPL mirror needs no trigger of its own.
        let (osdpls, _) = mirror::objects(
            "osdpls",
            Api::<Guarded<OpenStackDeployment>>::namespaced(client.clone(), namespace),
            watcher::Config::default(),
            readiness,
        );
        let (credentials, t5) = mirror::objects(
            "CredentialSecret",
            secrets(namespace),
            labelled(&format!("{OWNER_LABEL}={}", rgw::SERVICE)),
            readiness,
        );
        let (referenced, t6) = mirror::objects(
            "ReferencedSecret",
            secrets(namespace),
            labelled(OSDPL_SECRET_SELECTOR),
            readiness,
        );
        let (rgw, t7) = mirror::counted_objects(
            "RgwSecret",
            secrets(ceph_namespace),
            labelled(&owned),
            readiness,
            metrics,
        );
        let mirrors = Self {
            keys,
            secrets: keyrings,
            config_maps,
            osdpls,
            credentials,
            referenced,
            rgw,
        };
        (mirrors, vec![t1, t2, t3, t5, t6, t7])
    }
}
