//! Step 5 of the secrets reconcile, the only place it writes besides credential Secrets:
//! conditions and hashes on the OSDPL (with a Warning event per newly failed condition), an
//! event per rotation, the clouds.yaml copy and the rotation ids in the
//! OpenStackDeploymentStatus. Every write is the runtime's server-side apply as
//! `rockoon-secrets`, skipped when the object already shows it.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::core::error_boundary::InvalidObject;
use kube::{Api, Client, Resource, ResourceExt};
use rockoon_core::crd::{OpenStackDeployment, OpenStackDeploymentSpec, OpenStackDeploymentStatus};
use rockoon_core::credentials::{self, Group};
use rockoon_runtime::events::Events;
use rockoon_runtime::guard::Guarded;
use rockoon_runtime::ssa;
use serde_json::{Value, json};

use crate::clouds;
use crate::error::Error;
use crate::generate::Generated;
use crate::reconcile::Settings;
use crate::rotation::{self, Plan};
use crate::status::{self, Verdict};
use crate::verdicts;
use crate::watch::Stores;
use crate::write::FIELD_MANAGER;

/// The writes of one reconcile.
pub struct Report<'a> {
    /// The API.
    pub client: &'a Client,
    /// Namespaces and the clouds Secret name.
    pub settings: &'a Settings,
    /// The caches (the clouds.yaml copy as it is).
    pub stores: &'a Stores,
    /// The event writer.
    pub events: &'a Events,
}

impl Report<'_> {
    /// An event per rotated group.
    pub async fn rotations(&self, osdpl: &OpenStackDeployment, generated: &Generated) {
        for (group, id, rotated) in &generated.rotated {
            let note = format!(
                "{} credentials: new generation {id} active in {rotated} Secret(s); the previous one is kept",
                group.as_str()
            );
            self.events
                .normal(&osdpl.object_ref(&()), "CredentialsRotated", &note)
                .await;
        }
    }

    /// Applies the hashes and conditions to the OSDPL status when they differ from it.
    pub async fn osdpl(
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
                self.events
                    .warning(&osdpl.object_ref(&()), verdict.reason, &verdict.message)
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
        ssa::apply_status(&api, FIELD_MANAGER, &osdpl.name_any(), &body["status"]).await?;
        Ok(())
    }

    /// A Warning event naming the credential Secrets restored from their copies (names only).
    pub async fn restored(&self, osdpl: &OpenStackDeployment, restored: &[String]) {
        if restored.is_empty() {
            return;
        }
        let note = verdicts::restored_message(restored);
        self.events
            .warning(&osdpl.object_ref(&()), "CredentialsRestored", &note)
            .await;
    }

    /// An OSDPL the types cannot read (e.g. values nested too deep): the `Credentials`
    /// condition False with reason `InvalidSpec` naming why, and a Warning event. Nothing is
    /// generated for it. Written through the guarded kind: the API's answer holds the object,
    /// which the typed decoder could not take either.
    pub async fn unreadable(
        &self,
        object: &Guarded<OpenStackDeployment>,
        invalid: &InvalidObject,
    ) -> Result<(), Error> {
        let problem = format!(
            "the spec cannot be read, so no credentials are generated for it: {}",
            invalid.error
        );
        let verdict = Verdict::failed(status::CREDENTIALS, status::INVALID_SPEC, &[problem]);
        let now = Time(Timestamp::now());
        let condition = status::condition(&verdict, None, invalid.metadata.generation, &now);
        self.events
            .warning(&object.object_ref(&()), verdict.reason, &verdict.message)
            .await;
        let api: Api<Guarded<OpenStackDeployment>> =
            Api::namespaced(self.client.clone(), &self.settings.namespace);
        let body = json!({"conditions": [condition]});
        ssa::apply_status(&api, FIELD_MANAGER, &object.name_any(), &body).await?;
        Ok(())
    }

    /// Keeps the clouds.yaml copy in line with the active admin identity credential.
    pub async fn clouds(&self, spec: &OpenStackDeploymentSpec, tree: &Value) -> Result<(), Error> {
        let identity = &tree[credentials::ADMIN]["identity"];
        let (Some(username), Some(password)) =
            (identity["username"].as_str(), identity["password"].as_str())
        else {
            // Not generated yet, or unusable (reported by the Credentials condition).
            return Ok(());
        };
        let spec = serde_json::to_value(spec).unwrap_or(Value::Null);
        let endpoints = clouds::Endpoints::of(&spec, &self.settings.namespace);
        let document = clouds::document(&endpoints, username, password).map_err(Error::Encode)?;
        let wanted = ByteString(document.into_bytes());
        let name = self.settings.clouds_secret.as_str();
        let current = self
            .stores
            .clouds
            .find(|s| s.metadata.name.as_deref() == Some(name));
        if current.is_some_and(|s| {
            s.data.as_ref().and_then(|d| d.get(clouds::KEY)) == Some(&wanted)
                && s.data.as_ref().is_some_and(|d| d.len() == 1)
        }) {
            return Ok(());
        }
        let api: Api<Secret> =
            Api::namespaced(self.client.clone(), &self.settings.controller_namespace);
        let fields = json!({
            "metadata": {
                "labels": {
                    "application": "keystone",
                    "component": "os-clouds",
                    credentials::MANAGED_BY_LABEL: credentials::MANAGED_BY,
                },
            },
            "type": "Opaque",
            "data": {clouds::KEY: wanted},
        });
        ssa::apply(&api, FIELD_MANAGER, name, fields).await?;
        tracing::info!(
            secret = %name,
            namespace = %self.settings.controller_namespace,
            "clouds.yaml updated"
        );
        Ok(())
    }

    /// Writes rotation ids and times into the OpenStackDeploymentStatus, once `osdpl` made it.
    pub async fn rotation_status(
        &self,
        osdpl: &OpenStackDeployment,
        plans: &BTreeMap<Group, Plan>,
        active: &BTreeMap<&str, &Secret>,
    ) -> Result<(), Error> {
        let stamps: BTreeMap<&'static str, (i64, Option<String>)> = Group::ALL
            .into_iter()
            .map(|g| {
                let stamp = rotation::timestamp(g, active.values().copied());
                (g.as_str(), (plans[&g].id(), stamp))
            })
            .collect();
        let name = osdpl.name_any();
        let api: Api<OpenStackDeploymentStatus> =
            Api::namespaced(self.client.clone(), &self.settings.namespace);
        let Some(current) = api.get_opt(&name).await? else {
            return Ok(());
        };
        let body = status::osdplst(&stamps);
        let have = current
            .status
            .as_ref()
            .and_then(|s| s.credentials.as_ref())
            .and_then(|c| c.get("rotation"));
        if have == body.pointer("/status/credentials/rotation") {
            return Ok(());
        }
        ssa::apply_status(&api, FIELD_MANAGER, &name, &body["status"]).await?;
        Ok(())
    }
}
