//! Whether a Node is dead: NotReady (or Unknown) for longer than the flapping timeout.
//!
//! Pure logic read by [`crate::reconcile`] before [`crate::evict`] runs. Time is measured from
//! the Ready condition's `lastTransitionTime`, as Rockoon does, so a restart of `node` does not
//! restart the clock and a node that flaps back before the timeout is left alone. A node
//! without a Ready condition (never reported) is not judged: nothing ran there to move.

use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use k8s_openapi::jiff::Timestamp;

/// What the Ready condition says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Ready, or not reported at all.
    Alive,
    /// NotReady for less than the timeout; judge again after `remaining`.
    Flapping {
        /// Time left until the timeout.
        remaining: Duration,
    },
    /// NotReady for at least the timeout, since `since` (the outage's identity).
    Dead {
        /// `lastTransitionTime` of the Ready condition, RFC 3339.
        since: String,
    },
}

/// The verdict on `node` at `now` with flapping timeout `timeout`.
pub fn verdict(node: &Node, now: Timestamp, timeout: Duration) -> Verdict {
    let Some(ready) = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
    else {
        return Verdict::Alive;
    };
    if ready.status == "True" {
        return Verdict::Alive;
    }
    // A NotReady condition without a transition time counts from now: waiting is the safe
    // side of a pod deletion.
    let Some(since) = ready.last_transition_time.as_ref().map(|t| t.0) else {
        return Verdict::Flapping { remaining: timeout };
    };
    // A transition in the future (clock skew) counts as just now.
    let elapsed = Duration::try_from(now.duration_since(since)).unwrap_or_default();
    match timeout.checked_sub(elapsed) {
        Some(remaining) if !remaining.is_zero() => Verdict::Flapping { remaining },
        _ => Verdict::Dead {
            since: since.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    const TIMEOUT: Duration = Duration::from_secs(120);

    fn node(status: &str, since: Option<Timestamp>) -> Node {
        Node {
            status: Some(NodeStatus {
                conditions: Some(vec![NodeCondition {
                    type_: "Ready".into(),
                    status: status.into(),
                    last_transition_time: since.map(Time),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).unwrap()
    }

    #[test]
    fn a_ready_node_or_one_that_never_reported_is_alive() {
        assert_eq!(
            verdict(&node("True", Some(at(0))), at(500), TIMEOUT),
            Verdict::Alive
        );
        assert_eq!(verdict(&Node::default(), at(500), TIMEOUT), Verdict::Alive);
    }

    #[test]
    fn a_node_not_ready_for_less_than_the_timeout_is_flapping_with_the_time_left() {
        assert_eq!(
            verdict(&node("False", Some(at(0))), at(100), TIMEOUT),
            Verdict::Flapping {
                remaining: Duration::from_secs(20)
            }
        );
        assert_eq!(
            verdict(&node("Unknown", None), at(100), TIMEOUT),
            Verdict::Flapping { remaining: TIMEOUT }
        );
    }

    #[test]
    fn a_node_not_ready_for_the_timeout_is_dead_since_its_transition() {
        assert_eq!(
            verdict(&node("Unknown", Some(at(0))), at(120), TIMEOUT),
            Verdict::Dead {
                since: at(0).to_string()
            }
        );
    }

    #[test]
    fn a_node_that_flapped_back_before_the_timeout_is_alive_again() {
        // NotReady at 0, Ready again at 60: at 200 the node is judged on its Ready condition.
        assert_eq!(
            verdict(&node("True", Some(at(60))), at(200), TIMEOUT),
            Verdict::Alive
        );
    }
}
