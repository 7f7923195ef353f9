//! The deep merge every values layer goes through, with the rules Rockoon users rely on.
//!
//! Merging `overlay` into `base`:
//! - objects merge key by key, recursively;
//! - scalars (strings, numbers, booleans) replace;
//! - lists are unioned: overlay items are taken in order; one not already in the list is
//!   appended, and a string item `~x` removes the first `x` from the list instead (nothing if
//!   absent), exactly as Rockoon processes them;
//! - a `null` base is replaced by anything;
//! - numbers and booleans may replace each other (Rockoon's Python merge treats them alike);
//! - any other change of type (including `null` over a value) is an error naming the key path,
//!   so a typo in an override cannot silently wipe a whole subtree.
//!
//! Pure: no I/O, no allocation beyond the merged value.

use serde_json::Value;

/// A merge that cannot be done, with the path where it failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot merge {overlay} into {base} at {path}")]
pub struct MergeError {
    /// Dotted path of the conflicting key (keys with dots are bracketed).
    pub path: String,
    /// JSON type of the value being merged into.
    pub base: &'static str,
    /// JSON type of the value merged in.
    pub overlay: &'static str,
}

/// Merges `overlay` into `base` in place; `root` names `base` in error paths.
pub fn merge_into(base: &mut Value, overlay: &Value, root: &str) -> Result<(), MergeError> {
    let mut path = root.to_owned();
    merge_at(base, overlay, &mut path)
}

/// `base` with `overlay` merged in.
pub fn merged(mut base: Value, overlay: &Value, root: &str) -> Result<Value, MergeError> {
    merge_into(&mut base, overlay, root)?;
    Ok(base)
}

fn merge_at(base: &mut Value, overlay: &Value, path: &mut String) -> Result<(), MergeError> {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                let len = path.len();
                push_key(path, key);
                match base.get_mut(key) {
                    Some(existing) => merge_at(existing, value, path)?,
                    None => {
                        base.insert(key.clone(), value.clone());
                    }
                }
                path.truncate(len);
            }
            Ok(())
        }
        (Value::Array(base), Value::Array(overlay)) => {
            union_lists(base, overlay);
            Ok(())
        }
        (base @ Value::Null, overlay) => {
            *base = overlay.clone();
            Ok(())
        }
        (base, overlay) if same_kind(base, overlay) => {
            *base = overlay.clone();
            Ok(())
        }
        (base, overlay) => Err(MergeError {
            path: path.clone(),
            base: type_name(base),
            overlay: type_name(overlay),
        }),
    }
}

fn union_lists(base: &mut Vec<Value>, overlay: &[Value]) {
    for item in overlay {
        match item.as_str().and_then(|s| s.strip_prefix('~')) {
            Some(removed) => {
                if let Some(at) = base.iter().position(|e| e.as_str() == Some(removed)) {
                    base.remove(at);
                }
            }
            None if !base.contains(item) => base.push(item.clone()),
            None => {}
        }
    }
}

/// Scalars of the same kind, or numbers and booleans mixed.
fn same_kind(base: &Value, overlay: &Value) -> bool {
    let numeric = |v: &Value| matches!(v, Value::Number(_) | Value::Bool(_));
    matches!((base, overlay), (Value::String(_), Value::String(_)))
        || (numeric(base) && numeric(overlay))
}

/// How a value's JSON type reads in a message (`a map`, `a string`, ...).
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

fn push_key(path: &mut String, key: &str) {
    if key.contains('.') || key.is_empty() {
        path.push_str(&format!("[{key:?}]"));
    } else {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn maps_merge_deeply_and_scalars_replace() {
        let base = json!({"a": {"b": 1, "c": "x"}, "d": true});
        let out = merged(base, &json!({"a": {"b": 2, "e": [1]}}), "spec").unwrap();
        assert_eq!(out, json!({"a": {"b": 2, "c": "x", "e": [1]}, "d": true}));
    }

    #[test]
    fn lists_are_unioned_in_order_without_duplicates() {
        let out = merged(json!(["identity", "image"]), &json!(["image", "dns"]), "s").unwrap();
        assert_eq!(out, json!(["identity", "image", "dns"]));
    }

    #[test]
    fn tilde_items_remove_instead_of_adding() {
        let base = json!(["identity", "descheduler", "dns"]);
        let out = merged(base, &json!(["~descheduler", "tempest", "~absent"]), "s").unwrap();
        assert_eq!(out, json!(["identity", "dns", "tempest"]));
    }

    #[test]
    fn a_null_base_is_replaced_by_anything() {
        assert_eq!(
            merged(json!({"a": null}), &json!({"a": {"b": 1}}), "").unwrap(),
            json!({"a": {"b": 1}})
        );
        assert_eq!(merged(Value::Null, &json!([1]), "").unwrap(), json!([1]));
    }

    #[test]
    fn numbers_and_booleans_may_replace_each_other() {
        assert_eq!(
            merged(json!({"a": 1}), &json!({"a": 2.5}), "").unwrap(),
            json!({"a": 2.5})
        );
        assert_eq!(
            merged(json!({"a": true}), &json!({"a": 0}), "").unwrap(),
            json!({"a": 0})
        );
    }

    #[test]
    fn a_type_conflict_names_the_full_key_path() {
        let base = json!({"services": {"compute": {"nova": {"values": {"conf": {"nova": {}}}}}}});
        let overlay = json!({"services": {"compute": {"nova": {"values": {"conf": "oops"}}}}});
        let error = merged(base, &overlay, "spec").unwrap_err();
        assert_eq!(error.path, "spec.services.compute.nova.values.conf");
        assert_eq!((error.base, error.overlay), ("a map", "a string"));
        assert!(
            error
                .to_string()
                .contains("spec.services.compute.nova.values.conf")
        );
    }

    #[test]
    fn null_over_a_value_is_a_conflict_not_a_silent_wipe() {
        let error = merged(json!({"a": {"b": 1}}), &json!({"a": null}), "").unwrap_err();
        assert_eq!(error.path, "a");
        assert_eq!(error.overlay, "null");
    }

    #[test]
    fn keys_with_dots_are_bracketed_in_paths() {
        let base = json!({"lcm.mirantis.com/v1alpha1": {"x": 1}});
        let error = merged(
            base,
            &json!({"lcm.mirantis.com/v1alpha1": {"x": "s"}}),
            "values",
        )
        .unwrap_err();
        assert_eq!(error.path, "values[\"lcm.mirantis.com/v1alpha1\"].x");
    }

    fn names_an_item_and_its_removal(value: &Value) -> bool {
        match value {
            Value::Array(items) => items.iter().any(|item| {
                item.as_str()
                    .and_then(|s| s.strip_prefix('~'))
                    .is_some_and(|name| items.iter().any(|other| other.as_str() == Some(name)))
                    || names_an_item_and_its_removal(item)
            }),
            Value::Object(map) => map.values().any(names_an_item_and_its_removal),
            _ => false,
        }
    }

    fn has_duplicate_items(value: &Value) -> bool {
        match value {
            Value::Array(items) => {
                items
                    .iter()
                    .enumerate()
                    .any(|(i, item)| items[..i].contains(item))
                    || items.iter().any(has_duplicate_items)
            }
            Value::Object(map) => map.values().any(has_duplicate_items),
            _ => false,
        }
    }

    #[test]
    fn removal_takes_only_the_first_occurrence_like_rockoon() {
        let out = merged(json!(["a", "b", "a"]), &json!(["~a"]), "").unwrap();
        assert_eq!(out, json!(["b", "a"]));
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(Value::from),
            "~?[a-c]{0,2}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-c]{1,2}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn merging_never_panics(base in json_value(), overlay in json_value()) {
            let _ = merged(base, &overlay, "spec");
        }

        #[test]
        fn merging_the_same_overlay_twice_changes_nothing_more(base in json_value(), overlay in json_value()) {
            // Items are processed in order, so a list naming both `x` and `~x` flips on each
            // merge (as in Rockoon); every other overlay is idempotent.
            // Likewise `~x` takes one `x` per merge from a list holding several.
            prop_assume!(!names_an_item_and_its_removal(&overlay) && !has_duplicate_items(&base));
            if let Ok(once) = merged(base, &overlay, "") {
                let twice = merged(once.clone(), &overlay, "").unwrap();
                prop_assert_eq!(once, twice);
            }
        }

        #[test]
        fn an_empty_map_overlay_is_the_identity(base in json_value()) {
            let base = json!({"root": base});
            prop_assert_eq!(merged(base.clone(), &json!({}), "").unwrap(), base);
        }

        #[test]
        fn merging_into_null_gives_the_overlay(overlay in json_value()) {
            prop_assert_eq!(merged(Value::Null, &overlay, "").unwrap(), overlay);
        }

        #[test]
        fn every_overlay_key_is_in_the_result(base in json_value(), overlay in json_value()) {
            if let (Ok(out), Value::Object(keys)) = (merged(base, &overlay, ""), &overlay) {
                for key in keys.keys() {
                    prop_assert!(out.get(key).is_some(), "{key} lost");
                }
            }
        }

        #[test]
        fn conflicts_point_at_a_path_present_in_both(base in json_value(), overlay in json_value()) {
            if let Err(error) = merged(base.clone(), &overlay, "") {
                let lookup = |v: &Value| error.path.split('.').filter(|k| !k.is_empty())
                    .try_fold(v.clone(), |v, k| v.get(k).cloned());
                prop_assert!(lookup(&base).is_some() && lookup(&overlay).is_some(), "{}", error.path);
            }
        }
    }
}
