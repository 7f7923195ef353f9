#![allow(clippy::unwrap_used)]
use super::*;
use serde_json::json;

fn job(value: serde_json::Value) -> Job {
    serde_json::from_value(value).unwrap()
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).unwrap()
}

fn made(name: &str, application: &str, hook: bool, created: i64, done: Option<i64>) -> SeenJob {
    SeenJob {
        name: name.into(),
        application: application.into(),
        release: (!hook).then(|| format!("openstack-{application}")),
        hook,
        weight: 0,
        created: Some(at(created)),
        completed: done.map(at),
        state: if done.is_some() {
            "Complete".into()
        } else {
            "not complete (active 1, failed 0)".into()
        },
    }
}

#[test]
fn a_job_is_read_with_its_hook_release_and_completion_and_a_cronjobs_job_is_not_the_steps() {
    let hook = job(json!({
        "metadata": {"name": "keystone-db-sync", "labels": {"application": "keystone"},
            "annotations": {"helm.sh/hook": "post-install,post-upgrade",
                "helm.sh/hook-weight": "-4"},
            "creationTimestamp": "2027-01-15T08:00:00Z"},
        "status": {"conditions": [{"type": "Complete", "status": "True"}],
            "completionTime": "2027-01-15T08:00:03Z"},
    }));
    let seen_hook = seen(&hook).unwrap();
    assert!(seen_hook.hook);
    assert_eq!(seen_hook.weight, -4);
    assert_eq!(seen_hook.release, None);
    assert_eq!(seen_hook.state, "Complete");
    assert!(seen_hook.completed.is_some());

    let failed = job(json!({
        "metadata": {"name": "nova-cell-setup", "labels": {"application": "nova"},
            "annotations": {"meta.helm.sh/release-name": "openstack-nova"}},
        "status": {"conditions": [{"type": "Failed", "status": "True",
            "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]},
    }));
    let seen_failed = seen(&failed).unwrap();
    assert!(!seen_failed.hook);
    assert_eq!(seen_failed.release.as_deref(), Some("openstack-nova"));
    assert_eq!(
        seen_failed.state,
        "Failed=True BackoffLimitExceeded: Job has reached the specified backoff limit"
    );
    assert_eq!(seen_failed.completed, None);

    let cron = job(json!({
        "metadata": {"name": "keystone-fernet-rotate-1", "labels": {"application": "keystone"},
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob",
                "name": "keystone-fernet-rotate", "uid": "u"}]},
    }));
    assert_eq!(seen(&cron), None);
}

#[test]
fn only_finished_jobs_of_the_releases_upgraded_that_are_not_hooks_are_purged() {
    let jobs = vec![
        made("nova-cell-setup", "nova", false, 0, Some(5)),
        made("nova-bootstrap", "nova", false, 0, None),
        made("nova-db-sync", "nova", true, 0, Some(4)),
        made("glance-clean", "glance", false, 0, Some(5)),
    ];
    let mut failed = made("nova-storage-init", "nova", false, 0, None);
    failed.state = "Failed=True BackoffLimitExceeded: x".into();
    let jobs = [jobs, vec![failed]].concat();
    assert_eq!(
        to_purge(&jobs, &["openstack-nova".to_owned()]),
        ["nova-cell-setup", "nova-storage-init"]
    );
    assert!(to_purge(&jobs, &[]).is_empty());
}

#[test]
fn a_job_not_complete_blocks_with_its_condition_and_the_jobs_that_ran_come_in_completion_order() {
    let jobs = vec![
        made("keystone-bootstrap", "keystone", true, 12, Some(14)),
        made("keystone-db-sync", "keystone", true, 10, Some(11)),
        made("keystone-db-init", "keystone", true, 10, Some(10)),
        made("keystone-old", "keystone", true, 1, Some(2)),
        made("glance-db-sync", "glance", true, 12, None),
    ];
    let keystone = ["keystone".to_owned()];
    assert!(pending(&jobs, &keystone).is_empty());
    assert_eq!(
        pending(&jobs, &["glance".to_owned()]),
        ["job glance-db-sync: not complete (active 1, failed 0)"]
    );
    assert_eq!(
        ran(&jobs, &keystone, at(10)),
        ["keystone-db-init", "keystone-db-sync", "keystone-bootstrap"]
    );
    // Completed in the same second: helm ran them by weight, whatever their names.
    let mut sync = made("keystone-db-sync", "keystone", true, 10, Some(11));
    sync.weight = -4;
    let mut bootstrap = made("keystone-bootstrap", "keystone", true, 10, Some(11));
    bootstrap.weight = 5;
    assert_eq!(
        ran(&[bootstrap, sync], &keystone, at(10)),
        ["keystone-db-sync", "keystone-bootstrap"]
    );
}
