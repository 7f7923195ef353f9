//! Readable differences between two values trees (installed vs rendered Helm values).
//!
//! Maps are compared key by key; lists and scalars as whole values. Values of keys that hold
//! secrets (passwords, tokens, keys) are never printed, only that they changed.

use std::fmt;

use serde_json::Value;

/// One difference, at a dotted path.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Only in the new tree.
    Added {
        /// Where.
        path: String,
        /// The new value.
        value: Value,
    },
    /// Only in the old tree.
    Removed {
        /// Where.
        path: String,
        /// The old value.
        value: Value,
    },
    /// In both, different.
    Changed {
        /// Where.
        path: String,
        /// The old value.
        from: Value,
        /// The new value.
        to: Value,
    },
}

/// Every difference from `old` to `new`, in key order.
pub fn diff(old: &Value, new: &Value) -> Vec<Change> {
    let mut changes = Vec::new();
    walk(old, new, "", &mut changes);
    changes
}

fn walk(old: &Value, new: &Value, path: &str, out: &mut Vec<Change>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => walk(x, y, &child, out),
                    (None, Some(y)) => out.push(Change::Added {
                        path: child,
                        value: y.clone(),
                    }),
                    (Some(x), None) => out.push(Change::Removed {
                        path: child,
                        value: x.clone(),
                    }),
                    (None, None) => {}
                }
            }
        }
        (a, b) if a != b => out.push(Change::Changed {
            path: path.to_owned(),
            from: a.clone(),
            to: b.clone(),
        }),
        _ => {}
    }
}

/// Whether the value at `path` is a secret that must not be printed.
pub fn is_sensitive(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path).to_ascii_lowercase();
    last.contains("password")
        || last.contains("secret")
        || last.contains("token")
        || last == "key"
        || last == "api_key"
        || last.ends_with("_cookie")
        || last.contains("fernet")
        // Keystone's Apache site carries mod_auth_openidc's crypto passphrase and the OpenID
        // client secret when federation is on.
        || last == "wsgi_keystone"
}

fn shown(path: &str, value: &Value) -> String {
    if is_sensitive(path) {
        "(hidden)".to_owned()
    } else {
        value.to_string()
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Added { path, value } => write!(f, "+ {path}: {}", shown(path, value)),
            Change::Removed { path, value } => write!(f, "- {path}: {}", shown(path, value)),
            Change::Changed { path, from, to } => {
                write!(f, "~ {path}: {} -> {}", shown(path, from), shown(path, to))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_are_listed_by_path_in_key_order() {
        let old = json!({"pod": {"replicas": {"api": 1}}, "conf": {"debug": false}, "gone": 1});
        let new = json!({"pod": {"replicas": {"api": 3}}, "conf": {"debug": false}, "new": [1]});
        let lines: Vec<String> = diff(&old, &new).iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            vec!["- gone: 1", "+ new: [1]", "~ pod.replicas.api: 1 -> 3"]
        );
    }

    #[test]
    fn equal_trees_have_no_differences() {
        let v = json!({"a": [1, {"b": 2}]});
        assert!(diff(&v, &v).is_empty());
    }

    #[test]
    fn secret_values_are_never_printed() {
        let old =
            json!({"endpoints": {"oslo_db": {"auth": {"admin": {"password": "old-secret"}}}}});
        let new =
            json!({"endpoints": {"oslo_db": {"auth": {"admin": {"password": "new-secret"}}}}});
        let text = diff(&old, &new)[0].to_string();
        assert_eq!(
            text,
            "~ endpoints.oslo_db.auth.admin.password: (hidden) -> (hidden)"
        );
        assert!(!is_sensitive("labels.api.node_selector_key"));
        assert!(is_sensitive("conf.wsgi_keystone"));
        assert!(is_sensitive(
            "endpoints.oslo_cache.auth.memcache_secret_key"
        ));
    }
}
