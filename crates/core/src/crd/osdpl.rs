//! `OpenStackDeployment` (`osdpl`): the one resource users write.
//!
//! The spec keeps Rockoon's snake_case keys. Fields the suite reads are typed; every other key
//! is kept in an `extra` map on the struct where it appears, so an object written for Rockoon
//! deserialises and serialises back unchanged (see the round-trip tests in `tests/`). Checks the
//! API server can do itself (required keys, enums, simple CEL rules) live in the schema, so a bad
//! spec is refused at `kubectl apply` time with a message naming the field.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::schema::free_form_object;

pub use super::features::*;
pub use super::osdpl_state::*;

/// Keys a spec may carry that this version of the suite does not read; kept as they are.
pub type Extra = BTreeMap<String, Value>;

/// Desired state of one OpenStack cloud. Written by the user; never changed by the suite.
// clippy reads the repeated `type_ = "string"` of separate printcolumn(...) entries as one
// duplicated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "lcm.mirantis.com",
    version = "v1alpha1",
    kind = "OpenStackDeployment",
    plural = "openstackdeployments",
    singular = "openstackdeployment",
    shortname = "osdpl",
    category = "all",
    namespaced,
    status = "OsdplStatus",
    doc = "An OpenStack cloud on Kubernetes: the suite turns it into Helm releases of the OpenStack-Helm charts.",
    printcolumn(
        name = "OpenStack",
        type_ = "string",
        json_path = ".spec.openstack_version"
    ),
    printcolumn(name = "Draft", type_ = "boolean", json_path = ".spec.draft"),
    printcolumn(name = "State", type_ = "string", json_path = ".status.state"),
    printcolumn(
        name = "Health",
        type_ = "string",
        json_path = ".status.health_summary"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = crate::services::rockoon::version_rule_cel())]
pub struct OpenStackDeploymentSpec {
    /// OpenStack release to run. A change is an upgrade: one release forward or a SLURP jump.
    #[x_kube(validation = super::upgrade_rules::transition_rule())]
    pub openstack_version: OpenStackVersion,
    /// Base set of services and defaults: `core`, `compute` or `compute-tf`.
    pub preset: Preset,
    /// Sizing profile: replicas and resources.
    pub size: Size,
    /// Public DNS suffix; public endpoints are `https://<service>.<public_domain_name>`.
    /// Upper case and a trailing dot are accepted, as Rockoon does; the render lower-cases
    /// the name and drops the dot.
    #[x_kube(validation = kube::core::Rule::new(
        "self.matches('^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\\\\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*\\\\.?$')"
    ).message("public_domain_name must be a DNS domain name, e.g. it.example.com"))]
    #[schemars(length(min = 1, max = 253))]
    pub public_domain_name: String,
    /// Kubernetes cluster domain used for internal endpoints (default `cluster.local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub internal_domain_name: Option<String>,
    /// Keystone region name (default `RegionOne`); Keystone stores at most 255 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub region_name: Option<String>,
    /// When true the suite leaves the deployment alone: nothing is applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft: Option<bool>,
    /// Base URLs of images and binaries, overriding the controller's defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Artifacts>,
    /// Storage class for clustered applications' local volumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub local_volume_storage_class: Option<String>,
    /// Storage class for persistent data such as database backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub persistent_volume_storage_class: Option<String>,
    /// The main configuration surface: enabled services and per-feature settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Features>,
    /// Values merged into every release, every chart group, or selected releases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common: Option<Common>,
    /// Raw Helm values per service and chart: `services.<service>.<chart>.values`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<BTreeMap<String, BTreeMap<String, ChartOverride>>>,
    /// Overrides per node group, keyed `<label-key>::<label-value>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::node_overrides")]
    pub nodes: Option<BTreeMap<String, NodeOverride>>,
    /// Migration switches, e.g. `migration.ingress.state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_object")]
    pub migration: Option<Value>,
    /// Readiness timeouts per health group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
    /// Keys this version does not read; preserved as written.
    #[serde(flatten)]
    pub extra: Extra,
}

/// OpenStack releases an OSDPL may name (Rockoon's list).
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord,
)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum OpenStackVersion {
    Queens,
    Rocky,
    Stein,
    Train,
    Ussuri,
    Victoria,
    Wallaby,
    Xena,
    Yoga,
    Zed,
    Antelope,
    Bobcat,
    Caracal,
    Dalmatian,
    Epoxy,
    Flamingo,
    Gazpacho,
    Master,
}

impl OpenStackVersion {
    /// Every release, in order.
    pub const ALL: [OpenStackVersion; 18] = [
        Self::Queens,
        Self::Rocky,
        Self::Stein,
        Self::Train,
        Self::Ussuri,
        Self::Victoria,
        Self::Wallaby,
        Self::Xena,
        Self::Yoga,
        Self::Zed,
        Self::Antelope,
        Self::Bobcat,
        Self::Caracal,
        Self::Dalmatian,
        Self::Epoxy,
        Self::Flamingo,
        Self::Gazpacho,
        Self::Master,
    ];

    /// The name as written in the spec.
    pub fn as_str(self) -> &'static str {
        VERSION_NAMES[self as usize]
    }
}

const VERSION_NAMES: [&str; 18] = [
    "queens",
    "rocky",
    "stein",
    "train",
    "ussuri",
    "victoria",
    "wallaby",
    "xena",
    "yoga",
    "zed",
    "antelope",
    "bobcat",
    "caracal",
    "dalmatian",
    "epoxy",
    "flamingo",
    "gazpacho",
    "master",
];

/// Base template of a deployment.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum Preset {
    Core,
    Compute,
    ComputeTf,
}

/// Sizing profile of a deployment.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Size {
    Single,
    Tiny,
    Small,
    Medium,
}

/// `spec.artifacts`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct Artifacts {
    /// Registry prefix that replaces the images' default base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images_base_url: Option<String>,
    /// Base URL of binary artifacts (Helm charts, images for VMs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_base_url: Option<String>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `spec.common`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct Common {
    /// Settings for every release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charts: Option<ChartGroup>,
    /// Settings for the `openstack` chart group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openstack: Option<ChartGroup>,
    /// Settings for the `infra` chart group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infra: Option<ChartGroup>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One entry of `spec.common`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct ChartGroup {
    /// Release settings (e.g. `version`), merged into each release entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_object")]
    pub releases: Option<Value>,
    /// Helm values merged into each release of the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_object")]
    pub values: Option<Value>,
    /// Other keys (`repositories`, `repo`, ...), preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `spec.services.<service>.<chart>`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct ChartOverride {
    /// Helm values for that chart, merged last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_object")]
    pub values: Option<Value>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `spec.nodes["<label-key>::<label-value>"]`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct NodeOverride {
    /// Feature settings for nodes of that group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_object")]
    pub features: Option<Value>,
    /// Per-DaemonSet values: `services.<service>.<chart>.<daemonset>.values`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_object")]
    pub services: Option<Value>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `spec.timeouts`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct Timeouts {
    /// Readiness wait per health group (`nova`, `neutron`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_readiness: Option<BTreeMap<String, ReadinessTimeout>>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `spec.timeouts.application_readiness.<group>`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct ReadinessTimeout {
    /// Seconds to wait for the group to become ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub timeout: Option<i64>,
    /// Seconds between readiness checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub delay: Option<i64>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_match_their_serialised_form() {
        for (name, listed) in VERSION_NAMES.iter().zip(OpenStackVersion::ALL) {
            let version: OpenStackVersion = serde_json::from_value(Value::from(*name)).unwrap();
            assert_eq!(version.as_str(), *name);
            assert_eq!(version, listed);
        }
    }
}
