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
    /// Enabled, but this version cannot render it (the cause says why); nothing is applied
    /// for it. Not counted in the progress, and not holding the overall state back: the
    /// `UnsupportedServices` condition names it.
    Unsupported(String),
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
            ServiceState::Unsupported(_) => "UNSUPPORTED",
        }
    }

    /// What it waits for, or why it failed.
    pub fn cause(&self) -> Option<&str> {
        match self {
            ServiceState::Waiting(c) | ServiceState::Failed(c) | ServiceState::Unsupported(c) => {
                Some(c)
            }
            _ => None,
        }
    }
}

/// Services named in a condition message; the rest are counted.
const LISTED: usize = 10;

/// Longest cause, in characters, a condition message shows per service.
const HEADLINE: usize = 160;

/// The first line of a cause, cut to [`HEADLINE`] characters: what a condition shows. Helm's
/// first line names the release and the failing object; the whole cause (with the manifests
/// helm may print) stays in the osdplst service entry and the `ApplyFailed` event.
pub fn headline(cause: &str) -> String {
    let first = cause.lines().next().unwrap_or_default().trim();
    match first.char_indices().nth(HEADLINE) {
        Some((at, _)) => format!("{}…", &first[..at]),
        None => first.to_owned(),
    }
}

/// The overall picture of one reconcile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overall {
    /// `spec.draft` is true; nothing is applied.
    Draft,
    /// The spec cannot be rendered (the message names the path).
    Invalid {
        /// Condition and event reason: `InvalidSpec`, or `UnsupportedRelease` for a release
        /// this version has no images for.
        reason: &'static str,
        /// What is wrong, and where.
        message: String,
    },
    /// Per-service states.
    Services(BTreeMap<String, ServiceState>),
    /// The OSDPL is being deleted.
    Deleting(Option<String>),
    /// Another OSDPL owns the namespace (the message names it); nothing is done for this one.
    Conflict(String),
    /// A change of `spec.openstack_version` refused before anything was applied
    /// ([`crate::upgrade::guard`]); the deployment stays at the applied release.
    Refused {
        /// Machine reason (`NotApplied`, `OtherChanges`, `PinnedImages`, `NotAllowed`).
        reason: &'static str,
        /// Why, and what to do.
        message: String,
    },
}

impl Overall {
    /// The overall state word.
    pub fn word(&self) -> &'static str {
        match self {
            Overall::Draft => "DRAFT",
            Overall::Invalid { .. } | Overall::Refused { .. } => "FAILED",
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
                    .filter(|s| !matches!(s, ServiceState::Deleting | ServiceState::Unsupported(_)))
                    .count();
                Some(format!("{applied}/{enabled}"))
            }
            _ => None,
        }
    }

    /// Ready / Progressing / Degraded as `(type, status, reason, message)`.
    pub fn conditions(&self) -> [(&'static str, bool, &'static str, String); 3] {
        let listed = |services: &BTreeMap<String, ServiceState>, word: &str| {
            let matching: Vec<String> = services
                .iter()
                .filter(|(_, s)| s.word() == word)
                .map(|(name, s)| match s.cause() {
                    Some(cause) => format!("{name}: {}", headline(cause)),
                    None => name.clone(),
                })
                .collect();
            let mut parts: Vec<String> = matching.iter().take(LISTED).cloned().collect();
            if matching.len() > LISTED {
                parts.push(format!("{} more", matching.len() - LISTED));
            }
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
            Overall::Invalid { reason, message } => [
                ("Ready", false, reason, message.clone()),
                ("Progressing", false, reason, String::new()),
                ("Degraded", true, reason, message.clone()),
            ],
            Overall::Refused { message, .. } => [
                ("Ready", false, "UpgradeRefused", message.clone()),
                ("Progressing", false, "UpgradeRefused", String::new()),
                ("Degraded", true, "UpgradeRefused", message.clone()),
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
                        format!(
                            "{} services applied",
                            services
                                .values()
                                .filter(|s| **s == ServiceState::Applied)
                                .count()
                        ),
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

/// `UnsupportedServices` as `(status, reason, message)` while services are reported: True,
/// naming each enabled service this version cannot render with why; `None` otherwise (the last
/// reported condition stays).
pub fn unsupported_services(overall: &Overall) -> Option<(bool, String, String)> {
    let Overall::Services(services) = overall else {
        return None;
    };
    let listed: Vec<String> = services
        .iter()
        .filter_map(|(name, state)| match state {
            ServiceState::Unsupported(why) => Some(format!("{name}: {why}")),
            _ => None,
        })
        .collect();
    Some(if listed.is_empty() {
        (false, "AllServicesRendered".into(), String::new())
    } else {
        (true, "ServicesNotRendered".into(), listed.join("; "))
    })
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
    fn an_unsupported_service_holds_nothing_back_and_is_named_in_its_own_condition() {
        let overall = services(&[
            ("identity", ServiceState::Applied),
            ("redis", ServiceState::Unsupported("no chart".into())),
        ]);
        assert_eq!(overall.word(), "APPLIED");
        assert_eq!(overall.progress().unwrap(), "1/1");
        let [ready, ..] = overall.conditions();
        assert_eq!(ready.3, "1 services applied");
        let (status, reason, message) = unsupported_services(&overall).unwrap();
        assert!(status);
        assert_eq!(reason, "ServicesNotRendered");
        assert_eq!(message, "redis: no chart");
        let none = services(&[("identity", ServiceState::Applied)]);
        assert!(!unsupported_services(&none).unwrap().0);
        assert!(unsupported_services(&Overall::Draft).is_none());
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
    fn a_failed_condition_names_each_service_with_the_first_line_of_its_cause_only() {
        let long = format!(
            "UPGRADE FAILED: cannot patch \"keystone-db-sync\" with kind Job: invalid\n{}",
            "spec:\n  template: {...}\n".repeat(2000)
        );
        let failed: Vec<(String, ServiceState)> = (0..11)
            .map(|i| (format!("svc{i:02}"), ServiceState::Failed(long.clone())))
            .collect();
        let overall = Overall::Services(failed.into_iter().collect());
        let [ready, _, degraded] = overall.conditions();
        assert!(ready.3.len() < 2500, "{} bytes", ready.3.len());
        assert!(
            ready.3.starts_with(
                "svc00: UPGRADE FAILED: cannot patch \"keystone-db-sync\" with kind Job"
            )
        );
        assert!(!ready.3.contains("template"));
        assert!(ready.3.ends_with("; 1 more"), "{}", ready.3);
        assert_eq!(ready.3, degraded.3);
    }
}
