//! What users see: per-service states and the overall state in the OpenStackDeploymentStatus
//! (`kubectl get osdplst`), and the OSDPL's fingerprint, observed generation and standard
//! conditions (Ready, Progressing, Degraded). Building them is pure; [`Writer`] applies them
//! with server-side apply under the `rockoon-osdpl` field manager, and only when they differ
//! from what was last written or is already there, so a no-op reconcile writes nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, Resource, ResourceExt};
use rockoon_core::crd::{OpenStackDeployment, OpenStackDeploymentStatus};
use serde_json::{Value, json};

/// Field manager of everything this binary writes.
pub const FIELD_MANAGER: &str = "rockoon-osdpl";

/// State of one service, as shown in `status.services.<service>.state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceState {
    /// Inputs missing or an earlier stage not installed yet.
    Waiting(String),
    /// A helm operation is running for it.
    Applying,
    /// Every release is installed as rendered.
    Applied,
    /// A helm operation failed; the cause is helm's message.
    Failed(String),
    /// No longer enabled; its releases are being uninstalled.
    Deleting,
}

impl ServiceState {
    /// The state word (Rockoon's).
    pub fn word(&self) -> &'static str {
        match self {
            ServiceState::Waiting(_) => "WAITING",
            ServiceState::Applying => "APPLYING",
            ServiceState::Applied => "APPLIED",
            ServiceState::Failed(_) => "FAILED",
            ServiceState::Deleting => "DELETING",
        }
    }

    fn cause(&self) -> Option<&str> {
        match self {
            ServiceState::Waiting(c) | ServiceState::Failed(c) => Some(c),
            _ => None,
        }
    }
}

/// The overall picture of one reconcile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overall {
    /// `spec.draft` is true; nothing is applied.
    Draft,
    /// The spec cannot be rendered (the message names the path).
    Invalid(String),
    /// Per-service states.
    Services(BTreeMap<String, ServiceState>),
    /// The OSDPL is being deleted.
    Deleting(Option<String>),
}

impl Overall {
    /// The overall state word.
    pub fn word(&self) -> &'static str {
        match self {
            Overall::Draft => "DRAFT",
            Overall::Invalid(_) => "FAILED",
            Overall::Deleting(_) => "DELETING",
            Overall::Services(services) => {
                let states: Vec<&ServiceState> = services.values().collect();
                if states.iter().any(|s| matches!(s, ServiceState::Failed(_))) {
                    "FAILED"
                } else if states
                    .iter()
                    .any(|s| matches!(s, ServiceState::Applying | ServiceState::Deleting))
                {
                    "APPLYING"
                } else if states.iter().any(|s| matches!(s, ServiceState::Waiting(_))) {
                    "WAITING"
                } else {
                    "APPLIED"
                }
            }
        }
    }

    /// `applied/total` services.
    pub fn progress(&self) -> Option<String> {
        match self {
            Overall::Services(services) => {
                let applied = services
                    .values()
                    .filter(|s| **s == ServiceState::Applied)
                    .count();
                let enabled = services
                    .values()
                    .filter(|s| **s != ServiceState::Deleting)
                    .count();
                Some(format!("{applied}/{enabled}"))
            }
            _ => None,
        }
    }

    /// Ready / Progressing / Degraded as `(type, status, reason, message)`.
    fn conditions(&self) -> [(&'static str, bool, &'static str, String); 3] {
        let listed = |services: &BTreeMap<String, ServiceState>, word: &str| {
            let mut parts: Vec<String> = services
                .iter()
                .filter(|(_, s)| s.word() == word)
                .map(|(name, s)| match s.cause() {
                    Some(cause) => format!("{name}: {cause}"),
                    None => name.clone(),
                })
                .collect();
            parts.truncate(10);
            parts.join("; ")
        };
        match self {
            Overall::Draft => [
                (
                    "Ready",
                    false,
                    "Draft",
                    "spec.draft is true: nothing is applied".into(),
                ),
                ("Progressing", false, "Draft", String::new()),
                ("Degraded", false, "Draft", String::new()),
            ],
            Overall::Invalid(message) => [
                ("Ready", false, "InvalidSpec", message.clone()),
                ("Progressing", false, "InvalidSpec", String::new()),
                ("Degraded", true, "InvalidSpec", message.clone()),
            ],
            Overall::Deleting(error) => [
                ("Ready", false, "Deleting", "uninstalling releases".into()),
                ("Progressing", true, "Deleting", String::new()),
                (
                    "Degraded",
                    error.is_some(),
                    if error.is_some() {
                        "UninstallFailed"
                    } else {
                        "Deleting"
                    },
                    error.clone().unwrap_or_default(),
                ),
            ],
            Overall::Services(services) => match self.word() {
                "APPLIED" => [
                    (
                        "Ready",
                        true,
                        "Applied",
                        format!("{} services applied", services.len()),
                    ),
                    ("Progressing", false, "Applied", String::new()),
                    ("Degraded", false, "AsExpected", String::new()),
                ],
                "FAILED" => [
                    ("Ready", false, "ApplyFailed", listed(services, "FAILED")),
                    ("Progressing", false, "ApplyFailed", String::new()),
                    ("Degraded", true, "ApplyFailed", listed(services, "FAILED")),
                ],
                "APPLYING" => [
                    ("Ready", false, "Applying", listed(services, "APPLYING")),
                    (
                        "Progressing",
                        true,
                        "Applying",
                        listed(services, "APPLYING"),
                    ),
                    ("Degraded", false, "AsExpected", String::new()),
                ],
                _ => [
                    ("Ready", false, "Waiting", listed(services, "WAITING")),
                    ("Progressing", true, "Waiting", listed(services, "WAITING")),
                    ("Degraded", false, "AsExpected", String::new()),
                ],
            },
        }
    }
}

/// The OSDPL `status` body this binary owns. `unsupported` (spec settings no chart takes) is
/// known only when the spec rendered; otherwise the last reported `Unsupported` condition stays.
pub fn osdpl_status(
    osdpl: &OpenStackDeployment,
    overall: &Overall,
    fingerprint: Option<&str>,
    unsupported: Option<&[String]>,
) -> Value {
    let generation = osdpl.metadata.generation;
    let previous = osdpl
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .cloned()
        .unwrap_or_default();
    let now = Timestamp::now().to_string();
    let unsupported = match unsupported {
        Some(settings) => Some(unsupported_condition(settings)),
        None => previous
            .iter()
            .find(|c| c.type_ == "Unsupported")
            .map(|c| (c.status == "True", c.reason.clone(), c.message.clone())),
    };
    let conditions: Vec<Value> = overall
        .conditions()
        .into_iter()
        .map(|(kind, status, reason, message)| (kind, status, reason.to_owned(), message))
        .chain(
            unsupported.map(|(status, reason, message)| ("Unsupported", status, reason, message)),
        )
        .map(|(kind, status, reason, message)| {
            let status = if status { "True" } else { "False" };
            // The transition time moves only when the status does.
            let since = previous
                .iter()
                .find(|c| c.type_ == kind && c.status == status)
                .map_or_else(|| now.clone(), |c| c.last_transition_time.0.to_string());
            json!({
                "type": kind, "status": status, "reason": reason, "message": message,
                "lastTransitionTime": since, "observedGeneration": generation,
            })
        })
        .collect();
    let mut status = json!({
        "version": rockoon_core::VERSION,
        "observedGeneration": generation,
        "state": overall.word(),
        "conditions": conditions,
    });
    if let Some(fingerprint) =
        fingerprint.or(osdpl.status.as_ref().and_then(|s| s.fingerprint.as_deref()))
    {
        status["fingerprint"] = json!(fingerprint);
    }
    status
}

/// `Unsupported` as `(status, reason, message)`: True, listing every setting, when the spec
/// has settings no chart takes.
fn unsupported_condition(settings: &[String]) -> (bool, String, String) {
    if settings.is_empty() {
        (false, "AllSettingsRendered".into(), String::new())
    } else {
        (true, "SettingsNotRendered".into(), settings.join("; "))
    }
}

/// The OpenStackDeploymentStatus `status` body this binary owns.
pub fn osdplst_status(
    osdpl: &OpenStackDeployment,
    overall: &Overall,
    fingerprint: Option<&str>,
) -> Value {
    let mut summary = json!({
        "state": overall.word(),
        "openstack_version": osdpl.spec.openstack_version.as_str(),
        "controller_version": rockoon_core::VERSION,
    });
    if let Some(progress) = overall.progress() {
        summary["lcm_progress"] = json!(progress);
    }
    if let Some(fingerprint) = fingerprint {
        summary["fingerprint"] = json!(fingerprint);
    }
    match overall {
        Overall::Invalid(message) => summary["cause"] = json!(message),
        Overall::Deleting(Some(error)) => summary["cause"] = json!(error),
        _ => {}
    }
    let mut status = json!({"osdpl": summary});
    if let Overall::Services(services) = overall {
        let services: serde_json::Map<String, Value> = services
            .iter()
            .map(|(name, state)| {
                let mut entry = json!({"state": state.word()});
                if let Some(cause) = state.cause() {
                    entry["cause"] = json!(cause);
                }
                (name.clone(), entry)
            })
            .collect();
        status["services"] = Value::Object(services);
    }
    status
}

/// Applies status bodies, skipping those already written.
pub struct Writer {
    client: Client,
    written: Mutex<HashMap<String, Value>>,
}

impl Writer {
    /// A writer for `client`.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            written: Mutex::default(),
        }
    }

    /// Applies `status` to the OSDPL, unless the object already carries it.
    pub async fn osdpl(
        &self,
        osdpl: &OpenStackDeployment,
        status: Value,
    ) -> Result<(), kube::Error> {
        let current = osdpl.status.as_ref().map(|s| json!(s)).unwrap_or_default();
        // Transition times are reused from the object when a condition's status is unchanged,
        // so an unchanged status is covered field for field.
        if covers(&current, &status) {
            return Ok(());
        }
        let key = format!("osdpl/{}", osdpl.uid().unwrap_or_default());
        if self.already(&key, &status) {
            return Ok(());
        }
        let api: Api<OpenStackDeployment> =
            Api::namespaced(self.client.clone(), &osdpl.namespace().unwrap_or_default());
        let body = json!({
            "apiVersion": OpenStackDeployment::api_version(&()),
            "kind": OpenStackDeployment::kind(&()),
            "metadata": {"name": osdpl.name_any()},
            "status": status,
        });
        api.patch_status(&osdpl.name_any(), &apply_params(), &Patch::Apply(&body))
            .await?;
        self.remember(key, status);
        Ok(())
    }

    /// Creates the OpenStackDeploymentStatus (owned by the OSDPL) if needed and applies
    /// `status` to it, unless `current` (the cached object) or the last write already has it.
    pub async fn osdplst(
        &self,
        osdpl: &OpenStackDeployment,
        current: Option<&OpenStackDeploymentStatus>,
        status: Value,
    ) -> Result<(), kube::Error> {
        let name = osdpl.name_any();
        let api: Api<OpenStackDeploymentStatus> =
            Api::namespaced(self.client.clone(), &osdpl.namespace().unwrap_or_default());
        let owner = osdpl.controller_owner_ref(&());
        let object_key = format!("osdplst-object/{}", osdpl.uid().unwrap_or_default());
        if current.is_none() && !self.already(&object_key, &json!(true)) {
            let body = json!({
                "apiVersion": OpenStackDeploymentStatus::api_version(&()),
                "kind": OpenStackDeploymentStatus::kind(&()),
                "metadata": {"name": name, "ownerReferences": [owner]},
                "spec": {},
            });
            api.patch(&name, &apply_params(), &Patch::Apply(&body))
                .await?;
            self.remember(object_key, json!(true));
        }
        let actual = current
            .and_then(|c| c.status.as_ref())
            .map(|s| json!(s))
            .unwrap_or_default();
        if covers(&actual, &status) && same_service_keys(&actual, &status) {
            return Ok(());
        }
        let key = format!("osdplst/{}", osdpl.uid().unwrap_or_default());
        if self.already(&key, &status) {
            return Ok(());
        }
        let body = json!({
            "apiVersion": OpenStackDeploymentStatus::api_version(&()),
            "kind": OpenStackDeploymentStatus::kind(&()),
            "metadata": {"name": name},
            "status": status,
        });
        api.patch_status(&name, &apply_params(), &Patch::Apply(&body))
            .await?;
        self.remember(key, status);
        Ok(())
    }

    /// Forgets what was written for an OSDPL (it is gone).
    pub fn forget(&self, uid: &str) {
        let mut written = self
            .written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        written.retain(|key, _| !key.ends_with(uid));
    }

    fn already(&self, key: &str, status: &Value) -> bool {
        let written = self
            .written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        written.get(key) == Some(status)
    }

    fn remember(&self, key: String, status: Value) {
        let mut written = self
            .written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        written.insert(key, status);
    }
}

fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
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
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn services(states: &[(&str, ServiceState)]) -> Overall {
        Overall::Services(
            states
                .iter()
                .map(|(n, s)| ((*n).to_owned(), s.clone()))
                .collect(),
        )
    }

    #[test]
    fn the_overall_state_is_the_worst_service_state() {
        use ServiceState::*;
        assert_eq!(
            services(&[("a", Applied), ("b", Applied)]).word(),
            "APPLIED"
        );
        assert_eq!(
            services(&[("a", Applied), ("b", Waiting("x".into()))]).word(),
            "WAITING"
        );
        assert_eq!(
            services(&[("a", Applying), ("b", Waiting("x".into()))]).word(),
            "APPLYING"
        );
        assert_eq!(
            services(&[("a", Applying), ("b", Failed("x".into()))]).word(),
            "FAILED"
        );
        assert_eq!(
            services(&[("a", Applied), ("b", Failed("x".into()))])
                .progress()
                .unwrap(),
            "1/2"
        );
    }

    #[test]
    fn a_failed_service_makes_the_deployment_degraded_with_the_cause() {
        let overall = services(&[
            (
                "compute",
                ServiceState::Failed("pod.replicas.api must be an integer".into()),
            ),
            ("identity", ServiceState::Applied),
        ]);
        let [ready, progressing, degraded] = overall.conditions();
        assert_eq!((ready.1, ready.2), (false, "ApplyFailed"));
        assert!(!progressing.1);
        assert!(degraded.1);
        assert_eq!(degraded.3, "compute: pod.replicas.api must be an integer");
    }

    #[test]
    fn covers_ignores_fields_of_other_writers_but_not_changed_values() {
        let actual = json!({"osdpl": {"state": "APPLIED", "health": "3/3"}, "health": {}});
        assert!(covers(&actual, &json!({"osdpl": {"state": "APPLIED"}})));
        assert!(!covers(&actual, &json!({"osdpl": {"state": "FAILED"}})));
        assert!(!covers(&actual, &json!({"osdpl": {"lcm_progress": "1/1"}})));
    }

    #[test]
    fn a_dropped_service_counts_as_a_change() {
        let actual = json!({"services": {"a": {"state": "APPLIED"}, "b": {"state": "APPLIED"}}});
        let wanted = json!({"services": {"a": {"state": "APPLIED"}}});
        assert!(covers(&actual, &wanted));
        assert!(!same_service_keys(&actual, &wanted));
    }
}
