//! Prometheus metrics: one registry per binary and the reconcile metrics every controller has.
//!
//! The registry prefixes every name with `rockoon_` and adds the constant label
//! `controller="<binary>"`, so the five containers' series never collide when scraped
//! together. No label ever carries an object name of a high-cardinality kind or a secret value.

use std::collections::HashMap;
use std::time::Instant;

use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Buckets of the reconcile duration histogram, in seconds.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0,
];

/// A registry whose metrics are named `rockoon_*` and labelled `controller=<binary>`.
pub fn registry(controller: &str) -> Registry {
    let labels = HashMap::from([("controller".to_owned(), controller.to_owned())]);
    // new_custom only fails on an invalid prefix or label name; both are constants here.
    let registry = Registry::new_custom(Some("rockoon".to_owned()), Some(labels))
        .expect("constant prefix and label are valid");
    #[cfg(target_os = "linux")]
    {
        let _ = registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));
    }
    registry
}

/// Renders the registry in the Prometheus text format.
pub fn render(registry: &Registry) -> String {
    TextEncoder::new()
        .encode_to_string(&registry.gather())
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "metrics encoding failed");
            String::new()
        })
}

/// Reconcile counters and timings, labelled by the watched `resource` kind.
#[derive(Clone)]
pub struct ReconcileMetrics {
    reconciles: IntCounterVec,
    errors: IntCounterVec,
    duration: HistogramVec,
    watched: IntGaugeVec,
    queue_depth: IntGaugeVec,
}

impl ReconcileMetrics {
    /// Creates the metrics and registers them on `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let reconciles = IntCounterVec::new(
            Opts::new(
                "reconcile_total",
                "Reconciles run, by watched resource kind.",
            ),
            &["resource"],
        )?;
        let errors = IntCounterVec::new(
            Opts::new(
                "reconcile_errors_total",
                "Failed reconciles, by resource and error kind.",
            ),
            &["resource", "error"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new("reconcile_duration_seconds", "Time spent in one reconcile.")
                .buckets(DURATION_BUCKETS.to_vec()),
            &["resource"],
        )?;
        let watched = IntGaugeVec::new(
            Opts::new(
                "watched_objects",
                "Objects currently in the watch cache, by resource.",
            ),
            &["resource"],
        )?;
        let queue_depth = IntGaugeVec::new(
            Opts::new(
                "reconcile_queue_depth",
                "Objects with a pending change whose reconcile has not started, by resource.",
            ),
            &["resource"],
        )?;
        registry.register(Box::new(queue_depth.clone()))?;
        registry.register(Box::new(reconciles.clone()))?;
        registry.register(Box::new(errors.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(watched.clone()))?;
        Ok(Self {
            reconciles,
            errors,
            duration,
            watched,
            queue_depth,
        })
    }

    /// Counts one reconcile of `resource` and times it until the guard drops.
    pub fn start(&self, resource: &str) -> ReconcileTimer {
        self.reconciles.with_label_values(&[resource]).inc();
        ReconcileTimer {
            histogram: self.duration.with_label_values(&[resource]),
            started: Instant::now(),
        }
    }

    /// Counts one failed reconcile of `resource` with the error's stable kind.
    pub fn failed(&self, resource: &str, error_kind: &str) {
        self.errors.with_label_values(&[resource, error_kind]).inc();
    }

    /// Records how many objects of `resource` wait for their reconcile to start.
    pub fn set_queue_depth(&self, resource: &str, depth: usize) {
        self.queue_depth
            .with_label_values(&[resource])
            .set(depth as i64);
    }

    /// Records how many objects of `resource` the watch cache holds.
    pub fn set_watched(&self, resource: &str, count: usize) {
        self.watched
            .with_label_values(&[resource])
            .set(count as i64);
    }
}

/// Observes the reconcile duration when dropped, so early returns are timed too.
pub struct ReconcileTimer {
    histogram: prometheus::Histogram,
    started: Instant,
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.histogram.observe(self.started.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconcile_metrics_are_prefixed_and_labelled_with_the_controller() {
        let registry = registry("osdpl");
        let metrics = ReconcileMetrics::register(&registry).unwrap();
        drop(metrics.start("OpenStackDeployment"));
        metrics.failed("OpenStackDeployment", "invalid_spec");
        metrics.set_watched("OpenStackDeployment", 1);
        let text = render(&registry);
        let sample = |name: &str, labels: &[&str]| {
            text.lines().any(|line| {
                line.starts_with(&format!("{name}{{"))
                    && line.ends_with(" 1")
                    && line.contains("controller=\"osdpl\"")
                    && labels.iter().all(|l| line.contains(l))
            })
        };
        let resource = "resource=\"OpenStackDeployment\"";
        assert!(sample("rockoon_reconcile_total", &[resource]), "{text}");
        assert!(
            sample(
                "rockoon_reconcile_errors_total",
                &[resource, "error=\"invalid_spec\""]
            ),
            "{text}"
        );
        assert!(
            sample("rockoon_reconcile_duration_seconds_count", &[resource]),
            "{text}"
        );
        assert!(sample("rockoon_watched_objects", &[resource]), "{text}");
    }
}
