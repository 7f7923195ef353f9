//! Helm failures osdpl must recover from by itself, on the upstream charts: moving every image
//! (`spec.artifacts.images_base_url`) changes the template of Jobs that are not helm hooks
//! (here MariaDB's cluster-wait, switched on with `manifests.job_cluster_wait`), which
//! Kubernetes refuses to patch ("field is immutable", after helm has printed the whole Job).
//! osdpl recognises the refusal on the whole stderr, deletes those Jobs and retries: every
//! release DEPLOYED, every service APPLIED. A release the API server refuses shows in the
//! OSDPL's Ready condition as one short line naming the service, its whole cause staying in
//! the osdplst.

use std::time::Duration;

use serde_json::json;

use crate::cluster_or_return;
use crate::small::{Small, WAIT};

#[tokio::test]
async fn an_image_move_that_hits_immutable_jobs_deletes_them_and_every_release_converges() {
    let cluster = cluster_or_return!();
    // A Job that is not a hook: it stays after the install, and its template is immutable.
    let cluster_wait = json!({"services": {"database": {"mariadb": {"values":
        {"manifests": {"job_cluster_wait": true}}}}}});
    let small = Small::applied_with(&cluster, "helm-recovery", cluster_wait).await;
    let before = small.releases().await;

    small
        .merge_spec(json!({"artifacts": {"images_base_url": "registry.example.test/moved"}}))
        .await;

    // Every release upgraded once more and deployed (polling helm's storage, with a deadline).
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = small.releases().await;
        let upgraded = before.iter().all(|(name, (revision, _))| {
            now.get(name)
                .is_some_and(|(r, status)| r > revision && status == "deployed")
        });
        if upgraded {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "releases not all upgraded and deployed: {now:?}; log:\n{}",
            small.osdpl.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let status = small
        .all_applied("every service APPLIED after the move")
        .await;
    assert_eq!(status["osdpl"]["state"], "APPLIED", "{status}");
    // Lines of this test's osdpl carry its namespace in the reconcile span.
    let log = small.osdpl.log();
    assert!(
        log.lines()
            .any(|l| l.contains("deleting Job with an immutable change")
                && l.contains(&small.ns.name)),
        "the move never hit an immutable Job, so the recovery was not exercised; log:\n{}",
        small.osdpl.log_tail()
    );
    small.finish().await;
}

#[tokio::test]
async fn a_failed_release_shows_one_short_line_in_ready_and_its_whole_cause_in_the_osdplst() {
    let cluster = cluster_or_return!();
    let small = Small::applied(&cluster, "helm-failure").await;

    // The API server refuses keystone's Deployment (revisionHistoryLimit must be a number).
    small
        .merge_spec(
            json!({"services": {"identity": {"keystone": {"values": {"pod": {"lifecycle":
            {"upgrades": {"deployments": {"revision_history": "many"}}}}}}}}}),
        )
        .await;
    let status = small
        .status_until("identity FAILED", |s| {
            s["services"]["identity"]["state"] == "FAILED"
        })
        .await;
    let cause = status["services"]["identity"]["cause"]
        .as_str()
        .unwrap()
        .to_owned();

    let osdpl = small.osdpls().get(crate::small::OSDPL).await.unwrap();
    let conditions = osdpl.status.unwrap().conditions.unwrap();
    let ready = conditions.iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(ready.status, "False");
    assert!(ready.message.starts_with("identity: "), "{}", ready.message);
    assert!(!ready.message.contains('\n'), "{}", ready.message);
    assert!(
        ready.message.chars().count() <= 200,
        "{} chars",
        ready.message.len()
    );
    let first_line = cause.lines().next().unwrap();
    assert!(
        first_line.starts_with(
            ready
                .message
                .trim_start_matches("identity: ")
                .trim_end_matches('…')
        ),
        "Ready {:?} is not the start of the cause's first line {first_line:?}",
        ready.message
    );
    assert!(
        cause.contains("revisionHistoryLimit"),
        "the osdplst lost helm's words: {cause}"
    );
    small.finish().await;
}
