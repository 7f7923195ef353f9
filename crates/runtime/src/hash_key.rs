//! The installation's hash key: 32 random bytes in the Secret `rockoon-hash-key` of the
//! controller namespace, created by whichever binary needs it first and then only read.
//!
//! The hashes of watched Secrets that secrets and ceph-exchange publish in an OSDPL's status
//! (`status.watched.*.hash`) are HMAC-SHA256 under this key
//! (`core::values::fingerprint::keyed_fingerprint`): whoever can read OSDPLs but not the
//! controller namespace's Secrets cannot test guesses of a low-entropy Secret against them.
//! Kept in a Secret, the key survives restarts, so the hashes stay stable and osdpl upgrades
//! nothing after a restart.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::PostParams;
use kube::{Api, Client};
use tokio::sync::OnceCell;

/// Name of the Secret holding the key.
pub const SECRET: &str = "rockoon-hash-key";
/// Its data key.
const DATA_KEY: &str = "key";
/// Bytes of a new key.
const KEY_BYTES: usize = 32;

/// The key, read (or created) on first use.
pub struct HashKey {
    api: Api<Secret>,
    key: OnceCell<Vec<u8>>,
}

impl HashKey {
    /// The key of the installation whose controllers run in `namespace`.
    pub fn new(client: Client, namespace: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            key: OnceCell::new(),
        }
    }

    /// The key bytes: read from the Secret, or a new random key created there when there is
    /// none yet (a create race is settled by reading the winner's).
    pub async fn get(&self) -> Result<&[u8], kube::Error> {
        self.key
            .get_or_try_init(|| async {
                if let Some(key) = self.read().await? {
                    return Ok(key);
                }
                match self.api.create(&PostParams::default(), &new_secret()).await {
                    Ok(created) => Ok(key_of(&created).unwrap_or_default()),
                    Err(kube::Error::Api(status)) if status.code == 409 => {
                        Ok(self.read().await?.unwrap_or_default())
                    }
                    Err(error) => Err(error),
                }
            })
            .await
            .map(Vec::as_slice)
    }

    async fn read(&self) -> Result<Option<Vec<u8>>, kube::Error> {
        Ok(self.api.get_opt(SECRET).await?.as_ref().and_then(key_of))
    }
}

/// The key a Secret holds, if it holds a usable one.
fn key_of(secret: &Secret) -> Option<Vec<u8>> {
    let key = secret.data.as_ref()?.get(DATA_KEY)?.0.clone();
    (key.len() >= 16).then_some(key)
}

fn new_secret() -> Secret {
    let mut key = vec![0u8; KEY_BYTES];
    // The OS generator failing leaves no way to make a key; an all-zero key would be a
    // guessable one, so fall back to the time-seeded hasher of the standard library.
    if getrandom::fill(&mut key).is_err() {
        use std::hash::{BuildHasher, RandomState};
        for (i, chunk) in key.chunks_mut(8).enumerate() {
            let word = RandomState::new().hash_one(i).to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
    Secret {
        metadata: ObjectMeta {
            name: Some(SECRET.into()),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(DATA_KEY.into(), ByteString(key))])),
        ..Secret::default()
    }
}
