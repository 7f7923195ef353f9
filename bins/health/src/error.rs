//! Errors of health's two reconcilers, with stable kinds for logs and metrics.

use rockoon_core::error::ErrorKind;
use rockoon_runtime::error::kube_error_kind;

/// Why a reconcile failed; every variant is worth a retry (the API was unavailable or
/// refused, nothing about the watched object needs to change).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Applying `status.health`/`status.osdpl.health`, or removing stale entries, failed.
    #[error("writing the health of OpenStackDeploymentStatus {name}: {source}")]
    Status {
        /// The osdplst.
        name: String,
        /// The API error.
        source: kube::Error,
    },
    /// Applying the OSDPL's `status.health_summary` failed.
    #[error("writing the health summary of OpenStackDeployment {name}: {source}")]
    Summary {
        /// The OSDPL.
        name: String,
        /// The API error.
        source: kube::Error,
    },
    /// Writing a MariaDB pod's role label failed.
    #[error("labelling MariaDB pod {pod}: {source}")]
    Label {
        /// The pod.
        pod: String,
        /// The API error.
        source: kube::Error,
    },
    /// Making a MariaDB Service select the primary failed.
    #[error("pointing Service {service} at the MariaDB primary: {source}")]
    Service {
        /// The Service.
        service: String,
        /// The API error.
        source: kube::Error,
    },
}

impl ErrorKind for Error {
    fn kind(&self) -> &'static str {
        let source = match self {
            Error::Status { source, .. }
            | Error::Summary { source, .. }
            | Error::Label { source, .. }
            | Error::Service { source, .. } => source,
        };
        kube_error_kind(source)
    }
}
