//! What a release actually holds: the values and chart stored in Helm's release Secret
//! (`sh.helm.release.v1.<name>.v<revision>`, base64 of gzip of the release JSON), compared
//! with what we render, to find drift.
//!
//! The labels of a revision are no proof: `helm upgrade --reuse-values --set ...` by hand
//! copies our hash label onto a revision holding other values. So a release whose labels say
//! "converged" is also checked against its stored values. The check is cheap: each revision
//! is read and decoded at most once (revisions are immutable), the verdict is remembered per
//! revision and rendered values, and revisions we wrote ourselves are remembered as ours
//! without reading them. A no-op reconcile therefore costs no helm call and no API request.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::sync::{Mutex, PoisonError};

use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use rockoon_core::values::fingerprint;
use serde_json::Value;

/// One release to check: its latest revision and what we would install.
#[derive(Debug, Clone, Copy)]
pub struct Check<'a> {
    /// Release name.
    pub name: &'a str,
    /// Namespace of its storage.
    pub namespace: &'a str,
    /// Its latest revision.
    pub revision: u32,
    /// Chart name we install it from.
    pub chart: &'a str,
    /// Fingerprint of the values we render (the cache key of the verdict).
    pub fingerprint: &'a str,
    /// The values we render.
    pub values: &'a Value,
}

/// The verdicts per release revision.
pub struct StoredValues {
    client: Client,
    /// Storage Secret name → (rendered fingerprint, whether the revision holds exactly it).
    verdicts: Mutex<HashMap<String, (String, bool)>>,
    /// Storage Secret name → comparable fingerprint of what the revision holds.
    held: Mutex<HashMap<String, String>>,
}

impl StoredValues {
    /// Reads storage Secrets through `client`.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            verdicts: Mutex::default(),
            held: Mutex::default(),
        }
    }

    /// Records that we just installed `revision` of `name` with the values of `fingerprint`.
    pub fn ours(&self, name: &str, revision: u32, fingerprint: &str) {
        lock(&self.verdicts).insert(storage_name(name, revision), (fingerprint.to_owned(), true));
    }

    /// The releases among `checks` whose latest revision holds values (or a chart) other
    /// than rendered. A revision that cannot be read counts as not drifted (logged): the
    /// labels then decide, as before.
    pub async fn drifted(&self, checks: &[Check<'_>]) -> BTreeSet<String> {
        let current: BTreeSet<String> = checks
            .iter()
            .map(|c| storage_name(c.name, c.revision))
            .collect();
        lock(&self.verdicts).retain(|k, _| current.contains(k));
        lock(&self.held).retain(|k, _| current.contains(k));
        let mut drifted = BTreeSet::new();
        for check in checks {
            let key = storage_name(check.name, check.revision);
            let known = lock(&self.verdicts)
                .get(&key)
                .filter(|(fp, _)| fp == check.fingerprint)
                .map(|(_, same)| *same);
            let same = match known {
                Some(same) => same,
                None => match self.compare(check, &key).await {
                    Some(same) => {
                        let verdict = (check.fingerprint.to_owned(), same);
                        lock(&self.verdicts).insert(key, verdict);
                        same
                    }
                    None => true,
                },
            };
            if !same {
                drifted.insert(check.name.to_owned());
            }
        }
        drifted
    }

    /// Whether the stored revision holds what `check` renders; `None` when unreadable.
    async fn compare(&self, check: &Check<'_>, key: &str) -> Option<bool> {
        let cached = lock(&self.held).get(key).cloned();
        let held = match cached {
            Some(held) => held,
            None => {
                let api: Api<Secret> = Api::namespaced(self.client.clone(), check.namespace);
                let secret = match api.get_opt(key).await {
                    Ok(secret) => secret?,
                    Err(error) => {
                        tracing::warn!(release = check.name, %error, "cannot read the release's storage");
                        return None;
                    }
                };
                let Some(held) = held_fingerprint(&secret) else {
                    tracing::warn!(release = check.name, "cannot decode the release's storage");
                    return None;
                };
                lock(&self.held).insert(key.to_owned(), held.clone());
                held
            }
        };
        Some(held == comparable(check.chart, check.values))
    }
}

/// Name of the storage Secret of one revision.
pub fn storage_name(name: &str, revision: u32) -> String {
    format!("sh.helm.release.v1.{name}.v{revision}")
}

/// The comparable fingerprint of the chart name and user values a storage Secret holds.
pub fn held_fingerprint(secret: &Secret) -> Option<String> {
    let encoded = secret.data.as_ref()?.get("release")?;
    let release = decode_release(&encoded.0)?;
    let chart = release["chart"]["metadata"]["name"].as_str().unwrap_or("");
    let config = release.get("config").cloned().unwrap_or(Value::Null);
    Some(comparable(chart, &config))
}

/// Helm's release record: base64 text of (usually) gzip-compressed JSON.
pub fn decode_release(stored: &[u8]) -> Option<Value> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(stored)
        .ok()?;
    let json = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .ok()?;
        out
    } else {
        raw
    };
    serde_json::from_slice(&json).ok()
}

/// Fingerprint of a chart name and values in a form both sides agree on: helm reads numbers
/// as floats, and an absent map equals an empty one.
fn comparable(chart: &str, values: &Value) -> String {
    let values = normalize(values);
    fingerprint(&serde_json::json!({ "chart": chart, "values": values }))
}

fn normalize(value: &Value) -> Value {
    match value {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Null => Value::Object(serde_json::Map::new()),
        other => other.clone(),
    }
}

/// Both maps only hold names and hashes: a panicking holder leaves them usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Write;

    use k8s_openapi::ByteString;
    use serde_json::json;

    use super::*;

    fn stored(release: &Value) -> Secret {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(release.to_string().as_bytes()).unwrap();
        let text = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
        Secret {
            data: Some([("release".to_owned(), ByteString(text.into_bytes()))].into()),
            ..Secret::default()
        }
    }

    #[test]
    fn the_stored_values_of_a_release_equal_what_was_rendered_whatever_the_number_form() {
        let rendered = json!({"pod": {"replicas": {"api": 1}}, "conf": {"x": "y"}});
        let held = json!({"pod": {"replicas": {"api": 1.0}}, "conf": {"x": "y"}});
        let secret = stored(&json!({"config": held, "chart": {"metadata": {"name": "keystone"}}}));
        assert_eq!(
            held_fingerprint(&secret).unwrap(),
            comparable("keystone", &rendered)
        );
    }

    #[test]
    fn a_value_set_by_hand_or_another_chart_is_a_difference() {
        let rendered = json!({"pod": {"replicas": {"api": 1}}});
        let by_hand = json!({"pod": {"replicas": {"api": 5}}});
        let secret =
            stored(&json!({"config": by_hand, "chart": {"metadata": {"name": "keystone"}}}));
        assert_ne!(
            held_fingerprint(&secret).unwrap(),
            comparable("keystone", &rendered)
        );
        let other_chart =
            stored(&json!({"config": rendered, "chart": {"metadata": {"name": "glance"}}}));
        assert_ne!(
            held_fingerprint(&other_chart).unwrap(),
            comparable("keystone", &rendered)
        );
    }

    #[test]
    fn storage_that_is_not_a_helm_release_is_not_decoded() {
        let junk = Secret {
            data: Some([("release".to_owned(), ByteString(b"not base64!".to_vec()))].into()),
            ..Secret::default()
        };
        assert!(held_fingerprint(&junk).is_none());
        assert_eq!(
            storage_name("openstack-keystone", 3),
            "sh.helm.release.v1.openstack-keystone.v3"
        );
    }
}
