//! Errors of `node`'s two reconcilers, with stable kinds for logs and metrics.

use rockoon_core::error::ErrorKind;
use rockoon_runtime::error::kube_error_kind;

/// Why a reconcile failed. Every variant is worth a retry: the API refused or was away, and
/// each step is idempotent, so the next run finishes what this one left.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing a Node's internal labels or eviction mark failed.
    #[error("writing labels of Node {node}: {source}")]
    Labels {
        /// The Node.
        node: String,
        /// The API error.
        source: kube::Error,
    },
    /// Removing Rockoon's old finalizers from a Node failed.
    #[error("removing Rockoon's finalizers from Node {node}: {source}")]
    Finalizers {
        /// The Node.
        node: String,
        /// The API error.
        source: kube::Error,
    },
    /// Creating, updating or deleting a NodeWorkloadLock failed.
    #[error("writing NodeWorkloadLock {lock}: {source}")]
    Lock {
        /// The lock.
        lock: String,
        /// The API error.
        source: kube::Error,
    },
    /// Listing or deleting the pods of a dead node failed.
    #[error("deleting the pods of dead Node {node}: {source}")]
    Evict {
        /// The Node.
        node: String,
        /// The API error.
        source: kube::Error,
    },
    /// Checking whether a lock's Node still exists failed.
    #[error("reading Node {node}: {source}")]
    ReadNode {
        /// The Node.
        node: String,
        /// The API error.
        source: kube::Error,
    },
    /// The instance-HA step for a dead compute node failed.
    #[error("instance HA for Node {node}: {message}")]
    InstanceHa {
        /// The Node.
        node: String,
        /// What went wrong.
        message: String,
    },
}

impl ErrorKind for Error {
    fn kind(&self) -> &'static str {
        match self {
            Error::Labels { source, .. }
            | Error::Finalizers { source, .. }
            | Error::Lock { source, .. }
            | Error::Evict { source, .. }
            | Error::ReadNode { source, .. } => kube_error_kind(source),
            Error::InstanceHa { .. } => "instance_ha",
        }
    }
}
