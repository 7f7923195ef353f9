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
        jobs: &[],
        helm: Duration::from_secs(2),
        stall: Duration::from_secs(stall),
        now,
    };
    after(record, &seen)
}

/// [`before`] with every workload healthy.
fn go(
    record: &mut UpgradeStatus,
    from: &str,
    to: &str,
    now: Timestamp,
) -> BTreeMap<String, String> {
    let start = Start {
        from,
        to,
        applications: &applications(),
        health: &Health::new(),
        now,
    };
    before(record, &steps(), &start)
}

fn state_of(record: &UpgradeStatus, step: &str) -> String {
    let steps = record.steps.as_ref().unwrap();
    let found = steps.iter().find(|s| s.name == step).unwrap();
    found.state.clone().unwrap()
}

#[test]
fn the_first_step_starts_and_every_later_service_is_held() {
    let mut record = UpgradeStatus::default();
    let held = go(&mut record, "caracal", "epoxy", at(0));
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
    go(&mut record, "caracal", "epoxy", at(0));
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
    let held = go(&mut record, "caracal", "epoxy", at(21));
    assert_eq!(record.current.as_deref(), Some("identity"));
    assert_eq!(held.keys().collect::<Vec<_>>(), ["image"]);
}

#[test]
fn a_step_unhealthy_past_its_stall_time_stalls_naming_the_blocker_then_resumes() {
    let mut record = UpgradeStatus::default();
    go(&mut record, "caracal", "epoxy", at(0));
    judge(&mut record, &health("mariadb", "Ready"), at(1), 30);
    assert_eq!(
        judge(&mut record, &health("mariadb", "Ready"), at(10), 30),
        Next::Again
    );
    go(&mut record, "caracal", "epoxy", at(11));
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
    let held = go(&mut record, "caracal", "epoxy", at(55));
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
    go(&mut record, "caracal", "epoxy", at(0));
    judge(&mut record, &health("mariadb", "Ready"), at(1), 600);
    assert_eq!(
        judge(&mut record, &health("mariadb", "Ready"), at(10), 600),
        Next::Again
    );
    let persisted: UpgradeStatus =
        serde_json::from_value(serde_json::to_value(&record).unwrap()).unwrap();
    let mut resumed = persisted;
    let held = go(&mut resumed, "caracal", "epoxy", at(100));
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
    go(&mut record, "epoxy", "flamingo", at(0));
    assert_eq!(record.current.as_deref(), Some(INFRA));
    assert_eq!(state_of(&record, INFRA), UPGRADING);
}

#[test]
fn a_failed_service_holds_its_step_with_helms_cause() {
    let mut record = UpgradeStatus::default();
    go(&mut record, "caracal", "epoxy", at(0));
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
        jobs: &[],
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

#[test]
fn a_step_unhealthy_before_its_upgrade_applies_nothing_until_healthy() {
    let mut record = UpgradeStatus::default();
    go(&mut record, "caracal", "epoxy", at(0));
    judge(&mut record, &health("mariadb", "Ready"), at(1), 600);
    judge(&mut record, &health("mariadb", "Ready"), at(10), 600);
    let sick = health("keystone", "Unhealthy");
    let start = Start {
        from: "caracal",
        to: "epoxy",
        applications: &APPLICATIONS,
        health: &sick,
        now: at(11),
    };
    let held = before(&mut record, &steps(), &start);
    assert_eq!(
        held["identity"],
        "upgrade caracal → epoxy: step identity waits for its workloads to be healthy before \
         its upgrade"
    );
    assert!(held.contains_key("image"));
    assert_eq!(
        judge(&mut record, &sick, at(12), 600),
        Next::Wait(POLL),
        "nothing was applied"
    );
    let step = &record.steps.as_ref().unwrap()[1];
    assert_eq!(step.checked, None);
    assert_eq!(
        step.blocker.as_deref(),
        Some("not healthy before its upgrade: keystone/api: Unhealthy")
    );
    let healthy = Start {
        health: &Health::new(),
        ..start
    };
    let held = before(&mut record, &steps(), &healthy);
    assert!(
        !held.contains_key("identity"),
        "healthy: its upgrade starts"
    );
    assert!(record.steps.as_ref().unwrap()[1].checked.is_some());
}

static APPLICATIONS: std::sync::LazyLock<BTreeMap<String, Vec<String>>> =
    std::sync::LazyLock::new(applications);

#[test]
fn a_step_waits_for_its_jobs_and_records_those_that_ran() {
    let mut record = UpgradeStatus::default();
    go(&mut record, "caracal", "epoxy", at(0));
    let job = |name: &str, done: Option<i64>| SeenJob {
        name: name.into(),
        application: "mariadb".into(),
        release: None,
        hook: true,
        weight: 0,
        created: Some(at(1)),
        completed: done.map(at),
        state: if done.is_some() {
            "Complete".into()
        } else {
            "Failed=True BackoffLimitExceeded: too many".into()
        },
    };
    let (steps, states, applications) = (steps(), all_applied(), applications());
    let ready = health("mariadb", "Ready");
    let jobs = [
        job("mariadb-db-sync", Some(3)),
        job("mariadb-bootstrap", None),
    ];
    let conditions = BTreeMap::new();
    let seen = |jobs, now| Observed {
        steps: &steps,
        states: &states,
        applications: &applications,
        health: &ready,
        conditions: &conditions,
        jobs,
        helm: Duration::ZERO,
        stall: Duration::from_secs(600),
        now,
    };
    after(&mut record, &seen(&jobs, at(2)));
    assert_eq!(after(&mut record, &seen(&jobs, at(10))), Next::Wait(POLL));
    assert_eq!(
        record.steps.as_ref().unwrap()[0].blocker.as_deref(),
        Some("job mariadb-bootstrap: Failed=True BackoffLimitExceeded: too many")
    );
    let before_done = record.clone();
    let jobs = [
        job("mariadb-db-sync", Some(3)),
        job("mariadb-bootstrap", Some(9)),
    ];
    assert_eq!(after(&mut record, &seen(&jobs, at(12))), Next::Again);
    let step = &record.steps.as_ref().unwrap()[0];
    assert_eq!(
        step.jobs.as_deref(),
        Some(["mariadb-db-sync".to_owned(), "mariadb-bootstrap".to_owned()].as_slice())
    );
    let notes = events(&before_done, &record);
    assert!(
        notes[0]
            .2
            .ends_with("; jobs: mariadb-db-sync, mariadb-bootstrap)"),
        "{}",
        notes[0].2
    );
}
