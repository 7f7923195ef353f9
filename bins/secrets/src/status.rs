//! What `secrets` reports: its conditions and `status.watched.value_from` on the OSDPL, and
//! rotation ids and times in the OpenStackDeploymentStatus. Pure: builds the server-side apply
//! bodies; the reconcile sends them with the field manager `rockoon-secrets`.
//!
//! `status.conditions` is a list-map keyed by `type`, so these conditions live beside the ones
//! `osdpl` owns (Ready, Progressing, Degraded) without either writer clobbering the other.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use serde_json::{Value, json};

/// Condition: every needed credential exists and is usable.
pub const CREDENTIALS: &str = "Credentials";
/// Condition: the requested rotation ids are handled (or why one is refused).
pub const ROTATION: &str = "CredentialsRotation";
/// Condition: every certificate Secret the spec asks for exists (libvirt TLS, VeNCrypt).
pub const CERTIFICATES: &str = "Certificates";
/// Condition: every `value_from.secret_key_ref` resolves.
pub const SECRET_REFERENCES: &str = "SecretReferences";

/// Condition: which deleted credential Secrets were last restored from their copies.
pub const RESTORED: &str = "CredentialsRestored";
/// Reason of a False `Credentials` condition on an OSDPL the types cannot read.
pub const INVALID_SPEC: &str = "InvalidSpec";

/// Longest condition message; the rest is counted, not listed.
const MAX_MESSAGE: usize = 2048;

/// The state of one condition before it gets its times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Condition type.
    pub type_: &'static str,
    /// True or False.
    pub ok: bool,
    /// CamelCase reason.
    pub reason: &'static str,
    /// Human-readable; names objects and keys, never values.
    pub message: String,
}

impl Verdict {
    /// A True condition.
    pub fn ok(type_: &'static str, reason: &'static str, message: String) -> Self {
        Self {
            type_,
            ok: true,
            reason,
            message,
        }
    }

    /// A False condition listing `problems`.
    pub fn failed(type_: &'static str, reason: &'static str, problems: &[String]) -> Self {
        Self {
            type_,
            ok: false,
            reason,
            message: join(problems),
        }
    }
}

/// `problems` joined with `; `, cut at a bound with the number left out.
fn join(problems: &[String]) -> String {
    let mut message = String::new();
    for (index, problem) in problems.iter().enumerate() {
        if message.len() + problem.len() > MAX_MESSAGE {
            message.push_str(&format!("; and {} more", problems.len() - index));
            break;
        }
        if index > 0 {
            message.push_str("; ");
        }
        message.push_str(problem);
    }
    message
}

/// The condition for `verdict`, keeping the transition time of the `current` condition of the
/// same type when its status did not change (so re-applying it changes nothing).
pub fn condition(
    verdict: &Verdict,
    current: Option<&[Condition]>,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    let status = if verdict.ok { "True" } else { "False" };
    let since = current
        .into_iter()
        .flatten()
        .find(|c| c.type_ == verdict.type_ && c.status == status)
        .map_or_else(|| now.clone(), |c| c.last_transition_time.clone());
    Condition {
        type_: verdict.type_.to_owned(),
        status: status.to_owned(),
        reason: verdict.reason.to_owned(),
        message: verdict.message.clone(),
        observed_generation: generation,
        last_transition_time: since,
    }
}

/// Server-side apply body of the OSDPL status fields `secrets` owns.
pub fn osdpl(hashes: &BTreeMap<String, String>, conditions: &[Condition]) -> Value {
    let secrets: serde_json::Map<String, Value> = hashes
        .iter()
        .map(|(name, hash)| (name.clone(), json!({"hash": hash})))
        .collect();
    json!({
        "apiVersion": "lcm.mirantis.com/v1alpha1",
        "kind": "OpenStackDeployment",
        "status": {
            "watched": {"value_from": {"secret": secrets}},
            "conditions": conditions,
        },
    })
}

/// Server-side apply body of `status.credentials.rotation` in the OpenStackDeploymentStatus:
/// per group, the handled rotation id and when its credentials last changed generation.
pub fn osdplst(rotations: &BTreeMap<&'static str, (i64, Option<String>)>) -> Value {
    let groups: serde_json::Map<String, Value> = rotations
        .iter()
        .map(|(group, (id, timestamp))| {
            let mut entry = json!({"rotation_id": id});
            if let Some(timestamp) = timestamp {
                entry["timestamp"] = json!(timestamp);
            }
            ((*group).to_owned(), entry)
        })
        .collect();
    json!({
        "apiVersion": "lcm.mirantis.com/v1alpha1",
        "kind": "OpenStackDeploymentStatus",
        "status": {"credentials": {"rotation": groups}},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).unwrap())
    }

    #[test]
    fn the_transition_time_moves_only_when_the_status_changes() {
        let verdict = Verdict::ok(CREDENTIALS, "Generated", "all there".into());
        let first = condition(&verdict, None, Some(1), &at(10));
        let again = condition(
            &verdict,
            Some(std::slice::from_ref(&first)),
            Some(2),
            &at(20),
        );
        assert_eq!(again.last_transition_time, at(10));
        let failed = Verdict::failed(CREDENTIALS, "Unusable", &["x".into()]);
        let flipped = condition(&failed, Some(&[again]), Some(2), &at(30));
        assert_eq!(flipped.last_transition_time, at(30));
        assert_eq!(flipped.status, "False");
    }

    #[test]
    fn long_problem_lists_are_cut_and_counted() {
        let problems: Vec<String> = (0..500).map(|i| format!("problem number {i}")).collect();
        let verdict = Verdict::failed(SECRET_REFERENCES, "Missing", &problems);
        assert!(verdict.message.len() < MAX_MESSAGE + 32);
        assert!(verdict.message.ends_with("more"), "{}", verdict.message);
    }

    #[test]
    fn the_osdpl_body_holds_only_hashes_and_conditions() {
        let hashes = BTreeMap::from([("tls".to_owned(), "abc".to_owned())]);
        let body = osdpl(&hashes, &[]);
        assert_eq!(
            body["status"]["watched"]["value_from"]["secret"]["tls"]["hash"],
            "abc"
        );
        assert_eq!(body["status"].as_object().unwrap().len(), 2);
    }
}
