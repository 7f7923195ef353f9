#![allow(clippy::unwrap_used)]
use super::*;

const NS: &str = "openstack-ceph-shared";

fn keys_secret(pairs: &[(&str, &[u8])]) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(ceph::KEYS_SECRET.to_owned()),
            ..ObjectMeta::default()
        },
        data: Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), ByteString(v.to_vec())))
                .collect(),
        ),
        ..Secret::default()
    }
}

fn published() -> Secret {
    keys_secret(&[
        ("fsid", b"f-1"),
        ("mon_endpoints", b"10.0.0.1:6789,10.0.0.2:6789"),
        (
            "cinder",
            b"client.cinder;AQcinder==;volumes:volumes:hdd;backup:backup:hdd",
        ),
        ("glance", b"client.glance;AQglance==;images:images:hdd"),
        ("nova", b"client.nova;AQnova==;vms:ephemeral:hdd"),
    ])
}

fn needs(users: &[(&'static str, &'static str)]) -> Needs {
    let mut needs = Needs::default();
    let mut map: BTreeMap<&'static str, BTreeSet<&'static str>> = BTreeMap::new();
    for (user, service) in users {
        map.entry(user).or_default().insert(service);
    }
    needs.add("osh", Ok(map));
    needs
}

fn run(keys: Option<&Secret>, needs: &Needs, secrets: &[&Secret], maps: &[&ConfigMap]) -> Plan {
    plan(&Observed {
        keys,
        hash_key: b"0123456789abcdef",
        ceph_namespace: NS,
        needs,
        owned_secrets: secrets,
        owned_config_maps: maps,
    })
}

#[test]
fn a_publication_gives_ceph_etc_and_one_keyring_per_needed_user() {
    let keys = published();
    let needs = needs(&[("cinder", "block-storage"), ("glance", "image")]);
    let plan = run(Some(&keys), &needs, &[], &[]);
    let config = plan.config.unwrap();
    assert_eq!(
        config.data.unwrap()["ceph.conf"],
        "[global]\nfsid = f-1\nmon_host = 10.0.0.1:6789,10.0.0.2:6789\n"
    );
    let names: Vec<_> = plan
        .keyrings
        .iter()
        .map(|s| s.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["cinder-rbd-keyring", "glance-rbd-keyring"]);
    assert_eq!(
        plan.keyrings[0].data.as_ref().unwrap()["key"].0,
        b"AQcinder=="
    );
    assert_eq!(
        plan.keyrings[0].metadata.labels.as_ref().unwrap()[CLIENT_LABEL],
        "cinder"
    );
    assert_eq!(plan.published_users, Some(3));
    assert!(plan.hash.is_some());
    let verdict = plan.verdict.unwrap();
    assert!(verdict.ok, "{verdict:?}");
    assert!(!verdict.message.contains("AQ"), "{verdict:?}");
}

#[test]
fn what_is_up_to_date_is_not_written_and_what_nobody_needs_goes() {
    let keys = published();
    let needs = needs(&[("cinder", "block-storage")]);
    let conf = "[global]\nfsid = f-1\nmon_host = 10.0.0.1:6789,10.0.0.2:6789\n";
    let config = config_map(conf);
    let cinder = keyring("cinder", "AQcinder==");
    let glance = keyring("glance", "AQglance==");
    let plan = run(Some(&keys), &needs, &[&cinder, &glance], &[&config]);
    assert!(plan.config.is_none());
    assert!(plan.keyrings.is_empty());
    assert_eq!(plan.delete, ["glance-rbd-keyring"]);
}

#[test]
fn a_rotated_key_rewrites_only_its_keyring() {
    let keys = published();
    let needs = needs(&[("cinder", "block-storage"), ("glance", "image")]);
    let cinder = keyring("cinder", "AQold==");
    let glance = keyring("glance", "AQglance==");
    let plan = run(Some(&keys), &needs, &[&cinder, &glance], &[]);
    let names: Vec<_> = plan
        .keyrings
        .iter()
        .map(|s| s.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["cinder-rbd-keyring"]);
}

#[test]
fn the_hash_follows_the_publication() {
    let needs = needs(&[]);
    let a = run(Some(&published()), &needs, &[], &[]).hash.unwrap();
    let mut rotated = published();
    rotated.data.as_mut().unwrap().insert(
        "glance".into(),
        ByteString(b"client.glance;AQnew==;images:images:hdd".to_vec()),
    );
    let b = run(Some(&rotated), &needs, &[], &[]).hash.unwrap();
    assert_ne!(a, b);
    assert_eq!(a, run(Some(&published()), &needs, &[], &[]).hash.unwrap());
}

#[test]
fn malformed_or_absent_keys_change_nothing() {
    let needs = needs(&[("cinder", "block-storage")]);
    let stale = keyring("cinder", "AQold==");
    let orphan = keyring("glance", "AQglance==");
    for (bad, key) in [
        (
            keys_secret(&[
                ("mon_endpoints", b"m:1"),
                ("cinder", b"client.cinder;;v:volumes:hdd"),
            ]),
            "cinder",
        ),
        (
            keys_secret(&[
                ("mon_endpoints", b"m:1"),
                ("cinder", b"client.cinder;AQx;v:sideways:hdd"),
            ]),
            "cinder",
        ),
        (
            keys_secret(&[("mon_endpoints", b"m:1"), ("cinder", &[0xff, 0x00])]),
            "cinder",
        ),
        (
            keys_secret(&[("cinder", b"client.cinder;AQx;v:volumes:hdd")]),
            "mon_endpoints",
        ),
    ] {
        let plan = run(Some(&bad), &needs, &[&stale, &orphan], &[]);
        assert!(plan.malformed);
        assert!(plan.config.is_none() && plan.keyrings.is_empty() && plan.delete.is_empty());
        assert!(plan.hash.is_none());
        let verdict = plan.verdict.unwrap();
        assert_eq!(verdict.reason, "Malformed");
        assert!(
            verdict.message.contains(&format!("key {key}:")),
            "{verdict:?}"
        );
        assert!(!verdict.message.contains("AQx"), "{verdict:?}");
    }
    let plan = run(None, &needs, &[&stale, &orphan], &[]);
    assert!(plan.config.is_none() && plan.keyrings.is_empty() && plan.delete.is_empty());
    assert_eq!(plan.verdict.unwrap().reason, "NotPublished");
    // Without Ceph users, no publication is no problem (and still deletes nothing).
    let plan = run(None, &Needs::default(), &[&orphan], &[]);
    assert!(plan.delete.is_empty());
    let verdict = plan.verdict.unwrap();
    assert!(verdict.ok && verdict.reason == "NotUsed", "{verdict:?}");
}

#[test]
fn a_needed_user_ceph_did_not_publish_keeps_its_keyring() {
    let keys = keys_secret(&[
        ("mon_endpoints", b"m:1"),
        ("cinder", b"client.cinder;AQcinder==;volumes:volumes:hdd"),
    ]);
    let needs = needs(&[("cinder", "block-storage"), ("glance", "image")]);
    let glance = keyring("glance", "AQglance==");
    let plan = run(Some(&keys), &needs, &[&glance], &[]);
    assert!(plan.delete.is_empty());
    assert_eq!(plan.keyrings.len(), 1);
    let verdict = plan.verdict.unwrap();
    assert_eq!(verdict.reason, "MissingUser");
    assert!(
        verdict.message.contains("glance (needed by image)"),
        "{verdict:?}"
    );
}

#[test]
fn unknown_services_delete_nothing() {
    let keys = published();
    let mut needs = needs(&[("cinder", "block-storage")]);
    needs.add("other", Err("spec.preset: no preset".into()));
    let glance = keyring("glance", "AQglance==");
    let plan = run(Some(&keys), &needs, &[&glance], &[]);
    assert!(plan.delete.is_empty());
    assert_eq!(plan.verdict.unwrap().reason, "ServicesUnknown");
}

#[test]
fn only_labelled_keyrings_of_the_expected_name_are_deleted() {
    let keys = published();
    let needs = needs(&[]);
    let mut renamed = keyring("glance", "AQglance==");
    renamed.metadata.name = Some("something-else".into());
    let plan = run(Some(&keys), &needs, &[&renamed], &[]);
    assert!(plan.delete.is_empty());
}
