//! `value_from.secret_key_ref` references in the spec, replaced by the referenced values.
//!
//! Any object of the form `{value_from: {secret_key_ref: {name, key}}}` anywhere in the spec is
//! replaced by that key's value of that Secret (from the render context); a substituted value
//! is not searched again. A missing Secret or key leaves the reference in place and is
//! reported with its path; the services the reference belongs to ([`affects`]) wait for it,
//! the others render.

use serde_json::Value;

use super::{RenderContext, RenderError};
use crate::names::OSDPL_SECRET_SELECTOR;

/// One `{value_from: {secret_key_ref: {name, key}}}` of the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Dotted path of the reference in the OSDPL (`spec.features.ssl...`).
    pub path: String,
    /// Secret name.
    pub name: String,
    /// Data key.
    pub key: String,
}

/// Every reference in `spec` (the OSDPL's `.spec`), in document order.
pub fn references(spec: &Value) -> Vec<Reference> {
    let mut found = Vec::new();
    find(spec, &mut "spec".to_owned(), &mut found);
    found
}

fn find(value: &Value, path: &mut String, found: &mut Vec<Reference>) {
    if let Some((name, key)) = reference(value) {
        found.push(Reference {
            path: path.clone(),
            name,
            key,
        });
        return;
    }
    let len = path.len();
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                path.push('.');
                path.push_str(key);
                find(child, path, found);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                path.push_str(&format!("[{index}]"));
                find(child, path, found);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// The spec with every resolvable reference replaced, and the references that are not.
pub fn substitute(spec: &Value, context: &RenderContext) -> (Value, Vec<RenderError>) {
    let mut out = spec.clone();
    let mut missing = Vec::new();
    walk(&mut out, context, &mut "spec".to_owned(), &mut missing);
    (out, missing)
}

/// Whether a reference at `path` feeds `service`: `spec.services.<service>…` and the feature
/// sections of one service belong to it; anything else (ssl, common, nodes…) to every service.
pub fn affects(path: &str, service: &str) -> bool {
    if let Some(rest) = path.strip_prefix("spec.services.") {
        return rest.split('.').next() == Some(service);
    }
    if let Some(rest) = path.strip_prefix("spec.features.") {
        let feature = rest.split(['.', '[']).next().unwrap_or_default();
        return crate::services::feature_owner(feature).is_none_or(|owner| owner.name == service);
    }
    true
}

fn walk(
    value: &mut Value,
    context: &RenderContext,
    path: &mut String,
    missing: &mut Vec<RenderError>,
) {
    if let Some((name, key)) = reference(value) {
        let namespace = value
            .pointer("/value_from/secret_key_ref/namespace")
            .and_then(Value::as_str);
        if let Some(namespace) = namespace.filter(|n| *n != context.namespace) {
            missing.push(RenderError::SecretRef {
                path: path.clone(),
                problem: format!(
                    "namespace {namespace:?}: only Secrets of the OpenStackDeployment's own \
                     namespace ({:?}) are read",
                    context.namespace
                ),
            });
            return;
        }
        if context.dry_run_secrets && !context.secrets.contains_key(&name) {
            *value = Value::String(format!("dry-run-secret:{name}/{key}"));
            return;
        }
        match context.secrets.get(&name).map(|secret| secret.get(&key)) {
            Some(Some(data)) => *value = Value::String(data.clone()),
            Some(None) => missing.push(RenderError::SecretRef {
                path: path.clone(),
                problem: format!("Secret {name:?} has no key {key:?}"),
            }),
            None => missing.push(RenderError::SecretRef {
                path: path.clone(),
                problem: format!(
                    "no Secret {name:?} labelled {OSDPL_SECRET_SELECTOR} (create it, or add the \
                     label if it exists)"
                ),
            }),
        }
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                let len = path.len();
                path.push('.');
                path.push_str(key);
                walk(child, context, path, missing);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                walk(child, context, path, missing);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// `(name, key)` when `value` is a reference: an object whose only key is `value_from`,
/// holding `secret_key_ref.{name,key}` strings.
pub fn reference(value: &Value) -> Option<(String, String)> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    let secret_ref = map.get("value_from")?.get("secret_key_ref")?;
    Some((
        secret_ref.get("name")?.as_str()?.to_owned(),
        secret_ref.get("key")?.as_str()?.to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn context() -> RenderContext {
        let secret = BTreeMap::from([("api_key".to_owned(), "KEY".to_owned())]);
        RenderContext {
            secrets: BTreeMap::from([("ssl".to_owned(), secret)]),
            ..Default::default()
        }
    }

    fn reference(name: &str, key: &str) -> Value {
        json!({"value_from": {"secret_key_ref": {"name": name, "key": key}}})
    }

    #[test]
    fn references_are_replaced_by_the_secret_value_at_any_depth() {
        let spec = json!({"features": {"ssl": {"public_endpoints": {"api_key": reference("ssl", "api_key")}}},
                          "list": [reference("ssl", "api_key")]});
        let (out, missing) = substitute(&spec, &context());
        assert!(missing.is_empty());
        assert_eq!(out["features"]["ssl"]["public_endpoints"]["api_key"], "KEY");
        assert_eq!(out["list"][0], "KEY");
    }

    #[test]
    fn a_reference_to_another_namespace_is_reported_not_read() {
        let mut elsewhere = reference("ssl", "api_key");
        elsewhere["value_from"]["secret_key_ref"]["namespace"] = json!("kube-system");
        let mut context = context();
        context.namespace = "openstack".into();
        let (out, missing) = substitute(&json!({"x": elsewhere}), &context);
        assert_ne!(out["x"], "KEY");
        let message = missing[0].to_string();
        assert!(message.starts_with("spec.x: "), "{message}");
        assert!(message.contains("namespace \"kube-system\""), "{message}");
        let mut same = reference("ssl", "api_key");
        same["value_from"]["secret_key_ref"]["namespace"] = json!("openstack");
        assert_eq!(substitute(&json!({"x": same}), &context).0["x"], "KEY");
    }

    #[test]
    fn a_missing_secret_or_key_names_the_reference_path() {
        let spec = json!({"features": {"x": reference("nope", "k")}});
        let (_, missing) = substitute(&spec, &context());
        assert_eq!(
            missing[0].to_string(),
            "spec.features.x: value_from.secret_key_ref: no Secret \"nope\" labelled \
             openstack.lcm.mirantis.com/osdpl_secret=true (create it, or add the label if it exists)"
        );
        let spec = json!({"list": [reference("ssl", "missing")]});
        assert!(
            substitute(&spec, &context()).1[0]
                .to_string()
                .contains("spec.list[0]")
        );
    }

    #[test]
    fn a_reference_belongs_to_the_service_of_its_section_or_to_every_service() {
        assert!(affects("spec.services.compute.nova.values.x", "compute"));
        assert!(!affects("spec.services.compute.nova.values.x", "identity"));
        assert!(affects(
            "spec.features.barbican.backends.vault.approle_secret_id",
            "key-manager"
        ));
        assert!(!affects(
            "spec.features.barbican.backends.vault.approle_secret_id",
            "identity"
        ));
        assert!(affects(
            "spec.features.ssl.public_endpoints.api_key",
            "identity"
        ));
        assert!(affects("spec.common.openstack.values.x", "dns"));
    }
}
