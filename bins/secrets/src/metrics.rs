//! Metrics of `secrets`, beside the reconcile metrics every controller has. Labels are the
//! credential group (`admin`, `service`) or a fixed state: never a Secret name or value.

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};

/// Counters and gauges of credentials and referenced Secrets.
#[derive(Clone)]
pub struct Metrics {
    managed: IntGaugeVec,
    created: IntCounterVec,
    rotated: IntCounterVec,
    unusable: IntGaugeVec,
    references: IntGaugeVec,
    conflicts: IntCounterVec,
    restored: IntCounterVec,
}

impl Metrics {
    /// Creates the metrics and registers them on `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let gauge =
            |name: &str, help: &str, label: &str| IntGaugeVec::new(Opts::new(name, help), &[label]);
        let counter =
            |name: &str, help: &str| IntCounterVec::new(Opts::new(name, help), &["group"]);
        let metrics = Self {
            managed: gauge(
                "credentials_managed",
                "Credentials in the active generations, by group (admin, service).",
                "group",
            )?,
            created: counter(
                "credentials_created_total",
                "Credentials generated because they were absent, by group.",
            )?,
            rotated: counter(
                "credentials_rotated_total",
                "Credential Secret generations written by a rotation, by group.",
            )?,
            unusable: gauge(
                "credentials_unusable",
                "Credentials present but unusable (empty, not UTF-8, half a user), by group.",
                "group",
            )?,
            references: gauge(
                "value_from_references",
                "value_from.secret_key_ref references of the OSDPL, by state (resolved, unresolved).",
                "state",
            )?,
            conflicts: counter(
                "credentials_write_conflicts_total",
                "Credential writes refused because another writer changed the Secret first \
                 (each is re-read and retried), by group.",
            )?,
            restored: counter(
                "credentials_restored_total",
                "Credential Secrets created again from their protected copies after a deletion, \
                 by group.",
            )?,
        };
        registry.register(Box::new(metrics.managed.clone()))?;
        registry.register(Box::new(metrics.created.clone()))?;
        registry.register(Box::new(metrics.rotated.clone()))?;
        registry.register(Box::new(metrics.unusable.clone()))?;
        registry.register(Box::new(metrics.references.clone()))?;
        registry.register(Box::new(metrics.conflicts.clone()))?;
        registry.register(Box::new(metrics.restored.clone()))?;
        Ok(metrics)
    }

    /// Sets the number of credentials present in `group`'s active generations.
    pub fn set_managed(&self, group: &str, count: usize) {
        self.managed.with_label_values(&[group]).set(count as i64);
    }

    /// Counts `count` credentials generated in `group`.
    pub fn created(&self, group: &str, count: usize) {
        self.created
            .with_label_values(&[group])
            .inc_by(count as u64);
    }

    /// Counts one credential Secret of `group` restored from its copy.
    pub fn restored(&self, group: &str) {
        self.restored.with_label_values(&[group]).inc();
    }

    /// Counts one generation written by a rotation of `group`.
    pub fn rotated(&self, group: &str) {
        self.rotated.with_label_values(&[group]).inc();
    }

    /// Sets the number of unusable credentials of `group`.
    pub fn set_unusable(&self, group: &str, count: usize) {
        self.unusable.with_label_values(&[group]).set(count as i64);
    }

    /// Sets the number of resolved and unresolved references.
    pub fn set_references(&self, resolved: usize, unresolved: usize) {
        self.references
            .with_label_values(&["resolved"])
            .set(resolved as i64);
        self.references
            .with_label_values(&["unresolved"])
            .set(unresolved as i64);
    }

    /// Counts one write that lost a race and is retried.
    pub fn conflict(&self, group: &str) {
        self.conflicts.with_label_values(&[group]).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_are_prefixed_and_carry_only_fixed_labels() {
        let registry = rockoon_runtime::metrics::registry("secrets");
        let metrics = Metrics::register(&registry).unwrap();
        metrics.set_managed("admin", 3);
        metrics.created("service", 2);
        metrics.rotated("service");
        metrics.set_unusable("admin", 0);
        metrics.set_references(1, 2);
        metrics.conflict("service");
        let text = rockoon_runtime::metrics::render(&registry);
        // Label order in the text format is not fixed: match name, labels and value apart.
        let sample = |name: &str, label: &str, value: &str| {
            text.lines().any(|l| {
                l.starts_with(&format!("{name}{{"))
                    && l.contains("controller=\"secrets\"")
                    && l.contains(label)
                    && l.ends_with(&format!(" {value}"))
            })
        };
        for (name, label, value) in [
            ("rockoon_credentials_managed", "group=\"admin\"", "3"),
            (
                "rockoon_credentials_created_total",
                "group=\"service\"",
                "2",
            ),
            (
                "rockoon_credentials_rotated_total",
                "group=\"service\"",
                "1",
            ),
            ("rockoon_credentials_unusable", "group=\"admin\"", "0"),
            ("rockoon_value_from_references", "state=\"unresolved\"", "2"),
            (
                "rockoon_credentials_write_conflicts_total",
                "group=\"service\"",
                "1",
            ),
        ] {
            assert!(
                sample(name, label, value),
                "{name} {label} {value} missing in\n{text}"
            );
        }
    }
}
