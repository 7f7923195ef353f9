//! `spec.features` of the OpenStackDeployment: the switches users flip most (services, TLS,
//! Neutron and Nova options, messaging). Same rules as the rest of the spec: typed where read,
//! every other key kept in `extra`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::osdpl::Extra;
use super::schema::free_form_object;

/// `spec.features`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct Features {
    /// Services to enable on top of the preset's list; `~name` removes one the preset enables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::service_list")]
    pub services: Option<Vec<String>>,
    /// TLS of the public endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssl: Option<Ssl>,
    /// Networking backend and its settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neutron: Option<Neutron>,
    /// Compute settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nova: Option<Nova>,
    /// Messaging: dedicated RabbitMQ instances and notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging: Option<Messaging>,
    /// Whether NetworkPolicies are rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_policies: Option<Toggle>,
    /// Other feature sections (glance, cinder, database, keystone, ...), preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `features.ssl`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct Ssl {
    /// CA, certificate and key of the public endpoints; each may be a `value_from.secret_key_ref`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_object")]
    pub public_endpoints: Option<Value>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `features.neutron`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct Neutron {
    /// ML2 plugin: Open vSwitch agents, OVN, or Tungsten Fabric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<NeutronBackend>,
    /// Interface carrying tenant tunnels on compute and gateway nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 15))]
    pub tunnel_interface: Option<String>,
    /// Distributed virtual routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dvr: Option<Toggle>,
    /// Other keys (external_networks, floating_network, extensions, ...), preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `features.neutron.backend`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum NeutronBackend {
    #[serde(rename = "ml2")]
    Ml2,
    #[serde(rename = "ml2/ovn")]
    Ml2Ovn,
    #[serde(rename = "tungstenfabric")]
    TungstenFabric,
}

/// `features.nova`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct Nova {
    /// Interface used for live migration traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 15))]
    pub live_migration_interface: Option<String>,
    /// Ephemeral disk settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<NovaImages>,
    /// Other keys (allocation_ratios, libvirt, console, ...), preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `features.nova.images`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct NovaImages {
    /// Storage backend of instance disks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<NovaImagesBackend>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `features.nova.images.backend`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum NovaImagesBackend {
    Local,
    Qcow2,
    Ceph,
    Lvm,
    Raw,
}

/// `features.messaging`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct Messaging {
    /// Services that get a RabbitMQ instance of their own instead of the shared one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components_with_dedicated_messaging: Option<Vec<String>>,
    /// Notification settings (`notifications.external.{enabled,topics}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_object")]
    pub notifications: Option<Value>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A section whose main switch is `enabled`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct Toggle {
    /// Whether the feature is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}
