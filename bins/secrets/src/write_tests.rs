#![allow(clippy::unwrap_used)]
//! The add-only write protocol against an in-memory namespace that plays the API: a
//! `resourceVersion` per Secret, 409 on a stale merge patch or an existing name, and a rival
//! writer that can slip in between our read and our write.

use std::sync::Mutex;

use base64::Engine as _;
use rockoon_core::credentials::{ADMIN_NEEDS, IDENTITY_KEYS};

use super::*;

#[derive(Default)]
struct Namespace {
    secrets: Mutex<BTreeMap<String, Secret>>,
    /// Data a rival writes into the named Secret just before our next merge lands.
    rival: Mutex<Option<(String, BTreeMap<String, String>)>>,
    /// Every merge fails as if the Secret always changed meanwhile.
    always_conflict: bool,
    merges: Mutex<usize>,
}

impl Namespace {
    fn with(secrets: Vec<Secret>) -> Self {
        let namespace = Self::default();
        for mut secret in secrets {
            secret.metadata.resource_version = Some("1".into());
            namespace.lock().insert(name(&secret).to_owned(), secret);
        }
        namespace
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Secret>> {
        self.secrets.lock().unwrap()
    }

    fn value(&self, secret: &str, key: &str) -> Option<String> {
        let secrets = self.lock();
        let bytes = secrets.get(secret)?.data.as_ref()?.get(key)?;
        Some(String::from_utf8(bytes.0.clone()).unwrap())
    }
}

fn bump(secret: &mut Secret) {
    let version: u64 = secret
        .metadata
        .resource_version
        .as_deref()
        .unwrap_or("0")
        .parse()
        .unwrap();
    secret.metadata.resource_version = Some((version + 1).to_string());
}

impl SecretCalls for Namespace {
    async fn get(&self, name: &str) -> Result<Option<Secret>, kube::Error> {
        Ok(self.lock().get(name).cloned())
    }

    async fn create(&self, secret: &Secret) -> Result<bool, kube::Error> {
        let mut secrets = self.lock();
        if secrets.contains_key(name(secret)) {
            return Ok(false);
        }
        let mut secret = secret.clone();
        secret.metadata.resource_version = Some("1".into());
        secrets.insert(name(&secret).to_owned(), secret);
        Ok(true)
    }

    async fn merge(&self, name: &str, patch: &Value) -> Result<bool, kube::Error> {
        *self.merges.lock().unwrap() += 1;
        let rival = self.rival.lock().unwrap().take();
        let mut secrets = self.lock();
        if let Some((target, data)) = rival {
            let secret = secrets.get_mut(&target).unwrap();
            let stored = secret.data.get_or_insert_default();
            stored.extend(
                data.into_iter()
                    .map(|(k, v)| (k, ByteString(v.into_bytes()))),
            );
            bump(secret);
        }
        let Some(secret) = secrets.get_mut(name) else {
            return Ok(false);
        };
        let read_at = patch
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str);
        if self.always_conflict || read_at != secret.metadata.resource_version.as_deref() {
            return Ok(false);
        }
        let data = secret.data.get_or_insert_default();
        for (key, value) in patch["data"].as_object().into_iter().flatten() {
            match value.as_str() {
                None => {
                    data.remove(key);
                }
                Some(encoded) => {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(encoded)
                        .unwrap();
                    data.insert(key.clone(), ByteString(bytes));
                }
            }
        }
        for (key, value) in patch["metadata"]["annotations"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let annotations = secret.metadata.annotations.get_or_insert_default();
            annotations.insert(key.clone(), value.as_str().unwrap().to_owned());
        }
        bump(secret);
        Ok(true)
    }
}

fn metrics() -> Metrics {
    Metrics::register(&prometheus::Registry::new()).unwrap()
}

fn stored(name: &str, data: &[(&str, &str)]) -> Secret {
    let data = data
        .iter()
        .map(|(k, v)| ((*k).to_owned(), ByteString(v.as_bytes().to_vec())))
        .collect();
    new_secret(name, "admin", BTreeMap::new(), data)
}

#[tokio::test]
async fn a_first_generation_is_created_labelled_with_every_needed_credential() {
    let namespace = Namespace::default();
    let metrics = metrics();
    let writer = Writer {
        api: &namespace,
        metrics: &metrics,
    };
    let created = writer.ensure("admin", ADMIN_NEEDS, 0).await.unwrap();
    assert_eq!(created, ADMIN_NEEDS.len());
    let secret = namespace.lock()["openstack-admin-users"].clone();
    assert!(has_labels(&secret, "admin"));
    assert!(credentials::complete(ADMIN_NEEDS, secret.data.as_ref()));
    assert_eq!(
        writer.ensure("admin", ADMIN_NEEDS, 0).await.unwrap(),
        0,
        "a complete generation gets no write"
    );
}

#[tokio::test]
async fn a_present_value_is_never_replaced_and_only_absent_keys_are_added() {
    let namespace = Namespace::with(vec![stored(
        "openstack-admin-users",
        &[("identity.password", "chosen-by-hand")],
    )]);
    let metrics = metrics();
    let writer = Writer {
        api: &namespace,
        metrics: &metrics,
    };
    writer.ensure("admin", ADMIN_NEEDS, 0).await.unwrap();
    assert_eq!(
        namespace
            .value("openstack-admin-users", "identity.password")
            .as_deref(),
        Some("chosen-by-hand")
    );
    assert!(
        namespace
            .value("openstack-admin-users", "database.password")
            .is_some()
    );
}

#[tokio::test]
async fn a_rival_write_between_read_and_write_is_kept_and_ours_retried_on_the_new_version() {
    let namespace = Namespace::with(vec![stored("openstack-admin-users", &[])]);
    *namespace.rival.lock().unwrap() = Some((
        "openstack-admin-users".into(),
        BTreeMap::from([("database.password".to_owned(), "rival".to_owned())]),
    ));
    let metrics = metrics();
    let writer = Writer {
        api: &namespace,
        metrics: &metrics,
    };
    writer.ensure("admin", ADMIN_NEEDS, 0).await.unwrap();
    assert_eq!(
        *namespace.merges.lock().unwrap(),
        2,
        "one conflict, one retry"
    );
    assert_eq!(
        namespace
            .value("openstack-admin-users", "database.password")
            .as_deref(),
        Some("rival")
    );
    let secret = namespace.lock()["openstack-admin-users"].clone();
    assert!(credentials::complete(ADMIN_NEEDS, secret.data.as_ref()));
}

#[tokio::test]
async fn a_secret_that_keeps_changing_is_left_to_the_next_reconcile_as_contended() {
    let namespace = Namespace {
        always_conflict: true,
        ..Namespace::with(vec![stored("openstack-admin-users", &[])])
    };
    let metrics = metrics();
    let writer = Writer {
        api: &namespace,
        metrics: &metrics,
    };
    let error = writer.ensure("admin", ADMIN_NEEDS, 0).await.unwrap_err();
    assert!(matches!(error, Error::Contended(_)), "{error}");
    assert_eq!(*namespace.merges.lock().unwrap(), ATTEMPTS);
}

#[tokio::test]
async fn rotation_writes_the_inactive_generation_at_the_new_priority_and_keeps_the_active_one() {
    let namespace = Namespace::default();
    let metrics = metrics();
    let writer = Writer {
        api: &namespace,
        metrics: &metrics,
    };
    writer.ensure("identity", IDENTITY_KEYS, 1).await.unwrap();
    let before = namespace.lock()["generated-identity-passwords"].clone();
    assert!(
        writer
            .rotate("identity", IDENTITY_KEYS, 2, "now")
            .await
            .unwrap()
    );
    let secrets = namespace.lock().clone();
    assert_eq!(
        secrets["generated-identity-passwords"], before,
        "active kept"
    );
    let rotated = &secrets["generated-identity-passwords-1"];
    assert_eq!(credentials::priority(rotated), 2);
    assert!(
        !writer
            .rotate("identity", IDENTITY_KEYS, 2, "later")
            .await
            .unwrap(),
        "already at that rotation id"
    );
}

#[tokio::test]
async fn a_deleted_generation_comes_back_from_its_copy_with_the_same_values() {
    let namespace = Namespace::default();
    let metrics = metrics();
    let writer = Writer {
        api: &namespace,
        metrics: &metrics,
    };
    writer.ensure("admin", ADMIN_NEEDS, 0).await.unwrap();
    let before = namespace.lock()["openstack-admin-users"].clone();
    let copy = crate::backup::copy_of(&before);
    {
        let mut secrets = namespace.lock();
        secrets.remove("openstack-admin-users");
        secrets.insert(name(&copy).to_owned(), copy);
    }
    let created = writer.ensure("admin", ADMIN_NEEDS, 0).await.unwrap();
    assert_eq!(created, 0, "nothing generated");
    let after = namespace.lock()["openstack-admin-users"].clone();
    assert_eq!(after.data, before.data);
    assert_eq!(after.metadata.labels, before.metadata.labels);
}
