use std::time::{Duration, Instant};

use futures::StreamExt;

use super::*;

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn without_election_the_gate_is_always_open() {
    let gate = LeaderGate::always();
    assert!(gate.is_leading());
    assert!(!gate.is_elected());
    assert_eq!(gate.until(), None);
}

#[test]
fn an_elected_gate_is_closed_until_the_first_renewal() {
    let gate = LeaderGate::elected();
    assert!(!gate.is_leading());
    let now = Instant::now();
    assert!(
        gate.extend(now + 2 * SECOND, now),
        "the first renewal starts a term"
    );
    assert!(gate.is_leading_at(now + SECOND));
    assert!(
        !gate.extend(now + 3 * SECOND, now + SECOND),
        "a renewal continues it"
    );
}

#[test]
fn the_term_ends_by_the_clock_without_anyone_closing_the_gate() {
    // A process resumed after a pause longer than its term: the first check after resuming
    // already says no, before the elector or any timer had a chance to run.
    let gate = LeaderGate::elected();
    let now = Instant::now();
    gate.extend(now + 2 * SECOND, now);
    assert!(gate.is_leading_at(now + SECOND));
    assert!(
        !gate.is_leading_at(now + 2 * SECOND),
        "the end is exclusive"
    );
    assert!(!gate.is_leading_at(now + 60 * SECOND));
}

#[test]
fn a_renewal_answered_after_its_deadline_opens_nothing() {
    let gate = LeaderGate::elected();
    let now = Instant::now();
    assert!(!gate.extend(now - SECOND, now));
    assert!(!gate.is_leading_at(now));
}

#[test]
fn revoking_closes_the_gate_at_once() {
    let gate = LeaderGate::elected();
    let now = Instant::now();
    gate.extend(now + 10 * SECOND, now);
    gate.revoke();
    assert!(!gate.is_leading());
}

#[test]
fn timings_keep_the_renew_deadline_inside_the_lease() {
    let ok = Timings::new(10 * SECOND, 7 * SECOND, 2 * SECOND).unwrap();
    assert_eq!(ok.lease_seconds(), 10);
    assert!(ok.request_timeout() < ok.renew_deadline);
    for (lease, deadline, retry) in [
        (10, 10, 2), // no margin between the leader's stop and the others' start
        (10, 12, 2),
        (10, 7, 7), // no renewal before the deadline
        (10, 7, 0),
    ] {
        let result = Timings::new(
            lease * SECOND,
            deadline * SECOND,
            Duration::from_secs(retry),
        );
        assert!(result.is_err(), "{lease}/{deadline}/{retry} accepted");
    }
}

#[test]
fn a_fractional_lease_is_published_rounded_up() {
    let timings = Timings::new(
        Duration::from_millis(2500),
        Duration::from_millis(1500),
        Duration::from_millis(300),
    )
    .unwrap();
    assert_eq!(timings.lease_seconds(), 3);
}

const TICK: Duration = Duration::from_millis(40);

#[tokio::test]
async fn lost_resolves_when_the_term_runs_out_and_gained_when_one_starts() {
    let gate = LeaderGate::elected();
    let mut gained = gate.gained();
    let now = Instant::now();
    gate.extend(now + 3 * TICK, now);
    let next = tokio::time::timeout(SECOND, gained.next()).await;
    assert_eq!(next.unwrap(), Some(()));
    gate.lost().await;
    assert!(now.elapsed() >= 3 * TICK, "{:?}", now.elapsed());
    assert!(!gate.is_leading());
}

#[tokio::test]
async fn lost_follows_renewals_and_resolves_on_revocation() {
    let gate = LeaderGate::elected();
    let now = Instant::now();
    gate.extend(now + 3 * TICK, now);
    let watcher = {
        let gate = gate.clone();
        tokio::spawn(async move { gate.lost().await })
    };
    tokio::time::sleep(TICK).await;
    gate.extend(Instant::now() + 10 * TICK, Instant::now());
    tokio::time::sleep(4 * TICK).await;
    assert!(!watcher.is_finished(), "the renewal moved the end");
    gate.revoke();
    tokio::time::timeout(SECOND, watcher)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn lost_never_resolves_without_election() {
    let gate = LeaderGate::always();
    let lost = tokio::time::timeout(Duration::from_millis(50), gate.lost()).await;
    assert!(lost.is_err());
}
