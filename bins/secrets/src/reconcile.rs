//! Reconcile of one OpenStackDeployment's credentials and secret data. Pipeline:
//!
//! 1. **needs** (pure): the merged spec's enabled services → the credentials they need.
//! 2. **plan** (pure, [`crate::rotation`]): per group, keep, rotate or refuse the requested id.
//! 3. **ensure** ([`crate::write`]): every owner's active generation holds what it needs;
//!    absent values are generated, present ones never touched.
//! 4. **rotate** ([`crate::write`]): owners below a requested rotation id get a new generation.
//! 5. **references** (pure, [`crate::value_from`]): hashes of the referenced Secrets.
//! 6. **report** ([`crate::status`]): conditions and hashes on the OSDPL, the clouds.yaml copy,
//!    rotation ids in the OpenStackDeploymentStatus, metrics.
//!
//! Reads come from the watch stores; only writes, and the re-reads that guard them, call the
//! API. Nothing here logs, events or returns a credential value.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{ListParams, Patch, PatchParams};
use kube::core::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Api, Client, Resource, ResourceExt};
use rockoon_core::controller::Reconciler;
use rockoon_core::crd::{OpenStackDeployment, OpenStackDeploymentStatus};
use rockoon_core::credentials::{self, Group, Needed};
use rockoon_core::render::{RenderContext, Templates, catalog, spec::merged_spec};
use serde_json::{Value, json};

use crate::clouds;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::rotation::{self, Plan};
use crate::status::{self, Verdict};
use crate::value_from::{self, Found};
use crate::watch::Stores;
use crate::write::{FIELD_MANAGER, Writer};

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
    templates: Templates,
    metrics: Metrics,
    recorder: Recorder,
}

impl Secrets {
    /// A reconciler over the watch `stores`, publishing events as `rockoon-secrets`.
    pub fn new(
        client: Client,
        settings: Settings,
        stores: Stores,
        templates: Templates,
        metrics: Metrics,
    ) -> Self {
        let reporter = Reporter {
            controller: FIELD_MANAGER.into(),
            instance: std::env::var("HOSTNAME").ok(),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            settings,
            stores,
            templates,
            metrics,
        }
    }
}

impl Reconciler<DeserializeGuard<OpenStackDeployment>> for Secrets {
    type Error = Error;

    async fn reconcile(
        &self,
        object: Arc<DeserializeGuard<OpenStackDeployment>>,
    ) -> Result<Action, Error> {
        // osdpl reports an object it cannot read; without a readable spec there is nothing to
        // generate for it.
        let Ok(osdpl) = &object.0 else {
            return Ok(Action::await_change());
        };
        // Deletion keeps every credential (no owner references); a re-created OSDPL finds them.
        if osdpl.metadata.deletion_timestamp.is_some() {
            return Ok(Action::await_change());
        }
        // The watches tick a reconcile when each finishes its first list.
        if !self.stores.listed() {
            return Ok(Action::await_change());
        }
        self.reconcile_osdpl(osdpl).await?;
        Ok(Action::await_change())
    }
}

impl Secrets {
    async fn reconcile_osdpl(&self, osdpl: &OpenStackDeployment) -> Result<(), Error> {
        let name = osdpl.name_any();
        let spec = serde_json::to_value(&osdpl.spec).unwrap_or(Value::Null);
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.settings.namespace);
        let writer = Writer {
            api: &api,
            metrics: &self.metrics,
        };

        let (needs, unreadable) = self.needs(&spec);
        let cached = self.stores.credentials.state();
        let plans: BTreeMap<Group, Plan> = Group::ALL
            .into_iter()
            .map(|group| {
                let handled = rotation::handled(group, cached.iter().map(AsRef::as_ref));
                (
                    group,
                    rotation::plan(
                        group,
                        requested(osdpl, group),
                        handled,
                        osdpl.status.as_ref().and_then(|s| s.state.as_deref()),
                    ),
                )
            })
            .collect();

        let mut written = false;
        for (owner, owner_needs) in &needs {
            let group = Group::of(owner);
            if !self.needs_write(owner, owner_needs, &plans[&group]) {
                continue;
            }
            let created = writer
                .ensure(owner, owner_needs, plans[&group].id())
                .await?;
            if created > 0 {
                written = true;
                self.metrics.created(group.as_str(), created);
                tracing::info!(osdpl = %name, owner, credentials = created, "credentials generated");
            }
        }
        let now = Timestamp::now().to_string();
        for group in Group::ALL {
            let Plan::RotateTo { id } = plans[&group] else {
                continue;
            };
            let mut rotated = 0;
            for (owner, owner_needs) in needs.iter().filter(|(o, _)| Group::of(o) == group) {
                if writer.rotate(owner, owner_needs, id, &now).await? {
                    rotated += 1;
                    self.metrics.rotated(group.as_str());
                    tracing::info!(osdpl = %name, owner, rotation_id = id, "credentials rotated");
                }
            }
            if rotated > 0 {
                written = true;
                let note = format!(
                    "{} credentials: new generation {id} active in {rotated} Secret(s); the previous one is kept",
                    group.as_str()
                );
                self.event(osdpl, EventType::Normal, "CredentialsRotated", note)
                    .await;
            }
        }

        // After writes the stores may lag; read what was written.
        let secrets: Vec<Secret> = if written {
            let labelled = ListParams::default().labels(credentials::OWNER_LABEL);
            api.list(&labelled).await?.items
        } else {
            cached.iter().map(|s| s.as_ref().clone()).collect()
        };
        let active = credentials::active(&secrets);
        let (tree, problems) = credentials::tree(&secrets);
        for group in Group::ALL {
            let in_group = |owner: &str| Group::of(owner) == group;
            let managed: usize = needs
                .iter()
                .filter(|(o, _)| in_group(o))
                .map(|(o, n)| n.iter().filter(|need| present(&tree, o, need.key)).count())
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

        let mut verdicts = vec![credentials_verdict(&needs, &tree, &problems, unreadable)];
        verdicts.push(rotation_verdict(&plans));
        let (hashes, reference_verdict) = self.references(&spec, &api).await?;
        verdicts.push(reference_verdict);
        self.report(osdpl, &hashes, &verdicts).await?;

        self.clouds(&spec, &tree).await?;
        let stamps: BTreeMap<&'static str, (i64, Option<String>)> = Group::ALL
            .into_iter()
            .map(|g| {
                (
                    g.as_str(),
                    (
                        plans[&g].id(),
                        rotation::timestamp(g, active.values().copied()),
                    ),
                )
            })
            .collect();
        self.rotation_status(&name, &stamps).await
    }

    /// The credentials of the enabled services, and why the spec could not tell which those
    /// are (then only the administrator accounts are generated).
    fn needs(&self, spec: &Value) -> (BTreeMap<&'static str, Vec<Needed>>, Option<String>) {
        let context = RenderContext {
            namespace: self.settings.namespace.clone(),
            dry_run_secrets: true,
            ..RenderContext::default()
        };
        let enabled = merged_spec(spec, &context, &self.templates)
            .and_then(|(merged, _)| catalog::enabled_services(&merged));
        match enabled {
            Ok(services) => (credentials::needed(services), None),
            Err(error) => (credentials::needed([]), Some(error.to_string())),
        }
    }

    /// Whether the store shows anything for `owner` to add or rotate (the writes re-read).
    fn needs_write(&self, owner: &str, needs: &[Needed], plan: &Plan) -> bool {
        let names = credentials::generation_names(owner);
        let cached: Vec<Arc<Secret>> = self
            .stores
            .credentials
            .state()
            .into_iter()
            .filter(|s| s.metadata.name.as_ref().is_some_and(|n| names.contains(n)))
            .collect();
        let active = credentials::active(cached.iter().map(AsRef::as_ref));
        let Some(secret) = active.get(owner) else {
            return true;
        };
        let behind = matches!(plan, Plan::RotateTo { id } if credentials::priority(secret) < *id);
        behind || !credentials::complete(needs, secret.data.as_ref())
    }

    /// Hashes of the referenced Secrets and the SecretReferences verdict.
    async fn references(
        &self,
        spec: &Value,
        api: &Api<Secret>,
    ) -> Result<(BTreeMap<String, String>, Verdict), Error> {
        let references = value_from::references(spec);
        let labelled = self.stores.referenced.state();
        let mut unlabelled = BTreeMap::new();
        for reference in &references {
            let known = labelled
                .iter()
                .any(|s| s.metadata.name.as_ref() == Some(&reference.name));
            if !known && !unlabelled.contains_key(&reference.name) {
                // Only existence is asked: an unlabelled Secret is never read into a store.
                let exists = api.get_metadata_opt(&reference.name).await?.is_some();
                unlabelled.insert(reference.name.clone(), exists);
            }
        }
        let (hashes, problems) = value_from::check(&references, |name| {
            match labelled
                .iter()
                .find(|s| s.metadata.name.as_deref() == Some(name))
            {
                Some(secret) => Found::Labelled(secret.as_ref()),
                None if unlabelled.get(name).copied().unwrap_or(false) => Found::Unlabelled,
                None => Found::Missing,
            }
        });
        self.metrics.set_references(
            references.len() - problems.len().min(references.len()),
            problems.len(),
        );
        let verdict = if problems.is_empty() {
            let message = format!(
                "{} reference(s) to {} Secret(s) resolved",
                references.len(),
                hashes.len()
            );
            Verdict::ok(status::SECRET_REFERENCES, "Resolved", message)
        } else {
            Verdict::failed(status::SECRET_REFERENCES, "UnresolvedReference", &problems)
        };
        Ok((hashes, verdict))
    }

    /// Applies the hashes and conditions to the OSDPL status when they differ from it.
    async fn report(
        &self,
        osdpl: &OpenStackDeployment,
        hashes: &BTreeMap<String, String>,
        verdicts: &[Verdict],
    ) -> Result<(), Error> {
        let current = osdpl.status.as_ref();
        let existing = current.and_then(|s| s.conditions.as_deref());
        let now = Time(Timestamp::now());
        let generation = osdpl.metadata.generation;
        let conditions: Vec<Condition> = verdicts
            .iter()
            .map(|v| status::condition(v, existing, generation, &now))
            .collect();
        for (verdict, condition) in verdicts.iter().zip(&conditions) {
            let was = existing
                .into_iter()
                .flatten()
                .find(|c| c.type_ == condition.type_);
            if !verdict.ok
                && was.is_none_or(|c| c.status != "False" || c.message != condition.message)
            {
                let reason = verdict.reason;
                self.event(osdpl, EventType::Warning, reason, verdict.message.clone())
                    .await;
            }
        }
        let body = status::osdpl(hashes, &conditions);
        let same_conditions =
            existing.is_some_and(|have| conditions.iter().all(|c| have.contains(c)));
        let have_hashes = current
            .and_then(|s| s.watched.as_ref())
            .and_then(|w| w.pointer("/value_from/secret"));
        if same_conditions && have_hashes == body.pointer("/status/watched/value_from/secret") {
            return Ok(());
        }
        let api: Api<OpenStackDeployment> =
            Api::namespaced(self.client.clone(), &self.settings.namespace);
        let params = PatchParams::apply(FIELD_MANAGER).force();
        api.patch_status(&osdpl.name_any(), &params, &Patch::Apply(&body))
            .await?;
        Ok(())
    }

    /// Keeps the clouds.yaml copy in line with the active admin identity credential.
    async fn clouds(&self, spec: &Value, tree: &Value) -> Result<(), Error> {
        let identity = &tree[credentials::ADMIN]["identity"];
        let (Some(username), Some(password)) =
            (identity["username"].as_str(), identity["password"].as_str())
        else {
            // Not generated yet, or unusable (reported by the Credentials condition).
            return Ok(());
        };
        let endpoints = clouds::Endpoints::of(spec, &self.settings.namespace);
        let document = clouds::document(&endpoints, username, password).map_err(Error::Encode)?;
        let wanted = ByteString(document.into_bytes());
        let current = self
            .stores
            .clouds
            .state()
            .into_iter()
            .find(|s| s.metadata.name.as_deref() == Some(self.settings.clouds_secret.as_str()));
        if current.is_some_and(|s| {
            s.data.as_ref().and_then(|d| d.get(clouds::KEY)) == Some(&wanted)
                && s.data.as_ref().is_some_and(|d| d.len() == 1)
        }) {
            return Ok(());
        }
        let api: Api<Secret> =
            Api::namespaced(self.client.clone(), &self.settings.controller_namespace);
        let secret = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": self.settings.clouds_secret,
                "labels": {
                    "application": "keystone",
                    "component": "os-clouds",
                    credentials::MANAGED_BY_LABEL: credentials::MANAGED_BY,
                },
            },
            "type": "Opaque",
            "data": {clouds::KEY: wanted},
        });
        let params = PatchParams::apply(FIELD_MANAGER).force();
        api.patch(
            &self.settings.clouds_secret,
            &params,
            &Patch::Apply(&secret),
        )
        .await?;
        tracing::info!(
            secret = %self.settings.clouds_secret,
            namespace = %self.settings.controller_namespace,
            "clouds.yaml updated"
        );
        Ok(())
    }

    /// Writes rotation ids and times into the OpenStackDeploymentStatus, once `osdpl` made it.
    async fn rotation_status(
        &self,
        name: &str,
        stamps: &BTreeMap<&'static str, (i64, Option<String>)>,
    ) -> Result<(), Error> {
        let api: Api<OpenStackDeploymentStatus> =
            Api::namespaced(self.client.clone(), &self.settings.namespace);
        let Some(current) = api.get_opt(name).await? else {
            return Ok(());
        };
        let body = status::osdplst(stamps);
        let have = current
            .status
            .as_ref()
            .and_then(|s| s.credentials.as_ref())
            .and_then(|c| c.get("rotation"));
        if have == body.pointer("/status/credentials/rotation") {
            return Ok(());
        }
        let params = PatchParams::apply(FIELD_MANAGER).force();
        api.patch_status(name, &params, &Patch::Apply(&body))
            .await?;
        Ok(())
    }

    async fn event(
        &self,
        osdpl: &OpenStackDeployment,
        type_: EventType,
        reason: &str,
        note: String,
    ) {
        let event = Event {
            type_,
            reason: reason.into(),
            note: Some(note),
            action: "Credentials".into(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, &osdpl.object_ref(&())).await {
            tracing::warn!(error = %error, "cannot publish event");
        }
    }
}

/// The user's rotation request for `group`.
fn requested(osdpl: &OpenStackDeployment, group: Group) -> Option<i64> {
    let credentials = osdpl.status.as_ref()?.credentials.as_ref()?;
    let rotation = match group {
        Group::Admin => credentials.admin.as_ref(),
        Group::Service => credentials.service.as_ref(),
    };
    rotation?.rotation_id
}

/// Whether `owner`'s `key` is in the credential tree.
fn present(tree: &Value, owner: &str, key: &str) -> bool {
    tree.get(owner).and_then(|o| o.get(key)).is_some()
}

fn credentials_verdict(
    needs: &BTreeMap<&'static str, Vec<Needed>>,
    tree: &Value,
    problems: &[credentials::Problem],
    unreadable: Option<String>,
) -> Verdict {
    let mut reported: Vec<String> = problems.iter().map(ToString::to_string).collect();
    if let Some(error) = unreadable {
        reported.insert(
            0,
            format!(
                "cannot tell the enabled services ({error}); only the admin credentials are kept"
            ),
        );
    }
    for (owner, owner_needs) in needs {
        for need in owner_needs {
            let names = credentials::generation_names(owner);
            let listed = problems
                .iter()
                .any(|p| names.contains(&p.secret) && p.key.starts_with(need.key));
            if !present(tree, owner, need.key) && !listed {
                reported.push(format!(
                    "{owner} credential {} is not generated yet",
                    need.key
                ));
            }
        }
    }
    if reported.is_empty() {
        let total: usize = needs.values().map(Vec::len).sum();
        let message = format!("{total} credential(s) of {} owner(s) present", needs.len());
        Verdict::ok(status::CREDENTIALS, "Present", message)
    } else {
        Verdict::failed(status::CREDENTIALS, "UnusableCredential", &reported)
    }
}

fn rotation_verdict(plans: &BTreeMap<Group, Plan>) -> Verdict {
    let refused: Vec<String> = plans
        .values()
        .filter_map(|p| match p {
            Plan::Refused { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    if refused.is_empty() {
        let ids: Vec<String> = plans
            .iter()
            .map(|(g, p)| format!("{} at rotation {}", g.as_str(), p.id()))
            .collect();
        Verdict::ok(status::ROTATION, "Handled", ids.join(", "))
    } else {
        Verdict::failed(status::ROTATION, "RotationRefused", &refused)
    }
}
