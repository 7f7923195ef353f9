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
    /// Any other failure.
    #[error("{message}")]
    Failed {
        /// Helm's message.
        message: String,
    },
    /// The helm binary could not be run at all.
    #[error("cannot run helm: {0}")]
    Spawn(String),
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
            HelmError::Failed { .. } => "helm_failed",
            HelmError::Spawn(_) => "helm_spawn",
        }
    }

    /// Reads a non-zero exit's stderr.
    pub fn from_stderr(stderr: &str) -> Self {
        let message = clean(stderr);
        let lower = message.to_lowercase();
        if lower.contains("another operation (install/upgrade/rollback) is in progress") {
            HelmError::InProgress { message }
        } else if lower.contains("field is immutable") || lower.contains("are forbidden") {
            let objects = immutable_objects(&message);
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
        } else {
            HelmError::Failed { message }
        }
    }
}

/// Longest helm message kept; helm can print whole manifests.
const MAX_MESSAGE: usize = 1500;

/// Helm's stderr without its `Error: ` prefix, warnings and blank lines, cut to a sane length.
fn clean(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("WARNING:") && !l.starts_with("walk.go:"))
        .map(|l| l.strip_prefix("Error: ").unwrap_or(l))
        .collect();
    let joined = lines.join("\n");
    match joined.char_indices().nth(MAX_MESSAGE) {
        Some((at, _)) => format!("{}…", &joined[..at]),
        None => joined,
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
}
