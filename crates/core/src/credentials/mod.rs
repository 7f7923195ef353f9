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

mod generate;
mod needs;
mod read;

pub use generate::*;
pub use needs::*;
pub use read::*;

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::generate::ALPHABET;
    use super::read::name;
    use super::*;
    use crate::services::{self, Service};
    use k8s_openapi::ByteString;
    use k8s_openapi::api::core::v1::Secret;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use serde_json::json;
    use std::collections::BTreeMap;

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

    fn service(name: &str) -> &'static Service {
        services::find(name).unwrap()
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
