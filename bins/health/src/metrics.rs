//! Health's own metrics, beside the shared reconcile metrics: workloads by state, entry state
//! transitions, status writes and MariaDB label writes. Labels are kinds, states and outcomes,
//! never object names.

use prometheus::{IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry};

use crate::mariadb::Role;
use crate::report::Report;
use crate::rules::Health;

/// Outcome of one look at whether an object needs a write.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    /// The object already showed the computed value; nothing sent.
    Unchanged,
    /// Written.
    Written,
    /// The write failed.
    Failed,
}

impl Outcome {
    fn word(self) -> &'static str {
        match self {
            Outcome::Unchanged => "unchanged",
            Outcome::Written => "written",
            Outcome::Failed => "failed",
        }
    }
}

/// Health's metrics, registered on the binary's registry (names get the `rockoon_` prefix).
#[derive(Clone)]
pub struct HealthMetrics {
    workloads: IntGaugeVec,
    transitions: IntCounterVec,
    writes: IntCounterVec,
    labels: IntCounterVec,
    primary_changes: IntCounter,
}

impl HealthMetrics {
    /// Creates the metrics and registers them on `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let workloads = IntGaugeVec::new(
            Opts::new(
                "health_workloads",
                "Workloads of the OpenStack namespace by kind and health state.",
            ),
            &["kind", "state"],
        )?;
        let transitions = IntCounterVec::new(
            Opts::new(
                "health_transitions_total",
                "Changes of a status.health entry's state (from/to `absent` when it appeared or \
                 went).",
            ),
            &["from", "to"],
        )?;
        let writes = IntCounterVec::new(
            Opts::new(
                "health_status_writes_total",
                "Looks at whether a status needs writing, by object (osdplst, osdpl) and outcome \
                 (written, unchanged, failed).",
            ),
            &["object", "outcome"],
        )?;
        let labels = IntCounterVec::new(
            Opts::new(
                "health_mariadb_label_writes_total",
                "MariaDB pod role label writes, by role and outcome.",
            ),
            &["role", "outcome"],
        )?;
        let primary_changes = IntCounter::new(
            "health_mariadb_primary_changes_total",
            "Promotions of a MariaDB pod to primary.",
        )?;
        registry.register(Box::new(workloads.clone()))?;
        registry.register(Box::new(transitions.clone()))?;
        registry.register(Box::new(writes.clone()))?;
        registry.register(Box::new(labels.clone()))?;
        registry.register(Box::new(primary_changes.clone()))?;
        Ok(Self {
            workloads,
            transitions,
            writes,
            labels,
            primary_changes,
        })
    }

    /// Records the workload counts of `report` and the transitions since `previous`.
    pub fn observe(&self, report: &Report, previous: Option<&Report>) {
        for kind in ["Deployment", "StatefulSet", "DaemonSet"] {
            for state in Health::ALL {
                let count = report.workloads.get(&(kind, state)).copied().unwrap_or(0);
                self.workloads
                    .with_label_values(&[kind, state.word()])
                    .set(count as i64);
            }
        }
        let Some(previous) = previous else { return };
        for (from, to) in report.transitions(previous) {
            let word = |h: Option<Health>| h.map_or("absent", Health::word);
            self.transitions
                .with_label_values(&[word(from), word(to)])
                .inc();
        }
    }

    /// Counts one status decision for `object` (`osdplst` or `osdpl`).
    pub fn status_write(&self, object: &str, outcome: Outcome) {
        self.writes
            .with_label_values(&[object, outcome.word()])
            .inc();
    }

    /// Counts one pod label write.
    pub fn label_write(&self, role: Role, outcome: Outcome) {
        self.labels
            .with_label_values(&[role.word(), outcome.word()])
            .inc();
        if matches!((role, outcome), (Role::Primary, Outcome::Written)) {
            self.primary_changes.inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Observation;

    #[test]
    fn transitions_and_workload_counts_appear_in_the_registry() {
        let registry = rockoon_runtime::metrics::registry("health");
        let metrics = HealthMetrics::register(&registry).unwrap();
        let ready = Observation {
            desired: 1,
            ready: 1,
            updated: 1,
            ..Default::default()
        };
        let mut before = Report::default();
        before.add("Deployment", ("nova".into(), "api".into()), &ready);
        let mut after = Report::default();
        after.add(
            "Deployment",
            ("nova".into(), "api".into()),
            &Observation { ready: 0, ..ready },
        );
        metrics.observe(&before, None);
        metrics.observe(&after, Some(&before));
        metrics.status_write("osdplst", Outcome::Written);
        metrics.label_write(Role::Primary, Outcome::Written);
        let text = rockoon_runtime::metrics::render(&registry);
        let has = |name: &str, labels: &[&str]| {
            text.lines().any(|l| {
                l.starts_with(&format!("{name}{{"))
                    && l.ends_with(" 1")
                    && l.contains("controller=\"health\"")
                    && labels.iter().all(|label| l.contains(label))
            })
        };
        for (name, labels) in [
            (
                "rockoon_health_workloads",
                &["kind=\"Deployment\"", "state=\"Unhealthy\""][..],
            ),
            (
                "rockoon_health_transitions_total",
                &["from=\"Ready\"", "to=\"Unhealthy\""],
            ),
            (
                "rockoon_health_status_writes_total",
                &["object=\"osdplst\"", "outcome=\"written\""],
            ),
            (
                "rockoon_health_mariadb_label_writes_total",
                &["role=\"primary\"", "outcome=\"written\""],
            ),
            ("rockoon_health_mariadb_primary_changes_total", &[]),
        ] {
            assert!(has(name, labels), "{name} {labels:?} missing from:\n{text}");
        }
    }
}
