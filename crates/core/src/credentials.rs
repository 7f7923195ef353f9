//! Generated credentials: the contract between `secrets`, which creates them, and `osdpl`,
//! which renders with them. Pure: names, layout, what each service needs, parsing and
//! generation; the binaries make the API calls.
//!
//! One Secret per *owner* in the OpenStack namespace. An owner is a service of
//! `features.services`, `admin` (cloud-wide administrator accounts) or `shared` (secrets two
//! services must agree on, such as the Nova/Neutron metadata proxy secret):
//! - name `generated-<owner>-passwords` (Rockoon's names; `admin` is `openstack-admin-users`),
//!   plus `<name>-1` once a rotation has made a second generation. The active generation is the
//!   one with the highest [`PRIORITY_ANNOTATION`] (absent counts as 0; on a tie the first name
//!   wins);
//! - label [`OWNER_LABEL`]`=<owner>` and [`MANAGED_BY_LABEL`]`=rockoon`;
//! - data: a user credential `<key>` as `<key>.username` and `<key>.password`, a plain secret
//!   as `<key>`.
//!
//! Values are created once and never overwritten: [`additions`] only ever adds keys that are
//! absent. A rotation writes a *new* generation ([`rotated`]) into the name that is not active,
//! so the active one stays untouched until the new one takes over. Nothing here formats a value
//! into a message.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use serde_json::{Map, Value, json};

use crate::render::catalog::{Credential, ServiceDef};

/// Label naming the owner of a credential Secret.
pub const OWNER_LABEL: &str = "lcm.mirantis.com/credentials";
/// Label marking objects the suite manages.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY: &str = "rockoon";
/// Annotation ordering the generations of one owner (Rockoon's name); highest is active.
pub const PRIORITY_ANNOTATION: &str = "openstack.lcm.mirantis.com/secret_priority";
/// Owner of the cloud-wide administrator accounts.
pub const ADMIN: &str = "admin";
/// Annotation with the time (RFC 3339) a rotation wrote a generation.
pub const ROTATED_AT_ANNOTATION: &str = "lcm.mirantis.com/credentials-rotated-at";

/// Which `status.credentials.<group>.rotation_id` rotates an owner's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// `admin`: the administrator accounts.
    Admin,
    /// `service`: every other owner.
    Service,
}

impl Group {
    /// Both groups.
    pub const ALL: [Group; 2] = [Group::Admin, Group::Service];

    /// The group of `owner`.
    pub fn of(owner: &str) -> Self {
        if owner == ADMIN {
            Group::Admin
        } else {
            Group::Service
        }
    }

    /// The key under `status.credentials`.
    pub fn as_str(self) -> &'static str {
        match self {
            Group::Admin => "admin",
            Group::Service => "service",
        }
    }
}

/// Name of the first generation of `owner`'s credential Secret.
pub fn secret_name(owner: &str) -> String {
    match owner {
        ADMIN => "openstack-admin-users".to_owned(),
        _ => format!("generated-{owner}-passwords"),
    }
}

/// Names of both generations of `owner`'s credential Secret: the first and `<name>-1`.
pub fn generation_names(owner: &str) -> [String; 2] {
    let base = secret_name(owner);
    let second = format!("{base}-1");
    [base, second]
}

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
    enabled: impl IntoIterator<Item = &'a ServiceDef>,
) -> BTreeMap<&'static str, Vec<Needed>> {
    let mut needs: BTreeMap<&'static str, Vec<Needed>> = BTreeMap::new();
    needs.insert(ADMIN, ADMIN_NEEDS.to_vec());
    for service in enabled {
        for credential in service.credentials {
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

/// A credential that is present but unusable; names the Secret and key, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Secret name.
    pub secret: String,
    /// Data key.
    pub key: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Secret {} key {}: {}",
            self.secret, self.key, self.reason
        )
    }
}

/// The credential tree of the active generations of `secrets` (others are ignored), as the
/// render context wants it: `<owner>.<key>` → `{username, password}` or a string. Unusable
/// values (empty, not UTF-8) are left out, so whatever needs them waits, and reported.
pub fn tree<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> (Value, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut owners = Map::new();
    for (owner, secret) in active(secrets) {
        let parsed = parse_data(name(secret), secret.data.as_ref(), &mut problems);
        owners.insert(owner.to_owned(), parsed);
    }
    (Value::Object(owners), problems)
}

/// The active generation of each owner among `secrets` (those without [`OWNER_LABEL`] are
/// ignored): the highest [`priority`], on a tie the first name.
pub fn active<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> BTreeMap<&'a str, &'a Secret> {
    let mut active: BTreeMap<&str, &Secret> = BTreeMap::new();
    for secret in secrets {
        let Some(owner) = owner(secret) else {
            continue;
        };
        let replace = active.get(owner).is_none_or(|current| {
            let (mine, theirs) = (priority(secret), priority(current));
            mine > theirs || (mine == theirs && name(secret) < name(current))
        });
        if replace {
            active.insert(owner, secret);
        }
    }
    active
}

/// The owner a credential Secret is labelled with.
pub fn owner(secret: &Secret) -> Option<&str> {
    secret
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(OWNER_LABEL))
        .map(String::as_str)
}

/// The generation order of a credential Secret (absent or unreadable counts as 0).
pub fn priority(secret: &Secret) -> i64 {
    secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(PRIORITY_ANNOTATION))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(0)
}

fn name(secret: &Secret) -> &str {
    secret.metadata.name.as_deref().unwrap_or_default()
}

fn parse_data(
    secret: &str,
    data: Option<&BTreeMap<String, ByteString>>,
    problems: &mut Vec<Problem>,
) -> Value {
    let mut tree = Map::new();
    for (key, bytes) in data.into_iter().flatten() {
        let value = match std::str::from_utf8(&bytes.0) {
            Err(_) => Err("not UTF-8 text"),
            Ok("") => Err("empty"),
            Ok(text) => Ok(text),
        };
        let value = match value {
            Ok(text) => text,
            Err(reason) => {
                problems.push(Problem {
                    secret: secret.to_owned(),
                    key: key.clone(),
                    reason,
                });
                continue;
            }
        };
        match key.rsplit_once('.') {
            Some((user, field @ ("username" | "password"))) => {
                let entry = tree.entry(user.to_owned()).or_insert_with(|| json!({}));
                if let Some(entry) = entry.as_object_mut() {
                    entry.insert(field.to_owned(), Value::String(value.to_owned()));
                }
            }
            _ => {
                tree.insert(key.clone(), Value::String(value.to_owned()));
            }
        }
    }
    // A user credential with one half missing is as good as absent.
    tree.retain(|key, value| match value {
        Value::Object(fields)
            if !(fields.contains_key("username") && fields.contains_key("password")) =>
        {
            problems.push(Problem {
                secret: secret.to_owned(),
                key: key.clone(),
                reason: "has only one of username and password",
            });
            false
        }
        _ => true,
    });
    Value::Object(tree)
}

/// Data keys to add to `owner`'s Secret so it holds everything in `needs`: fresh values for
/// absent credentials only. Present keys are never touched, even when unusable (a person may
/// be mid-edit; overwriting would lose a credential a database already uses).
pub fn additions(
    owner: &str,
    needs: &[Needed],
    existing: Option<&BTreeMap<String, ByteString>>,
) -> Result<BTreeMap<String, String>, getrandom::Error> {
    let has = |key: &str| existing.is_some_and(|data| data.contains_key(key));
    let mut add = BTreeMap::new();
    for need in needs {
        match need.shape {
            Shape::Plain | Shape::FernetKey => {
                if !has(need.key) {
                    add.insert(need.key.to_owned(), fresh(need.shape)?);
                }
            }
            Shape::User { fixed_username } => {
                let (user_key, password_key) = (
                    format!("{}.username", need.key),
                    format!("{}.password", need.key),
                );
                if !has(&user_key) {
                    let username = match fixed_username {
                        Some(name) => name.to_owned(),
                        None => generated_username(owner)?,
                    };
                    add.insert(user_key, username);
                }
                if !has(&password_key) {
                    add.insert(password_key, random_string(PASSWORD_LENGTH)?);
                }
            }
        }
    }
    Ok(add)
}

/// The complete data of a new generation of `owner`'s credentials, replacing `previous` (the
/// active generation): fresh passwords and generated usernames; fixed usernames, plain secrets,
/// Fernet keys and keys this version does not know are carried over unchanged.
pub fn rotated(
    owner: &str,
    needs: &[Needed],
    previous: Option<&BTreeMap<String, ByteString>>,
) -> Result<BTreeMap<String, ByteString>, getrandom::Error> {
    let mut data: BTreeMap<String, ByteString> = previous.cloned().unwrap_or_default();
    for need in needs {
        if let Shape::User { fixed_username } = need.shape {
            let username = match fixed_username {
                Some(name) => name.to_owned(),
                None => generated_username(owner)?,
            };
            data.insert(
                format!("{}.username", need.key),
                ByteString(username.into_bytes()),
            );
            data.insert(
                format!("{}.password", need.key),
                ByteString(random_string(PASSWORD_LENGTH)?.into_bytes()),
            );
        }
    }
    // Whatever the previous generation lacked is generated as for a first generation.
    let missing = additions(owner, needs, Some(&data))?;
    data.extend(
        missing
            .into_iter()
            .map(|(k, v)| (k, ByteString(v.into_bytes()))),
    );
    Ok(data)
}

fn fresh(shape: Shape) -> Result<String, getrandom::Error> {
    match shape {
        Shape::FernetKey => fernet_key(),
        _ => random_string(PASSWORD_LENGTH),
    }
}

/// A Fernet key: URL-safe base64 (with padding) of 32 bytes from the OS random generator.
pub fn fernet_key() -> Result<String, getrandom::Error> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(base64::engine::general_purpose::URL_SAFE.encode(bytes))
}

/// Length of generated passwords and plain secrets (≈190 bits from a 62-character alphabet).
pub const PASSWORD_LENGTH: usize = 32;
/// MariaDB and RabbitMQ both accept 16 characters; Rockoon uses the same bound.
const MAX_USERNAME: usize = 16;
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A readable, unique username: the owner's OpenStack project name and random characters.
fn generated_username(owner: &str) -> Result<String, getrandom::Error> {
    let prefix: String = project_name(owner).chars().take(MAX_USERNAME - 6).collect();
    let suffix = random_from(
        b"abcdefghijklmnopqrstuvwxyz0123456789",
        MAX_USERNAME - prefix.len(),
    )?;
    Ok(format!("{prefix}{suffix}"))
}

/// The OpenStack project behind a service name, for readable usernames.
fn project_name(owner: &str) -> &str {
    match owner {
        "identity" => "keystone",
        "placement" => "placement",
        "image" => "glance",
        "compute" => "nova",
        "networking" => "neutron",
        "block-storage" => "cinder",
        "dashboard" => "horizon",
        "orchestration" => "heat",
        "dns" => "designate",
        "load-balancer" => "octavia",
        "key-manager" => "barbican",
        "object-storage" => "rgw",
        "instance-ha" => "masakari",
        "shared-file-system" => "manila",
        "tempest" => "tempest",
        _ => "os",
    }
}

/// `length` characters drawn uniformly from the alphanumeric alphabet.
pub fn random_string(length: usize) -> Result<String, getrandom::Error> {
    random_from(ALPHABET, length)
}

fn random_from(alphabet: &[u8], length: usize) -> Result<String, getrandom::Error> {
    // Rejection sampling keeps the distribution uniform: bytes at or above the largest
    // multiple of the alphabet size are thrown away.
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(length);
    let mut buffer = [0u8; 64];
    while out.len() < length {
        getrandom::fill(&mut buffer)?;
        for &byte in &buffer {
            if usize::from(byte) < limit && out.len() < length {
                out.push(char::from(alphabet[usize::from(byte) % alphabet.len()]));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::render::catalog::SERVICES;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn secret(name: &str, owner: &str, priority: Option<&str>, data: &[(&str, &[u8])]) -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some([(OWNER_LABEL.to_owned(), owner.to_owned())].into()),
                annotations: priority
                    .map(|p| [(PRIORITY_ANNOTATION.to_owned(), p.to_owned())].into()),
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

    fn service(name: &str) -> &'static ServiceDef {
        SERVICES.iter().find(|s| s.name == name).unwrap()
    }

    #[test]
    fn admin_accounts_are_always_needed_and_shared_secrets_have_their_own_owner() {
        let needs = needed([service("compute"), service("networking")]);
        assert_eq!(needs["admin"], ADMIN_NEEDS);
        // One metadata-proxy secret and one notifications password, for both services.
        assert_eq!(needs["shared"].len(), 2, "{:?}", needs["shared"]);
        assert!(needs["compute"].iter().any(|n| n.key == "database"));
    }

    #[test]
    fn additions_fill_only_what_is_absent() {
        let needs = needed([service("identity")]);
        let existing: BTreeMap<String, ByteString> =
            [("database.password".to_owned(), ByteString(b"kept".to_vec()))].into();
        let add = additions("identity", &needs["identity"], Some(&existing)).unwrap();
        assert!(!add.contains_key("database.password"), "never overwritten");
        assert!(add["database.username"].starts_with("keystone"));
        assert!(add["database.username"].len() <= 16);
        assert_eq!(add["messaging.password"].len(), PASSWORD_LENGTH);
        assert!(add.contains_key("memcache_secret_key"));
    }

    #[test]
    fn a_complete_secret_needs_no_additions() {
        let needs = needed([service("identity")]);
        let first = additions("identity", &needs["identity"], None).unwrap();
        let data = first
            .into_iter()
            .map(|(k, v)| (k, ByteString(v.into_bytes())))
            .collect();
        assert!(
            additions("identity", &needs["identity"], Some(&data))
                .unwrap()
                .is_empty()
        );
        assert!(complete(&needs["identity"], Some(&data)));
        assert!(!complete(&needs["identity"], None));
    }

    #[test]
    fn generated_values_differ_and_use_the_alphabet() {
        let (a, b) = (random_string(32).unwrap(), random_string(32).unwrap());
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)));
    }

    #[test]
    fn the_tree_reads_users_and_plain_secrets_of_the_active_generation() {
        let old = secret(
            "generated-identity-passwords",
            "identity",
            None,
            &[("database.username", b"old"), ("database.password", b"p0")],
        );
        let new = secret(
            "generated-identity-passwords-1",
            "identity",
            Some("2"),
            &[
                ("database.username", b"new"),
                ("database.password", b"p1"),
                ("memcache_secret_key", b"m"),
            ],
        );
        let (tree, problems) = tree([&old, &new]);
        assert!(problems.is_empty());
        assert_eq!(tree["identity"]["database"]["username"], "new");
        assert_eq!(tree["identity"]["memcache_secret_key"], "m");
    }

    #[test]
    fn unusable_values_are_left_out_and_reported_without_their_content() {
        let s = secret(
            "generated-image-passwords",
            "image",
            None,
            &[
                ("database.username", b"glance"),
                ("database.password", b""),
                ("kek", &[0xff, 0xfe]),
            ],
        );
        let (tree, problems) = tree([&s]);
        assert_eq!(tree["image"], json!({}));
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            text.iter().any(|p| p.contains("database.password: empty")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|p| p.contains("kek: not UTF-8")),
            "{text:?}"
        );
        assert!(text.iter().any(|p| p.contains("only one of")), "{text:?}");
    }

    #[test]
    fn secrets_without_the_owner_label_are_ignored() {
        let mut s = secret("other", "x", None, &[("a", b"b")]);
        s.metadata.labels = None;
        assert_eq!(tree([&s]).0, json!({}));
    }

    #[test]
    fn identity_gets_fernet_and_credential_keys_of_32_random_bytes() {
        use base64::Engine as _;
        let needs = needed([service("identity")]);
        let add = additions("identity", &needs["identity"], None).unwrap();
        for key in [
            "fernet_key_0",
            "fernet_key_1",
            "credential_key_0",
            "credential_key_1",
        ] {
            let decoded = base64::engine::general_purpose::URL_SAFE
                .decode(&add[key])
                .unwrap();
            assert_eq!(decoded.len(), 32, "{key}");
        }
        assert_ne!(add["fernet_key_0"], add["fernet_key_1"]);
    }

    #[test]
    fn a_rotation_renews_users_and_keeps_keys_fixed_names_and_unknown_entries() {
        let needs = needed([service("identity")]);
        let first: BTreeMap<String, ByteString> = additions("identity", &needs["identity"], None)
            .unwrap()
            .into_iter()
            .chain([("hand-added".to_owned(), "x".to_owned())])
            .map(|(k, v)| (k, ByteString(v.into_bytes())))
            .collect();
        let next = rotated("identity", &needs["identity"], Some(&first)).unwrap();
        for key in [
            "database.password",
            "database.username",
            "messaging.password",
        ] {
            assert_ne!(next[key], first[key], "{key} renewed");
        }
        for key in [
            "memcache_secret_key",
            "fernet_key_0",
            "credential_key_1",
            "hand-added",
        ] {
            assert_eq!(next[key], first[key], "{key} kept");
        }
        let admin = rotated("admin", ADMIN_NEEDS, None).unwrap();
        assert_eq!(admin["identity.username"].0, b"admin");
        assert_eq!(admin["database.username"].0, b"root");
    }

    #[test]
    fn the_active_generation_has_the_highest_priority_and_the_first_name_on_a_tie() {
        let base = secret("generated-x-passwords", "x", None, &[]);
        let second = secret("generated-x-passwords-1", "x", Some("1"), &[]);
        assert_eq!(
            name(active([&base, &second])["x"]),
            "generated-x-passwords-1"
        );
        let tie = secret("generated-x-passwords-1", "x", Some("0"), &[]);
        assert_eq!(name(active([&tie, &base])["x"]), "generated-x-passwords");
        assert_eq!(
            generation_names("admin"),
            ["openstack-admin-users", "openstack-admin-users-1"]
        );
        assert_eq!(Group::of("admin"), Group::Admin);
        assert_eq!(Group::of("shared"), Group::Service);
    }

    #[test]
    fn names_follow_rockoon() {
        assert_eq!(secret_name("admin"), "openstack-admin-users");
        assert_eq!(secret_name("compute"), "generated-compute-passwords");
    }
}
