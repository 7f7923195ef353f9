#![allow(clippy::unwrap_used)]
use super::*;
use serde_json::json;

fn spec(value: Value) -> OpenStackDeploymentSpec {
    let mut base = json!({
        "openstack_version": "epoxy", "preset": "core", "size": "tiny",
        "public_domain_name": "it.example.com",
    });
    rockoon_core::values::merge_into(&mut base, &value, "test").unwrap();
    serde_json::from_value(base).unwrap()
}

fn applied_at(version: &str, spec: &OpenStackDeploymentSpec) -> AppliedRelease {
    AppliedRelease {
        openstack_version: Some(version.into()),
        spec_hash: Some(spec_hash(spec)),
        ..AppliedRelease::default()
    }
}

#[test]
fn the_applied_release_or_none_yet_is_a_normal_apply() {
    let epoxy = spec(json!({}));
    assert_eq!(check(&epoxy, None, false, None), Verdict::Same);
    let applied = applied_at("epoxy", &epoxy);
    let changed = spec(json!({"region_name": "Other"}));
    assert_eq!(check(&changed, Some(&applied), false, None), Verdict::Same);
}

#[test]
fn a_version_bump_alone_from_an_applied_deployment_is_an_upgrade() {
    let caracal = spec(json!({"openstack_version": "caracal"}));
    let applied = applied_at("caracal", &caracal);
    let verdict = check(&spec(json!({})), Some(&applied), true, None);
    assert_eq!(
        verdict,
        Verdict::Upgrade {
            from: OpenStackVersion::Caracal,
            to: OpenStackVersion::Epoxy
        }
    );
}

#[test]
fn a_version_bump_with_another_change_is_refused_saying_what_to_do() {
    let caracal = spec(json!({"openstack_version": "caracal"}));
    let applied = applied_at("caracal", &caracal);
    let both = spec(json!({"region_name": "Other"}));
    let Verdict::Refused { reason, message } = check(&both, Some(&applied), true, None) else {
        panic!("accepted");
    };
    assert_eq!(reason, "OtherChanges");
    assert!(message.contains("caracal → epoxy"), "{message}");
    assert!(
        message.contains("change spec.openstack_version alone"),
        "{message}"
    );
}

#[test]
fn a_version_bump_of_a_deployment_not_applied_is_held_at_the_applied_release() {
    let caracal = spec(json!({"openstack_version": "caracal"}));
    let applied = applied_at("caracal", &caracal);
    let verdict = check(&spec(json!({})), Some(&applied), false, None);
    let Verdict::Held { from, message } = verdict else {
        panic!("{verdict:?}");
    };
    assert_eq!(from, OpenStackVersion::Caracal);
    assert!(message.contains("not APPLIED"), "{message}");
    // Fixing a service meanwhile (another change) is still held, not refused: it applies at
    // the old release.
    let fixed = spec(json!({"services": {"identity": {"keystone": {"values": {"x": 1}}}}}));
    assert!(matches!(
        check(&fixed, Some(&applied), false, None),
        Verdict::Held { .. }
    ));
}

#[test]
fn removing_pinned_tags_with_the_version_bumped_is_no_other_change() {
    let pins = json!({"openstack_version": "caracal", "services": {"identity": {"keystone":
        {"values": {"images": {"tags": {"keystone_api": "example/keystone:old"}}, "x": 1}}}}});
    let applied = applied_at("caracal", &spec(pins));
    let unpinned = spec(json!({"services": {"identity": {"keystone": {"values": {"x": 1}}}}}));
    assert!(matches!(
        check(&unpinned, Some(&applied), true, None),
        Verdict::Upgrade { .. }
    ));
    // Pins that were the only values: a spec without them at all is no other change either.
    let only_pins = json!({"openstack_version": "caracal", "services": {"identity": {"keystone":
        {"values": {"images": {"tags": {"keystone_api": "example/keystone:old"}}}}}}});
    let applied = applied_at("caracal", &spec(only_pins));
    assert!(matches!(
        check(&spec(json!({})), Some(&applied), true, None),
        Verdict::Upgrade { .. }
    ));
}

#[test]
fn pinned_image_tags_refuse_an_upgrade_naming_where_they_are() {
    let pins = json!({"services": {"identity": {"keystone": {"values":
        {"images": {"tags": {"keystone_api": "example/keystone:old"}}}}}}});
    let mut old = pins.clone();
    old["openstack_version"] = "caracal".into();
    let applied = applied_at("caracal", &spec(old));
    let Verdict::Refused { reason, message } = check(&spec(pins), Some(&applied), true, None)
    else {
        panic!("accepted");
    };
    assert_eq!(reason, "PinnedImages");
    assert!(
        message.contains("spec.services.identity.keystone.values.images.tags"),
        "{message}"
    );
}

#[test]
fn a_downgrade_or_a_skip_is_refused_even_when_the_api_server_let_it_in() {
    let flamingo = spec(json!({"openstack_version": "flamingo"}));
    let applied = applied_at("flamingo", &flamingo);
    let verdict = check(&spec(json!({})), Some(&applied), true, None);
    let Verdict::Refused { reason, message } = verdict else {
        panic!("accepted");
    };
    assert_eq!(reason, "NotAllowed");
    assert!(message.contains("is a downgrade"), "{message}");
    let caracal = spec(json!({"openstack_version": "caracal"}));
    let applied = applied_at("caracal", &caracal);
    let skip = check(
        &spec(json!({"openstack_version": "flamingo"})),
        Some(&applied),
        true,
        None,
    );
    assert!(
        matches!(
            skip,
            Verdict::Refused {
                reason: "NotAllowed",
                ..
            }
        ),
        "{skip:?}"
    );
}

#[test]
fn an_upgrade_under_way_continues_while_services_apply_and_a_service_spec_is_fixed() {
    let caracal = spec(json!({"openstack_version": "caracal"}));
    let applied = applied_at("caracal", &caracal);
    let fixed = spec(json!({"services": {"identity": {"keystone": {"values": {"x": 1}}}}}));
    let verdict = check(&fixed, Some(&applied), false, Some("epoxy"));
    assert!(matches!(verdict, Verdict::Upgrade { .. }), "{verdict:?}");
}
