//! Protected copies of the credential Secrets, so deleting one never changes a credential.
//!
//! Every credential Secret `<name>` has a copy `<name>-backup` (label
//! `lcm.mirantis.com/credentials-backup=<owner>`, not the credentials label, so no reader
//! takes it for a generation): same type and data, the original's labels and annotations
//! kept in an annotation. Steps of the secrets reconcile around generation:
//!
//! - **restore** (before generating): a copy whose Secret is gone is created again from it,
//!   byte for byte, and reported (Warning event and `CredentialsRestored` condition, names
//!   only). The write protocol also looks for a copy before it generates a first generation
//!   ([`crate::write`]), so a cache that lags behind a deletion cannot make new values.
//! - **sync** (after generating): each copy follows its Secret (server-side apply, only when
//!   it differs), hand edits included: the copy holds what the cloud uses.
//!
//! Copies are never deleted by the suite (like the credentials they keep, they outlive the
//! OSDPL); a deleted copy is made again from its Secret. Deleting both loses the values.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::{Api, ResourceExt};
use rockoon_core::credentials;
use rockoon_runtime::ssa;
use serde_json::json;

use crate::error::Error;
use crate::metrics::Metrics;
use crate::write::{FIELD_MANAGER, SecretCalls};

/// Label of a copy; its value is the owner of the credentials it keeps.
pub const BACKUP_LABEL: &str = "lcm.mirantis.com/credentials-backup";
/// Annotation of a copy: the original's labels and annotations, as JSON.
const METADATA_ANNOTATION: &str = "lcm.mirantis.com/credentials-backup-metadata";
/// Suffix of a copy's name.
const SUFFIX: &str = "-backup";
/// Annotation the suite never copies (kubectl's copy of a whole object).
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Name of the copy of the credential Secret `name`.
pub fn backup_name(name: &str) -> String {
    format!("{name}{SUFFIX}")
}

/// The copy of credential Secret `secret` (labels and annotations of the original moved into
/// one annotation, so the copy carries no credentials label).
pub fn copy_of(secret: &Secret) -> Secret {
    let name = secret.metadata.name.clone().unwrap_or_default();
    let labels = secret.metadata.labels.clone().unwrap_or_default();
    let owner = labels
        .get(credentials::OWNER_LABEL)
        .cloned()
        .unwrap_or_default();
    let mut annotations = secret.metadata.annotations.clone().unwrap_or_default();
    annotations.remove(LAST_APPLIED);
    let kept = json!({"labels": labels, "annotations": annotations}).to_string();
    Secret {
        metadata: ObjectMeta {
            name: Some(backup_name(&name)),
            labels: Some(BTreeMap::from([
                (BACKUP_LABEL.to_owned(), owner),
                (
                    credentials::MANAGED_BY_LABEL.to_owned(),
                    credentials::MANAGED_BY.to_owned(),
                ),
            ])),
            annotations: Some(BTreeMap::from([(METADATA_ANNOTATION.to_owned(), kept)])),
            ..ObjectMeta::default()
        },
        type_: secret.type_.clone(),
        data: secret.data.clone(),
        ..Secret::default()
    }
}

/// The credential Secret a copy keeps, as it was: name, labels, annotations, type, data.
pub fn original_of(copy: &Secret) -> Option<Secret> {
    let name = copy.metadata.name.as_deref()?.strip_suffix(SUFFIX)?;
    let kept: serde_json::Value = copy
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(METADATA_ANNOTATION))
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default();
    let map = |key: &str| -> Option<BTreeMap<String, String>> {
        serde_json::from_value(kept.get(key)?.clone())
            .ok()
            .filter(|m: &BTreeMap<String, String>| !m.is_empty())
    };
    Some(Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: map("labels"),
            annotations: map("annotations"),
            ..ObjectMeta::default()
        },
        type_: copy.type_.clone(),
        data: copy.data.clone(),
        ..Secret::default()
    })
}

/// The credential group of a Secret, by its owner label.
pub fn group_of(secret: &Secret) -> &'static str {
    let owner = secret.labels().get(credentials::OWNER_LABEL);
    credentials::Group::of(owner.map_or("", String::as_str)).as_str()
}

/// Whether the copy `have` shows exactly what [`copy_of`] would write now.
fn same(have: &Secret, want: &Secret) -> bool {
    have.data == want.data
        && have.type_ == want.type_
        && want
            .metadata
            .annotations
            .iter()
            .flatten()
            .all(|(k, v)| have.metadata.annotations.as_ref().and_then(|a| a.get(k)) == Some(v))
        && want
            .metadata
            .labels
            .iter()
            .flatten()
            .all(|(k, v)| have.metadata.labels.as_ref().and_then(|l| l.get(k)) == Some(v))
}

/// Recreates each credential Secret that is gone but has a copy (`live`: the cached
/// credential Secrets, `copies`: the cached copies), counting each. Returns the names restored.
pub async fn restore<A: SecretCalls>(
    api: &A,
    metrics: &Metrics,
    live: &[Arc<Secret>],
    copies: &[Arc<Secret>],
) -> Result<Vec<String>, Error> {
    let present = |name: &str| {
        live.iter()
            .any(|s| s.metadata.name.as_deref() == Some(name))
    };
    let mut restored = Vec::new();
    for copy in copies {
        let Some(original) = original_of(copy) else {
            continue;
        };
        let name = original.metadata.name.clone().unwrap_or_default();
        // The cache may lag behind a re-creation: only the API says the Secret is gone.
        if present(&name) || api.get(&name).await?.is_some() {
            continue;
        }
        if api.create(&original).await? {
            tracing::warn!(secret = %name, "credential Secret was deleted; restored from its copy");
            metrics.restored(group_of(&original));
            restored.push(name);
        }
    }
    Ok(restored)
}

/// Brings every copy in line with its credential Secret (`secrets`, as just read), writing
/// only those that differ from the cached `copies`.
pub async fn sync(
    api: &Api<Secret>,
    secrets: &[Secret],
    copies: &[Arc<Secret>],
) -> Result<(), Error> {
    for secret in secrets {
        if secret.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let want = copy_of(secret);
        let name = want.metadata.name.clone().unwrap_or_default();
        let have = copies
            .iter()
            .find(|c| c.metadata.name.as_deref() == Some(name.as_str()));
        if have.is_some_and(|have| same(have, &want)) {
            continue;
        }
        let fields = json!({
            "metadata": {"labels": want.metadata.labels, "annotations": want.metadata.annotations},
            "type": want.type_,
            "data": want.data,
        });
        ssa::apply(api, FIELD_MANAGER, &name, fields).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use k8s_openapi::ByteString;

    fn credential() -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some("generated-compute-passwords-1".to_owned()),
                labels: Some(BTreeMap::from([(
                    credentials::OWNER_LABEL.to_owned(),
                    "compute".to_owned(),
                )])),
                annotations: Some(BTreeMap::from([
                    (credentials::PRIORITY_ANNOTATION.to_owned(), "2".to_owned()),
                    (LAST_APPLIED.to_owned(), "{}".to_owned()),
                ])),
                resource_version: Some("17".to_owned()),
                ..ObjectMeta::default()
            },
            type_: Some("Opaque".to_owned()),
            data: Some(BTreeMap::from([(
                "database.password".to_owned(),
                ByteString(b"s3cret".to_vec()),
            )])),
            ..Secret::default()
        }
    }

    #[test]
    fn a_copy_carries_no_credentials_label_and_restores_the_original_exactly() {
        let original = credential();
        let copy = copy_of(&original);
        assert_eq!(
            copy.metadata.name.as_deref(),
            Some("generated-compute-passwords-1-backup")
        );
        let labels = copy.metadata.labels.clone().unwrap();
        assert!(!labels.contains_key(credentials::OWNER_LABEL));
        assert_eq!(labels[BACKUP_LABEL], "compute");
        let restored = original_of(&copy).unwrap();
        assert_eq!(restored.metadata.name, original.metadata.name);
        assert_eq!(restored.metadata.labels, original.metadata.labels);
        assert_eq!(
            restored.metadata.annotations.unwrap()[credentials::PRIORITY_ANNOTATION],
            "2"
        );
        assert_eq!(restored.data, original.data);
        assert_eq!(restored.type_, original.type_);
        assert_eq!(restored.metadata.resource_version, None);
    }

    #[test]
    fn a_copy_is_rewritten_only_when_its_secret_changed() {
        let original = credential();
        let copy = copy_of(&original);
        assert!(same(&copy, &copy_of(&original)));
        let mut edited = original.clone();
        edited.data = Some(BTreeMap::from([(
            "database.password".to_owned(),
            ByteString(b"other".to_vec()),
        )]));
        assert!(!same(&copy, &copy_of(&edited)));
    }

    #[test]
    fn a_secret_without_the_suffix_is_no_copy() {
        assert!(original_of(&credential()).is_none());
    }
}
