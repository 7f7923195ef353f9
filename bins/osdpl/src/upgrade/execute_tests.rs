#![allow(clippy::unwrap_used)]
use super::*;
use crate::upgrade::steps::INFRA;

fn steps() -> Vec<Step> {
    let step = |name: &str, services: &[&str]| Step {
        name: name.into(),
        services: services.iter().map(|s| (*s).to_owned()).collect(),
    };
    vec![
        step(INFRA, &["database", "memcached"]),
        step("identity", &["identity"]),
        step("image", &["image"]),
        step(FINAL, &[]),
    ]
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).unwrap()
}

fn applications() -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([
        ("identity".to_owned(), vec!["keystone".to_owned()]),
        ("image".to_owned(), vec!["glance".to_owned()]),
        ("database".to_owned(), vec!["mariadb".to_owned()]),
    ])
}

fn health(application: &str, status: &str) -> Health {
    let entry = WorkloadHealth {
        status: Some(status.into()),
        ..WorkloadHealth::default()
    };
    BTreeMap::from([(
        application.to_owned(),
        BTreeMap::from([("api".to_owned(), entry)]),
    )])
}

fn all_applied() -> BTreeMap<String, ServiceState> {
    ["database", "memcached", "identity", "image"]
        .iter()
        .map(|s| ((*s).to_owned(), ServiceState::Applied))
        .collect()
}

fn judge(record: &mut UpgradeStatus, health: &Health, now: Timestamp, stall: u64) -> Next {
    let (steps, states, applications) = (steps(), all_applied(), applications());
    let seen = Observed {
        steps: &steps,
        states: &states,
        applications: &applications,
        health,
        conditions: &BTreeMap::new(),
        helm: Duration::from_secs(2),
        stall: Duration::from_secs(stall),
        now,
    };
    after(record, &seen)
}

fn state_of(record: &UpgradeStatus, step: &str) -> String {
    let steps = record.steps.as_ref().unwrap();
    let found = steps.iter().find(|s| s.name == step).unwrap();
    found.state.clone().unwrap()
}

#[test]
fn the_first_step_starts_and_every_later_service_is_held() {
    let mut record = UpgradeStatus::default();
    let held = before(&mut record, &steps(), "caracal", "epoxy", at(0));
    assert_eq!(record.current.as_deref(), Some(INFRA));
    assert_eq!(record.state.as_deref(), Some(RUNNING));
    assert_eq!(state_of(&record, INFRA), UPGRADING);
    assert_eq!(state_of(&record, "identity"), WAITING);
    assert_eq!(held.keys().collect::<Vec<_>>(), ["identity", "image"]);
    assert_eq!(
        held["image"],
        "upgrade caracal → epoxy: waits for step infra"
    );
}

#[test]
fn a_step_is_applied_only_once_its_workloads_are_ready_after_helm() {
    let mut record = UpgradeStatus::default();
    before(&mut record, &steps(), "caracal", "epoxy", at(0));
    let next = judge(&mut record, &health("mariadb", "Ready"), at(1), 600);
    assert_eq!(
        next,
        Next::Wait(POLL),
        "health is not trusted right after helm"
    );
    let next = judge(&mut record, &health("mariadb", "Progressing"), at(10), 600);
    assert_eq!(next, Next::Wait(POLL));
    let step = &record.steps.as_ref().unwrap()[0];
    assert_eq!(step.blocker.as_deref(), Some("mariadb/api: Progressing"));
    assert_eq!(
        step.wait_seconds, None,
        "a growing number would rewrite the status each poll"
    );
    let next = judge(&mut record, &health("mariadb", "Ready"), at(20), 600);
    assert_eq!(next, Next::Again);
    assert_eq!(state_of(&record, INFRA), APPLIED);
    let step = &record.steps.as_ref().unwrap()[0];
    assert_eq!(step.wait_seconds, Some(19.0));
    assert_eq!(step.helm_seconds, Some(6.0));
    let held = before(&mut record, &steps(), "caracal", "epoxy", at(21));
    assert_eq!(record.current.as_deref(), Some("identity"));
    assert_eq!(held.keys().collect::<Vec<_>>(), ["image"]);
}

#[test]
fn a_step_unhealthy_past_its_stall_time_stalls_naming_the_blocker_then_resumes() {
    let mut record = UpgradeStatus::default();
    before(&mut record, &steps(), "caracal", "epoxy", at(0));
    judge(&mut record, &health("mariadb", "Ready"), at(1), 30);
    assert_eq!(
        judge(&mut record, &health("mariadb", "Ready"), at(10), 30),
        Next::Again
    );
    before(&mut record, &steps(), "caracal", "epoxy", at(11));
    judge(&mut record, &health("keystone", "Unhealthy"), at(12), 30);
    let stalled = record.clone();
    judge(&mut record, &health("keystone", "Unhealthy"), at(50), 30);
    assert_eq!(record.state.as_deref(), Some(STALLED));
    let cause = record.cause.clone().unwrap();
    assert!(
        cause.starts_with(
            "step identity not done after 39 s (stall time 30 s): keystone/api: Unhealthy"
        ),
        "{cause}"
    );
    let stall_events = events(&stalled, &record);
    assert_eq!(stall_events.len(), 1);
    assert_eq!(stall_events[0].1, "UpgradeStalled");
    let held = before(&mut record, &steps(), "caracal", "epoxy", at(55));
    assert!(held.contains_key("image"), "later services stay untouched");
    let stalled = record.clone();
    assert_eq!(
        judge(&mut record, &health("keystone", "Ready"), at(60), 30),
        Next::Again
    );
    assert_eq!(record.state.as_deref(), Some(RUNNING));
    let reasons: Vec<_> = events(&stalled, &record).into_iter().map(|e| e.1).collect();
    assert_eq!(reasons, ["UpgradeStep", "UpgradeResumed"]);
}

#[test]
fn a_restarted_pass_resumes_at_the_unfinished_step() {
    let mut record = UpgradeStatus::default();
    before(&mut record, &steps(), "caracal", "epoxy", at(0));
    judge(&mut record, &health("mariadb", "Ready"), at(1), 600);
    assert_eq!(
        judge(&mut record, &health("mariadb", "Ready"), at(10), 600),
        Next::Again
    );
    let persisted: UpgradeStatus =
        serde_json::from_value(serde_json::to_value(&record).unwrap()).unwrap();
    let mut resumed = persisted;
    let held = before(&mut resumed, &steps(), "caracal", "epoxy", at(100));
    assert_eq!(resumed.current.as_deref(), Some("identity"));
    assert_eq!(state_of(&resumed, INFRA), APPLIED);
    assert!(!held.contains_key("database"));
}

#[test]
fn a_new_upgrade_starts_its_steps_over() {
    let mut record = UpgradeStatus {
        state: Some("DONE".into()),
        to: Some("epoxy".into()),
        steps: Some(vec![UpgradeStep {
            name: INFRA.into(),
            state: Some(APPLIED.into()),
            ..UpgradeStep::default()
        }]),
        ..UpgradeStatus::default()
    };
    before(&mut record, &steps(), "epoxy", "flamingo", at(0));
    assert_eq!(record.current.as_deref(), Some(INFRA));
    assert_eq!(state_of(&record, INFRA), UPGRADING);
}

#[test]
fn a_failed_service_holds_its_step_with_helms_cause() {
    let mut record = UpgradeStatus::default();
    before(&mut record, &steps(), "caracal", "epoxy", at(0));
    let (steps, applications) = (steps(), applications());
    let mut states = all_applied();
    states.insert(
        "database".into(),
        ServiceState::Failed("UPGRADE FAILED: boom\nmore".into()),
    );
    let seen = Observed {
        steps: &steps,
        states: &states,
        applications: &applications,
        health: &Health::new(),
        conditions: &BTreeMap::new(),
        helm: Duration::ZERO,
        stall: Duration::from_secs(600),
        now: at(3),
    };
    assert_eq!(after(&mut record, &seen), Next::Wait(POLL));
    let step = &record.steps.as_ref().unwrap()[0];
    assert_eq!(
        step.blocker.as_deref(),
        Some("database: FAILED (UPGRADE FAILED: boom)")
    );
}
