//! Helm failures osdpl must recover from by itself, on the upstream charts: moving every image
//! (`spec.artifacts.images_base_url`) changes the template of Jobs that are not hooks (e.g.
//! MariaDB's cluster-wait), which Kubernetes refuses to patch ("field is immutable", deep in
//! a long stderr that prints the whole Job). osdpl recognises the refusal on the whole
//! stderr, deletes those Jobs and retries: every release DEPLOYED, every service APPLIED.

use std::time::Duration;

use serde_json::json;

use crate::cluster_or_return;
use crate::small::{Small, WAIT};

#[tokio::test]
async fn an_image_move_that_hits_immutable_jobs_deletes_them_and_every_release_converges() {
    let cluster = cluster_or_return!();
    let small = Small::applied(&cluster, "helm-recovery").await;
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
    let log = small.osdpl.log();
    assert!(
        log.contains("deleting Job with an immutable change"),
        "the move never hit an immutable Job, so the recovery was not exercised; log:\n{}",
        small.osdpl.log_tail()
    );
    small.finish().await;
}
