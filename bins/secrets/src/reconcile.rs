//! Reconcile of one OpenStackDeployment's credentials and secret data. Pipeline:
//!
//! 0. **ownership** ([`rockoon_core::ownership`]): an OSDPL that does not own its namespace
//!    gets nothing; osdpl reports it.
//! 1. **needs** (pure, `rockoon_core::enabled`): the spec's enabled services (preset list +
//!    `features.services`, no templates) → the credentials they need.
//! 2. **plan** (pure, [`crate::rotation`]): per group, keep, rotate or refuse the requested id.
//! 3. **restore** ([`crate::backup`]): a credential Secret that was deleted is created
//!    again from its protected copy, byte for byte (event and condition say so);
//!    **generate** ([`crate::generate`]): every owner's active generation holds what it needs
//!    (absent values generated, present ones never touched); owners below a requested rotation
//!    id get a new generation.
//!    Then every protected copy is brought in line with its Secret, and the certificate sets
//!    the spec asks for are completed ([`crate::certificates`], create-only).
//! 4. **verdicts** (pure, [`crate::verdicts`]): Credentials, Certificates, CredentialsRotation,
//!    CredentialsRestored (kept once set) and, with the
//!    hashes of the referenced Secrets ([`crate::value_from`]), SecretReferences.
//! 5. **report** ([`crate::report`]): conditions and hashes on the OSDPL, events, the
//!    clouds.yaml copy, rotation ids in the OpenStackDeploymentStatus, metrics.
//!
//! Reads come from the watch caches; only writes, and the re-reads that guard them, call the
//! API. Nothing here logs, events or returns a credential value.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::Secret;
use kube::api::ListParams;
use kube::runtime::controller::Action;
use kube::{Api, Client, ResourceExt};
use rockoon_core::crd::OpenStackDeployment;
use rockoon_core::credentials::{self, Group, Needed};
use rockoon_core::ownership::Standing;
use rockoon_runtime::controller::Reconciler;
use rockoon_runtime::events::Events;
use rockoon_runtime::guard::Guarded;
use rockoon_runtime::hash_key::HashKey;

use crate::backup;
use crate::certificates;
use crate::error::Error;
use crate::generate;
use crate::metrics::Metrics;
use crate::report::Report;
use crate::rotation::Plan;
use crate::verdicts;
use crate::watch::Stores;
use crate::write::FIELD_MANAGER;

/// Where the reconcile reads and writes.
pub struct Settings {
    /// The OpenStack namespace.
    pub namespace: String,
    /// Namespace of the clouds.yaml copy.
    pub controller_namespace: String,
    /// Name of the clouds.yaml Secret.
    pub clouds_secret: String,
}

/// The secrets reconciler.
pub struct Secrets {
    client: Client,
    settings: Settings,
    stores: Stores,
    metrics: Metrics,
    events: Events,
    hash_key: HashKey,
    /// Unreadable OSDPLs already reported, by uid and generation.
    unreadable: Mutex<HashSet<(Option<String>, Option<i64>)>>,
}

/// What one OSDPL needs: per owner the credentials, and why the spec could not tell which
/// services are enabled (then only the administrator accounts are generated).
pub type Needs = BTreeMap<&'static str, Vec<Needed>>;

impl Secrets {
    /// A reconciler over the watch `stores`, publishing events as `rockoon-secrets`.
    pub fn new(client: Client, settings: Settings, stores: Stores, metrics: Metrics) -> Self {
        Self {
            events: Events::new(client.clone(), FIELD_MANAGER, "Credentials"),
            hash_key: HashKey::new(client.clone(), &settings.controller_namespace),
            client,
            settings,
            stores,
            metrics,
            unreadable: Mutex::default(),
        }
    }

    fn report(&self) -> Report<'_> {
        Report {
            client: &self.client,
            settings: &self.settings,
            stores: &self.stores,
            events: &self.events,
        }
    }
}

/// The reported set survives a panicking holder: it only ever holds names.
fn lock<T>(set: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    set.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Reconciler<Guarded<OpenStackDeployment>> for Secrets {
    type Error = Error;

    async fn reconcile(&self, object: Arc<Guarded<OpenStackDeployment>>) -> Result<Action, Error> {
        // Without a readable spec there is nothing to generate; say so once per generation
        // (our own status write comes back as a change).
        let osdpl = match &object.0 {
            Ok(osdpl) => osdpl,
            Err(invalid) => {
                let seen = (invalid.metadata.uid.clone(), invalid.metadata.generation);
                if lock(&self.unreadable).insert(seen) {
                    self.report().unreadable(&object, invalid).await?;
                }
                return Ok(Action::await_change());
            }
        };
        // Deletion keeps every credential (no owner references); a re-created OSDPL finds them.
        if osdpl.metadata.deletion_timestamp.is_some() {
            return Ok(Action::await_change());
        }
        self.stores.synced().await;
        // One OpenStack per namespace: an OSDPL that does not own it (osdpl reports it
        // CONFLICT) gets nothing generated, written or reported here.
        if let Standing::Conflict { owner } = self.stores.osdpls.standing(&osdpl.metadata).await {
            tracing::info!(osdpl = %osdpl.name_any(), %owner, "namespace owned by another OSDPL; nothing generated");
            return Ok(Action::await_change());
        }
        self.reconcile_osdpl(osdpl).await?;
        Ok(Action::await_change())
    }
}

impl Secrets {
    async fn reconcile_osdpl(&self, osdpl: &OpenStackDeployment) -> Result<(), Error> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.settings.namespace);
        let (needs, unreadable) = needs(osdpl);
        let labelled = ListParams::default().labels(credentials::OWNER_LABEL);
        let copies = self.stores.backups.state();
        let cached = self.stores.credentials.state();
        let restored = backup::restore(&api, &self.metrics, &cached, &copies).await?;
        let report = self.report();
        report.restored(osdpl, &restored).await;
        // The cache does not show the restored Secrets yet; plans must see them.
        let cached: Vec<Arc<Secret>> = if restored.is_empty() {
            cached
        } else {
            api.list(&labelled)
                .await?
                .items
                .into_iter()
                .map(Arc::new)
                .collect()
        };
        let plans = verdicts::plans(osdpl, cached.iter().map(AsRef::as_ref));
        let generated = generate::run(&api, &self.metrics, osdpl, &needs, &plans, &cached).await?;

        // After writes the caches may lag; read what was written.
        let secrets: Vec<Secret> = if generated.written() {
            api.list(&labelled).await?.items
        } else {
            cached.iter().map(|s| s.as_ref().clone()).collect()
        };
        backup::sync(&api, &secrets, &self.stores.backups.state()).await?;
        let sets = certificates::needed(osdpl);
        let certificates =
            certificates::ensure(&api, &sets, &self.stores.certificates.state()).await?;
        let (tree, problems) = credentials::tree(&secrets);
        self.metrics_of(&needs, &tree, &problems, &secrets);
        let key = self.hash_key.get().await?;
        let labelled = self.stores.referenced.state();
        let references = verdicts::References::check(&osdpl.spec, &labelled, &api, key).await?;
        self.metrics
            .set_references(references.resolved(), references.problems);
        let existing = osdpl.status.as_ref().and_then(|s| s.conditions.as_deref());
        let mut verdicts = vec![
            verdicts::credentials(&needs, &tree, &problems, unreadable),
            verdicts::rotation(&plans),
            references.verdict,
            certificates.verdict(),
        ];
        verdicts.extend(verdicts::restored(existing, &restored));
        report.rotations(osdpl, &generated).await;
        report.osdpl(osdpl, &references.hashes, &verdicts).await?;
        report.clouds(&osdpl.spec, &tree).await?;
        report
            .rotation_status(osdpl, &plans, &credentials::active(&secrets))
            .await
    }

    /// Keeps the managed and unusable credential counts per group.
    fn metrics_of(
        &self,
        needs: &Needs,
        tree: &serde_json::Value,
        problems: &[credentials::Problem],
        secrets: &[Secret],
    ) {
        for group in Group::ALL {
            let in_group = |owner: &str| Group::of(owner) == group;
            let managed: usize = needs
                .iter()
                .filter(|(o, _)| in_group(o))
                .map(|(o, n)| {
                    n.iter()
                        .filter(|need| verdicts::present(tree, o, need.key))
                        .count()
                })
                .sum();
            self.metrics.set_managed(group.as_str(), managed);
            let unusable = problems
                .iter()
                .filter(|p| {
                    secrets.iter().any(|s| {
                        s.metadata.name.as_deref() == Some(p.secret.as_str())
                            && credentials::owner(s).is_some_and(in_group)
                    })
                })
                .count();
            self.metrics.set_unusable(group.as_str(), unusable);
        }
    }
}

/// The credentials of the enabled services, and why the spec could not tell which those are.
fn needs(osdpl: &OpenStackDeployment) -> (Needs, Option<String>) {
    match rockoon_core::enabled::enabled_services(&osdpl.spec) {
        Ok(services) => (credentials::needed(services), None),
        Err(error) => (credentials::needed([]), Some(error.to_string())),
    }
}

/// Whether the cache shows anything for `owner` to add or rotate (the writes re-read).
pub fn needs_write(cached: &[Arc<Secret>], owner: &str, needs: &[Needed], plan: &Plan) -> bool {
    let names = credentials::generation_names(owner);
    let own = cached
        .iter()
        .filter(|s| s.metadata.name.as_ref().is_some_and(|n| names.contains(n)));
    let active = credentials::active(own.map(AsRef::as_ref));
    let Some(secret) = active.get(owner) else {
        return true;
    };
    let behind = matches!(plan, Plan::RotateTo { id } if credentials::priority(secret) < *id);
    behind || !credentials::complete(needs, secret.data.as_ref())
}
