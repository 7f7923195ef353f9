//! The Secret caches behind the OSDPL reconcile (runtime mirrors): the reconcile reads them
//! instead of calling the API, and each change reconciles the OSDPL again (a credential edited
//! or deleted by hand, a referenced Secret changed, the clouds.yaml copy or a credential's
//! protected copy touched, a generated certificate Secret deleted).
//!
//! Each has its readiness gate `watch:<resource>` and its `rockoon_watched_objects` series,
//! like the controller's own watch; reconciles wait for every first list.

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::runtime::watcher;
use rockoon_core::credentials::OWNER_LABEL;
use rockoon_core::names::OSDPL_SECRET_SELECTOR;
use rockoon_runtime::controller::Trigger;
use rockoon_runtime::mirror::{self, Mirror};
use rockoon_runtime::owner::Osdpls;
use rockoon_runtime::runtime::Runtime;

use crate::backup::BACKUP_LABEL;

/// Caches of the watched Secrets.
#[derive(Clone)]
pub struct Stores {
    /// Credential Secrets of the OpenStack namespace (label `lcm.mirantis.com/credentials`).
    pub credentials: Mirror<Secret>,
    /// Generated certificate Secrets (label `lcm.mirantis.com/certificates`).
    pub certificates: Mirror<Secret>,
    /// Secrets an OSDPL may reference (label `openstack.lcm.mirantis.com/osdpl_secret=true`).
    pub referenced: Mirror<Secret>,
    /// The clouds.yaml copy in the controller namespace.
    pub clouds: Mirror<Secret>,
    /// Protected copies of the credential Secrets (label `lcm.mirantis.com/credentials-backup`).
    pub backups: Mirror<Secret>,
    /// The namespace's OSDPLs by metadata: only the namespace owner gets credentials.
    pub osdpls: Osdpls,
}

impl Stores {
    /// Starts the caches; returns them and the triggers their changes tick.
    pub fn start(runtime: &Runtime, clouds_secret: &str) -> (Self, Vec<Trigger>) {
        let client = &runtime.client;
        let secrets = |ns: &str| Api::<Secret>::namespaced(client.clone(), ns);
        let (readiness, metrics) = (&runtime.readiness, &runtime.metrics);
        let namespace = &runtime.args.namespace;
        let (credentials, t1) = mirror::counted_objects(
            "Secret",
            secrets(namespace),
            watcher::Config::default().labels(OWNER_LABEL),
            readiness,
            metrics,
        );
        let (referenced, t2) = mirror::counted_objects(
            "ReferencedSecret",
            secrets(namespace),
            watcher::Config::default().labels(OSDPL_SECRET_SELECTOR),
            readiness,
            metrics,
        );
        let (clouds, t3) = mirror::counted_objects(
            "CloudsSecret",
            secrets(&runtime.args.controller_namespace),
            watcher::Config::default().fields(&format!("metadata.name={clouds_secret}")),
            readiness,
            metrics,
        );
        let (backups, t4) = mirror::counted_objects(
            "CredentialBackup",
            secrets(namespace),
            watcher::Config::default().labels(BACKUP_LABEL),
            readiness,
            metrics,
        );
        let (certificates, t6) = mirror::counted_objects(
            "CertificateSecret",
            secrets(namespace),
            watcher::Config::default().labels(rockoon_core::certificates::SET_LABEL),
            readiness,
            metrics,
        );
        // Fires when OSDPLs appear or go: the next owner is served once the old one is gone.
        let (osdpls, t5) = Osdpls::start(runtime, namespace);
        let stores = Self {
            credentials,
            certificates,
            referenced,
            clouds,
            backups,
            osdpls,
        };
        (stores, vec![t1, t2, t3, t4, t5, t6])
    }

    /// Waits for every cache's first complete list.
    pub async fn synced(&self) {
        self.credentials.synced().await;
        self.referenced.synced().await;
        self.clouds.synced().await;
        self.backups.synced().await;
        self.certificates.synced().await;
    }
}
