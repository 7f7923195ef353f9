//! Ceph's data for OpenStack, as the Ceph side publishes it in the Secret
//! `openstack-ceph-shared/openstack-ceph-keys` (Rockoon's format), turned into the `ceph`
//! variable of the service templates (see `crates/core/templates/README.md`). Pure.
//!
//! Rockoon's keys: `mon_endpoints` (`ip:port,ip:port`), optional `fsid`, `rgw_internal` and
//! `rgw_external` (URLs), and one key per OpenStack client (`nova`, `cinder`, `glance`,
//! `manila`) whose value is `<key name>;<cephx key>;<pool>:<role>:<device class>;...`. Unknown
//! keys are ignored.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// Name of the Secret the Ceph side publishes.
pub const KEYS_SECRET: &str = crate::names::CEPH_KEYS_SECRET;

/// Clients whose keys OpenStack services use.
const CLIENTS: &[&str] = &["nova", "cinder", "glance", "manila"];

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
        for pool in fields.filter(|f| !f.is_empty()) {
            let mut parts = pool.split(':');
            let (Some(name), Some(role)) = (parts.next(), parts.next()) else {
                return Err(error(
                    client,
                    "has a pool entry that is not <pool>:<role>:<class>",
                ));
            };
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
    let mut ceph = json!({"monitors": monitors, "keys": keys, "pools": pools});
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
}
