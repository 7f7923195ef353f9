//! Step 1 of the osdpl reconcile: everything it reads besides the OSDPL, from the caches
//! (never the API): the render inputs ([`crate::inputs`]), what Helm has installed, and the
//! OpenStackDeploymentStatus as last written.

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
use rockoon_runtime::runtime::Runtime;

use crate::helm::installed::{HELM_OWNER_SELECTOR, Installed, installed};
use crate::inputs::{self, Defaults, Inputs};

/// The caches a reconcile reads.
pub struct Mirrors {
    /// Generated credential Secrets.
    pub credentials: Mirror<Secret>,
    /// Secrets `value_from` may reference.
    pub referenced: Mirror<Secret>,
    /// Ceph's published keys.
    pub ceph: Mirror<Secret>,
    /// Helm's release storage, metadata only.
    pub releases: Mirror<PartialObjectMeta<Secret>>,
    /// The OpenStackDeploymentStatus objects.
    pub statuses: Mirror<OpenStackDeploymentStatus>,
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
        // Read only to remember what was reported before a restart: not a trigger, since our
        // own status writes would then schedule reconciles.
        let (statuses, _) = mirror::objects(
            "osdplst",
            Api::<OpenStackDeploymentStatus>::namespaced(client.clone(), namespace),
            watcher::Config::default(),
            readiness,
        );
        let mirrors = Self {
            credentials,
            referenced,
            ceph,
            releases,
            statuses,
        };
        (mirrors, vec![t1, t2, t3, t4])
    }

    /// Waits for every cache's first list: an empty cache would read as "nothing installed".
    pub async fn synced(&self) {
        self.credentials.synced().await;
        self.referenced.synced().await;
        self.ceph.synced().await;
        self.releases.synced().await;
        self.statuses.synced().await;
    }

    /// The render inputs of `osdpl` (credentials, referenced Secrets, Ceph's keys).
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

    /// The OpenStackDeploymentStatus of `osdpl`, as cached.
    pub fn status_of(
        &self,
        osdpl: &OpenStackDeployment,
    ) -> Option<std::sync::Arc<OpenStackDeploymentStatus>> {
        let name = osdpl.name_any();
        self.statuses.find(|s| s.name_any() == name)
    }
}
