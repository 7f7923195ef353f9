//! Deleting the OpenStack-namespace pods of a dead node, so their StatefulSets and
//! Deployments make new ones elsewhere.
//!
//! Called by [`crate::reconcile`] once per outage. Each pod is deleted with grace period 0
//! and a UID precondition: a pod already deleting is skipped, and a new pod that took a
//! deleted one's name (a StatefulSet's) is never deleted in its place, so a re-run after an
//! API error or a restart deletes what is left and nothing twice.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams, Preconditions, PropagationPolicy};
use kube::{Api, ResourceExt};

use crate::metrics::NodeMetrics;

/// Pods deleted and pods found already gone or deleting.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Evicted {
    /// Deleted now.
    pub deleted: usize,
    /// Already deleting, or gone before their turn.
    pub gone: usize,
}

/// Deletes every pod of `api`'s namespace bound to `node`.
pub async fn evict(api: &Api<Pod>, node: &str, metrics: &NodeMetrics) -> kube::Result<Evicted> {
    let pods = api
        .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await?;
    let mut evicted = Evicted::default();
    for pod in pods {
        let name = pod.name_any();
        if pod.metadata.deletion_timestamp.is_some() {
            evicted.gone += 1;
            metrics.eviction("gone");
            continue;
        }
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            propagation_policy: Some(PropagationPolicy::Background),
            preconditions: Some(Preconditions {
                uid: pod.uid(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(&name, &params).await {
            Ok(_) => {
                tracing::info!(node, pod = %name, "deleted pod of dead node");
                evicted.deleted += 1;
                metrics.eviction("deleted");
            }
            // 404: gone; 409: the UID differs, a new pod took the name.
            Err(kube::Error::Api(status)) if matches!(status.code, 404 | 409) => {
                evicted.gone += 1;
                metrics.eviction("gone");
            }
            Err(error) => {
                metrics.eviction("failed");
                return Err(error);
            }
        }
    }
    Ok(evicted)
}
