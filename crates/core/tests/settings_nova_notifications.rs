//! Rockoon's settings of issue 17 rendered after `settings_more.rs`: Nova's LVM volume group
//! and ephemeral disk encryption, external notification topics, CADF audit of the APIs and
//! the cloud admin's project.
//! Inputs are the corpus OSDPLs (`tests/fixtures/corpus/`), rendered offline with dry-run
//! credentials, and checked where the upstream chart reads them.

// In tests a failed unwrap is a failed test with its message; that is what we want.
#![allow(clippy::unwrap_used)]

mod common;

use common::{corpus_spec, render_dry, values};
use rockoon_core::render::Rendered;
use serde_json::{Value, json};

/// The fingerprints of every release, to see whether a setting changed anything.
fn fingerprints(rendered: &Rendered) -> Vec<String> {
    rendered.releases().map(|r| r.fingerprint.clone()).collect()
}

/// nova.conf as the nova release's values carry it.
fn nova_conf(spec: &Value) -> Value {
    values(&render_dry(spec).unwrap(), "openstack-nova")["conf"]["nova"].clone()
}

#[test]
fn lvm_instance_disks_go_to_the_volume_group_given_and_the_setting_is_not_reported() {
    let spec = corpus_spec("21-nova-lvm-encrypted.yaml");
    let rendered = render_dry(&spec).unwrap();
    let libvirt = &values(&rendered, "openstack-nova")["conf"]["nova"]["libvirt"];
    assert_eq!(libvirt["images_type"], "lvm");
    assert_eq!(libvirt["images_volume_group"], "nova-instances");
    assert!(
        !rendered
            .unsupported
            .iter()
            .any(|u| u.contains("volume_group")),
        "{:?}",
        rendered.unsupported
    );
}

#[test]
fn without_a_volume_group_lvm_disks_go_to_nova_vol() {
    let mut spec = corpus_spec("21-nova-lvm-encrypted.yaml");
    spec["features"]["nova"]["images"]
        .as_object_mut()
        .unwrap()
        .remove("lvm");
    assert_eq!(
        nova_conf(&spec)["libvirt"]["images_volume_group"],
        "nova-vol"
    );
}

#[test]
fn a_volume_group_with_another_images_backend_is_reported_and_renders_nothing() {
    let mut spec = corpus_spec("21-nova-lvm-encrypted.yaml");
    spec["features"]["nova"]["images"] =
        json!({"backend": "qcow2", "lvm": {"volume_group": "nova-instances"}});
    let rendered = render_dry(&spec).unwrap();
    let libvirt = &values(&rendered, "openstack-nova")["conf"]["nova"]["libvirt"];
    assert_eq!(libvirt["images_type"], "qcow2");
    assert!(libvirt.get("images_volume_group").is_none(), "{libvirt}");
    assert!(
        rendered
            .unsupported
            .iter()
            .any(|u| u.starts_with("spec.features.nova.images.lvm.volume_group: ")),
        "{:?}",
        rendered.unsupported
    );
}

#[test]
fn encrypted_lvm_disks_take_the_cipher_and_key_size_given() {
    let conf = nova_conf(&corpus_spec("21-nova-lvm-encrypted.yaml"));
    assert_eq!(
        conf["ephemeral_storage_encryption"],
        json!({"enabled": true, "cipher": "aes-xts-plain64", "key_size": 512})
    );
}

#[test]
fn encryption_switched_on_alone_takes_rockoons_cipher_and_key_size() {
    let mut spec = corpus_spec("21-nova-lvm-encrypted.yaml");
    spec["features"]["nova"]["images"]["encryption"] = json!({"enabled": true});
    assert_eq!(
        nova_conf(&spec)["ephemeral_storage_encryption"],
        json!({"enabled": true, "cipher": "aes-xts-plain64", "key_size": 256})
    );
}

#[test]
fn encryption_switched_off_renders_no_encryption_section() {
    let mut spec = corpus_spec("21-nova-lvm-encrypted.yaml");
    spec["features"]["nova"]["images"]["encryption"]["enabled"] = json!(false);
    let conf = nova_conf(&spec);
    assert!(conf.get("ephemeral_storage_encryption").is_none(), "{conf}");
}

#[test]
fn encryption_with_another_images_backend_is_refused_naming_the_field() {
    for backend in ["qcow2", "raw", "ceph", "local"] {
        let mut spec = corpus_spec("21-nova-lvm-encrypted.yaml");
        spec["features"]["nova"]["images"]["backend"] = json!(backend);
        let error = render_dry(&spec).unwrap_err().to_string();
        assert!(
            error.contains("spec.features.nova.images.encryption.enabled") && error.contains("lvm"),
            "{backend}: {error}"
        );
    }
}

#[test]
fn encryption_without_the_key_manager_service_is_refused_naming_the_field() {
    let mut spec = corpus_spec("21-nova-lvm-encrypted.yaml");
    spec["features"]["services"] = json!(["~key-manager"]);
    let error = render_dry(&spec).unwrap_err().to_string();
    assert!(
        error.contains("spec.features.nova.images.encryption.enabled")
            && error.contains("key-manager"),
        "{error}"
    );
}

#[test]
fn a_cipher_of_the_wrong_type_is_refused_naming_its_path() {
    let mut spec = corpus_spec("21-nova-lvm-encrypted.yaml");
    spec["features"]["nova"]["images"]["encryption"]["key_size"] = json!("big");
    let error = render_dry(&spec).unwrap_err().to_string();
    assert!(
        error.contains("spec.features.nova.images.encryption.key_size"),
        "{error}"
    );
}

/// The releases that publish notifications, with the nova.conf-like section of each.
const NOTIFYING: &[(&str, &str)] = &[
    ("openstack-keystone", "keystone"),
    ("openstack-nova", "nova"),
    ("openstack-neutron", "neutron"),
    ("openstack-glance", "glance"),
    ("openstack-cinder", "cinder"),
    ("openstack-heat", "heat"),
    ("openstack-octavia", "octavia"),
];

#[test]
fn external_topics_are_published_by_every_notifying_service_after_notifications() {
    let rendered = render_dry(&corpus_spec("24-dedicated-messaging-notifications.yaml")).unwrap();
    for (release, project) in NOTIFYING {
        let conf = &values(&rendered, release)["conf"][project]["oslo_messaging_notifications"];
        assert_eq!(conf["topics"], "notifications,billing,audit", "{release}");
        assert_eq!(conf["driver"], "messagingv2", "{release}");
    }
    assert!(
        rendered.unsupported.iter().any(|u| u.starts_with(
            "spec.features.messaging.notifications.external: the topics are published on the notifications RabbitMQ"
        )),
        "the users and the external listener it lacks are reported: {:?}",
        rendered.unsupported
    );
}

#[test]
fn external_topics_switched_off_or_absent_leave_the_default_topic() {
    let spec = corpus_spec("24-dedicated-messaging-notifications.yaml");
    let mut off = spec.clone();
    off["features"]["messaging"]["notifications"]["external"]["enabled"] = json!(false);
    let mut none = spec.clone();
    none["features"]["messaging"]["notifications"]["external"]["topics"] = json!([]);
    for spec in [off, none] {
        let rendered = render_dry(&spec).unwrap();
        for (release, project) in NOTIFYING {
            let conf = &values(&rendered, release)["conf"][project]["oslo_messaging_notifications"];
            assert!(conf.get("topics").is_none(), "{release}: {conf}");
        }
        assert!(
            !rendered
                .unsupported
                .iter()
                .any(|u| u.contains("notifications.external")),
            "{:?}",
            rendered.unsupported
        );
    }
}

#[test]
fn a_repeated_topic_or_the_default_one_is_published_once() {
    let mut spec = corpus_spec("24-dedicated-messaging-notifications.yaml");
    spec["features"]["messaging"]["notifications"]["external"]["topics"] =
        json!(["billing", "notifications", "billing"]);
    let conf = &nova_conf(&spec)["oslo_messaging_notifications"];
    assert_eq!(conf["topics"], "notifications,billing");
}

#[test]
fn a_topic_that_would_split_the_topic_list_is_refused_naming_it() {
    for topic in ["a,b", "two words", ""] {
        let mut spec = corpus_spec("24-dedicated-messaging-notifications.yaml");
        spec["features"]["messaging"]["notifications"]["external"]["topics"] =
            json!(["billing", topic]);
        let error = render_dry(&spec).unwrap_err().to_string();
        assert!(
            error.contains("spec.features.messaging.notifications.external.topics[1]"),
            "{topic:?}: {error}"
        );
    }
}

/// The charts whose API pipelines run the audit filter already, with their conf section.
const AUDITED: &[(&str, &str)] = &[
    ("openstack-nova", "nova"),
    ("openstack-cinder", "cinder"),
    ("openstack-neutron", "neutron"),
    ("openstack-heat", "heat"),
];

#[test]
fn cadf_audit_sends_the_events_of_the_audited_apis_with_the_driver_given() {
    let spec = corpus_spec("10-logging-levels.yaml");
    let rendered = render_dry(&spec).unwrap();
    for (release, project) in AUDITED {
        let conf = &values(&rendered, release)["conf"][project];
        assert_eq!(
            conf["audit_middleware_notifications"],
            json!({"driver": "messagingv2"}),
            "{release}"
        );
    }
    let mut log = spec.clone();
    log["features"]["logging"]["cadf"]["driver"] = json!("log");
    assert_eq!(
        nova_conf(&log)["audit_middleware_notifications"],
        json!({"driver": "log"})
    );
}

#[test]
fn without_cadf_audit_the_audit_filters_of_the_charts_send_nothing() {
    let mut spec = corpus_spec("10-logging-levels.yaml");
    spec["features"]["logging"]["cadf"]["enabled"] = json!(false);
    let rendered = render_dry(&spec).unwrap();
    for (release, project) in AUDITED {
        let conf = &values(&rendered, release)["conf"][project];
        assert_eq!(
            conf["audit_middleware_notifications"],
            json!({"driver": "noop"}),
            "{release}"
        );
    }
    let glance = values(&rendered, "openstack-glance");
    assert!(glance["conf"].get("paste").is_none(), "{}", glance["conf"]);
    let barbican = values(&rendered, "openstack-barbican");
    assert!(
        barbican["conf"].get("paste").is_none(),
        "{}",
        barbican["conf"]
    );
}

#[test]
fn cadf_audit_puts_the_audit_filter_into_glances_and_barbicans_keystone_pipelines() {
    let rendered = render_dry(&corpus_spec("10-logging-levels.yaml")).unwrap();
    let glance = values(&rendered, "openstack-glance");
    let paste = &glance["conf"]["paste"];
    assert_eq!(
        paste["filter:audit"]["audit_map_file"],
        "/etc/glance/api_audit_map.conf"
    );
    for flavour in ["keystone", "keystone+caching", "keystone+cachemanagement"] {
        let pipeline = paste["composite:api"][flavour].as_str().unwrap();
        assert!(
            pipeline.contains("authtoken context audit "),
            "{flavour}: {pipeline}"
        );
    }
    assert_eq!(
        glance["conf"]["glance"]["audit_middleware_notifications"]["driver"],
        "messagingv2"
    );
    let barbican = values(&rendered, "openstack-barbican");
    let pipeline = barbican["conf"]["paste"]["pipeline:barbican-api-keystone"]["pipeline"]
        .as_str()
        .unwrap();
    assert!(
        pipeline.contains("authtoken context audit apiapp"),
        "{pipeline}"
    );
    let barbican = &barbican["conf"]["barbican"];
    assert_eq!(
        barbican["audit_middleware_notifications"]["driver"],
        "messagingv2"
    );
    assert!(
        barbican["oslo_messaging_notifications"]["transport_url"]
            .as_str()
            .unwrap()
            .contains("@rabbitmq-notifications."),
        "barbican's audit events go to the notifications RabbitMQ"
    );
}

#[test]
fn a_cadf_driver_rockoon_does_not_offer_is_refused_naming_it() {
    let mut spec = corpus_spec("10-logging-levels.yaml");
    spec["features"]["logging"]["cadf"]["driver"] = json!("routing");
    let error = render_dry(&spec).unwrap_err().to_string();
    assert!(
        error.contains("spec.features.logging.cadf.driver") && error.contains("routing"),
        "{error}"
    );
}

#[test]
fn cadf_audit_is_reported_for_the_enabled_apis_whose_charts_cannot_take_it() {
    let rendered = render_dry(&corpus_spec("10-logging-levels.yaml")).unwrap();
    let reported: Vec<&String> = rendered
        .unsupported
        .iter()
        .filter(|u| u.starts_with("spec.features.logging.cadf: "))
        .collect();
    assert_eq!(reported.len(), 1, "{:?}", rendered.unsupported);
    assert!(
        reported[0]
            .starts_with("spec.features.logging.cadf: keystone, placement, octavia, designate: "),
        "{reported:?}"
    );
}

#[test]
fn the_admin_project_named_scopes_every_charts_admin_account_and_keystones_bootstrap() {
    let mut spec = corpus_spec("11-policies-strict-admin.yaml");
    spec["features"]["keystone"]["users"] = json!({"admin": {"project_name": "cloud-admin"}});
    let rendered = render_dry(&spec).unwrap();
    // The keystone chart's bootstrap (db-sync Job) creates the project from this account.
    for release in [
        "openstack-keystone",
        "openstack-nova",
        "openstack-neutron",
        "openstack-glance",
        "openstack-placement",
        "openstack-cinder",
        "openstack-heat",
        "openstack-horizon",
    ] {
        let admin = &values(&rendered, release)["endpoints"]["identity"]["auth"]["admin"];
        assert_eq!(admin["project_name"], "cloud-admin", "{release}");
    }
    let keystone = values(&rendered, "openstack-keystone");
    assert_eq!(
        keystone["conf"]["keystone"]["resource"]["admin_project_name"], "cloud-admin",
        "strict admin follows the admin project"
    );
    assert!(
        !rendered
            .unsupported
            .iter()
            .any(|u| u.contains("keystone.users")),
        "{:?}",
        rendered.unsupported
    );
}

#[test]
fn an_admin_user_in_another_domain_is_reported_and_renders_nothing() {
    let spec = corpus_spec("11-policies-strict-admin.yaml");
    let mut other = spec.clone();
    other["features"]["keystone"]["users"] =
        json!({"admin": {"user_domain_name": "ldap", "project_domain_name": "Default"}});
    let rendered = render_dry(&other).unwrap();
    assert_eq!(
        fingerprints(&rendered),
        fingerprints(&render_dry(&spec).unwrap())
    );
    let reported: Vec<&String> = rendered
        .unsupported
        .iter()
        .filter(|u| u.contains("keystone.users"))
        .collect();
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert!(reported[0].starts_with("spec.features.keystone.users.admin.user_domain_name: "));
}

/// Issue 17's complaint, for the settings implemented here: removing one changes the render.
#[test]
fn removing_any_setting_implemented_here_changes_what_is_rendered() {
    for (file, pointer, key) in [
        (
            "21-nova-lvm-encrypted.yaml",
            "/features/nova/images/lvm",
            "volume_group",
        ),
        (
            "21-nova-lvm-encrypted.yaml",
            "/features/nova/images",
            "encryption",
        ),
        (
            "24-dedicated-messaging-notifications.yaml",
            "/features/messaging/notifications",
            "external",
        ),
        ("10-logging-levels.yaml", "/features/logging", "cadf"),
    ] {
        let spec = corpus_spec(file);
        let mut without = spec.clone();
        let removed = without
            .pointer_mut(pointer)
            .and_then(Value::as_object_mut)
            .and_then(|map| map.remove(key));
        assert!(removed.is_some(), "{file}: {pointer}/{key} is not set");
        assert_ne!(
            fingerprints(&render_dry(&spec).unwrap()),
            fingerprints(&render_dry(&without).unwrap()),
            "{file}: removing {pointer}/{key} changes nothing rendered"
        );
    }
}
