//! Errors of the `secrets` container, one variant per step, each with a stable kind.
//!
//! No variant carries a secret value: Kubernetes errors name objects, the others name the
//! Secret they concern.

use rockoon_core::error::ErrorKind;
use rockoon_runtime::error::kube_error_kind;

/// Why a reconcile of an OpenStackDeployment's credentials and secret data failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("Kubernetes API call failed: {0}")]
    Kube(#[from] kube::Error),
    /// The OS random generator failed; nothing was written.
    #[error("the OS random generator failed: {0}")]
    Random(String),
    /// Another writer kept changing a credential Secret while this one tried to add to it.
    #[error("Secret {0} kept changing while credentials were added; retrying")]
    Contended(String),
    /// The clouds.yaml document could not be encoded.
    #[error("cannot encode clouds.yaml: {0}")]
    Encode(String),
}

// getrandom's error implements `std::error::Error` only with its `std` feature; its message
// is all that is needed.
impl From<getrandom::Error> for Error {
    fn from(error: getrandom::Error) -> Self {
        Error::Random(error.to_string())
    }
}

impl ErrorKind for Error {
    fn kind(&self) -> &'static str {
        match self {
            Error::Kube(e) => kube_error_kind(e),
            Error::Random(_) => "random",
            Error::Contended(_) => "contended",
            Error::Encode(_) => "encode",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_stable_labels() {
        assert_eq!(Error::Contended("s".into()).kind(), "contended");
        assert_eq!(Error::Encode("e".into()).kind(), "encode");
    }
}
