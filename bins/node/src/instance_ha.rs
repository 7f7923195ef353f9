//! The seam where a dead compute node would trigger instance HA (Masakari's `COMPUTE_HOST`
//! notification with Rockoon's safety checks, issue 15 item 4).
//!
//! [`crate::reconcile`] calls [`InstanceHa::compute_host_down`] once per outage of a node
//! with the compute role, after its pods were deleted and before the outage is marked as
//! handled: an `Err` makes the whole step run again later (pod deletion is idempotent), an
//! `Ok` means "done or nothing to do" and is not repeated for the same outage. Today only
//! [`Disabled`] exists; the Masakari client is to implement this trait.

use std::future::Future;

use k8s_openapi::api::core::v1::Node;

/// What to do for a compute node that is dead.
pub trait InstanceHa: Send + Sync + 'static {
    /// Handles the outage of `node` that began at `since` (its Ready transition time).
    fn compute_host_down(
        &self,
        node: &Node,
        since: &str,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// Instance HA not available: nothing is sent.
pub struct Disabled;

impl InstanceHa for Disabled {
    async fn compute_host_down(&self, _node: &Node, _since: &str) -> Result<(), String> {
        Ok(())
    }
}
