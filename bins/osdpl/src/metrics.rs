//! Gauges of what osdpl manages, set at the end of each reconcile: releases by Helm status
//! and services by state. Helm call counts and durations live with the runner
//! ([`crate::helm::HelmMetrics`]).

use std::collections::BTreeMap;

use prometheus::{IntGaugeVec, Opts, Registry};

/// Release and service gauges.
#[derive(Clone)]
pub struct StateMetrics {
    releases: IntGaugeVec,
    services: IntGaugeVec,
}

/// Helm statuses always exported (0 when none), so dashboards need no absent() tricks.
const RELEASE_STATES: &[&str] = &[
    "deployed",
    "failed",
    "pending-install",
    "pending-upgrade",
    "pending-rollback",
    "uninstalling",
];
/// Service states always exported.
const SERVICE_STATES: &[&str] = &[
    "APPLIED",
    "APPLYING",
    "WAITING",
    "FAILED",
    "DELETING",
    "UNSUPPORTED",
];

impl StateMetrics {
    /// Creates the gauges and registers them on `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let releases = IntGaugeVec::new(
            Opts::new(
                "releases",
                "Helm releases of the OSDPLs this controller manages, by Helm status of the latest revision.",
            ),
            &["state"],
        )?;
        let services = IntGaugeVec::new(
            Opts::new(
                "services",
                "Enabled services of the OSDPLs, by state in the osdplst.",
            ),
            &["state"],
        )?;
        registry.register(Box::new(releases.clone()))?;
        registry.register(Box::new(services.clone()))?;
        Ok(Self { releases, services })
    }

    /// Sets the release gauge from helm statuses (one entry per release).
    pub fn set_releases<'a>(&self, statuses: impl IntoIterator<Item = &'a str>) {
        set(&self.releases, RELEASE_STATES, statuses);
    }

    /// Sets the service gauge from state words (one entry per service).
    pub fn set_services<'a>(&self, states: impl IntoIterator<Item = &'a str>) {
        set(&self.services, SERVICE_STATES, states);
    }
}

fn set<'a>(gauge: &IntGaugeVec, known: &[&str], values: impl IntoIterator<Item = &'a str>) {
    let mut counts: BTreeMap<&str, i64> = known.iter().map(|k| (*k, 0)).collect();
    for value in values {
        *counts.entry(value).or_default() += 1;
    }
    for (state, count) in counts {
        gauge.with_label_values(&[state]).set(count);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_known_state_is_exported_and_counted() {
        let registry = Registry::new();
        let metrics = StateMetrics::register(&registry).unwrap();
        metrics.set_releases(["deployed", "deployed", "failed"]);
        metrics.set_releases(["deployed"]);
        let text = prometheus::TextEncoder::new()
            .encode_to_string(&registry.gather())
            .unwrap();
        assert!(text.contains("releases{state=\"deployed\"} 1"), "{text}");
        assert!(text.contains("releases{state=\"failed\"} 0"), "{text}");
        assert!(
            text.contains("releases{state=\"pending-upgrade\"} 0"),
            "{text}"
        );
    }
}
