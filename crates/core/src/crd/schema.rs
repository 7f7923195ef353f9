//! Schema helpers shared by the CRD types.

use schemars::{Schema, SchemaGenerator, json_schema};

/// Schema of an object whose keys and values are arbitrary JSON.
pub fn free_form_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
}

/// `features.services`: a bounded list of known service names (or `~name` removals).
pub fn service_list(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "nullable": true,
        "maxItems": 64,
        "items": {
            "type": "string",
            "maxLength": 64,
            "x-kubernetes-validations": [crate::services::service_entry_rule()],
        },
    })
}

/// `spec.nodes`: overrides keyed `<label-key>::<label-value>`, bounded so the key rule is cheap.
pub fn node_overrides(generator: &mut SchemaGenerator) -> Schema {
    let mut schema =
        generator.subschema_for::<std::collections::BTreeMap<String, super::osdpl::NodeOverride>>();
    schema.insert("nullable".into(), true.into());
    schema.insert("maxProperties".into(), 256.into());
    schema.insert(
        "x-kubernetes-validations".into(),
        serde_json::json!([{
            "rule": "self.all(k, k.contains('::'))",
            "message": "nodes keys must have the form <label-key>::<label-value>",
        }]),
    );
    schema
}
