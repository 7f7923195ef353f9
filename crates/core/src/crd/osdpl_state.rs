//! `status` of the OpenStackDeployment. Each field has one writer (docs/architecture.md, "Field
//! ownership"); the conditions are a list-map keyed by `type`, so each writer owns its own.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::osdpl::Extra;
use super::schema::free_form_object;

/// Status of an `OpenStackDeployment`. Each field has one writer (see docs/architecture.md).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct OsdplStatus {
    /// Controller version that last handled the spec (osdpl).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Hash of the merged spec last handled (osdpl).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// `metadata.generation` last handled (osdpl).
    #[serde(
        rename = "observedGeneration",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub observed_generation: Option<i64>,
    /// Standard conditions: Ready, Progressing, Degraded (osdpl).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Option<Vec<Condition>>,
    /// Overall state shown in the STATE column: APPLYING, APPLIED, FAILED (osdpl).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Ready workloads out of all, `X/Y`, shown in the HEALTH column (health).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_summary: Option<String>,
    /// Hashes of external objects whose change re-renders the deployment (secrets, ceph-exchange).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_object")]
    pub watched: Option<Value>,
    /// Rotation triggers written by the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<CredentialRotations>,
    /// Certificate rotation triggers written by the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_object")]
    pub certificates: Option<Value>,
    /// Other keys (Rockoon's legacy fields), preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status.credentials`.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct CredentialRotations {
    /// Admin credentials (database root, RabbitMQ admin, Keystone admin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<Rotation>,
    /// Service credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<Rotation>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One rotation trigger.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Default)]
pub struct Rotation {
    /// Raise by one to rotate; starts at 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub rotation_id: Option<i64>,
    /// Other keys, preserved.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Conditions as a list-map keyed by `type`, so each writer can own its own condition.
pub(crate) fn conditions_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut schema = g.subschema_for::<Vec<Condition>>();
    schema.insert("x-kubernetes-list-type".into(), "map".into());
    schema.insert(
        "x-kubernetes-list-map-keys".into(),
        serde_json::json!(["type"]),
    );
    schema
}
