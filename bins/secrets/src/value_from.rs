//! `value_from.secret_key_ref`: which Secrets an OSDPL references, their hashes and what is
//! wrong with the references. Pure; the reconcile hands in the Secrets.
//!
//! The hashes go to the OSDPL's `status.watched.value_from.secret.<name>.hash`, which `osdpl`
//! watches: editing a referenced Secret changes its hash and so re-renders. They are keyed
//! (HMAC under the installation's `rockoon-hash-key`), so readers of the OSDPL cannot test
//! guesses of a Secret's content against them. Only Secrets
//! labelled [`OSDPL_SECRET_LABEL`]`=true` are read (Rockoon's rule, so the controller never
//! needs to read every Secret of the namespace); a reference to an unlabelled one is reported.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use rockoon_core::values::fingerprint::keyed_fingerprint;
use serde_json::Value;

/// Label marking Secrets an OSDPL may reference with `value_from.secret_key_ref`.
pub use rockoon_core::names::OSDPL_SECRET_LABEL;

pub use rockoon_core::render::secret_refs::{Reference, references};

/// Hash of a Secret's data under the installation's `key`: the keyed fingerprint
/// (HMAC-SHA256 of canonical JSON) of its `data` map as the API serves it (base64 values), so
/// any byte change, UTF-8 or not, changes it.
pub fn hash(key: &[u8], secret: &Secret) -> String {
    let data = serde_json::to_value(secret.data.clone().unwrap_or_default()).unwrap_or(Value::Null);
    keyed_fingerprint(key, &data)
}

/// How a referenced Secret was found.
pub enum Found<'a> {
    /// Labelled and readable.
    Labelled(&'a Secret),
    /// It exists but lacks [`OSDPL_SECRET_LABEL`]`=true`.
    Unlabelled,
    /// No such Secret.
    Missing,
}

/// Hashes of the referenced Secrets, and one message per unusable reference (naming the path,
/// the Secret and the key; never a value).
pub fn check<'a>(
    references: &[Reference],
    hash_key: &[u8],
    mut find: impl FnMut(&str) -> Found<'a>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut hashes = BTreeMap::new();
    let mut problems = Vec::new();
    for reference in references {
        let Reference { path, name, key } = reference;
        match find(name) {
            Found::Missing => problems.push(format!("{path}: Secret {name} does not exist")),
            Found::Unlabelled => problems.push(format!(
                "{path}: Secret {name} is not labelled {OSDPL_SECRET_LABEL}=true"
            )),
            Found::Labelled(secret) => {
                hashes.insert(name.clone(), hash(hash_key, secret));
                match secret.data.as_ref().and_then(|d| d.get(key)) {
                    None => problems.push(format!("{path}: Secret {name} has no key {key}")),
                    Some(bytes) if std::str::from_utf8(&bytes.0).is_err() => problems.push(
                        format!("{path}: key {key} of Secret {name} is not UTF-8 text"),
                    ),
                    Some(_) => {}
                }
            }
        }
    }
    problems.dedup();
    (hashes, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use serde_json::json;

    fn labelled(name: &str, data: &[(&str, &[u8])]) -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some([(OSDPL_SECRET_LABEL.to_owned(), "true".to_owned())].into()),
                ..Default::default()
            },
            data: Some(
                data.iter()
                    .map(|(k, v)| ((*k).to_owned(), ByteString(v.to_vec())))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    fn to(name: &str, key: &str) -> Value {
        json!({"value_from": {"secret_key_ref": {"name": name, "key": key}}})
    }

    #[test]
    fn references_are_found_at_any_depth_with_their_path() {
        let spec = json!({"features": {"ssl": {"ca": to("tls", "ca.crt")}},
                          "list": [{"x": to("other", "k")}]});
        let found = references(&spec);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].path, "spec.features.ssl.ca");
        assert_eq!(found[1].path, "spec.list[0].x");
        assert_eq!(
            (found[1].name.as_str(), found[1].key.as_str()),
            ("other", "k")
        );
    }

    #[test]
    fn the_hash_changes_with_any_byte_and_not_with_key_order() {
        let a = labelled("s", &[("a", b"1"), ("b", &[0xff])]);
        let b = labelled("s", &[("b", &[0xff]), ("a", b"1")]);
        let c = labelled("s", &[("a", b"1"), ("b", &[0xfe])]);
        assert_eq!(hash(KEY, &a), hash(KEY, &b));
        assert_ne!(hash(KEY, &a), hash(KEY, &c));
    }

    #[test]
    fn the_hash_is_keyed_so_without_the_key_a_guess_cannot_be_checked() {
        let weak = labelled("s", &[("password", b"hunter2")]);
        let data = serde_json::to_value(weak.data.clone().unwrap_or_default()).unwrap_or_default();
        assert_ne!(hash(KEY, &weak), rockoon_core::values::fingerprint(&data));
        assert_ne!(hash(KEY, &weak), hash(b"another installation's key", &weak));
    }

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn unusable_references_are_named_without_values() {
        let secret = labelled("tls", &[("ca.crt", b"SECRET-CA"), ("bin", &[0xff, 0x00])]);
        let refs = references(&json!({"a": to("tls", "ca.crt"), "b": to("tls", "nope"),
            "c": to("tls", "bin"), "d": to("gone", "k"), "e": to("plain", "k")}));
        let (hashes, problems) = check(&refs, KEY, |name| match name {
            "tls" => Found::Labelled(&secret),
            "plain" => Found::Unlabelled,
            _ => Found::Missing,
        });
        assert_eq!(hashes.keys().collect::<Vec<_>>(), ["tls"]);
        assert_eq!(
            problems,
            [
                "spec.b: Secret tls has no key nope",
                "spec.c: key bin of Secret tls is not UTF-8 text",
                "spec.d: Secret gone does not exist",
                "spec.e: Secret plain is not labelled openstack.lcm.mirantis.com/osdpl_secret=true",
            ]
        );
        assert!(problems.iter().all(|p| !p.contains("SECRET-CA")));
    }
}
