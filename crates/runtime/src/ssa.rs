//! The one way the suite writes objects it owns fields of: server-side apply under the
//! binary's field manager, forced.
//!
//! Forced, because each field has exactly one owner in the suite (docs/architecture.md, "Field
//! ownership"): a conflict can only come from a person or an older controller, and the
//! controller's intent wins, as the Kubernetes guidance for controllers says. Bodies carry the
//! whole intent of that manager: a field left out is a field given up.

use std::fmt::Debug;

use kube::api::{Patch, PatchParams};
use kube::{Api, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Apply parameters of `manager`, forced.
pub fn params(manager: &str) -> PatchParams {
    PatchParams::apply(manager).force()
}

/// The apply body of object `name` of kind `K` with `fields` (top-level keys besides
/// `apiVersion`, `kind` and `metadata.name`, e.g. `status` or `data`).
pub fn body<K: Resource<DynamicType = ()>>(name: &str, fields: Value) -> Value {
    let mut body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "metadata": {"name": name},
    });
    if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), fields) {
        for (key, value) in fields {
            match (key.as_str(), value) {
                // Extra metadata (labels, owner references) joins the name.
                ("metadata", Value::Object(meta)) => {
                    if let Some(Value::Object(target)) = body.get_mut("metadata") {
                        target.extend(meta);
                    }
                }
                (_, value) => {
                    body.insert(key, value);
                }
            }
        }
    }
    body
}

/// Applies `fields` to object `name` (see [`body`]).
pub async fn apply<K>(api: &Api<K>, manager: &str, name: &str, fields: Value) -> kube::Result<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
{
    let body = body::<K>(name, fields);
    api.patch(name, &params(manager), &Patch::Apply(&body))
        .await
}

/// Applies `status` to the status subresource of object `name`.
pub async fn apply_status<K, S>(
    api: &Api<K>,
    manager: &str,
    name: &str,
    status: &S,
) -> kube::Result<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug,
    S: Serialize,
{
    let body = body::<K>(name, json!({ "status": status }));
    api.patch_status(name, &params(manager), &Patch::Apply(&body))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Secret;

    #[test]
    fn an_apply_body_names_the_kind_and_object_and_keeps_extra_metadata() {
        let body = body::<Secret>(
            "clouds",
            json!({"metadata": {"labels": {"a": "b"}}, "data": {"k": "dg=="}}),
        );
        assert_eq!(
            body,
            json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "clouds", "labels": {"a": "b"}},
                "data": {"k": "dg=="},
            })
        );
    }

    #[test]
    fn apply_parameters_are_forced_under_the_manager() {
        let params = params("rockoon-test");
        assert!(params.force);
        assert_eq!(params.field_manager.as_deref(), Some("rockoon-test"));
    }
}
