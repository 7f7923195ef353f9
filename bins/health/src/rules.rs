//! The health rules, pure: what one workload's status says (Ready, Progressing or Unhealthy)
//! and which `status.health.<application>.<component>` entry it belongs to.
//!
//! [`crate::workload`] turns a Deployment, StatefulSet or DaemonSet into an [`Observation`];
//! [`assess`] decides its state; [`ident`] names its entry (Rockoon's naming, so readers of
//! Rockoon's status keep working); [`crate::report`] aggregates.

use std::fmt;

/// Health of a workload or of a component, worst last (so `max` is "worst of").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Health {
    /// Every desired pod is updated and ready, and the current spec has been seen.
    Ready,
    /// The workload's controller is still rolling out its spec.
    Progressing,
    /// The rollout is over (or stalled) and pods are missing or not ready.
    Unhealthy,
}

impl Health {
    /// Every state, in order.
    pub const ALL: [Health; 3] = [Health::Ready, Health::Progressing, Health::Unhealthy];

    /// The word written into status (`Ready` and `Unhealthy` are Rockoon's).
    pub fn word(self) -> &'static str {
        match self {
            Health::Ready => "Ready",
            Health::Progressing => "Progressing",
            Health::Unhealthy => "Unhealthy",
        }
    }

    /// The state a status word names.
    pub fn from_word(word: &str) -> Option<Health> {
        Health::ALL.into_iter().find(|h| h.word() == word)
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// What a workload's spec and status say, in the terms the rules need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Observation {
    /// `metadata.generation`.
    pub generation: i64,
    /// `status.observedGeneration` (0 when absent).
    pub observed_generation: i64,
    /// Pods wanted: `spec.replicas` (default 1), a DaemonSet's `desiredNumberScheduled`.
    pub desired: i32,
    /// Pods ready.
    pub ready: i32,
    /// Pods at the current spec (a DaemonSet with the `OnDelete` strategy counts all as
    /// updated: it never replaces pods by itself).
    pub updated: i32,
    /// The workload's controller reports a rollout in flight (a Deployment's `Progressing`
    /// condition with another reason than `NewReplicaSetAvailable`, a StatefulSet whose
    /// current and update revisions differ).
    pub rolling: bool,
    /// The rollout gave up (a Deployment's `ProgressDeadlineExceeded`).
    pub stalled: bool,
    /// A Deployment or StatefulSet asks for no pods, and not because its release said so
    /// (someone scaled it down: the replica count is no longer Helm's).
    pub scaled_to_zero: bool,
}

/// The state of one workload. Clauses in order, the first that applies wins:
///
/// 1. a stalled rollout or a workload scaled to zero against its release is `Unhealthy`
///    (nothing runs that the release wants running, although no pod is missing);
/// 2. a spec the workload's controller has not seen yet (`observedGeneration < generation`)
///    is `Progressing`;
/// 3. every desired pod updated and ready (also: none desired) is `Ready`;
/// 4. pods still being replaced (`updated < desired`) or a rollout in flight is `Progressing`;
/// 5. anything else (all pods at the current spec, some not ready) is `Unhealthy`.
pub fn assess(o: &Observation) -> Health {
    if o.stalled || o.scaled_to_zero {
        Health::Unhealthy
    } else if o.observed_generation < o.generation {
        Health::Progressing
    } else if o.ready >= o.desired && o.updated >= o.desired {
        Health::Ready
    } else if o.updated < o.desired || o.rolling {
        Health::Progressing
    } else {
        Health::Unhealthy
    }
}

/// Application and component of a workload, as Rockoon names them (`health.ident`):
///
/// - application: label `application`, else the name;
/// - a RabbitMQ server (`application=rabbitmq`, `component=server`) named
///   `<prefix>-<service>-…` with `<service>` other than `rabbitmq` belongs to that service, as
///   component `rabbitmq` (`openstack-nova-rabbitmq-rabbitmq` → `nova`/`rabbitmq`); other
///   RabbitMQ servers keep `rabbitmq`/`server`;
/// - otherwise the component is the name after its first `<application>-` (so several
///   workloads of one component stay apart: `nova-compute-default` → `compute-default`),
///   else label `component`, else the name.
pub fn ident(name: &str, application: Option<&str>, component: Option<&str>) -> (String, String) {
    let application = application.unwrap_or(name);
    let component = component.unwrap_or(name);
    if application == "rabbitmq" && component == "server" {
        let mut parts = name.split('-');
        if let (Some(_), Some(service)) = (parts.next(), parts.next())
            && service != "rabbitmq"
        {
            return (service.to_owned(), "rabbitmq".to_owned());
        }
        return (application.to_owned(), component.to_owned());
    }
    let prefix = format!("{application}-");
    let short = match name.split_once(&prefix) {
        Some((_, rest)) => rest,
        None => name,
    };
    let component = if short.is_empty() { component } else { short };
    (application.to_owned(), component.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A settled workload of three pods, all updated and ready.
    fn settled() -> Observation {
        Observation {
            generation: 2,
            observed_generation: 2,
            desired: 3,
            ready: 3,
            updated: 3,
            rolling: false,
            stalled: false,
            scaled_to_zero: false,
        }
    }

    #[test]
    fn a_settled_workload_with_every_pod_ready_is_ready() {
        assert_eq!(assess(&settled()), Health::Ready);
    }

    #[test]
    fn a_workload_its_release_wants_without_pods_is_ready() {
        let o = Observation {
            desired: 0,
            ready: 0,
            updated: 0,
            ..settled()
        };
        assert_eq!(assess(&o), Health::Ready);
    }

    #[test]
    fn a_workload_scaled_to_zero_against_its_release_is_unhealthy() {
        let o = Observation {
            desired: 0,
            ready: 0,
            updated: 0,
            scaled_to_zero: true,
            ..settled()
        };
        assert_eq!(assess(&o), Health::Unhealthy);
    }

    #[test]
    fn a_stalled_rollout_is_unhealthy_even_while_pods_are_being_replaced() {
        let o = Observation {
            updated: 1,
            rolling: true,
            stalled: true,
            ..settled()
        };
        assert_eq!(assess(&o), Health::Unhealthy);
    }

    #[test]
    fn a_spec_not_yet_observed_is_progressing_even_with_every_pod_ready() {
        let o = Observation {
            generation: 3,
            ..settled()
        };
        assert_eq!(assess(&o), Health::Progressing);
    }

    #[test]
    fn pods_still_being_replaced_are_progressing() {
        let o = Observation {
            updated: 1,
            ready: 2,
            ..settled()
        };
        assert_eq!(assess(&o), Health::Progressing);
    }

    #[test]
    fn a_rollout_reported_in_flight_is_progressing_while_new_pods_start() {
        let o = Observation {
            ready: 2,
            rolling: true,
            ..settled()
        };
        assert_eq!(assess(&o), Health::Progressing);
    }

    #[test]
    fn a_rolled_out_workload_with_a_pod_not_ready_is_unhealthy() {
        let o = Observation {
            ready: 2,
            ..settled()
        };
        assert_eq!(assess(&o), Health::Unhealthy);
    }

    #[test]
    fn more_ready_pods_than_desired_during_a_scale_down_is_ready() {
        let o = Observation {
            ready: 4,
            updated: 4,
            ..settled()
        };
        assert_eq!(assess(&o), Health::Ready);
    }

    #[test]
    fn worst_of_two_states_is_the_greater_one() {
        assert_eq!(Health::Ready.max(Health::Progressing), Health::Progressing);
        assert_eq!(
            Health::Unhealthy.max(Health::Progressing),
            Health::Unhealthy
        );
    }

    #[test]
    fn status_words_round_trip() {
        for health in Health::ALL {
            assert_eq!(Health::from_word(health.word()), Some(health));
        }
        assert_eq!(Health::from_word("Bad"), None);
    }

    fn id(name: &str, application: Option<&str>, component: Option<&str>) -> (String, String) {
        ident(name, application, component)
    }

    fn pair(a: &str, c: &str) -> (String, String) {
        (a.to_owned(), c.to_owned())
    }

    #[test]
    fn the_component_is_the_name_after_the_application_prefix() {
        assert_eq!(
            id("nova-compute-default", Some("nova"), Some("compute")),
            pair("nova", "compute-default")
        );
        assert_eq!(
            id("mariadb-server", Some("mariadb"), Some("server")),
            pair("mariadb", "server")
        );
    }

    #[test]
    fn the_prefix_is_cut_at_its_first_occurrence_anywhere_in_the_name() {
        assert_eq!(
            id(
                "openstack-memcached-memcached",
                Some("memcached"),
                Some("server")
            ),
            pair("memcached", "memcached")
        );
    }

    #[test]
    fn a_name_without_the_prefix_is_the_component() {
        assert_eq!(
            id("ingress", Some("ingress"), Some("server")),
            pair("ingress", "ingress")
        );
    }

    #[test]
    fn a_name_ending_with_the_prefix_keeps_the_component_label() {
        assert_eq!(id("odd-", Some("odd"), Some("api")), pair("odd", "api"));
    }

    #[test]
    fn missing_labels_fall_back_to_the_name() {
        assert_eq!(id("lonely", None, None), pair("lonely", "lonely"));
    }

    #[test]
    fn a_service_rabbitmq_belongs_to_its_service() {
        assert_eq!(
            id(
                "openstack-nova-rabbitmq-rabbitmq",
                Some("rabbitmq"),
                Some("server")
            ),
            pair("nova", "rabbitmq")
        );
    }

    #[test]
    fn the_shared_rabbitmq_stays_rabbitmq_server() {
        assert_eq!(
            id(
                "openstack-rabbitmq-rabbitmq",
                Some("rabbitmq"),
                Some("server")
            ),
            pair("rabbitmq", "server")
        );
        assert_eq!(
            id("rabbitmq", Some("rabbitmq"), Some("server")),
            pair("rabbitmq", "server")
        );
    }
}
