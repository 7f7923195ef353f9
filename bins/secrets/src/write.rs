//! Writes of credential Secrets, safe against every other writer.
//!
//! Server-side apply would delete keys a later apply omits, so credentials are never applied:
//! a first generation is *created* (a 409 means someone else created it first: re-read), and
//! keys are added with a JSON merge patch carrying the `resourceVersion` that was read, listing
//! only keys that were absent at that version (a 409 means the Secret changed meanwhile:
//! re-read and recompute). So a value present in any version of the Secret is never replaced,
//! whoever wrote it. Rotation writes only the generation that is not active, the same way.
//!
//! Before a first generation is made, the protected copies ([`crate::backup`]) are read from
//! the API: a Secret that was deleted comes back from its copy, never with new values.
//!
//! No owner reference is set: credential Secrets must outlive the OSDPL (deleting and
//! re-creating it must find the same credentials, or every database password would change).

use std::collections::BTreeMap;
use std::future::Future;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use rockoon_core::credentials::{self, Group, Needed};
use serde_json::{Value, json};

use crate::backup;
use crate::error::Error;
use crate::metrics::Metrics;
use crate::rotation;

/// Field manager of every write of this container.
pub use rockoon_core::names::SECRETS_MANAGER as FIELD_MANAGER;

/// Attempts before a contended Secret is left to the next reconcile.
const ATTEMPTS: usize = 5;

/// The three calls the write protocol makes, so it can run against the API or, in unit
/// tests, against an in-memory namespace that plays the API's conflicts.
pub trait SecretCalls: Sync {
    /// The Secret `name` as the API has it now.
    fn get(&self, name: &str) -> impl Future<Output = Result<Option<Secret>, kube::Error>> + Send;
    /// Creates `secret`; `false` when it already exists (someone else was first).
    fn create(&self, secret: &Secret) -> impl Future<Output = Result<bool, kube::Error>> + Send;
    /// JSON merge patch guarded by the `resourceVersion` inside it; `false` when the Secret
    /// changed or went since it was read.
    fn merge(
        &self,
        name: &str,
        patch: &Value,
    ) -> impl Future<Output = Result<bool, kube::Error>> + Send;
}

impl SecretCalls for Api<Secret> {
    async fn get(&self, name: &str) -> Result<Option<Secret>, kube::Error> {
        self.get_opt(name).await
    }

    async fn create(&self, secret: &Secret) -> Result<bool, kube::Error> {
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PostParams::default()
        };
        match Api::create(self, &params, secret).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(error) => Err(error),
        }
    }

    async fn merge(&self, name: &str, patch: &Value) -> Result<bool, kube::Error> {
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        match self.patch(name, &params, &Patch::Merge(patch)).await {
            Ok(_) => Ok(true),
            // 409: changed since read; 404: deleted since read (the next attempt creates it).
            Err(kube::Error::Api(status)) if status.code == 409 || status.code == 404 => Ok(false),
            Err(error) => Err(error),
        }
    }
}

/// Credential Secret writes in one namespace.
pub struct Writer<'a, A: SecretCalls> {
    /// Secrets of the OpenStack namespace.
    pub api: &'a A,
    /// Where conflicts are counted.
    pub metrics: &'a Metrics,
}

/// Both generations of an owner as the API has them now.
struct Generations {
    found: Vec<Secret>,
}

impl Generations {
    /// The active one: highest priority, first name on a tie (labelled or not, so a Secret made
    /// by hand under the right name is adopted rather than shadowed).
    fn active(&self) -> Option<&Secret> {
        self.found.iter().min_by(|a, b| {
            credentials::priority(b)
                .cmp(&credentials::priority(a))
                .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        })
    }

    fn named(&self, name: &str) -> Option<&Secret> {
        self.found
            .iter()
            .find(|s| s.metadata.name.as_deref() == Some(name))
    }
}

impl<A: SecretCalls> Writer<'_, A> {
    async fn generations(&self, owner: &str) -> Result<Generations, Error> {
        let mut found = Vec::new();
        for name in credentials::generation_names(owner) {
            if let Some(secret) = self.api.get(&name).await? {
                found.push(secret);
            }
        }
        Ok(Generations { found })
    }

    /// Makes `owner`'s active generation hold everything in `needs`, generating only what is
    /// absent; a first generation gets `priority`. Returns how many credentials it generated.
    pub async fn ensure(
        &self,
        owner: &str,
        needs: &[Needed],
        priority: i64,
    ) -> Result<usize, Error> {
        let group = Group::of(owner).as_str();
        for _ in 0..ATTEMPTS {
            let generations = self.generations(owner).await?;
            let written = match generations.active() {
                None if self.restore_copies(owner).await? => continue,
                None => {
                    let add = credentials::additions(owner, needs, None)?;
                    let mut annotations = BTreeMap::new();
                    if priority > 0 {
                        annotations.insert(
                            credentials::PRIORITY_ANNOTATION.to_owned(),
                            priority.to_string(),
                        );
                    }
                    let secret = new_secret(
                        &credentials::secret_name(owner),
                        owner,
                        annotations,
                        bytes(add.clone()),
                    );
                    self.create(&secret).await?.then_some(add)
                }
                Some(active) => {
                    let add = credentials::additions(owner, needs, active.data.as_ref())?;
                    if add.is_empty() && has_labels(active, owner) {
                        return Ok(0);
                    }
                    let data: serde_json::Map<String, Value> = add
                        .iter()
                        .map(|(k, v)| (k.clone(), json!(base64(v.as_bytes()))))
                        .collect();
                    let patch = json!({
                        "metadata": {"resourceVersion": active.metadata.resource_version, "labels": labels(owner)},
                        "data": data,
                    });
                    self.merge(name(active), &patch).await?.then_some(add)
                }
            };
            match written {
                Some(add) => return Ok(count(&add)),
                None => self.metrics.conflict(group),
            }
        }
        Err(Error::Contended(credentials::secret_name(owner)))
    }

    /// Writes a new generation of `owner` at rotation `id` into the name that is not active,
    /// unless the active generation is already at `id` or above. Returns whether it wrote.
    pub async fn rotate(
        &self,
        owner: &str,
        needs: &[Needed],
        id: i64,
        now: &str,
    ) -> Result<bool, Error> {
        let group = Group::of(owner).as_str();
        for _ in 0..ATTEMPTS {
            let generations = self.generations(owner).await?;
            let Some(active) = generations.active() else {
                return Ok(false);
            };
            if credentials::priority(active) >= id {
                return Ok(false);
            }
            let target = rotation::target(owner, name(active));
            let data = credentials::rotated(owner, needs, active.data.as_ref())?;
            let annotations = BTreeMap::from([
                (credentials::PRIORITY_ANNOTATION.to_owned(), id.to_string()),
                (
                    credentials::ROTATED_AT_ANNOTATION.to_owned(),
                    now.to_owned(),
                ),
            ]);
            let wrote = match generations.named(&target) {
                None => {
                    self.create(&new_secret(&target, owner, annotations, data))
                        .await?
                }
                Some(old) => {
                    // The generation before the active one is replaced whole: its keys that
                    // the new data lacks are removed (null in a merge patch).
                    let mut patch_data: serde_json::Map<String, Value> = old
                        .data
                        .iter()
                        .flatten()
                        .map(|(k, _)| (k.clone(), Value::Null))
                        .collect();
                    patch_data.extend(data.iter().map(|(k, v)| (k.clone(), json!(base64(&v.0)))));
                    let patch = json!({
                        "metadata": {
                            "resourceVersion": old.metadata.resource_version,
                            "labels": labels(owner),
                            "annotations": annotations,
                        },
                        "data": patch_data,
                    });
                    self.merge(&target, &patch).await?
                }
            };
            if wrote {
                return Ok(true);
            }
            self.metrics.conflict(group);
        }
        Err(Error::Contended(credentials::secret_name(owner)))
    }

    /// Creates `owner`'s generations again from their protected copies, if the API has any;
    /// returns whether it found one (then the generations are read again).
    async fn restore_copies(&self, owner: &str) -> Result<bool, Error> {
        let mut found = false;
        for name in credentials::generation_names(owner) {
            let copy = self.api.get(&backup::backup_name(&name)).await?;
            if let Some(original) = copy.as_ref().and_then(backup::original_of) {
                found = true;
                if self.create(&original).await? {
                    tracing::warn!(secret = %name, "credential Secret was gone; restored from its copy");
                    self.metrics.restored(backup::group_of(&original));
                }
            }
        }
        Ok(found)
    }

    async fn create(&self, secret: &Secret) -> Result<bool, Error> {
        Ok(self.api.create(secret).await?)
    }

    async fn merge(&self, name: &str, patch: &Value) -> Result<bool, Error> {
        Ok(self.api.merge(name, patch).await?)
    }
}

fn name(secret: &Secret) -> &str {
    secret.metadata.name.as_deref().unwrap_or_default()
}

fn labels(owner: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (credentials::OWNER_LABEL.to_owned(), owner.to_owned()),
        (
            credentials::MANAGED_BY_LABEL.to_owned(),
            credentials::MANAGED_BY.to_owned(),
        ),
    ])
}

fn has_labels(secret: &Secret, owner: &str) -> bool {
    let current = secret.metadata.labels.clone().unwrap_or_default();
    labels(owner).iter().all(|(k, v)| current.get(k) == Some(v))
}

fn new_secret(
    name: &str,
    owner: &str,
    annotations: BTreeMap<String, String>,
    data: BTreeMap<String, ByteString>,
) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(labels(owner)),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_owned()),
        data: Some(data),
        ..Secret::default()
    }
}

fn bytes(values: BTreeMap<String, String>) -> BTreeMap<String, ByteString> {
    values
        .into_iter()
        .map(|(k, v)| (k, ByteString(v.into_bytes())))
        .collect()
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Credentials in a set of added keys: a user (two keys) counts once.
fn count(added: &BTreeMap<String, String>) -> usize {
    added.keys().filter(|k| !k.ends_with(".username")).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(name: &str, priority: Option<&str>) -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some(name.into()),
                annotations: priority
                    .map(|p| [(credentials::PRIORITY_ANNOTATION.to_owned(), p.to_owned())].into()),
                ..ObjectMeta::default()
            },
            ..Secret::default()
        }
    }

    #[test]
    fn an_unlabelled_secret_under_the_right_name_is_the_active_generation() {
        let generations = Generations {
            found: vec![secret("generated-x-passwords", None)],
        };
        assert_eq!(name(generations.active().unwrap()), "generated-x-passwords");
        let generations = Generations {
            found: vec![
                secret("generated-x-passwords", Some("2")),
                secret("generated-x-passwords-1", Some("1")),
            ],
        };
        assert_eq!(name(generations.active().unwrap()), "generated-x-passwords");
    }

    #[test]
    fn a_user_counts_as_one_credential() {
        let added = BTreeMap::from([
            ("database.username".to_owned(), String::new()),
            ("database.password".to_owned(), String::new()),
            ("kek".to_owned(), String::new()),
        ]);
        assert_eq!(count(&added), 2);
    }
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod protocol_tests;
