//! The dev cluster's supervisor keeps the cluster whole for fault tests: a component that dies
//! is reaped, recorded and started again; one stopped on purpose stays stopped until released.
//! Only the scheduler and the controller manager are used here, whose short absence the other
//! tests running at the same time do not notice.

use std::time::Duration;

use rockoon_tests::devcluster::state::State;
use rockoon_tests::devcluster::supervise::{start_component, stop_component, until};

use crate::cluster_or_return;

const WAIT: Duration = Duration::from_secs(30);

fn running(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !stat.is_empty() && !matches!(state, Some("Z" | "X"))
}

#[tokio::test]
async fn a_component_that_dies_is_reaped_recorded_and_started_again() {
    let cluster = cluster_or_return!();
    let before = State::read(&cluster.dir).unwrap();
    let old = before.pids["kube-scheduler"];
    assert!(running(old), "kube-scheduler pid {old} is not running");
    let restarts = before.restarts.get("kube-scheduler").copied().unwrap_or(0);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(old as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let after = until(&cluster.dir, WAIT, "kube-scheduler restarted", |s| {
        s.pids
            .get("kube-scheduler")
            .is_some_and(|p| *p != 0 && *p != old)
    })
    .await
    .unwrap();
    assert!(running(after.pids["kube-scheduler"]));
    assert!(!running(old), "the killed process is left as a zombie");
    assert_eq!(after.restarts["kube-scheduler"], restarts + 1);
    assert!(
        after.exits["kube-scheduler"].contains("signal: 9"),
        "{:?}",
        after.exits
    );
}

#[tokio::test]
async fn a_component_stopped_on_purpose_stays_stopped_until_started_again() {
    let cluster = cluster_or_return!();
    let old = State::read(&cluster.dir).unwrap().pids["kube-controller-manager"];
    stop_component(&cluster.dir, "kube-controller-manager", WAIT)
        .await
        .unwrap();
    assert!(!running(old));
    // Several supervisor rounds (one every 250 ms) pass without a restart.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        State::read(&cluster.dir).unwrap().pids["kube-controller-manager"],
        0
    );
    let new = start_component(&cluster.dir, "kube-controller-manager", WAIT)
        .await
        .unwrap();
    assert!(new != old && running(new));
}
