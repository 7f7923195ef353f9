//! `OpenStackDeploymentStatus` (`osdplst`): progress and health of one OSDPL, for humans.
//!
//! `osdpl` creates it with the OSDPL's name and an owner reference to it, and writes
//! `status.osdpl` and `status.services`; `health` writes `status.health` and
//! `status.osdpl.health`. Both use server-side apply with their own field manager, so neither
//! clobbers the other's fields.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::osdpl::Extra;

/// The spec is always empty: everything lives in status.
// clippy reads the repeated `type_ = "string"` of separate printcolumn(...) entries as one
// duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "lcm.mirantis.com",
    version = "v1alpha1",
    kind = "OpenStackDeploymentStatus",
    plural = "openstackdeploymentstatus",
    singular = "openstackdeploymentstatus",
    shortname = "osdplst",
    category = "all",
    namespaced,
    status = "OsdplstStatus",
    doc = "Progress and health of the OpenStackDeployment of the same name.",
    printcolumn(
        name = "OpenStack Version",
        type_ = "string",
        json_path = ".status.osdpl.openstack_version"
    ),
    printcolumn(
        name = "Controller Version",
        type_ = "string",
        json_path = ".status.osdpl.controller_version"
    ),
    printcolumn(name = "State", type_ = "string", json_path = ".status.osdpl.state"),
    printcolumn(
        name = "LCM Progress",
        type_ = "string",
        json_path = ".status.osdpl.lcm_progress"
    ),
    printcolumn(name = "Health", type_ = "string", json_path = ".status.osdpl.health"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
pub struct OsdplstSpec {
    /// Keys written by older controllers, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Everything `kubectl get osdplst` shows.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct OsdplstStatus {
    /// Summary of the whole deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub osdpl: Option<DeploymentSummary>,
    /// Per-service lifecycle state, keyed by service name (osdpl).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<BTreeMap<String, ServiceState>>,
    /// Workload health, `health.<application>.<component>` (health).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<BTreeMap<String, BTreeMap<String, WorkloadHealth>>>,
    /// Credential rotation timestamps (secrets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::free_form_object")]
    pub credentials: Option<serde_json::Value>,
    /// The last complete apply and an OpenStack upgrade's progress (osdpl).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<super::upgrade_status::UpgradeStatus>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status.osdpl`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct DeploymentSummary {
    /// APPLYING, APPLIED, FAILED or WAITING.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// OpenStack release being applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openstack_version: Option<String>,
    /// Version of the controller suite that wrote this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_version: Option<String>,
    /// Host (pod) name of the writer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_host: Option<String>,
    /// Hash of the merged spec being applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Applied services out of all enabled, `X/Y`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lcm_progress: Option<String>,
    /// Ready workloads out of all, `X/Y` (health).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    /// Why the last change happened, or the error that stopped it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// When this summary was written (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Cluster release label (`OSCTL_CLUSTER_RELEASE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status.services.<service>`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct ServiceState {
    /// WAITING, APPLYING, APPLIED, FAILED or DELETING.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Why the service is in that state (what it waits for, the Helm error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Hash of the merged spec this state belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// OpenStack release of this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openstack_version: Option<String>,
    /// Version of the controller suite that wrote this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_version: Option<String>,
    /// When this state was written (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status.health.<application>.<component>`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct WorkloadHealth {
    /// Ready, Progressing or Unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The workload's observed generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}
