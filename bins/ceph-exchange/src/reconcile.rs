//! Reconcile of one Secret in the Ceph shared namespace: today, log its identity.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use rockoon_runtime::controller::Reconciler;

use rockoon_runtime::error::RuntimeError;

/// Secret in which Ceph publishes the keys and endpoints OpenStack needs.
pub use rockoon_core::names::CEPH_KEYS_SECRET;

/// Logs each Secret it sees; never its data.
pub struct CephSecretObserver;

impl Reconciler<Secret> for CephSecretObserver {
    type Error = RuntimeError;

    async fn reconcile(&self, secret: Arc<Secret>) -> Result<Action, RuntimeError> {
        let name = secret.name_any();
        tracing::info!(
            secret = %name,
            ceph_keys = name == CEPH_KEYS_SECRET,
            keys = secret.data.as_ref().map_or(0, |d| d.len()),
            "Ceph shared Secret seen"
        );
        Ok(Action::await_change())
    }
}
