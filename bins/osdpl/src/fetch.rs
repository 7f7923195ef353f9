//! Step 1 of the osdpl reconcile: everything it reads besides the OSDPL, from the caches
//! (never the API): the render inputs ([`crate::inputs`]), what Helm has installed, and the
//! OpenStackDeploymentStatus as last written, and the namespace's OSDPLs (who owns it).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::core::PartialObjectMeta;
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use rockoon_core::crd::{OpenStackDeployment, OpenStackDeploymentStatus};
use rockoon_core::credentials;
use rockoon_core::names::{CEPH_KEYS_SECRET, OSDPL_SECRET_SELECTOR};
use rockoon_core::render::Templates;
use rockoon_runtime::controller::Trigger;
use rockoon_runtime::mirror::{self, Mirror};
use rockoon_runtime::owner::Osdpls;
use rockoon_runtime::runtime::Runtime;

use crate::helm::installed::{HELM_OWNER_SELECTOR, Installed, installed};
use crate::inputs::{self, Defaults, Inputs};

/// The caches a reconcile reads.
pub struct Mirrors {
    /// Generated credential Secrets.
    pub credentials: Mirror<Secret>,
    /// Generated certificate Secrets (libvirt TLS, VeNCrypt).
    pub certificates: Mirror<Secret>,
    /// Secrets `value_from` may reference.
    pub referenced: Mirror<Secret>,
    /// Ceph's published keys.
    pub ceph: Mirror<Secret>,
    /// Helm's release storage, metadata only.
    pub releases: Mirror<PartialObjectMeta<Secret>>,
    /// The OpenStackDeploymentStatus objects.
    pub statuses: Mirror<OpenStackDeploymentStatus>,
    /// The namespace's OSDPLs, by metadata: which one owns the namespace.
    pub osdpls: Osdpls,
}

/// Render settings from the command line.
pub struct RenderSettings {
    /// Templates (embedded, or with an override directory).
    pub templates: Templates,
    /// Registry prefix when the spec sets none.
    pub images_base_url: String,
    /// Binary artifacts prefix when the spec sets none.
    pub binary_base_url: String,
    /// Gateway of the public HTTPRoutes (`--gateway-parent`, `--gateway-class`).
    pub gateway: rockoon_core::render::GatewaySettings,
}

impl Mirrors {
    /// Starts the caches; returns them and the triggers whose changes reconcile every OSDPL.
    pub fn start(runtime: &Runtime, ceph_namespace: &str) -> (Self, Vec<Trigger>) {
        let (client, readiness) = (&runtime.client, &runtime.readiness);
        let namespace = &runtime.args.namespace;
        let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
        let labelled = |selector: &str| watcher::Config::default().labels(selector);
        let (credentials, t1) = mirror::objects(
            "credential-secrets",
            secrets.clone(),
            labelled(credentials::OWNER_LABEL),
            readiness,
        );
        let (certificates, t7) = mirror::objects(
            "certificate-secrets",
            secrets.clone(),
            labelled(rockoon_core::certificates::SET_LABEL),
            readiness,
        );
        let (referenced, t2) = mirror::objects(
            "referenced-secrets",
            secrets,
            labelled(OSDPL_SECRET_SELECTOR),
            readiness,
        );
        let (ceph, t3) = mirror::objects(
            "ceph-keys",
            Api::namespaced(client.clone(), ceph_namespace),
            watcher::Config::default().fields(&format!("metadata.name={CEPH_KEYS_SECRET}")),
            readiness,
        );
        let (releases, t4) = mirror::objects(
            "helm-releases",
            Api::<PartialObjectMeta<Secret>>::namespaced(client.clone(), namespace),
            labelled(HELM_OWNER_SELECTOR),
            readiness,
        );
        // Read to remember what was reported before a restart. Its trigger fires only when an
        // osdplst appears or goes (not on our own status writes): one deleted by hand is
        // written again, whole, at once.
        let (statuses, t5) = mirror::objects(
            "osdplst",
            Api::<OpenStackDeploymentStatus>::namespaced(client.clone(), namespace),
            watcher::Config::default(),
            readiness,
        );
        let t5 = mirror::membership(&statuses, t5);
        let (osdpls, t6) = Osdpls::start(runtime, namespace);
        let mirrors = Self {
            credentials,
            certificates,
            referenced,
            ceph,
            releases,
            statuses,
            osdpls,
        };
        (mirrors, vec![t1, t2, t3, t4, t5, t6, t7])
    }

    /// Waits for every cache's first list: an empty cache would read as "nothing installed".
    pub async fn synced(&self) {
        self.credentials.synced().await;
        self.certificates.synced().await;
        self.referenced.synced().await;
        self.ceph.synced().await;
        self.releases.synced().await;
        self.statuses.synced().await;
    }

    /// The render inputs of `osdpl` (credentials, generated certificates present, referenced
    /// Secrets, Ceph's keys).
    pub fn inputs(&self, osdpl: &OpenStackDeployment, settings: &RenderSettings) -> Inputs {
        let namespace = osdpl.namespace().unwrap_or_default();
        let defaults = Defaults {
            namespace: &namespace,
            images_base_url: &settings.images_base_url,
            binary_base_url: &settings.binary_base_url,
        };
        let ceph = self.ceph.state();
        let mut inputs = inputs::gather(
            &defaults,
            &self.credentials.state(),
            &self.referenced.state(),
            ceph.first().map(AsRef::as_ref),
        );
        // Names only: the charts mount these Secrets; the render waits until they are complete.
        inputs.context.certificates = rockoon_core::certificates::present(
            self.certificates.state().iter().map(AsRef::as_ref),
        );
        inputs.context.gateway = settings.gateway.clone();
        inputs.context.confirmed_removals =
            rockoon_core::names::confirmed_removals(osdpl.metadata.annotations.as_ref());
        inputs
    }

    /// Every release in Helm's storage, by name.
    pub fn installed(&self) -> BTreeMap<String, Installed> {
        let all = self.releases.state();
        installed(all.iter().map(|m| &m.metadata))
    }

    /// The OpenStackDeploymentStatus of `osdpl`, as cached: only one it owns (an osdplst of
    /// the same name owned by an earlier OSDPL is [`Self::stale_status_of`]).
    pub fn status_of(
        &self,
        osdpl: &OpenStackDeployment,
    ) -> Option<std::sync::Arc<OpenStackDeploymentStatus>> {
        self.named_status(osdpl, true)
    }

    /// An osdplst named like `osdpl` but owned by another (deleted) OSDPL of that name, which
    /// garbage collection has not removed yet: it must not be shown as this one's.
    pub fn stale_status_of(
        &self,
        osdpl: &OpenStackDeployment,
    ) -> Option<std::sync::Arc<OpenStackDeploymentStatus>> {
        self.named_status(osdpl, false)
    }

    fn named_status(
        &self,
        osdpl: &OpenStackDeployment,
        owned: bool,
    ) -> Option<std::sync::Arc<OpenStackDeploymentStatus>> {
        let (name, uid) = (osdpl.name_any(), osdpl.uid());
        self.statuses
            .find(|s| s.name_any() == name && (owner_uid(s) == uid) == owned)
    }
}

/// The uid of the OSDPL an osdplst belongs to (its controller owner reference).
fn owner_uid(status: &OpenStackDeploymentStatus) -> Option<String> {
    status
        .owner_references()
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| o.uid.clone())
}
