//! `migration.<chart>.deploy_main_service: false`: the main release of a service (the one of
//! chart `<chart>`, e.g. `openstack-nova` of `compute`) is held: rendered, then set apart from
//! the releases to apply (step 7 of the render). The osdpl controller neither installs nor
//! upgrades a held release and never uninstalls one that exists; the service's other releases
//! (libvirt, Open vSwitch, PowerDNS, ...) apply as usual.
//!
//! Rockoon uses the switch while OpenStack services still run outside the cluster (migrations
//! from MCP1): it leaves the main release out of its render, which would uninstall it; here a
//! held release stays as it is until the switch is removed.

use serde::Serialize;
use serde_json::Value;

use super::ServiceOutcome;

/// One held release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Held {
    /// The service it belongs to.
    pub service: String,
    /// The release name.
    pub release: String,
    /// Its chart.
    pub chart: String,
    /// The setting that holds it (`spec.migration.<key>.deploy_main_service`).
    pub setting: String,
}

impl std::fmt::Display for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (service {}): {} is false, so it is neither installed nor upgraded, and kept if it exists",
            self.release, self.service, self.setting
        )
    }
}

/// Whether `migration.<key>` names `chart`: Rockoon's key is the chart, except `telemetry`,
/// which covers the telemetry charts.
fn names(key: &str, chart: &str) -> bool {
    match key {
        "telemetry" => ["aodh", "ceilometer", "gnocchi", "panko"].contains(&chart),
        _ => chart == key,
    }
}

/// The `migration` keys whose `deploy_main_service` is `false` in the merged spec.
fn switched_off(merged: &Value) -> Vec<&str> {
    merged
        .get("migration")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, v)| v.get("deploy_main_service") == Some(&Value::Bool(false)))
        .map(|(key, _)| key.as_str())
        .collect()
}

/// Moves the held releases out of `services` (returned in apply order), and lists the
/// switches that hold nothing (no enabled service renders that chart) as unsupported lines.
pub fn hold(services: &mut [(String, ServiceOutcome)], merged: &Value) -> (Vec<Held>, Vec<String>) {
    let keys = switched_off(merged);
    let mut held = Vec::new();
    for (service, outcome) in services.iter_mut() {
        let ServiceOutcome::Ready { releases } = outcome else {
            continue;
        };
        releases.retain(|release| {
            let Some(key) = keys.iter().find(|key| names(key, &release.chart)) else {
                return true;
            };
            held.push(Held {
                service: service.clone(),
                release: release.name.clone(),
                chart: release.chart.clone(),
                setting: format!("spec.migration.{key}.deploy_main_service"),
            });
            false
        });
    }
    let idle = keys
        .iter()
        .filter(|key| !held.iter().any(|h| names(key, &h.chart)))
        .map(|key| {
            format!(
                "spec.migration.{key}.deploy_main_service: no enabled service renders the chart it names, so it holds nothing"
            )
        })
        .collect();
    (held, idle)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::render::{ChartGroup, Release};
    use serde_json::json;

    fn release(name: &str, chart: &str) -> Release {
        Release {
            name: name.into(),
            chart: chart.into(),
            group: ChartGroup::Openstack,
            version: None,
            namespace: "openstack".into(),
            values: json!({}),
            fingerprint: String::new(),
        }
    }

    fn services() -> Vec<(String, ServiceOutcome)> {
        vec![
            (
                "compute".into(),
                ServiceOutcome::Ready {
                    releases: vec![
                        release("openstack-libvirt", "libvirt"),
                        release("openstack-nova", "nova"),
                    ],
                },
            ),
            (
                "alarming".into(),
                ServiceOutcome::Ready {
                    releases: vec![release("openstack-aodh", "aodh")],
                },
            ),
        ]
    }

    #[test]
    fn only_the_main_release_of_a_switched_off_chart_is_held() {
        let mut services = services();
        let merged = json!({"migration": {
            "nova": {"deploy_main_service": false},
            "telemetry": {"deploy_main_service": false},
            "glance": {"deploy_main_service": true},
        }});
        let (held, idle) = hold(&mut services, &merged);
        let names: Vec<&str> = held.iter().map(|h| h.release.as_str()).collect();
        assert_eq!(names, ["openstack-nova", "openstack-aodh"]);
        assert!(idle.is_empty(), "{idle:?}");
        let ServiceOutcome::Ready { releases } = &services[0].1 else {
            panic!()
        };
        assert_eq!(releases.len(), 1);
        assert_eq!(releases[0].name, "openstack-libvirt");
        assert!(held[0].to_string().starts_with(
            "openstack-nova (service compute): spec.migration.nova.deploy_main_service is false"
        ));
    }

    #[test]
    fn a_switch_for_a_chart_nothing_renders_is_reported_as_holding_nothing() {
        let mut services = services();
        let merged = json!({"migration": {"ironic": {"deploy_main_service": false}}});
        let (held, idle) = hold(&mut services, &merged);
        assert!(held.is_empty());
        assert_eq!(idle.len(), 1);
        assert!(idle[0].starts_with("spec.migration.ironic.deploy_main_service: "));
    }
}
