//! Drift: a release changed by hand with `helm upgrade --reuse-values --set ...` keeps our
//! hash label (helm copies labels), so the labels still say "converged". osdpl reads what the
//! revision actually stores, upgrades the release back to the render and says so with a
//! Warning event `Drift` naming the release.

use std::time::Duration;

use crate::cluster_or_return;
use crate::small::{Small, WAIT};

const RELEASE: &str = "openstack-memcached";

#[tokio::test]
async fn a_release_changed_by_hand_is_upgraded_back_with_a_drift_event() {
    let cluster = cluster_or_return!();
    let small = Small::applied(&cluster, "drift").await;
    let (revision, _) = small.releases().await[RELEASE].clone();
    let rendered = small.stored_values(RELEASE, revision).await;

    let chart = rockoon_tests::devcluster::upstream_charts()
        .unwrap()
        .join("memcached");
    let chart = chart.to_str().unwrap();
    let by_hand = small
        .helm(
            &cluster,
            &[
                "upgrade",
                RELEASE,
                chart,
                "--reuse-values",
                "--set",
                "pod.replicas.server=5",
            ],
        )
        .await;
    assert!(
        by_hand.status.success(),
        "helm upgrade by hand: {}",
        String::from_utf8_lossy(&by_hand.stderr)
    );

    // osdpl upgrades it once more, back to what it renders.
    let deadline = tokio::time::Instant::now() + WAIT;
    let back = loop {
        if let Some((r, status)) = small.releases().await.get(RELEASE)
            && *r >= revision + 2
            && status == "deployed"
        {
            break *r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the drifted release was not upgraded back; log:\n{}",
            small.osdpl.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let drifted = small.stored_values(RELEASE, revision + 1).await;
    assert_eq!(drifted["pod"]["replicas"]["server"], 5, "{drifted}");
    let restored = small.stored_values(RELEASE, back).await;
    assert_eq!(restored, rendered, "revision {back} is not the render");

    let events = small.events("Drift").await;
    assert!(
        events.iter().any(|(note, _)| note.contains(RELEASE)),
        "no Drift event naming {RELEASE}: {events:?}"
    );
    small.finish().await;
}
