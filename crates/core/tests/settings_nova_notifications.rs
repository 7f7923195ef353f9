//! Rockoon's settings of issue 17 rendered after `settings_more.rs`: Nova's LVM volume group
//! and ephemeral disk encryption. Inputs are the corpus OSDPLs (`tests/fixtures/corpus/`), rendered offline with dry-run
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
