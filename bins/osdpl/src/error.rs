//! Errors of the `osdpl` container, one variant per step that can fail, each keeping the
//! stable kind of what failed inside it (the kube error's, helm's), which becomes the `error`
//! label of `rockoon_reconcile_errors_total` and the `error.kind` log field.
//!
//! Render and helm failures of single services are not errors of the reconcile: they are
//! reported in status (`FAILED` with helm's message, `InvalidSpec`) and retried on their own
//! schedule.

use rockoon_core::error::ErrorKind;
use rockoon_runtime::error::kube_error_kind;

use crate::helm::HelmError;

/// Why a reconcile of an OpenStackDeployment failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Read: the object passed API validation but does not match the suite's types.
    #[error("the OpenStackDeployment cannot be read: {0}")]
    InvalidSpec(String),
    /// Finalizer: adding or removing it failed.
    #[error("finalizer: Kubernetes API call failed: {0}")]
    Finalizer(#[source] kube::Error),
    /// Report: writing the OSDPL or osdplst status failed.
    #[error("status: Kubernetes API call failed: {0}")]
    Report(#[source] kube::Error),
    /// Rollout or deletion: uninstalling a release failed.
    #[error("uninstall {release}: {source}")]
    Uninstall {
        /// The release.
        release: String,
        /// Helm's error.
        #[source]
        source: HelmError,
    },
}

impl ErrorKind for Error {
    fn kind(&self) -> &'static str {
        match self {
            Error::InvalidSpec(_) => "invalid_spec",
            Error::Finalizer(e) | Error::Report(e) => kube_error_kind(e),
            Error::Uninstall { source, .. } => source.kind(),
        }
    }

    fn is_transient(&self) -> bool {
        !matches!(self, Error::InvalidSpec(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_uninstall_keeps_helms_kind_and_names_the_release() {
        let error = Error::Uninstall {
            release: "openstack-tempest".into(),
            source: HelmError::Timeout {
                op: "uninstall",
                after: std::time::Duration::from_secs(300),
            },
        };
        assert_eq!(error.kind(), "helm_timeout");
        assert!(error.is_transient());
        assert!(
            error
                .to_string()
                .starts_with("uninstall openstack-tempest: "),
            "{error}"
        );
    }
}
