//! What a failed helm command means, read from its exit and stderr, so the apply step can
//! pick a recovery (roll back a stuck release, delete immutable Jobs, back off) and the user
//! sees a short, stable kind next to helm's own words.

use std::time::Duration;

/// A failed helm command, by kind.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HelmError {
    /// Our time limit ran out and the process was killed.
    #[error("helm {op} timed out after {after:?}")]
    Timeout {
        /// The helm operation.
        op: &'static str,
        /// The limit.
        after: Duration,
    },
    /// The upgrade changes a field Kubernetes does not let change (typically a Job's template).
    #[error("{message}")]
    ImmutableField {
        /// Objects helm could not patch, as `(kind, name)`.
        objects: Vec<(String, String)>,
        /// Helm's message.
        message: String,
    },
    /// Helm thinks another operation on the release is still running.
    #[error("{message}")]
    InProgress {
        /// Helm's message.
        message: String,
    },
    /// The release only has failed revisions, so helm refuses to upgrade it.
    #[error("{message}")]
    NoDeployedRelease {
        /// Helm's message.
        message: String,
    },
    /// The chart cannot be found at its source.
    #[error("{message}")]
    ChartNotFound {
        /// Helm's message.
        message: String,
    },
    /// The chart failed to render with the values (a `fail`, a type error, bad YAML).
    #[error("{message}")]
    Template {
        /// Helm's message.
        message: String,
    },
    /// Helm could not reach the Kubernetes API (refused, reset, timed out, unavailable): a
    /// passing condition, retried within seconds rather than backed off like a bad release.
    #[error("{message}")]
    Unreachable {
        /// Helm's message.
        message: String,
    },
    /// Any other failure.
    #[error("{message}")]
    Failed {
        /// Helm's message.
        message: String,
    },
    /// The helm binary could not be run at all.
    #[error("cannot run helm: {0}")]
    Spawn(String),
    /// This process does not lead (leader election): helm was not started, or was killed
    /// with its process group when the term ended.
    #[error("helm {op} not run: this process no longer leads")]
    NotLeader {
        /// The helm operation.
        op: &'static str,
    },
}

impl HelmError {
    /// Stable label of the kind (metrics, status causes).
    pub fn kind(&self) -> &'static str {
        match self {
            HelmError::Timeout { .. } => "helm_timeout",
            HelmError::ImmutableField { .. } => "helm_immutable_field",
            HelmError::InProgress { .. } => "helm_in_progress",
            HelmError::NoDeployedRelease { .. } => "helm_no_deployed_release",
            HelmError::ChartNotFound { .. } => "helm_chart_not_found",
            HelmError::Template { .. } => "helm_template",
            HelmError::Unreachable { .. } => "helm_api_unreachable",
            HelmError::Failed { .. } => "helm_failed",
            HelmError::Spawn(_) => "helm_spawn",
            HelmError::NotLeader { .. } => "not_leader",
        }
    }

    /// Whether the failure says nothing about the release (the API was away), so a retry
    /// soon is likely to succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, HelmError::Unreachable { .. })
    }

    /// Reads a non-zero exit's stderr. The kind is decided on the whole of it (helm prints
    /// whole manifests, and the telling phrase can come after many kilobytes); only the
    /// message kept for people is cut.
    pub fn from_stderr(stderr: &str) -> Self {
        let full = clean(stderr);
        let lower = full.to_lowercase();
        let message = cut(&full);
        if lower.contains("another operation (install/upgrade/rollback) is in progress") {
            HelmError::InProgress { message }
        } else if lower.contains("field is immutable") || lower.contains("are forbidden") {
            let objects = immutable_objects(&full);
            HelmError::ImmutableField { objects, message }
        } else if lower.contains("has no deployed releases") {
            HelmError::NoDeployedRelease { message }
        } else if lower.contains("path") && lower.contains("not found")
            || lower.contains("chart not found")
            || lower.contains("no chart version found")
            || lower.contains("no chart name found")
            || lower.contains("failed to download")
            || lower.contains("not a valid chart repository")
        {
            HelmError::ChartNotFound { message }
        } else if lower.contains("execution error at")
            || lower.contains("parse error")
            || lower.contains("template: ")
            || lower.contains("error converting yaml")
            || lower.contains("unable to build kubernetes objects")
            || lower.contains("values don't meet the specifications of the schema")
        {
            HelmError::Template { message }
        } else if UNREACHABLE.iter().any(|phrase| lower.contains(phrase)) {
            HelmError::Unreachable { message }
        } else {
            HelmError::Failed { message }
        }
    }
}

/// What Go's HTTP client and the API server say when the API is away (restarting, overloaded).
const UNREACHABLE: &[&str] = &[
    "connection refused",
    "connection reset by peer",
    "no route to host",
    "i/o timeout",
    "tls handshake timeout",
    "kubernetes cluster unreachable",
    "http2: client connection lost",
    "the server is currently unable to handle the request",
    "etcdserver: request timed out",
];

/// Longest helm message kept; helm can print whole manifests.
const MAX_MESSAGE: usize = 1500;

/// Helm's stderr without its `Error: ` prefix, warnings and blank lines.
fn clean(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("WARNING:") && !l.starts_with("walk.go:"))
        .map(|l| l.strip_prefix("Error: ").unwrap_or(l))
        .collect();
    lines.join("\n")
}

/// `text` cut to [`MAX_MESSAGE`] characters, marked with `…` when cut.
fn cut(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// `(kind, name)` of every `cannot patch "<name>" with kind <Kind>` in helm's message.
fn immutable_objects(message: &str) -> Vec<(String, String)> {
    let mut objects = Vec::new();
    let mut rest = message;
    while let Some(at) = rest.find("cannot patch \"") {
        rest = &rest[at + "cannot patch \"".len()..];
        let Some(end) = rest.find('"') else { break };
        let name = rest[..end].to_owned();
        rest = &rest[end..];
        let kind = rest
            .strip_prefix("\" with kind ")
            .map(|r| {
                r.chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
            })
            .unwrap_or_default();
        if !kind.is_empty() && !objects.contains(&(kind.clone(), name.clone())) {
            objects.push((kind, name));
        }
    }
    objects
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_in_progress_is_recognised() {
        let e = HelmError::from_stderr(
            "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n",
        );
        assert_eq!(e.kind(), "helm_in_progress");
        assert_eq!(
            e.to_string(),
            "UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress"
        );
    }

    #[test]
    fn immutable_jobs_are_named() {
        let stderr = "Error: UPGRADE FAILED: cannot patch \"keystone-db-sync\" with kind Job: \
            Job.batch \"keystone-db-sync\" is invalid: spec.template: Invalid value: ...: \
            field is immutable && cannot patch \"keystone-bootstrap\" with kind Job: field is immutable";
        match HelmError::from_stderr(stderr) {
            HelmError::ImmutableField { objects, .. } => assert_eq!(
                objects,
                vec![
                    ("Job".to_owned(), "keystone-db-sync".to_owned()),
                    ("Job".to_owned(), "keystone-bootstrap".to_owned())
                ]
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn chart_failures_are_template_errors_with_helms_message() {
        let e = HelmError::from_stderr(
            "Error: UPGRADE FAILED: execution error at (nova/templates/x.yaml:3:4): pod.replicas.api must be an integer, got string",
        );
        assert_eq!(e.kind(), "helm_template");
        assert!(
            e.to_string()
                .contains("pod.replicas.api must be an integer")
        );
    }

    #[test]
    fn a_missing_chart_directory_is_chart_not_found() {
        let e = HelmError::from_stderr("Error: path \"/charts/openstack/nova\" not found");
        assert_eq!(e.kind(), "helm_chart_not_found");
    }

    #[test]
    fn a_release_with_only_failed_revisions_is_recognised() {
        let e = HelmError::from_stderr(
            "Error: UPGRADE FAILED: \"openstack-nova\" has no deployed releases",
        );
        assert_eq!(e.kind(), "helm_no_deployed_release");
    }

    #[test]
    fn warnings_are_dropped_and_long_messages_cut() {
        let long = format!(
            "WARNING: kubeconfig is group-readable\nError: {}",
            "x".repeat(5000)
        );
        let e = HelmError::from_stderr(&long);
        assert_eq!(e.kind(), "helm_failed");
        let text = e.to_string();
        assert!(!text.contains("WARNING"));
        assert!(text.chars().count() <= MAX_MESSAGE + 1);
    }

    #[test]
    fn an_immutable_job_deep_in_a_10_kb_stderr_is_still_recognised_and_named() {
        // Helm prints the whole rejected Job before the reason, as on a real image change.
        let manifest =
            "spec.template: Invalid value: core.PodTemplateSpec{Spec: ...}\n".repeat(150);
        let stderr = format!(
            "Error: UPGRADE FAILED: cannot patch \"keystone-db-sync\" with kind Job: \
             Job.batch \"keystone-db-sync\" is invalid: {manifest}: field is immutable"
        );
        assert!(stderr.len() > 9_000);
        match HelmError::from_stderr(&stderr) {
            HelmError::ImmutableField { objects, message } => {
                assert_eq!(
                    objects,
                    vec![("Job".to_owned(), "keystone-db-sync".to_owned())]
                );
                assert!(message.chars().count() <= MAX_MESSAGE + 1);
            }
            other => panic!("{}", other.kind()),
        }
    }

    #[test]
    fn an_api_server_that_refuses_connections_is_a_transient_failure() {
        let e = HelmError::from_stderr(
            "Error: Kubernetes cluster unreachable: Get \"https://127.0.0.1:6443/version\": dial tcp 127.0.0.1:6443: connect: connection refused",
        );
        assert_eq!(e.kind(), "helm_api_unreachable");
        assert!(e.is_transient());
        assert!(!HelmError::from_stderr("Error: boom").is_transient());
    }
}
