//! Metrics of `ceph-exchange`, beside the reconcile metrics every controller has. Labels are
//! fixed words: never a user, a key or an object name.

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Counters and gauges of the Ceph exchange.
#[derive(Clone)]
pub struct Metrics {
    published_users: IntGauge,
    keyring_writes: IntCounterVec,
    config_writes: IntCounter,
    parse_errors: IntCounter,
    rgw_writes: IntCounterVec,
}

impl Metrics {
    /// Creates the metrics and registers them on `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            published_users: IntGauge::new(
                "ceph_published_users",
                "Ceph client users with a usable key in the last readable openstack-ceph-keys.",
            )?,
            keyring_writes: IntCounterVec::new(
                Opts::new(
                    "ceph_keyring_writes_total",
                    "Keyring Secret writes in the OpenStack namespace, by action (apply, delete).",
                ),
                &["action"],
            )?,
            config_writes: IntCounter::new(
                "ceph_config_writes_total",
                "Applies of the ceph-etc ConfigMap (ceph.conf) in the OpenStack namespace.",
            )?,
            parse_errors: IntCounter::new(
                "ceph_parse_errors_total",
                "Times openstack-ceph-keys was found unreadable with a problem not reported before.",
            )?,
            rgw_writes: IntCounterVec::new(
                Opts::new(
                    "ceph_rgw_creds_writes_total",
                    "Writes of openstack-rgw-creds in the Ceph shared namespace, by action (apply, delete).",
                ),
                &["action"],
            )?,
        };
        registry.register(Box::new(metrics.rgw_writes.clone()))?;
        registry.register(Box::new(metrics.published_users.clone()))?;
        registry.register(Box::new(metrics.keyring_writes.clone()))?;
        registry.register(Box::new(metrics.config_writes.clone()))?;
        registry.register(Box::new(metrics.parse_errors.clone()))?;
        Ok(metrics)
    }

    /// Sets the number of users with a usable published key.
    pub fn set_published_users(&self, count: usize) {
        self.published_users.set(count as i64);
    }

    /// Counts one keyring apply.
    pub fn keyring_applied(&self) {
        self.keyring_writes.with_label_values(&["apply"]).inc();
    }

    /// Counts one keyring deletion.
    pub fn keyring_deleted(&self) {
        self.keyring_writes.with_label_values(&["delete"]).inc();
    }

    /// Counts one apply of `ceph-etc`.
    pub fn config_applied(&self) {
        self.config_writes.inc();
    }

    /// Counts one apply of `openstack-rgw-creds`.
    pub fn rgw_applied(&self) {
        self.rgw_writes.with_label_values(&["apply"]).inc();
    }

    /// Counts one deletion of `openstack-rgw-creds`.
    pub fn rgw_deleted(&self) {
        self.rgw_writes.with_label_values(&["delete"]).inc();
    }

    /// Counts one newly reported parse problem.
    pub fn parse_error(&self) {
        self.parse_errors.inc();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_metrics_are_prefixed_and_carry_only_fixed_labels() {
        let registry = rockoon_runtime::metrics::registry("ceph-exchange");
        let metrics = Metrics::register(&registry).unwrap();
        metrics.set_published_users(3);
        metrics.keyring_applied();
        metrics.keyring_deleted();
        metrics.config_applied();
        metrics.parse_error();
        metrics.rgw_applied();
        metrics.rgw_deleted();
        let text = rockoon_runtime::metrics::render(&registry);
        for name in [
            "rockoon_ceph_published_users{",
            "rockoon_ceph_keyring_writes_total{action=\"apply\"",
            "rockoon_ceph_keyring_writes_total{action=\"delete\"",
            "rockoon_ceph_config_writes_total{",
            "rockoon_ceph_parse_errors_total{",
            "rockoon_ceph_rgw_creds_writes_total{action=\"apply\"",
            "rockoon_ceph_rgw_creds_writes_total{action=\"delete\"",
        ] {
            assert!(
                text.lines()
                    .any(|l| l.starts_with(name) && l.contains("controller=\"ceph-exchange\"")),
                "{name} missing in:\n{text}"
            );
        }
    }
}
