//! `value_from.secret_key_ref` references in the spec, replaced by the referenced values.
//!
//! Any object of the form `{value_from: {secret_key_ref: {name, key}}}` anywhere in the spec is
//! replaced by that key's value of that Secret (from the render context). A missing Secret or
//! key is an error naming the reference's path; a substituted value is not searched again.

use serde_json::Value;

use super::{RenderContext, RenderError};

/// The spec with every reference replaced.
pub fn substitute(spec: &Value, context: &RenderContext) -> Result<Value, RenderError> {
    let mut out = spec.clone();
    walk(&mut out, context, &mut "spec".to_owned())?;
    Ok(out)
}

fn walk(value: &mut Value, context: &RenderContext, path: &mut String) -> Result<(), RenderError> {
    if let Some((name, key)) = reference(value) {
        if context.dry_run_secrets && !context.secrets.contains_key(&name) {
            *value = Value::String(format!("dry-run-secret:{name}/{key}"));
            return Ok(());
        }
        let secret = context
            .secrets
            .get(&name)
            .ok_or_else(|| RenderError::SecretRef {
                path: path.clone(),
                what: format!("Secret {name:?}"),
            })?;
        let data = secret.get(&key).ok_or_else(|| RenderError::SecretRef {
            path: path.clone(),
            what: format!("key {key:?} of Secret {name:?}"),
        })?;
        *value = Value::String(data.clone());
        return Ok(());
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                let len = path.len();
                path.push('.');
                path.push_str(key);
                walk(child, context, path)?;
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                walk(child, context, path)?;
                path.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}

fn reference(value: &Value) -> Option<(String, String)> {
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
        let out = substitute(&spec, &context()).unwrap();
        assert_eq!(out["features"]["ssl"]["public_endpoints"]["api_key"], "KEY");
        assert_eq!(out["list"][0], "KEY");
    }

    #[test]
    fn a_missing_secret_or_key_names_the_reference_path() {
        let spec = json!({"features": {"x": reference("nope", "k")}});
        let error = substitute(&spec, &context()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "spec.features.x: value_from.secret_key_ref names Secret \"nope\" that does not exist"
        );
        let spec = json!({"list": [reference("ssl", "missing")]});
        assert!(
            substitute(&spec, &context())
                .unwrap_err()
                .to_string()
                .contains("spec.list[0]")
        );
    }
}
