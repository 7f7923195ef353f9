//! `spec.services.<service>.<chart>` settings checked against what renders, so none is
//! silently ignored: a service name nobody knows is an error naming its path; values for a
//! service that is not enabled, or for a chart the service does not render, are reported in
//! the OSDPL's `Unsupported` condition (next to the node overrides that cannot be rendered).

use serde_json::Value;

use super::{RenderError, ServiceOutcome};
use crate::services;

/// An error for the first `spec.services` key that is no service name at all (a typo).
pub fn check_service_names(user: &Value) -> Result<(), RenderError> {
    let Some(map) = user.get("services").and_then(Value::as_object) else {
        return Ok(());
    };
    let known = services::known_names();
    match map.keys().find(|name| !known.contains(&name.as_str())) {
        Some(name) => Err(RenderError::InvalidSpec {
            path: format!("spec.services.{name}"),
            message: format!("{name:?} is not a service name"),
        }),
        None => Ok(()),
    }
}

/// One message per `spec.services` entry that changes nothing in `rendered`. Services still
/// waiting are skipped: what they will render is not known yet.
pub fn unused(user: &Value, rendered: &[(String, ServiceOutcome)]) -> Vec<String> {
    let Some(map) = user.get("services").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (name, charts) in map {
        let service = services::canonical_name(name);
        match rendered.iter().find(|(s, _)| s == service).map(|(_, o)| o) {
            None => found.push(format!(
                "spec.services.{name}: {service} is not enabled (or not rendered by this \
                 version); these values change nothing"
            )),
            Some(ServiceOutcome::Waiting { .. }) => {}
            Some(ServiceOutcome::Unsupported { reason }) => found.push(format!(
                "spec.services.{name}: {reason}; these values change nothing"
            )),
            Some(ServiceOutcome::Ready { releases }) => {
                let rendered_charts: Vec<&str> =
                    releases.iter().map(|r| r.chart.as_str()).collect();
                for chart in charts.as_object().into_iter().flat_map(|c| c.keys()) {
                    if !rendered_charts.contains(&chart.as_str()) {
                        found.push(format!(
                            "spec.services.{name}.{chart}: {service} renders no release of a \
                             chart {chart:?} here (its releases use: {}); these values change \
                             nothing",
                            rendered_charts.join(", ")
                        ));
                    }
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{ChartGroup, Release};
    use serde_json::json;

    fn ready(charts: &[&str]) -> ServiceOutcome {
        ServiceOutcome::Ready {
            releases: charts
                .iter()
                .map(|c| Release {
                    name: format!("openstack-{c}"),
                    chart: (*c).to_owned(),
                    group: ChartGroup::Openstack,
                    version: None,
                    namespace: "openstack".into(),
                    values: json!({}),
                    fingerprint: String::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_misspelt_service_is_an_error_naming_its_path() {
        let user = json!({"services": {"identiy": {"keystone": {"values": {}}}}});
        let error = check_service_names(&user).unwrap_err().to_string();
        assert!(error.contains("spec.services.identiy"), "{error}");
        check_service_names(&json!({"services": {"baremetal": {}}})).unwrap();
    }

    #[test]
    fn values_for_a_disabled_service_or_an_unrendered_chart_are_reported() {
        let user = json!({"services": {
            "compute": {"nova": {"values": {}}, "novaa": {"values": {}}},
            "dns": {"designate": {"values": {}}},
            "image": {"glance": {"values": {}}},
        }});
        let rendered = vec![
            ("compute".to_owned(), ready(&["libvirt", "nova"])),
            (
                "image".to_owned(),
                ServiceOutcome::Waiting { reason: "x".into() },
            ),
        ];
        let found = unused(&user, &rendered);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found[0].starts_with("spec.services.compute.novaa:"),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("spec.services.dns: dns is not enabled"),
            "{found:?}"
        );
    }
}
