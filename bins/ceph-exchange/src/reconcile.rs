//! Reconcile of one OpenStackDeployment: bring `ceph-etc` and the keyring Secrets of the
//! OpenStack namespace in line with `openstack-ceph-keys` ([`crate::plan`]), then record the
//! hash of what was published in `status.watched.ceph.secret.hash` with the `CephKeys`
//! condition. Every reconcile plans for the whole namespace (the union of its OSDPLs' needs);
//! writes are server-side applies with the field manager `rockoon-ceph-exchange`, sent only
//! when the cache differs, so a restart or a resync writes nothing. No key value is logged,
//! put in an event, a condition or an error.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::Action;
use kube::{Api, Client, Resource, ResourceExt};
use rockoon_core::ceph;
use rockoon_core::crd::OpenStackDeployment;
use rockoon_core::render::{RenderContext, Templates, catalog, spec::merged_spec};
use rockoon_core::secret_text::decoded;
use rockoon_runtime::controller::Reconciler;
use rockoon_runtime::error::RuntimeError;
use rockoon_runtime::events::Events;
use rockoon_runtime::guard::Guarded;
use rockoon_runtime::hash_key::HashKey;

use rockoon_runtime::ssa;
use serde_json::{Value, json};

pub use crate::watch::Mirrors;

use crate::metrics::Metrics;
use crate::plan::{self, CONDITION, FIELD_MANAGER, Needs, Observed, Verdict};
use crate::rgw;

#[path = "writes.rs"]
mod writes;

/// How long a reconcile waits to see its own writes in the caches.
const SEE_WRITES: Duration = Duration::from_secs(5);

/// What `openstack-rgw-creds` should be.
#[derive(Debug, PartialEq)]
enum RgwWanted {
    /// Some OSDPL cannot be read and none enables object-storage: leave it as it is.
    Unknown,
    /// No OSDPL enables object-storage: delete it (when it is this container's).
    Absent,
    /// Enabled; the data, or `None` while the service user has no usable credential yet.
    Wanted(Option<BTreeMap<String, String>>),
}

/// Where the reconcile reads and writes.
pub struct Settings {
    /// The OpenStack namespace.
    pub namespace: String,
    /// The Ceph shared namespace.
    pub ceph_namespace: String,
    /// The controllers' namespace (home of the hash key).
    pub controller_namespace: String,
}

/// The ceph-exchange reconciler.
pub struct CephExchange {
    client: Client,
    settings: Settings,
    mirrors: Mirrors,
    templates: Templates,
    metrics: Metrics,
    events: Events,
    hash_key: HashKey,
}

impl CephExchange {
    /// A reconciler over `mirrors`, publishing events as `rockoon-ceph-exchange`.
    pub fn new(
        client: Client,
        settings: Settings,
        mirrors: Mirrors,
        templates: Templates,
        metrics: Metrics,
    ) -> Self {
        Self {
            events: Events::new(client.clone(), FIELD_MANAGER, "CephExchange"),
            hash_key: HashKey::new(client.clone(), &settings.controller_namespace),
            client,
            settings,
            mirrors,
            templates,
            metrics,
        }
    }
}

impl Reconciler<Guarded<OpenStackDeployment>> for CephExchange {
    type Error = RuntimeError;

    async fn reconcile(
        &self,
        object: Arc<Guarded<OpenStackDeployment>>,
    ) -> Result<Action, RuntimeError> {
        // osdpl reports an object it cannot read; its needs count as unknown (see `needs`).
        let Ok(osdpl) = &object.0 else {
            return Ok(Action::await_change());
        };
        self.mirrors.keys.synced().await;
        self.mirrors.secrets.synced().await;
        self.mirrors.config_maps.synced().await;
        self.mirrors.osdpls.synced().await;
        self.mirrors.credentials.synced().await;
        self.mirrors.referenced.synced().await;
        self.mirrors.rgw.synced().await;

        let (needs, rgw) = self.inspect();
        let keys = self.mirrors.keys.state();
        let keys = keys
            .iter()
            .find(|s| s.metadata.name.as_deref() == Some(ceph::KEYS_SECRET));
        let secrets = self.mirrors.secrets.state();
        let config_maps = self.mirrors.config_maps.state();
        let secret_refs: Vec<&Secret> = secrets.iter().map(AsRef::as_ref).collect();
        let config_refs: Vec<&ConfigMap> = config_maps.iter().map(AsRef::as_ref).collect();
        let hash_key = self.hash_key.get().await?;
        let plan = plan::plan(&Observed {
            keys: keys.map(AsRef::as_ref),
            hash_key,
            ceph_namespace: &self.settings.ceph_namespace,
            needs: &needs,
            owned_secrets: &secret_refs,
            owned_config_maps: &config_refs,
        });
        if let Some(count) = plan.published_users {
            self.metrics.set_published_users(count);
        }
        self.write(&plan).await?;
        self.report(osdpl, &plan).await?;
        self.rgw(rgw).await?;
        Ok(Action::await_change())
    }
}

impl CephExchange {
    /// The union of every OSDPL's needs in the namespace, and what `openstack-rgw-creds`
    /// should be (from the first OSDPL, by name, that enables object-storage).
    fn inspect(&self) -> (Needs, RgwWanted) {
        let mut needs = Needs::default();
        let secrets = self
            .mirrors
            .referenced
            .state()
            .iter()
            .map(|s| (s.name_any(), decoded(s)))
            .collect();
        let context = RenderContext {
            namespace: self.settings.namespace.clone(),
            secrets,
            ..RenderContext::default()
        };
        let mut osdpls = self.mirrors.osdpls.state();
        osdpls.sort_by_key(|o| o.0.as_ref().map(ResourceExt::name_any).unwrap_or_default());
        let mut rgw = None;
        for object in osdpls {
            let osdpl = match &object.0 {
                Ok(osdpl) => osdpl,
                Err(error) => {
                    needs.add("(unreadable)", Err(error.to_string()));
                    continue;
                }
            };
            let spec = serde_json::to_value(&osdpl.spec).unwrap_or(Value::Null);
            let inspected =
                merged_spec(&spec, &context, &self.templates).and_then(|(merged, _)| {
                    let enabled = catalog::enabled_services(&merged)?;
                    let names: Vec<&str> = enabled.iter().map(|d| d.name).collect();
                    Ok((
                        ceph::users_needed(&merged, &names),
                        names.contains(&rgw::SERVICE),
                        merged,
                    ))
                });
            match inspected {
                Ok((users, object_storage, merged)) => {
                    needs.add(&osdpl.name_any(), Ok(users));
                    if object_storage && rgw.is_none() {
                        rgw = Some(merged);
                    }
                }
                Err(error) => needs.add(&osdpl.name_any(), Err(error.to_string())),
            }
        }
        let wanted = match rgw {
            Some(merged) => {
                let credentials = self.mirrors.credentials.state();
                let (tree, _) =
                    rockoon_core::credentials::tree(credentials.iter().map(AsRef::as_ref));
                RgwWanted::Wanted(rgw::data(
                    &merged,
                    &self.settings.namespace,
                    &tree[rgw::SERVICE],
                ))
            }
            None if needs.unknown.is_empty() => RgwWanted::Absent,
            None => RgwWanted::Unknown,
        };
        (needs, wanted)
    }

    /// Applies the hash and the condition to the OSDPL status when they changed; a Warning
    /// event when the condition turns False or its message changes.
    async fn report(
        &self,
        osdpl: &OpenStackDeployment,
        plan: &plan::Plan,
    ) -> Result<(), RuntimeError> {
        let Some(verdict) = &plan.verdict else {
            return Ok(());
        };
        let status = osdpl.status.as_ref();
        let current_hash = status
            .and_then(|s| s.watched.as_ref())
            .and_then(|w| w.pointer("/ceph/secret/hash"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        // Without a usable publication the recorded hash stays (an apply that omitted it would
        // remove it).
        let hash = plan.hash.clone().or(current_hash.clone());
        let existing = status.and_then(|s| s.conditions.as_deref());
        let was = existing
            .into_iter()
            .flatten()
            .find(|c| c.type_ == CONDITION);
        let now = Time(Timestamp::now());
        let condition = condition(verdict, was, osdpl.metadata.generation, &now);
        let same_verdict = was.is_some_and(|c| {
            c.status == condition.status
                && c.reason == condition.reason
                && c.message == condition.message
        });
        let same_condition = same_verdict
            && was.is_some_and(|c| c.observed_generation == condition.observed_generation);
        // One event per new problem (not per spec generation, resync or restart).
        if !verdict.ok && !same_verdict {
            if plan.malformed {
                self.metrics.parse_error();
            }
            self.events
                .warning(&osdpl.object_ref(&()), verdict.reason, &verdict.message)
                .await;
            tracing::warn!(reason = verdict.reason, message = %verdict.message, "Ceph keys not applied");
        }
        if same_condition && hash == current_hash {
            return Ok(());
        }
        let mut body = json!({
            "apiVersion": "lcm.mirantis.com/v1alpha1",
            "kind": "OpenStackDeployment",
            "status": {"conditions": [condition]},
        });
        if let Some(hash) = &hash {
            body["status"]["watched"] = json!({"ceph": {"secret": {"hash": hash}}});
        }
        let api: Api<OpenStackDeployment> =
            Api::namespaced(self.client.clone(), &self.settings.namespace);
        ssa::apply_status(&api, FIELD_MANAGER, &osdpl.name_any(), &body["status"]).await?;
        if hash != current_hash {
            tracing::info!(osdpl = %osdpl.name_any(), "status.watched.ceph.secret.hash updated");
        }
        Ok(())
    }
}

/// The condition for `verdict`, keeping the transition time of `was` when the status stays.
fn condition(
    verdict: &Verdict,
    was: Option<&Condition>,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    let status = if verdict.ok { "True" } else { "False" };
    let since = was
        .filter(|c| c.status == status)
        .map_or_else(|| now.clone(), |c| c.last_transition_time.clone());
    Condition {
        type_: CONDITION.to_owned(),
        status: status.to_owned(),
        reason: verdict.reason.to_owned(),
        message: verdict.message.clone(),
        observed_generation: generation,
        last_transition_time: since,
    }
}

/// `object` as an apply body: typed objects serialise without apiVersion and kind.
fn with_kind<T: serde::Serialize>(object: &T, kind: &str) -> Value {
    let mut body = serde_json::to_value(object).unwrap_or(Value::Null);
    body["apiVersion"] = json!("v1");
    body["kind"] = json!(kind);
    body
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_condition_keeps_its_transition_time_while_its_status_stays() {
        let verdict = Verdict {
            ok: false,
            reason: "Malformed",
            message: "m".into(),
        };
        let then = Time(Timestamp::from_second(10).unwrap());
        let now = Time(Timestamp::from_second(20).unwrap());
        let first = condition(&verdict, None, Some(1), &then);
        assert_eq!(first.last_transition_time, then);
        assert_eq!(
            condition(&verdict, Some(&first), Some(1), &now).last_transition_time,
            then
        );
        let fixed = Verdict {
            ok: true,
            reason: "Published",
            message: "ok".into(),
        };
        assert_eq!(
            condition(&fixed, Some(&first), Some(1), &now).last_transition_time,
            now
        );
    }

    #[test]
    fn apply_bodies_name_their_kind() {
        let body = with_kind(&plan::keyring("cinder", "AQ=="), "Secret");
        assert_eq!(body["kind"], "Secret");
        assert_eq!(body["apiVersion"], "v1");
        assert_eq!(body["data"]["key"], "QVE9PQ==");
    }
}
