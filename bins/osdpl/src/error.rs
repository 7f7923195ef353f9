//! Errors of the `osdpl` container, one variant per step, each with a stable kind.

use rockoon_core::error::ErrorKind;
use rockoon_runtime::error::kube_error_kind;

/// Why a reconcile of an OpenStackDeployment failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object passed API validation but does not match the suite's types.
    #[error("the OpenStackDeployment cannot be read: {0}")]
    InvalidSpec(String),
    /// A Kubernetes API call failed.
    #[error("Kubernetes API call failed: {0}")]
    Kube(#[from] kube::Error),
    /// Uninstalling a release (service removed, or OSDPL deleted) failed.
    #[error("{0}")]
    Uninstall(String),
}

impl ErrorKind for Error {
    fn kind(&self) -> &'static str {
        match self {
            Error::InvalidSpec(_) => "invalid_spec",
            Error::Kube(e) => kube_error_kind(e),
            Error::Uninstall(_) => "uninstall",
        }
    }

    fn is_transient(&self) -> bool {
        !matches!(self, Error::InvalidSpec(_))
    }
}
