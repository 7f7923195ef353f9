//! Errors of the runtime itself, and the stable kinds of kube client errors.
//!
//! The [`ErrorKind`] trait is the domain crate's (`rockoon_core::error`); this module gives
//! the runtime's own errors and every binary's wrapped `kube::Error` their kinds.

pub use rockoon_core::error::ErrorKind;

/// Errors of the shared runtime itself (start-up, client, admin server).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A flag or environment variable has a value that cannot be used.
    #[error("invalid setting: {0}")]
    Settings(String),
    /// No usable Kubernetes configuration (kubeconfig or in-cluster).
    #[error("no usable Kubernetes configuration: {0}")]
    KubeConfig(String),
    /// A Kubernetes API call failed.
    #[error("Kubernetes API call failed: {0}")]
    Kube(#[from] kube::Error),
    /// The admin server could not listen on its address.
    #[error("admin server cannot listen on {addr}: {source}")]
    AdminBind {
        /// Address that was asked for.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Waiting for a CRD was interrupted.
    #[error("waiting for CRD {0} failed: {1}")]
    CrdWait(String, String),
}

impl ErrorKind for RuntimeError {
    fn kind(&self) -> &'static str {
        match self {
            RuntimeError::Settings(_) => "settings",
            RuntimeError::KubeConfig(_) => "kube_config",
            RuntimeError::Kube(e) => kube_error_kind(e),
            RuntimeError::AdminBind { .. } => "admin_bind",
            RuntimeError::CrdWait(..) => "crd_wait",
        }
    }
}

/// Stable kind of a kube client error, for binaries that wrap `kube::Error`.
pub fn kube_error_kind(error: &kube::Error) -> &'static str {
    match error {
        kube::Error::Api(status) if status.code == 404 => "kube_not_found",
        kube::Error::Api(status) if status.code == 409 => "kube_conflict",
        kube::Error::Api(status) if status.code == 422 => "kube_invalid",
        kube::Error::Api(status) if status.code == 403 => "kube_forbidden",
        kube::Error::Api(_) => "kube_api",
        _ => "kube_transport",
    }
}
