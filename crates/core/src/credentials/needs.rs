//! What each owner needs: the shapes of credentials, the administrator accounts every
//! deployment has, and the credentials of each enabled service (from the render catalog).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;

use super::ADMIN;
use crate::services::{Credential, Service};

/// What a generated credential looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `username` and `password`; the username is fixed or a readable prefix plus random
    /// characters. Both change on rotation, except a fixed username.
    User {
        /// Fixed username, or `None` for `<prefix><random>`.
        fixed_username: Option<&'static str>,
    },
    /// One random string, kept across rotations.
    Plain,
    /// A Fernet key (URL-safe base64 of 32 random bytes), as Keystone's token and credential
    /// repositories want them; kept across rotations (Keystone rotates its own token keys, and a
    /// new credential key would make the stored credentials unreadable).
    FernetKey,
}

/// One credential an owner needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needed {
    /// Key in the owner's credential tree (`database`, `memcache_secret_key`, ...).
    pub key: &'static str,
    /// How it is generated.
    pub shape: Shape,
}

impl Needed {
    /// The data keys this credential occupies in its owner's Secret.
    pub fn data_keys(&self) -> Vec<String> {
        match self.shape {
            Shape::User { .. } => vec![
                format!("{}.username", self.key),
                format!("{}.password", self.key),
            ],
            Shape::Plain | Shape::FernetKey => vec![self.key.to_owned()],
        }
    }
}

/// Whether `existing` has a key for everything in `needs` (usability is [`tree`]'s concern),
/// i.e. whether [`additions`] would add nothing.
pub fn complete(needs: &[Needed], existing: Option<&BTreeMap<String, ByteString>>) -> bool {
    let data = existing.cloned().unwrap_or_default();
    needs
        .iter()
        .flat_map(Needed::data_keys)
        .all(|key| data.contains_key(&key))
}

const USER: Shape = Shape::User {
    fixed_username: None,
};

/// Administrator accounts every deployment has, whatever its services.
pub const ADMIN_NEEDS: &[Needed] = &[
    Needed {
        key: "identity",
        shape: Shape::User {
            fixed_username: Some("admin"),
        },
    },
    Needed {
        key: "database",
        shape: Shape::User {
            fixed_username: Some("root"),
        },
    },
    Needed {
        key: "messaging",
        shape: Shape::User {
            fixed_username: Some("rabbitmq"),
        },
    },
];

/// Keys of Keystone's token (`fernet_key_<n>`) and credential (`credential_key_<n>`)
/// repositories: index 0 is the staged key, 1 the primary, as `keystone-manage fernet_setup`
/// leaves them.
pub const IDENTITY_KEYS: &[Needed] = &[
    Needed {
        key: "fernet_key_0",
        shape: Shape::FernetKey,
    },
    Needed {
        key: "fernet_key_1",
        shape: Shape::FernetKey,
    },
    Needed {
        key: "credential_key_0",
        shape: Shape::FernetKey,
    },
    Needed {
        key: "credential_key_1",
        shape: Shape::FernetKey,
    },
];

/// Every credential the `enabled` services need, by owner (always including `admin`).
pub fn needed<'a>(
    enabled: impl IntoIterator<Item = &'a Service>,
) -> BTreeMap<&'static str, Vec<Needed>> {
    let mut needs: BTreeMap<&'static str, Vec<Needed>> = BTreeMap::new();
    needs.insert(ADMIN, ADMIN_NEEDS.to_vec());
    for service in enabled {
        for credential in service.all_credentials() {
            let shape = match credential {
                Credential::Database | Credential::Messaging | Credential::Identity => USER,
                Credential::MemcacheKey | Credential::Secret(_) | Credential::Shared(_) => {
                    Shape::Plain
                }
            };
            let owner = needs.entry(credential.owner(service.name)).or_default();
            if !owner.iter().any(|n| n.key == credential.key()) {
                owner.push(Needed {
                    key: credential.key(),
                    shape,
                });
            }
        }
        if service.name == "identity" {
            needs
                .entry(service.name)
                .or_default()
                .extend_from_slice(IDENTITY_KEYS);
        }
    }
    needs
}
