//! OpenStack → Ceph: `openstack-rgw-creds` in the Ceph shared namespace, from which the Ceph
//! side configures RGW's Keystone and Barbican integration. Pure: the data from the merged
//! spec of the OSDPL enabling `object-storage` and the active generation of that service's
//! generated credentials (`generated-object-storage-passwords[-1]`, key `identity`).
//!
//! Keys (Rockoon's): `auth_url`, `barbican_url` (internal URLs in the OpenStack namespace),
//! `default_domain`, `interface`, `project_domain_name`, `project_name`, `user_domain_name`,
//! `username`, `password`, `region_name`, and when the spec has them `public_domain`,
//! `ca_cert`, `tls_crt`, `tls_key` (the public endpoints' certificate).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use crate::plan::{MANAGED_BY, MANAGED_BY_LABEL};

/// Name of the Secret written into the Ceph shared namespace.
pub const RGW_SECRET: &str = "openstack-rgw-creds";
/// The service whose enabling makes the Secret exist, and owner of the credentials it carries.
pub const SERVICE: &str = "object-storage";

/// The data of [`RGW_SECRET`], or `None` while the service user has no usable credential.
/// `credentials` is the owner's subtree of the credential tree (`core::credentials::tree`).
pub fn data(
    merged: &Value,
    namespace: &str,
    credentials: &Value,
) -> Option<BTreeMap<String, String>> {
    let identity = &credentials["identity"];
    let username = identity["username"].as_str().filter(|u| !u.is_empty())?;
    let password = identity["password"].as_str().filter(|p| !p.is_empty())?;
    let domain = merged["internal_domain_name"]
        .as_str()
        .unwrap_or("cluster.local");
    let region = merged["region_name"].as_str().unwrap_or("RegionOne");
    let mut data = BTreeMap::from([
        (
            "auth_url".to_owned(),
            format!("http://keystone-api.{namespace}.svc.{domain}:5000"),
        ),
        (
            "barbican_url".to_owned(),
            format!("http://barbican-api.{namespace}.svc.{domain}:9311"),
        ),
        ("default_domain".to_owned(), "service".to_owned()),
        ("interface".to_owned(), "public".to_owned()),
        ("project_domain_name".to_owned(), "service".to_owned()),
        ("project_name".to_owned(), "service".to_owned()),
        ("user_domain_name".to_owned(), "service".to_owned()),
        ("username".to_owned(), username.to_owned()),
        ("password".to_owned(), password.to_owned()),
        ("region_name".to_owned(), region.to_owned()),
    ]);
    if let Some(domain) = merged["public_domain_name"].as_str() {
        data.insert("public_domain".to_owned(), domain.to_owned());
    }
    let tls = &merged["features"]["ssl"]["public_endpoints"];
    for (from, to) in [
        ("ca_cert", "ca_cert"),
        ("api_cert", "tls_crt"),
        ("api_key", "tls_key"),
    ] {
        // A reference that did not resolve is still an object here: left out.
        if let Some(value) = tls[from].as_str() {
            data.insert(to.to_owned(), value.to_owned());
        }
    }
    Some(data)
}

/// The Secret holding `data`.
pub fn secret(data: &BTreeMap<String, String>) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(RGW_SECRET.to_owned()),
            labels: Some(BTreeMap::from([(
                MANAGED_BY_LABEL.to_owned(),
                MANAGED_BY.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_owned()),
        data: Some(
            data.iter()
                .map(|(k, v)| (k.clone(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        ),
        ..Secret::default()
    }
}

/// Whether the cached `secret` holds exactly `data`, with this container's label.
pub fn up_to_date(secret: &Secret, data: &BTreeMap<String, String>) -> bool {
    let labelled = secret
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_BY_LABEL))
        .is_some_and(|v| v == MANAGED_BY);
    let have = secret.data.clone().unwrap_or_default();
    labelled
        && have.len() == data.len()
        && data
            .iter()
            .all(|(k, v)| have.get(k).is_some_and(|h| h.0 == v.as_bytes()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn creds() -> Value {
        json!({"identity": {"username": "rgwabc", "password": "pw-1"}})
    }

    #[test]
    fn the_keys_rockoon_writes_from_the_spec_and_the_service_user() {
        let merged = json!({
            "internal_domain_name": "cluster.local",
            "public_domain_name": "cloud.example.net",
            "region_name": "RegionTwo",
            "features": {"ssl": {"public_endpoints": {
                "ca_cert": "CA", "api_cert": "CRT", "api_key": "KEY"}}},
        });
        let data = data(&merged, "openstack", &creds()).unwrap();
        assert_eq!(
            data["auth_url"],
            "http://keystone-api.openstack.svc.cluster.local:5000"
        );
        assert_eq!(
            data["barbican_url"],
            "http://barbican-api.openstack.svc.cluster.local:9311"
        );
        assert_eq!(data["username"], "rgwabc");
        assert_eq!(data["password"], "pw-1");
        assert_eq!(data["region_name"], "RegionTwo");
        assert_eq!(data["public_domain"], "cloud.example.net");
        assert_eq!(
            (
                data["ca_cert"].as_str(),
                data["tls_crt"].as_str(),
                data["tls_key"].as_str()
            ),
            ("CA", "CRT", "KEY")
        );
        for key in [
            "default_domain",
            "project_domain_name",
            "project_name",
            "user_domain_name",
        ] {
            assert_eq!(data[key], "service");
        }
        assert_eq!(data["interface"], "public");
    }

    #[test]
    fn defaults_and_absent_or_unresolved_tls_are_left_out() {
        let merged = json!({"features": {"ssl": {"public_endpoints": {
            "api_cert": {"value_from": {"secret_key_ref": {"name": "x", "key": "y"}}}}}}});
        let data = data(&merged, "os", &creds()).unwrap();
        assert_eq!(data["region_name"], "RegionOne");
        assert_eq!(
            data["auth_url"],
            "http://keystone-api.os.svc.cluster.local:5000"
        );
        assert!(!data.contains_key("tls_crt") && !data.contains_key("public_domain"));
    }

    #[test]
    fn no_usable_credential_no_data() {
        assert!(data(&json!({}), "os", &json!({})).is_none());
        assert!(data(&json!({}), "os", &json!({"identity": {"username": "u"}})).is_none());
    }

    #[test]
    fn up_to_date_means_exactly_the_data_with_the_label() {
        let data = data(&json!({}), "os", &creds()).unwrap();
        let written = secret(&data);
        assert!(up_to_date(&written, &data));
        let mut rotated = data.clone();
        rotated.insert("password".into(), "pw-2".into());
        assert!(!up_to_date(&written, &rotated));
        let mut fewer = data.clone();
        fewer.remove("barbican_url");
        assert!(!up_to_date(&written, &fewer));
        let mut unlabelled = written.clone();
        unlabelled.metadata.labels = None;
        assert!(!up_to_date(&unlabelled, &data));
    }
}
