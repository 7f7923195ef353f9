//! Reconcile of one Secret in the Ceph shared namespace: today, log its identity.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use rockoon_core::controller::Reconciler;

use rockoon_core::error::CoreError;

/// Secret in which Ceph publishes the keys and endpoints OpenStack needs.
pub const CEPH_KEYS_SECRET: &str = "openstack-ceph-keys";

/// Logs each Secret it sees; never its data.
pub struct CephSecretObserver;

impl Reconciler<Secret> for CephSecretObserver {
    type Error = CoreError;

    async fn reconcile(&self, secret: Arc<Secret>) -> Result<Action, CoreError> {
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
