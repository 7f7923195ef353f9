//! Step 4 of the secrets reconcile, pure but for one existence check: the rotation plans and
//! the three conditions (`Credentials`, `CredentialsRotation`, `SecretReferences`) as
//! verdicts, named objects and keys only, never values.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use rockoon_core::crd::{OpenStackDeployment, OpenStackDeploymentSpec};
use rockoon_core::credentials::{self, Group};
use serde_json::Value;

use crate::error::Error;
use crate::reconcile::Needs;
use crate::rotation::{self, Plan};
use crate::status::{self, Verdict};
use crate::value_from::{self, Found};

/// Per group, what to do with the requested rotation id.
pub fn plans<'a>(
    osdpl: &OpenStackDeployment,
    cached: impl Iterator<Item = &'a Secret> + Clone,
) -> BTreeMap<Group, Plan> {
    Group::ALL
        .into_iter()
        .map(|group| {
            let handled = rotation::handled(group, cached.clone());
            let state = osdpl.status.as_ref().and_then(|s| s.state.as_deref());
            (
                group,
                rotation::plan(group, requested(osdpl, group), handled, state),
            )
        })
        .collect()
}

/// The user's rotation request for `group`.
fn requested(osdpl: &OpenStackDeployment, group: Group) -> Option<i64> {
    let credentials = osdpl.status.as_ref()?.credentials.as_ref()?;
    let rotation = match group {
        Group::Admin => credentials.admin.as_ref(),
        Group::Service => credentials.service.as_ref(),
    };
    rotation?.rotation_id
}

/// Whether `owner`'s `key` is in the credential tree.
pub fn present(tree: &Value, owner: &str, key: &str) -> bool {
    tree.get(owner).and_then(|o| o.get(key)).is_some()
}

/// The `Credentials` condition: every needed credential present and usable.
pub fn credentials(
    needs: &Needs,
    tree: &Value,
    problems: &[credentials::Problem],
    unreadable: Option<String>,
) -> Verdict {
    let mut reported: Vec<String> = problems.iter().map(ToString::to_string).collect();
    if let Some(error) = unreadable {
        reported.insert(
            0,
            format!(
                "cannot tell the enabled services ({error}); only the admin credentials are kept"
            ),
        );
    }
    for (owner, owner_needs) in needs {
        for need in owner_needs {
            let names = credentials::generation_names(owner);
            let listed = problems
                .iter()
                .any(|p| names.contains(&p.secret) && p.key.starts_with(need.key));
            if !present(tree, owner, need.key) && !listed {
                reported.push(format!(
                    "{owner} credential {} is not generated yet",
                    need.key
                ));
            }
        }
    }
    if reported.is_empty() {
        let total: usize = needs.values().map(Vec::len).sum();
        let message = format!("{total} credential(s) of {} owner(s) present", needs.len());
        Verdict::ok(status::CREDENTIALS, "Present", message)
    } else {
        Verdict::failed(status::CREDENTIALS, "UnusableCredential", &reported)
    }
}

/// The `CredentialsRotation` condition: every requested id handled, or why it is refused.
pub fn rotation(plans: &BTreeMap<Group, Plan>) -> Verdict {
    let refused: Vec<String> = plans
        .values()
        .filter_map(|p| match p {
            Plan::Refused { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    if refused.is_empty() {
        let ids: Vec<String> = plans
            .iter()
            .map(|(g, p)| format!("{} at rotation {}", g.as_str(), p.id()))
            .collect();
        Verdict::ok(status::ROTATION, "Handled", ids.join(", "))
    } else {
        Verdict::failed(status::ROTATION, "RotationRefused", &refused)
    }
}

/// The referenced Secrets: their hashes and the `SecretReferences` condition.
pub struct References {
    /// Hash of each referenced Secret's data, by name.
    pub hashes: BTreeMap<String, String>,
    /// References in the spec.
    pub total: usize,
    /// References that do not resolve.
    pub problems: usize,
    /// The condition.
    pub verdict: Verdict,
}

impl References {
    /// Resolves the spec's references against the labelled Secrets; a Secret that is not
    /// labelled is only checked for existence (never read into a cache).
    pub async fn check(
        spec: &OpenStackDeploymentSpec,
        labelled: &[Arc<Secret>],
        api: &Api<Secret>,
        hash_key: &[u8],
    ) -> Result<Self, Error> {
        let spec = serde_json::to_value(spec).unwrap_or(Value::Null);
        let references = value_from::references(&spec);
        let mut unlabelled = BTreeMap::new();
        for reference in &references {
            let known = labelled
                .iter()
                .any(|s| s.metadata.name.as_ref() == Some(&reference.name));
            if !known && !unlabelled.contains_key(&reference.name) {
                let exists = api.get_metadata_opt(&reference.name).await?.is_some();
                unlabelled.insert(reference.name.clone(), exists);
            }
        }
        let (hashes, problems) = value_from::check(&references, hash_key, |name| {
            match labelled
                .iter()
                .find(|s| s.metadata.name.as_deref() == Some(name))
            {
                Some(secret) => Found::Labelled(secret.as_ref()),
                None if unlabelled.get(name).copied().unwrap_or(false) => Found::Unlabelled,
                None => Found::Missing,
            }
        });
        let verdict = if problems.is_empty() {
            let message = format!(
                "{} reference(s) to {} Secret(s) resolved",
                references.len(),
                hashes.len()
            );
            Verdict::ok(status::SECRET_REFERENCES, "Resolved", message)
        } else {
            Verdict::failed(status::SECRET_REFERENCES, "UnresolvedReference", &problems)
        };
        Ok(Self {
            hashes,
            total: references.len(),
            problems: problems.len(),
            verdict,
        })
    }

    /// References that resolve.
    pub fn resolved(&self) -> usize {
        self.total - self.problems.min(self.total)
    }
}
/// CredentialsRestored: the Secrets this reconcile restored from their protected copies;
/// without a restore now, the last one stays as it was (none: the condition is absent).
pub fn restored(
    existing: Option<&[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]>,
    restored: &[String],
) -> Option<Verdict> {
    let message = if restored.is_empty() {
        let was = existing?.iter().find(|c| c.type_ == status::RESTORED)?;
        was.message.clone()
    } else {
        restored_message(restored)
    };
    Some(Verdict::ok(status::RESTORED, "Restored", message))
}

/// What a restore says (names only, never a value).
pub fn restored_message(restored: &[String]) -> String {
    format!(
        "credential Secret(s) {} deleted and restored from their protected copies with the same values",
        restored.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    #[test]
    fn a_restore_is_named_and_then_kept_until_the_next_one() {
        assert_eq!(restored(None, &[]), None, "never restored: no condition");
        let now = restored(None, &["generated-compute-passwords".to_owned()]).unwrap();
        assert!(now.ok && now.message.contains("generated-compute-passwords"));
        let condition = Condition {
            type_: status::RESTORED.to_owned(),
            status: "True".to_owned(),
            reason: "Restored".to_owned(),
            message: now.message.clone(),
            observed_generation: None,
            last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
        };
        let kept = restored(Some(&[condition]), &[]).unwrap();
        assert_eq!(kept.message, now.message);
    }
}
