//! Stable error kinds and the retry policy after failed reconciles.
//!
//! Each binary has its own error enum; they all implement [`ErrorKind`], whose `kind()` is a
//! stable snake_case label used in logs, the `error` label of metrics and event reasons, never
//! a `Debug` string. [`Backoff`] spaces retries of one object exponentially, up to a cap, and
//! forgets an object as soon as it reconciles successfully.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// An error with a stable, low-cardinality label.
pub trait ErrorKind {
    /// Stable snake_case label of this error's kind.
    fn kind(&self) -> &'static str;

    /// Whether retrying can help; errors that need a change of the object (an invalid spec)
    /// wait for that change instead of being retried.
    fn is_transient(&self) -> bool {
        true
    }
}

/// Errors of the shared runtime itself (start-up, client, admin server).
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
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

impl ErrorKind for CoreError {
    fn kind(&self) -> &'static str {
        match self {
            CoreError::Settings(_) => "settings",
            CoreError::KubeConfig(_) => "kube_config",
            CoreError::Kube(e) => kube_error_kind(e),
            CoreError::AdminBind { .. } => "admin_bind",
            CoreError::CrdWait(..) => "crd_wait",
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

/// Per-object capped exponential backoff.
#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    /// A policy whose first delay is `base`, doubling up to `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max: max.max(base),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Records one more failure of `key` and returns how long to wait before retrying it.
    pub fn next_delay(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let count = failures.entry(key.to_owned()).or_insert(0);
        let exponent = (*count).min(31);
        *count = count.saturating_add(1);
        self.base.saturating_mul(1u32 << exponent).min(self.max)
    }

    /// Forgets the failures of `key` after it reconciled successfully.
    pub fn reset(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// Number of objects currently backing off.
    pub fn len(&self) -> usize {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Whether no object is backing off.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_per_failure_up_to_the_cap() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
        let delays: Vec<u64> = (0..6).map(|_| backoff.next_delay("a").as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn backoff_is_kept_per_object_and_reset_on_success() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        backoff.next_delay("a");
        backoff.next_delay("a");
        assert_eq!(backoff.next_delay("b"), Duration::from_secs(1));
        backoff.reset("a");
        assert_eq!(backoff.next_delay("a"), Duration::from_secs(1));
    }

    #[test]
    fn backoff_survives_very_many_failures() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(300));
        for _ in 0..100 {
            assert!(backoff.next_delay("a") <= Duration::from_secs(300));
        }
    }
}
