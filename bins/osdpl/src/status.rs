//! What the osdpl controller shows users, as the CRDs' own types: the OSDPL's `status`
//! (fingerprint, observed generation, version, state, conditions) and the
//! OpenStackDeploymentStatus's `status.osdpl` and `status.services`. Building them is pure;
//! [`Writer`] applies them with the runtime's server-side apply as `rockoon-osdpl`, and only
//! when they differ from what the object shows or was last written, so a no-op reconcile
//! writes nothing. The calls go through [`StatusCalls`], so the writer runs in unit tests
//! against a recording fake.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;
use kube::{Api, Client, Resource, ResourceExt};
use rockoon_core::crd::osdpl_status::{DeploymentSummary, ServiceState as ServiceEntry};
use rockoon_core::crd::{
    OpenStackDeployment, OpenStackDeploymentStatus, OsdplStatus, OsdplstStatus,
};
use rockoon_runtime::ssa;
use serde_json::{Value, json};

use crate::state::Overall;

/// Field manager of everything this binary writes.
pub use rockoon_core::names::OSDPL_MANAGER as FIELD_MANAGER;

/// The OSDPL `status` fields this binary owns. `notes` (spec settings no chart takes, held
/// main releases) are known only when the spec rendered; otherwise the last reported
/// `UnsupportedSettings` and `MainReleasesHeld` conditions stay (and `UnsupportedServices`
/// likewise, when no service states are known).
pub fn osdpl_status(
    osdpl: &OpenStackDeployment,
    overall: &Overall,
    fingerprint: Option<&str>,
    notes: Option<Notes<'_>>,
) -> OsdplStatus {
    let generation = osdpl.metadata.generation;
    let current = osdpl.status.as_ref();
    let previous = current
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    let now = Timestamp::now();
    let last = |kind: &str| {
        previous
            .iter()
            .find(|c| c.type_ == kind)
            .map(|c| (c.status == "True", c.reason.clone(), c.message.clone()))
    };
    let unsupported = match notes {
        Some(notes) => Some(unsupported_condition(notes.unsupported)),
        None => last("UnsupportedSettings"),
    };
    let held = match notes {
        Some(notes) => Some(held_condition(notes.held)),
        None => last("MainReleasesHeld"),
    };
    let services =
        crate::state::unsupported_services(overall).or_else(|| last("UnsupportedServices"));
    let conditions = overall
        .conditions()
        .into_iter()
        .map(|(kind, status, reason, message)| (kind, status, reason.to_owned(), message))
        .chain(
            unsupported
                .map(|(status, reason, message)| ("UnsupportedSettings", status, reason, message)),
        )
        .chain(
            services
                .map(|(status, reason, message)| ("UnsupportedServices", status, reason, message)),
        )
        .chain(held.map(|(status, reason, message)| ("MainReleasesHeld", status, reason, message)))
        .chain(conflict_condition(overall))
        .map(|(kind, status, reason, message)| {
            let status = if status { "True" } else { "False" };
            // The transition time moves only when the status does.
            let since = previous
                .iter()
                .find(|c| c.type_ == kind && c.status == status)
                .map_or(Time(now), |c| c.last_transition_time.clone());
            Condition {
                type_: kind.into(),
                status: status.into(),
                reason,
                message,
                last_transition_time: since,
                observed_generation: generation,
            }
        })
        .collect();
    let fingerprint = fingerprint.or(current.and_then(|s| s.fingerprint.as_deref()));
    OsdplStatus {
        version: Some(rockoon_core::VERSION.into()),
        observed_generation: generation,
        state: Some(overall.word().into()),
        conditions: Some(conditions),
        fingerprint: fingerprint.map(Into::into),
        ..OsdplStatus::default()
    }
}

/// Adds the condition `kind` as `(status, reason, message)` to `status`, its transition time
/// kept from the object while its status stays the same.
pub fn add_condition(
    osdpl: &OpenStackDeployment,
    status: &mut OsdplStatus,
    kind: &str,
    (value, reason, message): (bool, &str, String),
) {
    let value = if value { "True" } else { "False" };
    let previous = osdpl.status.as_ref().and_then(|s| s.conditions.as_deref());
    let since = previous
        .unwrap_or_default()
        .iter()
        .find(|c| c.type_ == kind && c.status == value)
        .map_or_else(
            || Time(Timestamp::now()),
            |c| c.last_transition_time.clone(),
        );
    status.conditions.get_or_insert_default().push(Condition {
        type_: kind.into(),
        status: value.into(),
        reason: reason.into(),
        message,
        last_transition_time: since,
        observed_generation: osdpl.metadata.generation,
    });
}

/// `Conflict`, only while another OSDPL owns the namespace: the condition then disappears
/// with the conflict (the owner never has one).
fn conflict_condition(overall: &Overall) -> Option<(&'static str, bool, String, String)> {
    match overall {
        Overall::Conflict(message) => Some((
            "Conflict",
            true,
            "NamespaceOwnedByAnother".into(),
            message.clone(),
        )),
        _ => None,
    }
}

/// `UnsupportedSettings` as `(status, reason, message)`: True, listing every setting, when the spec
/// has settings no chart takes.
/// What a render tells the OSDPL's conditions besides the service states.
#[derive(Debug, Clone, Copy, Default)]
pub struct Notes<'a> {
    /// Spec settings no chart takes (`UnsupportedSettings`).
    pub unsupported: &'a [String],
    /// Main releases `migration.<chart>.deploy_main_service: false` holds, one line each
    /// (`MainReleasesHeld`).
    pub held: &'a [String],
}

/// `MainReleasesHeld`: True while a main release is held (neither installed, upgraded nor
/// uninstalled), naming each with the setting that holds it.
fn held_condition(held: &[String]) -> (bool, String, String) {
    if held.is_empty() {
        (false, "AllMainReleasesDeployed".into(), String::new())
    } else {
        (true, "DeployMainServiceOff".into(), held.join("; "))
    }
}

fn unsupported_condition(settings: &[String]) -> (bool, String, String) {
    if settings.is_empty() {
        (false, "AllSettingsRendered".into(), String::new())
    } else {
        (true, "SettingsNotRendered".into(), settings.join("; "))
    }
}

/// The OpenStackDeploymentStatus `status` fields this binary owns.
pub fn osdplst_status(
    osdpl: &OpenStackDeployment,
    overall: &Overall,
    fingerprint: Option<&str>,
) -> OsdplstStatus {
    let cause = match overall {
        Overall::Invalid { message, .. }
        | Overall::Deleting(Some(message))
        | Overall::Conflict(message)
        | Overall::Refused { message, .. } => Some(message.clone()),
        _ => None,
    };
    let summary = DeploymentSummary {
        state: Some(overall.word().into()),
        openstack_version: Some(osdpl.spec.openstack_version.as_str().into()),
        controller_version: Some(rockoon_core::VERSION.into()),
        lcm_progress: overall.progress(),
        fingerprint: fingerprint.map(Into::into),
        cause,
        ..DeploymentSummary::default()
    };
    let services = match overall {
        Overall::Services(services) => Some(
            services
                .iter()
                .map(|(name, state)| {
                    let entry = ServiceEntry {
                        state: Some(state.word().into()),
                        cause: state.cause().map(Into::into),
                        ..ServiceEntry::default()
                    };
                    (name.clone(), entry)
                })
                .collect(),
        ),
        _ => None,
    };
    OsdplstStatus {
        osdpl: Some(summary),
        services,
        ..OsdplstStatus::default()
    }
}

/// The API calls the status writer makes.
pub trait StatusCalls: Send + Sync {
    /// Applies `status` to the OSDPL `name`.
    fn osdpl(
        &self,
        namespace: &str,
        name: &str,
        status: &OsdplStatus,
    ) -> impl Future<Output = kube::Result<()>> + Send;
    /// Applies the (empty-spec) OpenStackDeploymentStatus `name` owned by `owner`.
    fn create_osdplst(
        &self,
        namespace: &str,
        name: &str,
        owner: &OwnerReference,
    ) -> impl Future<Output = kube::Result<()>> + Send;
    /// Applies `status` to the OpenStackDeploymentStatus `name`.
    fn osdplst(
        &self,
        namespace: &str,
        name: &str,
        status: &OsdplstStatus,
    ) -> impl Future<Output = kube::Result<()>> + Send;
    /// Deletes the OpenStackDeploymentStatus `name` if its uid is still `uid` (gone is fine).
    fn delete_osdplst(
        &self,
        namespace: &str,
        name: &str,
        uid: &str,
    ) -> impl Future<Output = kube::Result<()>> + Send;
}

impl StatusCalls for Client {
    async fn osdpl(&self, namespace: &str, name: &str, status: &OsdplStatus) -> kube::Result<()> {
        let api: Api<OpenStackDeployment> = Api::namespaced(self.clone(), namespace);
        ssa::apply_status(&api, FIELD_MANAGER, name, status).await?;
        Ok(())
    }

    async fn create_osdplst(
        &self,
        namespace: &str,
        name: &str,
        owner: &OwnerReference,
    ) -> kube::Result<()> {
        let api: Api<OpenStackDeploymentStatus> = Api::namespaced(self.clone(), namespace);
        let fields = json!({"metadata": {"ownerReferences": [owner]}, "spec": {}});
        ssa::apply(&api, FIELD_MANAGER, name, fields).await?;
        Ok(())
    }

    async fn osdplst(
        &self,
        namespace: &str,
        name: &str,
        status: &OsdplstStatus,
    ) -> kube::Result<()> {
        let api: Api<OpenStackDeploymentStatus> = Api::namespaced(self.clone(), namespace);
        ssa::apply_status(&api, FIELD_MANAGER, name, status).await?;
        Ok(())
    }

    async fn delete_osdplst(&self, namespace: &str, name: &str, uid: &str) -> kube::Result<()> {
        let api: Api<OpenStackDeploymentStatus> = Api::namespaced(self.clone(), namespace);
        let params = kube::api::DeleteParams {
            preconditions: Some(kube::api::Preconditions {
                uid: Some(uid.to_owned()),
                resource_version: None,
            }),
            ..kube::api::DeleteParams::default()
        };
        match api.delete(name, &params).await {
            Ok(_) => Ok(()),
            // Gone already, or replaced (the precondition failed): nothing stale to delete.
            Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => Ok(()),
            Err(error) => Err(error),
        }
    }
}

/// Applies status objects, skipping those already shown or written.
pub struct Writer<C: StatusCalls = Client> {
    calls: C,
    written: Mutex<HashMap<String, Value>>,
}

impl<C: StatusCalls> Writer<C> {
    /// A writer making its calls through `calls`.
    pub fn new(calls: C) -> Self {
        Self {
            calls,
            written: Mutex::default(),
        }
    }

    /// Applies `status` to the OSDPL, unless the object already carries it.
    pub async fn osdpl(
        &self,
        osdpl: &OpenStackDeployment,
        status: &OsdplStatus,
    ) -> Result<(), kube::Error> {
        let current = osdpl.status.as_ref().map(|s| json!(s)).unwrap_or_default();
        let wanted = json!(status);
        // Transition times are reused from the object when a condition's status is unchanged,
        // so an unchanged status is covered field for field.
        if covers(&current, &wanted) {
            return Ok(());
        }
        let key = format!("osdpl/{}", osdpl.uid().unwrap_or_default());
        if self.already(&key, &wanted) {
            return Ok(());
        }
        let namespace = osdpl.namespace().unwrap_or_default();
        self.calls
            .osdpl(&namespace, &osdpl.name_any(), status)
            .await?;
        self.remember(key, wanted);
        Ok(())
    }

    /// Creates the OpenStackDeploymentStatus (owned by the OSDPL) if needed and applies
    /// `status` to it, unless `current` (the cached object) or the last write already has it.
    pub async fn osdplst(
        &self,
        osdpl: &OpenStackDeployment,
        current: Option<&OpenStackDeploymentStatus>,
        status: &OsdplstStatus,
    ) -> Result<(), kube::Error> {
        let name = osdpl.name_any();
        let namespace = osdpl.namespace().unwrap_or_default();
        let uid = osdpl.uid().unwrap_or_default();
        let object_key = format!("osdplst-object/{uid}");
        let seen_key = format!("osdplst-seen/{uid}");
        if current.is_some() {
            self.remember(seen_key, json!(true));
        } else if self.already(&seen_key, &json!(true)) {
            // Shown before and gone now: deleted by hand. Created again with the whole status,
            // not only what changed since the last write.
            self.forget(&uid);
        }
        if current.is_none() && !self.already(&object_key, &json!(true)) {
            if let Some(owner) = osdpl.controller_owner_ref(&()) {
                self.calls.create_osdplst(&namespace, &name, &owner).await?;
            }
            self.remember(object_key, json!(true));
        }
        let actual = current
            .and_then(|c| c.status.as_ref())
            .map(|s| json!(s))
            .unwrap_or_default();
        let wanted = json!(status);
        if covers(&actual, &wanted) && same_service_keys(&actual, &wanted) {
            return Ok(());
        }
        let key = format!("osdplst/{}", osdpl.uid().unwrap_or_default());
        if self.already(&key, &wanted) {
            return Ok(());
        }
        self.calls.osdplst(&namespace, &name, status).await?;
        self.remember(key, wanted);
        Ok(())
    }

    /// Deletes the osdplst `status` and forgets what was written for the OSDPL `osdpl_uid`
    /// (the next write creates it afresh). For an osdplst that belongs to an earlier OSDPL of
    /// the same name, or to none, and for the osdplst of an OSDPL being deleted: a status
    /// outliving its OSDPL would show the next OSDPL of that name as what this one was.
    pub async fn delete(
        &self,
        osdpl_uid: &str,
        status: &OpenStackDeploymentStatus,
    ) -> Result<(), kube::Error> {
        let namespace = status.namespace().unwrap_or_default();
        let uid = status.uid().unwrap_or_default();
        self.calls
            .delete_osdplst(&namespace, &status.name_any(), &uid)
            .await?;
        self.forget(osdpl_uid);
        Ok(())
    }

    /// Forgets what was written for an OSDPL (it is gone).
    pub fn forget(&self, uid: &str) {
        self.written_lock().retain(|key, _| !key.ends_with(uid));
    }

    fn already(&self, key: &str, status: &Value) -> bool {
        self.written_lock().get(key) == Some(status)
    }

    fn remember(&self, key: String, status: Value) {
        self.written_lock().insert(key, status);
    }

    fn written_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Value>> {
        self.written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether every field of `wanted` is in `actual` with the same value (maps compared key by
/// key, so fields of other writers in `actual` do not count).
fn covers(actual: &Value, wanted: &Value) -> bool {
    match (actual, wanted) {
        (Value::Object(a), Value::Object(w)) => w
            .iter()
            .all(|(k, v)| a.get(k).is_some_and(|av| covers(av, v))),
        (Value::Array(a), Value::Array(w)) => {
            a.len() == w.len() && a.iter().zip(w).all(|(av, wv)| covers(av, wv))
        }
        _ => actual == wanted,
    }
}

/// A removed service must disappear from `status.services`, which [`covers`] cannot see.
fn same_service_keys(actual: &Value, wanted: &Value) -> bool {
    let keys = |v: &Value| {
        v.get("services")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    keys(actual) == keys(wanted)
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
