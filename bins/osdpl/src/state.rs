//! The words users read, decided purely: each service's state, the overall state and
//! progress, and the standard conditions (Ready, Progressing, Degraded) they make. The rollout
//! produces these states; [`crate::status`] turns them into typed status objects.

use std::collections::BTreeMap;

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

    /// What it waits for, or why it failed.
    pub fn cause(&self) -> Option<&str> {
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
    /// Another OSDPL owns the namespace (the message names it); nothing is done for this one.
    Conflict(String),
}

impl Overall {
    /// The overall state word.
    pub fn word(&self) -> &'static str {
        match self {
            Overall::Draft => "DRAFT",
            Overall::Invalid(_) => "FAILED",
            Overall::Deleting(_) => "DELETING",
            Overall::Conflict(_) => "CONFLICT",
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
    pub fn conditions(&self) -> [(&'static str, bool, &'static str, String); 3] {
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
            Overall::Conflict(message) => [
                ("Ready", false, "Conflict", message.clone()),
                ("Progressing", false, "Conflict", String::new()),
                ("Degraded", true, "Conflict", message.clone()),
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
}
