//! What the OpenStack namespace should hold given what Ceph published, and what must change to
//! get there. Pure: the reconcile gathers the inputs from its caches and sends the writes.
//!
//! - `ConfigMap/ceph-etc`, key `ceph.conf`: `[global]` fsid and `mon_host`.
//! - `Secret/<user>-rbd-keyring`, key `key` (the bare cephx key), for each Ceph client user an
//!   enabled service reads ([`rockoon_core::ceph::users_needed`]).
//!
//! Bad input changes nothing that was good: a malformed `openstack-ceph-keys` (or one that is
//! gone) plans no write and no deletion; a user an enabled service needs but Ceph did not
//! publish keeps whatever keyring it has. Keyrings are deleted only for users no OSDPL of the
//! namespace needs, and only when every OSDPL's enabled services are known.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use rockoon_core::ceph::{self, CephDataError};
use serde_json::Value;

/// Field manager of every write of this container.
pub use rockoon_core::names::CEPH_EXCHANGE_MANAGER as FIELD_MANAGER;
/// Label on every object this container owns, with value [`MANAGED_BY`].
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Value of [`MANAGED_BY_LABEL`] on this container's objects (its watch selector).
pub const MANAGED_BY: &str = "rockoon-ceph-exchange";
/// Label of a keyring Secret naming its Ceph client user.
pub const CLIENT_LABEL: &str = "lcm.mirantis.com/ceph-client";

/// Condition type on the OSDPL.
pub const CONDITION: &str = "CephKeys";

/// The Ceph client users the OSDPLs of the namespace need, each with the services reading it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// User → services.
    pub users: BTreeMap<&'static str, BTreeSet<&'static str>>,
    /// Why some OSDPL's enabled services are unknown (then nothing is deleted).
    pub unknown: Vec<String>,
}

impl Needs {
    /// Adds one OSDPL's needs (or why they are unknown).
    pub fn add(
        &mut self,
        name: &str,
        needs: Result<BTreeMap<&'static str, BTreeSet<&'static str>>, String>,
    ) {
        match needs {
            Ok(users) => {
                for (user, services) in users {
                    self.users.entry(user).or_default().extend(services);
                }
            }
            Err(why) => self.unknown.push(format!("OSDPL {name}: {why}")),
        }
    }
}

/// What the caches hold.
pub struct Observed<'a> {
    /// `openstack-ceph-keys`, when published.
    pub keys: Option<&'a Secret>,
    /// The installation's hash key, for the published hash.
    pub hash_key: &'a [u8],
    /// Namespace of `openstack-ceph-keys`, for messages.
    pub ceph_namespace: &'a str,
    /// Union of the OSDPLs' needs.
    pub needs: &'a Needs,
    /// Secrets of the OpenStack namespace labelled as this container's.
    pub owned_secrets: &'a [&'a Secret],
    /// ConfigMaps of the OpenStack namespace labelled as this container's.
    pub owned_config_maps: &'a [&'a ConfigMap],
}

/// The state of the condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// True or False.
    pub ok: bool,
    /// CamelCase reason.
    pub reason: &'static str,
    /// Names objects, keys and users; never a key's value.
    pub message: String,
}

/// The writes and the report of one reconcile.
#[derive(Debug, Default)]
pub struct Plan {
    /// `ceph-etc` to apply, when it differs from the cache.
    pub config: Option<ConfigMap>,
    /// Keyring Secrets to apply (missing or different).
    pub keyrings: Vec<Secret>,
    /// Keyring Secrets to delete (owned, for users nobody needs).
    pub delete: Vec<String>,
    /// Hash of the published data to record, when it could be used.
    pub hash: Option<String>,
    /// Users with a usable key in what Ceph published (`None`: nothing usable).
    pub published_users: Option<usize>,
    /// The published data could not be read (the condition says why).
    pub malformed: bool,
    /// The condition.
    pub verdict: Option<Verdict>,
}

/// The plan for `observed`.
pub fn plan(observed: &Observed<'_>) -> Plan {
    let Some(secret) = observed.keys else {
        return unpublished(observed);
    };
    let mut plan = Plan::default();
    let raw: Vec<(&str, &[u8])> = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.0.as_slice()))
        .collect();
    let parsed = ceph::decode(raw.iter().copied()).and_then(|text| ceph::from_keys_secret(&text));
    let ceph = match parsed {
        Ok(ceph) => ceph,
        Err(error) => {
            plan.malformed = true;
            plan.verdict = Some(malformed(observed.ceph_namespace, &error));
            return plan;
        }
    };
    plan.hash = Some(ceph::published_hash(observed.hash_key, raw.iter().copied()));
    let keys = ceph["keys"].as_object().cloned().unwrap_or_default();
    plan.published_users = Some(keys.len());

    let conf = ceph::ceph_conf(&ceph);
    let config = config_map(&conf);
    if !observed
        .owned_config_maps
        .iter()
        .any(|c| config_up_to_date(c, &conf))
    {
        plan.config = Some(config);
    }
    let missing = keyrings(observed, &keys, &mut plan);
    if observed.needs.unknown.is_empty() {
        plan.delete = unneeded(observed);
    }
    plan.verdict = Some(verdict(observed, &missing));
    plan
}

/// No `openstack-ceph-keys`: nothing to write, and whether that matters.
fn unpublished(observed: &Observed<'_>) -> Plan {
    let verdict = if observed.needs.users.is_empty() && observed.needs.unknown.is_empty() {
        Verdict {
            ok: true,
            reason: "NotUsed",
            message: format!(
                "no enabled service uses Ceph and Secret {}/{} does not exist",
                observed.ceph_namespace,
                ceph::KEYS_SECRET
            ),
        }
    } else {
        Verdict {
            ok: false,
            reason: "NotPublished",
            message: format!(
                "Secret {}/{} does not exist; ceph-etc and the keyrings were left as they are",
                observed.ceph_namespace,
                ceph::KEYS_SECRET
            ),
        }
    };
    Plan {
        verdict: Some(verdict),
        ..Plan::default()
    }
}

/// Adds to `plan` the keyring of each needed user whose Secret is not up to date; returns the
/// needed users with no usable key (and who needs them).
fn keyrings(
    observed: &Observed<'_>,
    keys: &serde_json::Map<String, Value>,
    plan: &mut Plan,
) -> Vec<String> {
    let mut missing = Vec::new();
    for (user, services) in &observed.needs.users {
        let Some(key) = keys.get(*user).and_then(Value::as_str) else {
            let services: Vec<&str> = services.iter().copied().collect();
            missing.push(format!("{user} (needed by {})", services.join(", ")));
            continue;
        };
        let name = ceph::keyring_secret_name(user);
        let current = observed
            .owned_secrets
            .iter()
            .find(|s| s.metadata.name.as_deref() == Some(name.as_str()));
        if !current.is_some_and(|s| keyring_up_to_date(s, user, key)) {
            plan.keyrings.push(keyring(user, key));
        }
    }
    missing
}

/// Our keyring Secrets of users no enabled service needs (only when every OSDPL could tell).
fn unneeded(observed: &Observed<'_>) -> Vec<String> {
    let mut delete = Vec::new();
    for secret in observed.owned_secrets {
        let user = secret
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(CLIENT_LABEL));
        let Some(user) = user else { continue };
        let named = secret.metadata.name.as_deref() == Some(&ceph::keyring_secret_name(user));
        if named && !observed.needs.users.contains_key(user.as_str()) {
            delete.push(ceph::keyring_secret_name(user));
        }
    }
    delete
}

/// The `CephKeys` condition once the keys could be read.
fn verdict(observed: &Observed<'_>, missing: &[String]) -> Verdict {
    let users: Vec<&str> = observed.needs.users.keys().copied().collect();
    if !missing.is_empty() {
        Verdict {
            ok: false,
            reason: "MissingUser",
            message: format!(
                "Secret {}/{} has no usable key for {}; its keyring was left as it is",
                observed.ceph_namespace,
                ceph::KEYS_SECRET,
                missing.join("; ")
            ),
        }
    } else if !observed.needs.unknown.is_empty() {
        Verdict {
            ok: false,
            reason: "ServicesUnknown",
            message: format!(
                "cannot tell the enabled services ({}); no keyring was deleted",
                observed.needs.unknown.join("; ")
            ),
        }
    } else {
        let names: Vec<String> = users.iter().map(|u| ceph::keyring_secret_name(u)).collect();
        let listed = if names.is_empty() {
            "none needed".to_owned()
        } else {
            names.join(", ")
        };
        Verdict {
            ok: true,
            reason: "Published",
            message: format!(
                "{} and {} keyring Secret(s) ({listed}) follow {}/{}",
                ceph::CONFIG_MAP,
                users.len(),
                observed.ceph_namespace,
                ceph::KEYS_SECRET
            ),
        }
    }
}

fn malformed(ceph_namespace: &str, error: &CephDataError) -> Verdict {
    Verdict {
        ok: false,
        reason: "Malformed",
        message: format!(
            "Secret {ceph_namespace}/{}: key {}: {}; ceph-etc and the keyrings were left as they are",
            error.secret, error.key, error.reason
        ),
    }
}

fn labels(user: Option<&str>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([(MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned())]);
    if let Some(user) = user {
        labels.insert(CLIENT_LABEL.to_owned(), user.to_owned());
    }
    labels
}

fn has_labels(meta: &ObjectMeta, user: Option<&str>) -> bool {
    let have = meta.labels.clone().unwrap_or_default();
    labels(user).iter().all(|(k, v)| have.get(k) == Some(v))
}

/// The `ceph-etc` ConfigMap holding `conf`.
pub fn config_map(conf: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(ceph::CONFIG_MAP.to_owned()),
            labels: Some(labels(None)),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(
            ceph::CONFIG_KEY.to_owned(),
            conf.to_owned(),
        )])),
        ..ConfigMap::default()
    }
}

/// The keyring Secret of `user` holding `key`.
pub fn keyring(user: &str, key: &str) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(ceph::keyring_secret_name(user)),
            labels: Some(labels(Some(user))),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_owned()),
        data: Some(BTreeMap::from([(
            ceph::KEYRING_KEY.to_owned(),
            ByteString(key.as_bytes().to_vec()),
        )])),
        ..Secret::default()
    }
}

/// Whether the cached `config` is `ceph-etc` holding `conf`, with this container's labels.
pub fn config_up_to_date(config: &ConfigMap, conf: &str) -> bool {
    config.metadata.name.as_deref() == Some(ceph::CONFIG_MAP)
        && has_labels(&config.metadata, None)
        && config
            .data
            .as_ref()
            .and_then(|d| d.get(ceph::CONFIG_KEY))
            .is_some_and(|c| c == conf)
}

/// Whether the cached `secret` holds `user`'s `key`, with this container's labels.
pub fn keyring_up_to_date(secret: &Secret, user: &str, key: &str) -> bool {
    has_labels(&secret.metadata, Some(user))
        && secret
            .data
            .as_ref()
            .and_then(|d| d.get(ceph::KEYRING_KEY))
            .is_some_and(|k| k.0 == key.as_bytes())
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
