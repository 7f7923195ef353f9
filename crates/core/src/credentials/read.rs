//! Reading credential Secrets: the active generation per owner and the credential tree the
//! templates render with, with every unusable value named as a [`Problem`] (Secret and key,
//! never the value).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use serde_json::{Map, Value, json};

use super::{OWNER_LABEL, PRIORITY_ANNOTATION};

/// A credential that is present but unusable; names the Secret and key, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Secret name.
    pub secret: String,
    /// Data key.
    pub key: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Secret {} key {}: {}",
            self.secret, self.key, self.reason
        )
    }
}

/// The credential tree of the active generations of `secrets` (others are ignored), as the
/// render context wants it: `<owner>.<key>` → `{username, password}` or a string. Unusable
/// values (empty, not UTF-8) are left out, so whatever needs them waits, and reported.
pub fn tree<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> (Value, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut owners = Map::new();
    for (owner, secret) in active(secrets) {
        let parsed = parse_data(name(secret), secret.data.as_ref(), &mut problems);
        owners.insert(owner.to_owned(), parsed);
    }
    (Value::Object(owners), problems)
}

/// The active generation of each owner among `secrets` (those without [`OWNER_LABEL`] are
/// ignored): the highest [`priority`], on a tie the first name.
pub fn active<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> BTreeMap<&'a str, &'a Secret> {
    let mut active: BTreeMap<&str, &Secret> = BTreeMap::new();
    for secret in secrets {
        let Some(owner) = owner(secret) else {
            continue;
        };
        let replace = active.get(owner).is_none_or(|current| {
            let (mine, theirs) = (priority(secret), priority(current));
            mine > theirs || (mine == theirs && name(secret) < name(current))
        });
        if replace {
            active.insert(owner, secret);
        }
    }
    active
}

/// The owner a credential Secret is labelled with.
pub fn owner(secret: &Secret) -> Option<&str> {
    secret
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(OWNER_LABEL))
        .map(String::as_str)
}

/// The generation order of a credential Secret (absent or unreadable counts as 0).
pub fn priority(secret: &Secret) -> i64 {
    secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(PRIORITY_ANNOTATION))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(0)
}

pub(super) fn name(secret: &Secret) -> &str {
    secret.metadata.name.as_deref().unwrap_or_default()
}

fn parse_data(
    secret: &str,
    data: Option<&BTreeMap<String, ByteString>>,
    problems: &mut Vec<Problem>,
) -> Value {
    let mut tree = Map::new();
    for (key, bytes) in data.into_iter().flatten() {
        let value = match std::str::from_utf8(&bytes.0) {
            Err(_) => Err("not UTF-8 text"),
            Ok("") => Err("empty"),
            Ok(text) => Ok(text),
        };
        let value = match value {
            Ok(text) => text,
            Err(reason) => {
                problems.push(Problem {
                    secret: secret.to_owned(),
                    key: key.clone(),
                    reason,
                });
                continue;
            }
        };
        match key.rsplit_once('.') {
            Some((user, field @ ("username" | "password"))) => {
                let entry = tree.entry(user.to_owned()).or_insert_with(|| json!({}));
                if let Some(entry) = entry.as_object_mut() {
                    entry.insert(field.to_owned(), Value::String(value.to_owned()));
                }
            }
            _ => {
                tree.insert(key.clone(), Value::String(value.to_owned()));
            }
        }
    }
    // A user credential with one half missing is as good as absent.
    tree.retain(|key, value| match value {
        Value::Object(fields)
            if !(fields.contains_key("username") && fields.contains_key("password")) =>
        {
            problems.push(Problem {
                secret: secret.to_owned(),
                key: key.clone(),
                reason: "has only one of username and password",
            });
            false
        }
        _ => true,
    });
    Value::Object(tree)
}
