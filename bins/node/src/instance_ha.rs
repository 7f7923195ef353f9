//! What a dead compute node triggers: the seam [`InstanceHa`] and Rockoon's safety checks
//! before a Masakari `COMPUTE_HOST` notification, as pure decisions.
//!
//! [`crate::reconcile`] calls [`InstanceHa::compute_host_down`] once per outage of a node
//! with the compute role, after its pods were deleted and before the outage is marked as
//! handled: an `Err` makes the whole step run again later (pod deletion is idempotent),
//! [`Handled::Recheck`] asks for the same after a delay (the host may still be alive), and
//! [`Handled::Done`] means "sent or nothing to send" and is not repeated for the same outage.
//! [`Disabled`] sends nothing; [`crate::masakari::Masakari`] gathers the facts and sends.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use rockoon_core::crd::NodeWorkloadLock;
use rockoon_core::crd::node_workload_lock::LockState;

/// How an outage's instance-HA step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Sent, or nothing to send for this outage.
    Done,
    /// Not decided yet (the host looks alive to OpenStack); ask again after `after`.
    Recheck {
        /// Delay before the next attempt.
        after: Duration,
    },
}

/// What to do for a compute node that is dead.
pub trait InstanceHa: Send + Sync + 'static {
    /// Handles the outage of `node` that began at `since` (its Ready transition time).
    fn compute_host_down(
        &self,
        node: &Node,
        since: &str,
    ) -> impl Future<Output = Result<Handled, String>> + Send;
}

/// Instance HA not available: nothing is sent.
pub struct Disabled;

impl InstanceHa for Disabled {
    async fn compute_host_down(&self, _node: &Node, _since: &str) -> Result<Handled, String> {
        Ok(Handled::Done)
    }
}

/// When instance HA is on (`--instance-ha`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// When the OpenStackDeployment of the namespace enables the `instance-ha` service.
    Auto,
    /// Always (Masakari missing from the catalog is still only skipped).
    Enabled,
    /// Never.
    Disabled,
}

/// Why no notification is sent for this outage (a metric label and an event's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// No OpenStackDeployment enables `instance-ha` (mode `auto`).
    NotEnabled,
    /// The node's NodeWorkloadLock is not `active`: a maintenance is in progress.
    Maintenance,
    /// The node is cordoned (`spec.unschedulable`).
    Cordoned,
    /// Masakari is not in the Keystone catalog.
    NoMasakari,
    /// No Masakari failover segment has a host of the node's name.
    NotInSegment,
    /// A notification for this host since the outage began exists already.
    AlreadySent,
    /// Masakari refused it as a duplicate or the host as in maintenance (409).
    Conflict,
    /// Nova has no server on the host: nothing to evacuate.
    NoServers,
}

impl Skip {
    /// The metric label.
    pub fn reason(self) -> &'static str {
        match self {
            Skip::NotEnabled => "not_enabled",
            Skip::Maintenance => "maintenance",
            Skip::Cordoned => "cordoned",
            Skip::NoMasakari => "no_masakari",
            Skip::NotInSegment => "not_in_segment",
            Skip::AlreadySent => "already_sent",
            Skip::Conflict => "conflict",
            Skip::NoServers => "no_servers",
        }
    }

    /// The words of the event.
    pub fn describe(self) -> &'static str {
        match self {
            Skip::NotEnabled => "the OpenStackDeployment does not enable instance-ha",
            Skip::Maintenance => "its NodeWorkloadLock is not active (maintenance in progress)",
            Skip::Cordoned => "the node is cordoned",
            Skip::NoMasakari => "Masakari is not in the Keystone catalog",
            Skip::NotInSegment => "the host is in no Masakari failover segment",
            Skip::AlreadySent => "a notification for this outage was sent already",
            Skip::Conflict => "Masakari refused it (duplicate, or the host is in maintenance)",
            Skip::NoServers => "Nova has no server on the host",
        }
    }
}

/// Why the decision waits: OpenStack or the network still sees the host alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alive {
    /// A `nova-compute` service on the host is `up`.
    ComputeUp,
    /// A Neutron agent on the host is alive.
    AgentsAlive,
    /// The host accepts TCP connections on the probe port.
    Reachable,
}

impl Alive {
    /// The metric label.
    pub fn reason(self) -> &'static str {
        match self {
            Alive::ComputeUp => "compute_up",
            Alive::AgentsAlive => "agents_alive",
            Alive::Reachable => "reachable",
        }
    }
}

/// The checks on the Kubernetes side, before any OpenStack call: the node must not be in
/// maintenance (its lock `active`; no lock at all counts as not active) nor cordoned.
pub fn kubernetes_checks(node: &Node, lock: Option<&NodeWorkloadLock>) -> Result<(), Skip> {
    let active = lock
        .and_then(|l| l.status.as_ref())
        .is_some_and(|s| s.state == LockState::Active);
    if !active {
        return Err(Skip::Maintenance);
    }
    if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
        return Err(Skip::Cordoned);
    }
    Ok(())
}

/// The Masakari side: Masakari present (`hosts` is `None` otherwise), the host in a segment,
/// no notification for this outage yet (`sent`).
pub fn masakari_checks(hosts: Option<&[String]>, sent: usize) -> Result<(), Skip> {
    match hosts {
        None => Err(Skip::NoMasakari),
        Some([]) => Err(Skip::NotInSegment),
        Some(_) if sent > 0 => Err(Skip::AlreadySent),
        Some(_) => Ok(()),
    }
}

/// What Nova and Neutron say: something to evacuate, and every service of the host down.
pub fn openstack_checks(
    servers: usize,
    compute_up: usize,
    agents_alive: usize,
) -> Result<Option<Alive>, Skip> {
    if servers == 0 {
        return Err(Skip::NoServers);
    }
    if compute_up > 0 {
        return Ok(Some(Alive::ComputeUp));
    }
    if agents_alive > 0 {
        return Ok(Some(Alive::AgentsAlive));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::NodeSpec;

    fn lock(state: &str) -> NodeWorkloadLock {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "lcm.mirantis.com/v1alpha1", "kind": "NodeWorkloadLock",
            "metadata": {"name": "openstack-cmp"},
            "spec": {"controllerName": "openstack", "nodeName": "cmp"},
            "status": {"state": state},
        }))
        .unwrap()
    }

    #[test]
    fn a_node_in_maintenance_or_cordoned_is_skipped_before_any_openstack_call() {
        let node = Node::default();
        assert_eq!(kubernetes_checks(&node, Some(&lock("active"))), Ok(()));
        assert_eq!(
            kubernetes_checks(&node, Some(&lock("inactive"))),
            Err(Skip::Maintenance)
        );
        assert_eq!(kubernetes_checks(&node, None), Err(Skip::Maintenance));
        let cordoned = Node {
            spec: Some(NodeSpec {
                unschedulable: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            kubernetes_checks(&cordoned, Some(&lock("active"))),
            Err(Skip::Cordoned)
        );
    }

    #[test]
    fn no_masakari_no_segment_or_an_earlier_notification_means_nothing_to_send() {
        let hosts = vec!["uuid-1".to_owned()];
        assert_eq!(masakari_checks(None, 0), Err(Skip::NoMasakari));
        assert_eq!(masakari_checks(Some(&[]), 0), Err(Skip::NotInSegment));
        assert_eq!(masakari_checks(Some(&hosts), 1), Err(Skip::AlreadySent));
        assert_eq!(masakari_checks(Some(&hosts), 0), Ok(()));
    }

    #[test]
    fn a_host_without_servers_is_skipped_and_one_openstack_sees_alive_is_rechecked() {
        assert_eq!(openstack_checks(0, 1, 1), Err(Skip::NoServers));
        assert_eq!(openstack_checks(3, 1, 0), Ok(Some(Alive::ComputeUp)));
        assert_eq!(openstack_checks(3, 0, 2), Ok(Some(Alive::AgentsAlive)));
        assert_eq!(openstack_checks(3, 0, 0), Ok(None));
    }
}
