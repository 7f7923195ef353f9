//! Reconcile of one Secret in the OpenStack namespace: today, log its identity.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use rockoon_core::controller::Reconciler;

use rockoon_core::error::CoreError;

/// Label marking Secrets an OSDPL may reference with `value_from.secret_key_ref`.
pub const OSDPL_SECRET_LABEL: &str = "openstack.lcm.mirantis.com/osdpl_secret";

/// Logs each Secret it sees; never its data.
pub struct SecretObserver;

impl Reconciler<Secret> for SecretObserver {
    type Error = CoreError;

    async fn reconcile(&self, secret: Arc<Secret>) -> Result<Action, CoreError> {
        tracing::info!(
            secret = %secret.name_any(),
            type_ = secret.type_.as_deref().unwrap_or("Opaque"),
            keys = secret.data.as_ref().map_or(0, |d| d.len()),
            osdpl_secret = secret.labels().get(OSDPL_SECRET_LABEL).is_some_and(|v| v == "true"),
            "Secret seen"
        );
        Ok(Action::await_change())
    }
}
