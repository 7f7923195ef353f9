//! `status.upgrade` of the OpenStackDeploymentStatus, written by osdpl: the release and spec
//! of the last complete apply (what an OpenStack upgrade is checked against) and, during an
//! upgrade, its plan and where it stands, step by step.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::osdpl::Extra;

/// `status.upgrade`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct UpgradeStatus {
    /// The last apply that left every service APPLIED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<AppliedRelease>,
    /// RUNNING, STALLED, REFUSED, HELD (waits for the deployment to be APPLIED, which is
    /// applied at the old release meanwhile) or DONE (the last upgrade).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Release upgraded from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Release upgraded to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The step running or stopped (a service name, `infra` or `final-apply`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    /// Why the upgrade is stopped or refused, and what to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// The plan, in execution order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<UpgradeStep>>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status.upgrade.applied`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct AppliedRelease {
    /// OpenStack release of that apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openstack_version: Option<String>,
    /// Hash of that apply's spec without `openstack_version`: a version change must leave the
    /// rest of the spec as it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_hash: Option<String>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status.upgrade.steps[]`: one service (or the infra releases, or the final apply).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct UpgradeStep {
    /// Service name, `infra` or `final-apply`.
    pub name: String,
    /// WAITING, UPGRADING or APPLIED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// When the step started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// When the step's workloads were found healthy before its upgrade (RFC 3339): the step
    /// applies nothing before that.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked: Option<String>,
    /// When helm had applied the step's releases (RFC 3339); the health wait starts here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm_done: Option<String>,
    /// When the step finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// Seconds spent in helm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm_seconds: Option<f64>,
    /// Seconds spent waiting for the service's workloads to be Ready, set when the step
    /// finishes (while it waits, `helm_done` says since when).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<f64>,
    /// The Jobs the step ran (the charts' db-init, db-sync, ks-*, bootstrap, … Jobs of the
    /// step's applications that completed after it started), in the order they completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<Vec<String>>,
    /// Jobs deleted before the step's helm upgrade: finished Jobs that are not helm hooks
    /// (helm re-creates hooks itself), so they run again with the new images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purged: Option<Vec<String>>,
    /// What blocks the step: the workload or Job and its failing condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocker: Option<String>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}
