//! Schema helpers shared by the CRD types.

use schemars::{Schema, SchemaGenerator, json_schema};

/// Schema of an object whose keys and values are arbitrary JSON.
pub fn free_form_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
}
