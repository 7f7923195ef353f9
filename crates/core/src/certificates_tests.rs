//! Unit tests of the certificate contract: generated sets parse back, chain to their CA, carry
//! the names and usages chosen, and are never planned twice.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::ByteString;
use k8s_openapi::jiff::civil::date;
use serde_json::json;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::parse_x509_pem;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::*;

type Existing = BTreeMap<String, Option<BTreeMap<String, ByteString>>>;

fn today() -> Date {
    date(2026, 12, 2)
}

/// The created Secrets as `existing` data, as the API would return them.
fn stored(created: &[NewSecret]) -> Existing {
    created
        .iter()
        .map(|s| {
            let data = s
                .data
                .iter()
                .map(|(k, v)| (k.clone(), ByteString(v.clone().into_bytes())))
                .collect();
            (s.name.to_owned(), Some(data))
        })
        .collect()
}

fn der_of(pem_text: &str) -> Vec<u8> {
    let (_, pem) = parse_x509_pem(pem_text.as_bytes()).unwrap();
    pem.contents
}

fn with_cert<T>(pem_text: &str, check: impl FnOnce(&X509Certificate<'_>) -> T) -> T {
    let der = der_of(pem_text);
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    check(&cert)
}

fn names(cert: &X509Certificate<'_>) -> Vec<String> {
    let Some(san) = cert.subject_alternative_name().unwrap() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .map(|name| match name {
            GeneralName::DNSName(dns) => (*dns).to_owned(),
            GeneralName::IPAddress(bytes) => {
                let octets: [u8; 4] = (*bytes).try_into().unwrap();
                IpAddr::from(octets).to_string()
            }
            other => panic!("unexpected name {other:?}"),
        })
        .collect()
}

fn common_name(cert: &X509Certificate<'_>) -> String {
    cert.subject()
        .iter_common_name()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

fn years(cert: &X509Certificate<'_>) -> i64 {
    let validity = cert.validity();
    (validity.not_after.timestamp() - validity.not_before.timestamp()) / (365 * 86_400)
}

#[test]
fn a_set_is_generated_whole_ca_first_and_every_leaf_chains_to_its_ca() {
    for set in SETS {
        let created = plan(set, &Existing::new(), today()).unwrap();
        let order: Vec<&str> = created.iter().map(|s| s.name).collect();
        assert_eq!(order, set.secrets().collect::<Vec<_>>(), "CA first");
        let ca_pem = &created[0].data[CA_CERT_KEY];
        let ca_der = der_of(ca_pem);
        let (_, ca) = X509Certificate::from_der(&ca_der).unwrap();
        assert!(ca.is_ca(), "{}: the CA is a CA", set.name);
        assert_eq!(common_name(&ca), set.ca_common_name);
        ca.verify_signature(None).unwrap();
        assert_eq!(years(&ca), i64::from(CA_YEARS));
        let usage = ca.key_usage().unwrap().unwrap().value;
        assert!(usage.key_cert_sign() && usage.crl_sign());
        // The CA's key parses back and is the certificate's.
        let ca_key = KeyPair::from_pem(&created[0].data[CA_KEY_KEY]).unwrap();
        assert_eq!(
            ca_key.public_key_raw(),
            ca.public_key().subject_public_key.data.as_ref()
        );

        for (leaf, secret) in set.leaves.iter().zip(&created[1..]) {
            assert_eq!(
                secret.data.keys().map(String::as_str).collect::<Vec<_>>(),
                {
                    let mut keys = leaf.keys().to_vec();
                    keys.sort_unstable();
                    keys
                },
                "{}: the keys the chart mounts",
                leaf.secret
            );
            assert_eq!(&secret.data[leaf.ca_key], ca_pem, "the CA travels along");
            with_cert(&secret.data[leaf.cert_key], |cert| {
                cert.verify_signature(Some(ca.public_key())).unwrap();
                assert_eq!(cert.issuer(), ca.subject());
                assert!(!cert.is_ca());
                assert_eq!(common_name(cert), leaf.common_name);
                assert_eq!(names(cert), leaf.names);
                assert_eq!(years(cert), i64::from(LEAF_YEARS));
                let usage = cert.key_usage().unwrap().unwrap().value;
                assert!(usage.digital_signature() && usage.key_encipherment());
                let eku = cert.extended_key_usage().unwrap().unwrap().value;
                match leaf.role {
                    Role::Server => assert!(eku.server_auth && !eku.client_auth),
                    Role::Client => assert!(eku.client_auth && !eku.server_auth),
                }
                let key = KeyPair::from_pem(&secret.data[leaf.key_key]).unwrap();
                assert_eq!(
                    key.public_key_raw(),
                    cert.public_key().subject_public_key.data.as_ref(),
                    "{}: key and certificate belong together",
                    leaf.secret
                );
                // Valid from the day before issue (clock skew between hosts).
                assert_eq!(
                    cert.validity().not_before.to_datetime().date().to_string(),
                    "2026-12-01"
                );
            });
        }
    }
}

#[test]
fn the_two_sets_have_distinct_cas_so_a_proxy_certificate_opens_no_libvirt_door() {
    let libvirt = plan(&LIBVIRT, &Existing::new(), today()).unwrap();
    let vnc = plan(&VNC, &Existing::new(), today()).unwrap();
    let libvirt_ca = der_of(&libvirt[0].data[CA_CERT_KEY]);
    let (_, libvirt_ca) = X509Certificate::from_der(&libvirt_ca).unwrap();
    with_cert(&vnc[2].data["tls.crt"], |proxy| {
        assert!(
            proxy
                .verify_signature(Some(libvirt_ca.public_key()))
                .is_err()
        );
    });
}

#[test]
fn a_set_whose_secrets_all_exist_plans_nothing() {
    let created = plan(&LIBVIRT, &Existing::new(), today()).unwrap();
    let again = plan(&LIBVIRT, &stored(&created), today()).unwrap();
    assert!(again.is_empty(), "never regenerated: {again:?}");
    // Even when the CA is gone: the leaves are there, nothing needs signing.
    let mut without_ca = stored(&created);
    without_ca.remove(LIBVIRT.ca_secret);
    assert!(plan(&LIBVIRT, &without_ca, today()).unwrap().is_empty());
}

#[test]
fn a_missing_leaf_is_issued_again_from_the_existing_ca_and_nothing_else_is_touched() {
    let created = plan(&VNC, &Existing::new(), today()).unwrap();
    let mut existing = stored(&created);
    existing.remove("nova-novncproxy-vencrypt");
    let reissued = plan(&VNC, &existing, today()).unwrap();
    assert_eq!(reissued.len(), 1);
    assert_eq!(reissued[0].name, "nova-novncproxy-vencrypt");
    assert_ne!(
        reissued[0].data["tls.key"], created[2].data["tls.key"],
        "a new key"
    );
    let ca_der = der_of(&created[0].data[CA_CERT_KEY]);
    let (_, ca) = X509Certificate::from_der(&ca_der).unwrap();
    with_cert(&reissued[0].data["tls.crt"], |cert| {
        cert.verify_signature(Some(ca.public_key())).unwrap();
    });
}

#[test]
fn a_gone_ca_with_leaves_left_is_a_problem_naming_secrets_only() {
    let created = plan(&LIBVIRT, &Existing::new(), today()).unwrap();
    let mut existing = stored(&created);
    existing.remove(LIBVIRT.ca_secret);
    existing.remove("libvirt-tls-client");
    let problem = plan(&LIBVIRT, &existing, today()).unwrap_err();
    assert_eq!(
        problem.to_string(),
        "Secret libvirt-tls-client of libvirt-tls cannot be issued: its CA Secret libvirt-tls-ca \
         is gone while libvirt-tls-server remain(s); delete the set's Secrets to have them all \
         generated again"
    );
}

#[test]
fn an_unusable_ca_is_a_problem_that_never_shows_the_secret_content() {
    let garbage = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LW1hdGVyaWFs\n-----END PRIVATE KEY-----\n";
    let existing: Existing = BTreeMap::from([(
        LIBVIRT.ca_secret.to_owned(),
        Some(BTreeMap::from([
            (
                CA_CERT_KEY.to_owned(),
                ByteString(b"not a certificate".to_vec()),
            ),
            (
                CA_KEY_KEY.to_owned(),
                ByteString(garbage.as_bytes().to_vec()),
            ),
        ])),
    )]);
    let message = plan(&LIBVIRT, &existing, today()).unwrap_err().to_string();
    assert!(
        message.starts_with("Secret libvirt-tls-ca of libvirt-tls: "),
        "{message}"
    );
    assert!(!message.contains("c2VjcmV0"), "{message}");
    assert!(!message.contains("not a certificate"), "{message}");
}

#[test]
fn the_settings_ask_for_their_sets_only_with_compute_enabled() {
    let spec = json!({"features": {"nova": {
        "libvirt": {"tls": {"enabled": true}},
        "console": {"novnc": {"tls": {"enabled": false}}},
    }}});
    let names = |found: Vec<&Set>| found.iter().map(|s| s.name).collect::<Vec<_>>();
    assert_eq!(names(needed(&spec, true)), ["libvirt-tls"]);
    assert!(needed(&spec, false).is_empty());
    let both = json!({"features": {"nova": {
        "libvirt": {"tls": {"enabled": true}},
        "console": {"novnc": {"tls": {"enabled": true}}},
    }}});
    assert_eq!(
        names(needed(&both, true)),
        ["libvirt-tls", "libvirt-vnc-tls"]
    );
    assert!(needed(&json!({}), true).is_empty());
}

#[test]
fn a_leaf_is_complete_only_with_every_key_non_empty() {
    let leaf = &LIBVIRT.leaves[0];
    let full: BTreeMap<String, ByteString> = leaf
        .keys()
        .iter()
        .map(|k| ((*k).to_owned(), ByteString(b"x".to_vec())))
        .collect();
    assert!(complete(leaf, Some(&full)));
    let mut empty = full.clone();
    empty.insert("serverkey.pem".into(), ByteString(Vec::new()));
    assert!(!complete(leaf, Some(&empty)));
    let mut partial = full;
    partial.remove("cacert.pem");
    assert!(!complete(leaf, Some(&partial)));
    assert!(!complete(leaf, None));
}

#[test]
fn present_names_only_complete_leaf_secrets_never_a_ca_or_a_stranger() {
    use k8s_openapi::api::core::v1::Secret;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    let created = plan(&LIBVIRT, &Existing::new(), today()).unwrap();
    let mut secrets: Vec<Secret> = stored(&created)
        .into_iter()
        .map(|(name, data)| Secret {
            metadata: ObjectMeta {
                name: Some(name),
                ..ObjectMeta::default()
            },
            data,
            ..Secret::default()
        })
        .collect();
    // The client leaf lost its key: not complete, so not present.
    for secret in &mut secrets {
        if secret.metadata.name.as_deref() == Some("libvirt-tls-client") {
            secret.data.as_mut().unwrap().remove("clientkey.pem");
        }
    }
    secrets.push(Secret {
        metadata: ObjectMeta {
            name: Some("something-else".into()),
            ..ObjectMeta::default()
        },
        ..Secret::default()
    });
    let present: Vec<String> = present(&secrets).into_iter().collect();
    assert_eq!(present, ["libvirt-tls-server"]);
}
