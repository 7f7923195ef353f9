//! Gathering a render's inputs from the caches: generated credentials (active generations),
//! the data of Secrets `value_from` may reference, and Ceph's published keys. Pure over the
//! cached objects; problems come back as notes for status, never with secret values.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use rockoon_core::render::RenderContext;
use rockoon_core::secret_text::decoded;

/// Everything a render needs that is not in the OSDPL.
pub struct Inputs {
    /// The render context.
    pub context: RenderContext,
    /// Every secret value the context holds, to scrub from messages shown to users.
    pub secret_values: Vec<String>,
    /// Problems with the inputs (unusable credentials, unreadable Ceph data).
    pub notes: Vec<String>,
}

/// Settings that shape the context.
pub struct Defaults<'a> {
    /// Namespace of the releases.
    pub namespace: &'a str,
    /// Registry prefix when the spec sets none.
    pub images_base_url: &'a str,
    /// Binary artifacts prefix when the spec sets none.
    pub binary_base_url: &'a str,
}

/// Builds the inputs from cached Secrets.
pub fn gather(
    defaults: &Defaults<'_>,
    credentials: &[Arc<Secret>],
    referenced: &[Arc<Secret>],
    ceph_keys: Option<&Secret>,
) -> Inputs {
    let mut notes = Vec::new();
    let mut secret_values = Vec::new();
    let (tree, problems) = rockoon_core::credentials::tree(credentials.iter().map(AsRef::as_ref));
    notes.extend(problems.iter().map(ToString::to_string));
    collect_strings(&tree, &mut secret_values);

    let mut secrets = BTreeMap::new();
    for secret in referenced {
        let data = decoded(secret);
        secret_values.extend(data.values().cloned());
        secrets.insert(secret.metadata.name.clone().unwrap_or_default(), data);
    }

    let ceph = ceph_keys.and_then(|secret| {
        let data = decoded(secret);
        // Only the keys are secret; monitor addresses and pool names are not.
        match rockoon_core::ceph::from_keys_secret(&data) {
            Ok(ceph) => {
                collect_strings(&ceph["keys"], &mut secret_values);
                Some(ceph)
            }
            Err(error) => {
                notes.push(error.to_string());
                None
            }
        }
    });

    let context = RenderContext {
        namespace: defaults.namespace.to_owned(),
        images_base_url: defaults.images_base_url.to_owned(),
        binary_base_url: defaults.binary_base_url.to_owned(),
        credentials: tree,
        secrets,
        ceph,
        ..RenderContext::default()
    };
    // Short values (`true`, `1`) would scrub ordinary words from messages.
    secret_values.retain(|v| v.len() >= 6);
    secret_values.sort();
    secret_values.dedup();
    Inputs {
        context,
        secret_values,
        notes,
    }
}

/// Every string of `value` but usernames: a username is no secret, and generated ones are
/// ordinary words (`rabbitmq`, `keystone…`) that scrubbing would cut out of object names.
fn collect_strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(key, _)| !key.ends_with("username"))
            .for_each(|(_, v)| collect_strings(v, out)),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// `message` with every known secret value replaced by `[redacted]` (helm may echo values).
pub fn scrub(message: &str, secret_values: &[String]) -> String {
    let mut message = message.to_owned();
    for value in secret_values {
        if message.contains(value.as_str()) {
            message = message.replace(value.as_str(), "[redacted]");
        }
    }
    message
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use k8s_openapi::ByteString;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use rockoon_core::credentials::OWNER_LABEL;

    fn secret(name: &str, labels: &[(&str, &str)], data: &[(&str, &str)]) -> Arc<Secret> {
        Arc::new(Secret {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| ((*k).into(), (*v).into()))
                        .collect(),
                ),
                ..Default::default()
            },
            data: Some(
                data.iter()
                    .map(|(k, v)| ((*k).into(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            ..Default::default()
        })
    }

    const DEFAULTS: Defaults<'static> = Defaults {
        namespace: "openstack",
        images_base_url: "registry.example",
        binary_base_url: "https://bin.example",
    };

    #[test]
    fn credentials_references_and_ceph_land_in_the_context() {
        let credentials = [secret(
            "openstack-admin-users",
            &[(OWNER_LABEL, "admin")],
            &[
                ("identity.username", "admin"),
                ("identity.password", "s3cret-admin"),
            ],
        )];
        let referenced = [secret("tls", &[], &[("ca.crt", "-----BEGIN CERT")])];
        let ceph = secret(
            "openstack-ceph-keys",
            &[],
            &[
                ("mon_endpoints", "10.0.0.1:6789"),
                ("nova", "client.nova;AQnovakey;vms:vms:hdd"),
            ],
        );
        let inputs = gather(&DEFAULTS, &credentials, &referenced, Some(&ceph));
        assert_eq!(
            inputs.context.credentials["admin"]["identity"]["password"],
            "s3cret-admin"
        );
        assert_eq!(inputs.context.secrets["tls"]["ca.crt"], "-----BEGIN CERT");
        assert_eq!(
            inputs.context.ceph.as_ref().unwrap()["keys"]["nova"],
            "AQnovakey"
        );
        assert!(inputs.notes.is_empty());
        let scrubbed = scrub(
            "bad value s3cret-admin near AQnovakey",
            &inputs.secret_values,
        );
        assert_eq!(scrubbed, "bad value [redacted] near [redacted]");
    }

    #[test]
    fn unreadable_ceph_data_is_a_note_and_no_ceph() {
        let ceph = secret("openstack-ceph-keys", &[], &[("nova", "client.nova;AQ")]);
        let inputs = gather(&DEFAULTS, &[], &[], Some(&ceph));
        assert!(inputs.context.ceph.is_none());
        assert!(
            inputs.notes[0].contains("mon_endpoints"),
            "{:?}",
            inputs.notes
        );
    }

    #[test]
    fn usernames_are_not_scrubbed_from_messages_but_passwords_are() {
        let credentials = [secret(
            "generated-messaging-passwords",
            &[(OWNER_LABEL, "messaging")],
            &[
                ("messaging.username", "rabbitmq"),
                ("messaging.password", "Zx81pass9w"),
            ],
        )];
        let inputs = gather(&DEFAULTS, &credentials, &[], None);
        let scrubbed = scrub(
            "job openstack-rabbitmq-cluster-wait failed with Zx81pass9w",
            &inputs.secret_values,
        );
        assert_eq!(
            scrubbed,
            "job openstack-rabbitmq-cluster-wait failed with [redacted]"
        );
    }
}
