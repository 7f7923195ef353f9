#![allow(clippy::unwrap_used)]
use std::collections::BTreeMap;

use super::*;
use crate::state::ServiceState;
use serde_json::json;

fn spec(version: &str) -> OpenStackDeploymentSpec {
    serde_json::from_value(json!({
        "openstack_version": version, "preset": "core", "size": "tiny",
        "public_domain_name": "it.example.com",
    }))
    .unwrap()
}

fn services(state: ServiceState) -> Overall {
    Overall::Services(BTreeMap::from([("identity".to_owned(), state)]))
}

#[test]
fn an_applied_deployment_records_its_release_and_spec_hash() {
    let record = next(None, &spec("caracal"), &services(ServiceState::Applied)).unwrap();
    let applied = record.applied.unwrap();
    assert_eq!(applied.openstack_version.as_deref(), Some("caracal"));
    assert_eq!(applied.spec_hash, Some(spec_hash(&spec("epoxy"))));
    assert_eq!(record.state, None);
}

#[test]
fn a_new_release_while_applying_is_an_upgrade_running_until_applied() {
    let applied = next(None, &spec("caracal"), &services(ServiceState::Applied));
    let running = next(
        applied.as_ref(),
        &spec("epoxy"),
        &services(ServiceState::Applying),
    );
    let record = running.clone().unwrap();
    assert_eq!(record.state.as_deref(), Some(RUNNING));
    assert_eq!(
        (record.from.as_deref(), record.to.as_deref()),
        (Some("caracal"), Some("epoxy"))
    );
    assert_eq!(super::running(Some(&record)), Some("epoxy"));
    let (on, reason, message) = condition(Some(&record));
    assert!(on);
    assert_eq!(reason, "Upgrading");
    assert_eq!(message, "from caracal to epoxy");
    let done = next(
        running.as_ref(),
        &spec("epoxy"),
        &services(ServiceState::Applied),
    )
    .unwrap();
    assert_eq!(done.state.as_deref(), Some(DONE));
    assert_eq!(
        done.applied.unwrap().openstack_version.as_deref(),
        Some("epoxy")
    );
    let (on, reason, _) = condition(Some(
        &next(
            running.as_ref(),
            &spec("epoxy"),
            &services(ServiceState::Applied),
        )
        .unwrap(),
    ));
    assert_eq!((on, reason), (false, "Upgraded"));
}

#[test]
fn a_refusal_keeps_the_applied_record_and_clears_once_accepted() {
    let applied = next(None, &spec("caracal"), &services(ServiceState::Applied));
    let refused = Overall::Refused {
        reason: "OtherChanges",
        message: "why".into(),
    };
    let record = next(applied.as_ref(), &spec("epoxy"), &refused);
    let shown = record.clone().unwrap();
    assert_eq!(shown.state.as_deref(), Some(REFUSED));
    assert_eq!(shown.applied, applied.clone().unwrap().applied);
    assert_eq!(
        condition(Some(&shown)),
        (false, "UpgradeRefused", "why".into())
    );
    assert_eq!(super::running(Some(&shown)), None);
    let back = next(
        record.as_ref(),
        &spec("caracal"),
        &services(ServiceState::Applied),
    );
    assert_eq!(back, applied);
}

#[test]
fn other_states_keep_the_record_as_it_is() {
    let applied = next(None, &spec("caracal"), &services(ServiceState::Applied));
    assert_eq!(
        next(applied.as_ref(), &spec("epoxy"), &Overall::Draft),
        applied
    );
    assert_eq!(next(None, &spec("epoxy"), &Overall::Draft), None);
    assert_eq!(condition(None), (false, "NotUpgrading", String::new()));
}

#[test]
fn every_service_applied_with_steps_left_keeps_the_upgrade_running() {
    use rockoon_core::crd::upgrade_status::UpgradeStep;
    let applied = next(None, &spec("caracal"), &services(ServiceState::Applied));
    let mut running = next(
        applied.as_ref(),
        &spec("epoxy"),
        &services(ServiceState::Applying),
    )
    .unwrap();
    running.steps = Some(vec![UpgradeStep {
        name: "identity".into(),
        state: Some("UPGRADING".into()),
        ..UpgradeStep::default()
    }]);
    let still = next(
        Some(&running),
        &spec("epoxy"),
        &services(ServiceState::Applied),
    )
    .unwrap();
    assert_eq!(still.state.as_deref(), Some(RUNNING));
    assert_eq!(
        still.applied.unwrap().openstack_version.as_deref(),
        Some("caracal")
    );
    running.steps.as_mut().unwrap()[0].state = Some("APPLIED".into());
    let done = next(
        Some(&running),
        &spec("epoxy"),
        &services(ServiceState::Applied),
    )
    .unwrap();
    assert_eq!(done.state.as_deref(), Some(DONE));
}

#[test]
fn a_held_upgrade_stays_shown_while_the_old_release_applies_and_goes_once_it_runs() {
    let applied = next(None, &spec("caracal"), &services(ServiceState::Applied));
    let mut held = applied.clone().unwrap();
    held.state = Some(HELD.into());
    held.from = Some("caracal".into());
    held.to = Some("epoxy".into());
    held.cause = Some("not APPLIED".into());
    for overall in [
        services(ServiceState::Applying),
        services(ServiceState::Applied),
    ] {
        let shown = next(Some(&held), &spec("caracal"), &overall).unwrap();
        assert_eq!(shown.state.as_deref(), Some(HELD));
        assert_eq!(
            condition(Some(&shown)),
            (false, "UpgradeRefused", "not APPLIED".into())
        );
    }
    let running = next(
        Some(&held),
        &spec("epoxy"),
        &services(ServiceState::Applying),
    )
    .unwrap();
    assert_eq!(running.state.as_deref(), Some(RUNNING));
    assert_eq!(running.cause, None);
}
