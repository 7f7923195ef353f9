//! Ceph's data for OpenStack, as the Ceph side publishes it in the Secret
//! `openstack-ceph-shared/openstack-ceph-keys` (Rockoon's format), turned into the `ceph`
//! variable of the service templates (see `crates/core/templates/README.md`). Pure.
//!
//! Rockoon's keys: `mon_endpoints` (`ip:port,ip:port`), optional `fsid`, `rgw_internal` and
//! `rgw_external` (URLs), and one key per OpenStack client (`nova`, `cinder`, `glance`,
//! `manila`) whose value is `<key name>;<cephx key>;<pool>:<role>:<device class>;...`. Unknown
//! keys are ignored. Besides `keys`, the template value has `key_hashes` (per client, a short
//! SHA-256 of its key: [`key_hash`]).
//!
//! Also what `ceph-exchange` makes of that data in the OpenStack namespace: the `ceph.conf`
//! of the ConfigMap [`CONFIG_MAP`], the name of each client's keyring Secret
//! ([`keyring_secret_name`]), which client users the enabled services read
//! ([`users_needed`]), and the hash of what was published ([`published_hash`]).

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use serde_json::{Map, Value, json};

/// Name of the Secret the Ceph side publishes.
pub const KEYS_SECRET: &str = crate::names::CEPH_KEYS_SECRET;

/// Clients whose keys OpenStack services use.
const CLIENTS: &[&str] = &["nova", "cinder", "glance", "manila"];

/// Data keys of [`KEYS_SECRET`] read besides the clients'.
const READ_KEYS: &[&str] = &["mon_endpoints", "fsid", "rgw_internal", "rgw_external"];

/// Roles a pool entry may have (Rockoon's `CEPH_POOL_ROLE_SERVICES_MAP`).
pub const POOL_ROLES: &[&str] = &[
    "ephemeral",
    "volumes",
    "backup",
    "images",
    "rgw",
    "kubernetes",
    "vms",
    "other",
];

/// ConfigMap of the OpenStack namespace holding `ceph.conf`, as the charts mount it
/// (`ceph_client.configmap`, subPath `ceph.conf`).
pub const CONFIG_MAP: &str = "ceph-etc";
/// Key of [`CONFIG_MAP`] the charts read.
pub const CONFIG_KEY: &str = "ceph.conf";
/// Key of a keyring Secret holding the bare cephx key (the charts mount it with subPath
/// `key` and write `key = <it>` into `/etc/ceph/ceph.client.<user>.keyring`).
pub const KEYRING_KEY: &str = "key";

/// Name of the keyring Secret of Ceph client `user` in the OpenStack namespace.
pub fn keyring_secret_name(user: &str) -> String {
    format!("{user}-rbd-keyring")
}

/// The data of [`KEYS_SECRET`] as text: the keys this module reads must be UTF-8 (an error
/// names the first that is not); other keys are left out, whatever they hold.
pub fn decode<'a>(
    data: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<BTreeMap<String, String>, CephDataError> {
    let mut text = BTreeMap::new();
    for (key, bytes) in data {
        let read = CLIENTS.contains(&key) || READ_KEYS.contains(&key);
        match std::str::from_utf8(bytes) {
            Ok(value) => {
                text.insert(key.to_owned(), value.to_owned());
            }
            Err(_) if read => {
                return Err(CephDataError {
                    secret: KEYS_SECRET,
                    key: key.to_owned(),
                    reason: "is not UTF-8".to_owned(),
                });
            }
            Err(_) => {}
        }
    }
    Ok(text)
}

/// Hex HMAC-SHA256 under the installation's `key` of everything published in [`KEYS_SECRET`]
/// (every key, read or not): the JSON of its `data` as the API holds it (base64 values), keys
/// sorted. Keyed, so that readers of the OSDPL status cannot test guesses against it.
pub fn published_hash<'a>(
    key: &[u8],
    data: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> String {
    let encoded: Map<String, Value> = data
        .into_iter()
        .map(|(key, bytes)| {
            let value = base64::engine::general_purpose::STANDARD.encode(bytes);
            (key.to_owned(), Value::String(value))
        })
        .collect();
    crate::values::fingerprint::keyed_fingerprint(key, &Value::Object(encoded))
}

/// A short, non-reversible fingerprint of a cephx key (16 hex digits of its SHA-256), for
/// templates that must change when a key rotates without carrying the key (a pod annotation
/// makes the pods that mount the keyring Secret restart and read the new key).
pub fn key_hash(key: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = crate::values::fingerprint::hex(&Sha256::digest(key.as_bytes()));
    hash.truncate(16);
    hash
}

/// `ceph.conf` for the charts from the parsed data ([`from_keys_secret`]): `[global]` with
/// the fsid (when published) and `mon_host`, the monitors comma-separated.
pub fn ceph_conf(ceph: &Value) -> String {
    let monitors: Vec<&str> = ceph["monitors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut conf = String::from("[global]\n");
    if let Some(fsid) = ceph["fsid"].as_str().filter(|f| !f.is_empty()) {
        conf.push_str(&format!("fsid = {fsid}\n"));
    }
    conf.push_str(&format!("mon_host = {}\n", monitors.join(",")));
    conf
}

/// The Ceph client users whose keyrings the enabled services of a merged spec read, each with
/// those services. Mirrors the service templates: `image` (Glance on RBD: no
/// `features.glance.backends`, or a non-empty `rbd` one) reads `glance`; `block-storage`
/// reads `cinder`; `compute` with `features.nova.images.backend: ceph` reads `cinder` too
/// (libvirt's single cephx secret is Cinder's).
pub fn users_needed(
    merged: &Value,
    enabled: &[&str],
) -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    let features = &merged["features"];
    let mut users: BTreeMap<&'static str, BTreeSet<&'static str>> = BTreeMap::new();
    let mut need = |user: &'static str, service: &'static str| {
        users.entry(user).or_default().insert(service);
    };
    if enabled.contains(&"image") {
        let backends = &features["glance"]["backends"];
        let no_backends = backends.as_object().is_none_or(Map::is_empty);
        let rbd = backends["rbd"].as_object().is_some_and(|r| !r.is_empty());
        if no_backends || rbd {
            need("glance", "image");
        }
    }
    if enabled.contains(&"block-storage") {
        need("cinder", "block-storage");
    }
    if enabled.contains(&"compute") && features["nova"]["images"]["backend"] == "ceph" {
        need("cinder", "compute");
    }
    users
}

/// Why the published data cannot be used; names the key, never the cephx key itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{secret} key {key}: {reason}")]
pub struct CephDataError {
    /// The Secret.
    pub secret: &'static str,
    /// The data key.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

/// The template `ceph` value from the Secret's decoded data.
pub fn from_keys_secret(data: &BTreeMap<String, String>) -> Result<Value, CephDataError> {
    let error = |key: &str, reason: &str| CephDataError {
        secret: KEYS_SECRET,
        key: key.to_owned(),
        reason: reason.to_owned(),
    };
    let monitors: Vec<&str> = data
        .get("mon_endpoints")
        .map(|m| {
            m.split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if monitors.is_empty() {
        return Err(error("mon_endpoints", "missing or empty"));
    }
    let mut keys = Map::new();
    let mut key_hashes = Map::new();
    let mut pools = Map::new();
    for client in CLIENTS {
        let Some(entry) = data.get(*client) else {
            continue;
        };
        let mut fields = entry.split(';').map(str::trim);
        let (_name, key) = (fields.next(), fields.next().unwrap_or_default());
        if key.is_empty() {
            return Err(error(
                client,
                "has no cephx key (expected <name>;<key>;<pools>)",
            ));
        }
        keys.insert((*client).to_owned(), json!(key));
        key_hashes.insert((*client).to_owned(), json!(key_hash(key)));
        for pool in fields.filter(|f| !f.is_empty()) {
            let mut parts = pool.split(':');
            let (Some(name), Some(role)) = (parts.next(), parts.next()) else {
                return Err(error(
                    client,
                    "has a pool entry that is not <pool>:<role>:<class>",
                ));
            };
            if !POOL_ROLES.contains(&role) {
                return Err(error(
                    client,
                    &format!(
                        "has a pool entry with unknown role {role:?} (known: {})",
                        POOL_ROLES.join(", ")
                    ),
                ));
            }
            let usage = match role {
                "ephemeral" | "vms" => "vms",
                other => other,
            };
            pools.entry(usage.to_owned()).or_insert_with(|| json!(name));
        }
    }
    let mut rgw = Map::new();
    for (key, field) in [
        ("rgw_internal", "internal_url"),
        ("rgw_external", "external_url"),
    ] {
        if let Some(url) = data.get(key).filter(|u| !u.trim().is_empty()) {
            rgw.insert(field.to_owned(), json!(url.trim()));
        }
    }
    let mut ceph =
        json!({"monitors": monitors, "keys": keys, "key_hashes": key_hashes, "pools": pools});
    if let Some(fsid) = data.get("fsid") {
        ceph["fsid"] = json!(fsid.trim());
    }
    if !rgw.is_empty() {
        ceph["rgw"] = Value::Object(rgw);
    }
    Ok(ceph)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn rockoon_formatted_keys_become_the_template_shape() {
        let ceph = from_keys_secret(&data(&[
            ("mon_endpoints", "10.0.0.1:6789, 10.0.0.2:6789"),
            ("nova", "client.nova;AQnova==;vms-hdd:ephemeral:hdd"),
            (
                "cinder",
                "client.cinder;AQcinder==;volumes-hdd:volumes:hdd;backup-hdd:backup:hdd",
            ),
            ("glance", "client.glance;AQglance==;images-hdd:images:hdd"),
            ("rgw_internal", "https://rgw.internal:8443"),
            ("something_new", "ignored"),
        ]))
        .unwrap();
        assert_eq!(ceph["monitors"], json!(["10.0.0.1:6789", "10.0.0.2:6789"]));
        assert_eq!(ceph["keys"]["cinder"], "AQcinder==");
        assert_eq!(ceph["key_hashes"]["cinder"], key_hash("AQcinder=="));
        assert_eq!(key_hash("AQcinder==").len(), 16);
        assert_ne!(key_hash("AQcinder=="), key_hash("AQcinder2=="));
        assert_eq!(
            ceph["pools"],
            json!({"vms": "vms-hdd", "volumes": "volumes-hdd", "backup": "backup-hdd", "images": "images-hdd"})
        );
        assert_eq!(ceph["rgw"]["internal_url"], "https://rgw.internal:8443");
    }

    #[test]
    fn missing_monitors_or_a_keyless_client_is_an_error_naming_the_key_only() {
        let e = from_keys_secret(&data(&[("nova", "client.nova;AQ;x:vms:hdd")])).unwrap_err();
        assert_eq!(e.key, "mon_endpoints");
        let e = from_keys_secret(&data(&[("mon_endpoints", "m:1"), ("nova", "client.nova")]))
            .unwrap_err();
        assert_eq!(e.key, "nova");
        let e = from_keys_secret(&data(&[
            ("mon_endpoints", "m:1"),
            ("nova", "n;AQsecret;bad"),
        ]))
        .unwrap_err();
        assert!(!e.to_string().contains("AQsecret"), "{e}");
    }

    #[test]
    fn an_unknown_pool_role_is_an_error_naming_the_client_and_the_role() {
        let e = from_keys_secret(&data(&[
            ("mon_endpoints", "m:1"),
            ("glance", "client.glance;AQsecret;images:pictures:hdd"),
        ]))
        .unwrap_err();
        assert_eq!(e.key, "glance");
        assert!(e.reason.contains("\"pictures\""), "{e}");
        assert!(!e.to_string().contains("AQsecret"), "{e}");
    }

    #[test]
    fn read_keys_must_be_utf8_and_other_keys_are_left_out() {
        let bad: &[u8] = &[0xff, 0xfe];
        let decoded = decode([
            ("mon_endpoints", b"m:1".as_slice()),
            ("rgw_internal_cacert", bad),
        ])
        .unwrap();
        assert_eq!(decoded.keys().collect::<Vec<_>>(), ["mon_endpoints"]);
        let e = decode([("mon_endpoints", b"m:1".as_slice()), ("cinder", bad)]).unwrap_err();
        assert_eq!(e.key, "cinder");
        assert_eq!(e.reason, "is not UTF-8");
    }

    #[test]
    fn ceph_conf_has_the_fsid_and_the_monitors() {
        let ceph = from_keys_secret(&data(&[
            ("mon_endpoints", "10.0.0.1:6789, 10.0.0.2:6789"),
            ("fsid", "8d6b5c3e-0c1f-4f59-9d1e-3b0b1d2f6a11"),
        ]))
        .unwrap();
        assert_eq!(
            ceph_conf(&ceph),
            "[global]\nfsid = 8d6b5c3e-0c1f-4f59-9d1e-3b0b1d2f6a11\n\
             mon_host = 10.0.0.1:6789,10.0.0.2:6789\n"
        );
        let ceph = from_keys_secret(&data(&[("mon_endpoints", "m:1")])).unwrap();
        assert_eq!(ceph_conf(&ceph), "[global]\nmon_host = m:1\n");
    }

    #[test]
    fn keyring_names_follow_the_user() {
        assert_eq!(keyring_secret_name("cinder"), "cinder-rbd-keyring");
        assert_eq!(KEYRING_KEY, "key");
    }

    #[test]
    fn the_published_hash_covers_every_key_and_ignores_order() {
        let a = published_hash(b"k", [("a", b"1".as_slice()), ("b", b"2".as_slice())]);
        let b = published_hash(b"k", [("b", b"2".as_slice()), ("a", b"1".as_slice())]);
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        let c = published_hash(b"k", [("a", b"1".as_slice()), ("b", b"3".as_slice())]);
        assert_ne!(a, c);
        let d = published_hash(
            b"k",
            [
                ("a", b"1".as_slice()),
                ("b", b"2".as_slice()),
                ("x", [0xff].as_slice()),
            ],
        );
        assert_ne!(a, d);
    }

    #[test]
    fn users_follow_the_enabled_services_and_their_backends() {
        let all = ["image", "block-storage", "compute"];
        let users = |merged: Value, enabled: &[&str]| -> Vec<(&str, Vec<&str>)> {
            users_needed(&merged, enabled)
                .into_iter()
                .map(|(u, s)| (u, s.into_iter().collect()))
                .collect()
        };
        assert_eq!(
            users(json!({}), &all),
            [("cinder", vec!["block-storage"]), ("glance", vec!["image"])]
        );
        let ceph_nova = json!({"features": {"nova": {"images": {"backend": "ceph"}}}});
        assert_eq!(
            users(ceph_nova.clone(), &all),
            [
                ("cinder", vec!["block-storage", "compute"]),
                ("glance", vec!["image"])
            ]
        );
        assert_eq!(
            users(ceph_nova, &["compute"]),
            [("cinder", vec!["compute"])]
        );
        let file_glance = json!({"features": {"glance": {"backends": {"file": {"pvc": {}}}}}});
        assert_eq!(users(file_glance, &["image"]), []);
        let rbd_glance =
            json!({"features": {"glance": {"backends": {"rbd": {"hdd": {"default": true}}}}}});
        assert_eq!(users(rbd_glance, &["image"]), [("glance", vec!["image"])]);
        assert_eq!(users(json!({}), &["identity", "networking"]), []);
    }
}
