//! The deployment's health, pure: every workload's state folded into
//! `status.health.<application>.<component>`, the `X/Y` summary, and the comparisons that
//! decide whether a write is needed ([`Report::same_as`]) and what changed
//! ([`Report::transitions`]).

use std::collections::BTreeMap;

use rockoon_core::crd::osdpl_status::WorkloadHealth;
use serde_json::{Value, json};

use crate::rules::{Health, Observation, assess};

/// One `status.health.<application>.<component>` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Worst state of the workloads named by the entry.
    pub health: Health,
    /// `observedGeneration` of that workload (the highest among equally bad ones).
    pub generation: i64,
}

/// `status.health` as read back from an OpenStackDeploymentStatus.
pub type StatusHealth = BTreeMap<String, BTreeMap<String, WorkloadHealth>>;

/// Health of every workload of a namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Entries by application, then component.
    pub applications: BTreeMap<String, BTreeMap<String, Entry>>,
    /// Workloads by kind and state (for metrics).
    pub workloads: BTreeMap<(&'static str, Health), usize>,
}

impl Report {
    /// Adds one workload of `kind` named `(application, component)`.
    pub fn add(&mut self, kind: &'static str, ident: (String, String), observation: &Observation) {
        let health = assess(observation);
        *self.workloads.entry((kind, health)).or_default() += 1;
        let (application, component) = ident;
        let entry = Entry {
            health,
            generation: observation.observed_generation,
        };
        self.applications
            .entry(application)
            .or_default()
            .entry(component)
            .and_modify(|e| {
                if (health, entry.generation) > (e.health, e.generation) {
                    *e = entry;
                }
            })
            .or_insert(entry);
    }

    /// `X/Y`: applications whose every component is Ready, out of all applications (an
    /// application with a Progressing component is not counted as healthy).
    pub fn summary(&self) -> String {
        let healthy = self
            .applications
            .values()
            .filter(|components| components.values().all(|e| e.health == Health::Ready))
            .count();
        format!("{healthy}/{}", self.applications.len())
    }

    /// The `status.health` value to apply.
    pub fn status(&self) -> Value {
        let applications: serde_json::Map<String, Value> = self
            .applications
            .iter()
            .map(|(application, components)| {
                let components: serde_json::Map<String, Value> = components
                    .iter()
                    .map(|(component, e)| {
                        let entry = json!({"status": e.health.word(), "generation": e.generation});
                        (component.clone(), entry)
                    })
                    .collect();
                (application.clone(), Value::Object(components))
            })
            .collect();
        Value::Object(applications)
    }

    /// Whether `current` already shows exactly these entries (status and generation; keys
    /// other writers added inside an entry do not count).
    pub fn same_as(&self, current: Option<&StatusHealth>) -> bool {
        let empty = StatusHealth::new();
        let current = current.unwrap_or(&empty);
        current.len() == self.applications.len()
            && self.applications.iter().all(|(application, components)| {
                current.get(application).is_some_and(|shown| {
                    shown.len() == components.len()
                        && components.iter().all(|(component, e)| {
                            shown.get(component).is_some_and(|s| {
                                s.status.as_deref() == Some(e.health.word())
                                    && s.generation == Some(e.generation)
                            })
                        })
                })
            })
    }

    /// Entries `current` shows that this report no longer has (workloads gone), as
    /// `(application, component)`; a whole application gone is `(application, None)`.
    pub fn stale(&self, current: Option<&StatusHealth>) -> Vec<(String, Option<String>)> {
        let mut stale = Vec::new();
        for (application, components) in current.into_iter().flatten() {
            match self.applications.get(application) {
                None => stale.push((application.clone(), None)),
                Some(kept) => stale.extend(
                    components
                        .keys()
                        .filter(|c| !kept.contains_key(*c))
                        .map(|c| (application.clone(), Some(c.clone()))),
                ),
            }
        }
        stale
    }

    /// Entry state changes from `previous` to this report: `(before, after)` per entry whose
    /// state changed, `None` for an entry that appeared or went.
    pub fn transitions(&self, previous: &Report) -> Vec<(Option<Health>, Option<Health>)> {
        let states = |r: &Report| -> BTreeMap<(String, String), Health> {
            r.applications
                .iter()
                .flat_map(|(a, cs)| cs.iter().map(|(c, e)| ((a.clone(), c.clone()), e.health)))
                .collect()
        };
        let (before, after) = (states(previous), states(self));
        let mut changes: Vec<_> = after
            .iter()
            .filter(|(key, now)| before.get(*key) != Some(*now))
            .map(|(key, now)| (before.get(key).copied(), Some(*now)))
            .collect();
        changes.extend(
            before
                .iter()
                .filter(|(key, _)| !after.contains_key(*key))
                .map(|(_, was)| (Some(*was), None)),
        );
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observation(desired: i32, ready: i32, generation: i64) -> Observation {
        Observation {
            generation,
            observed_generation: generation,
            desired,
            ready,
            updated: desired,
            ..Default::default()
        }
    }

    fn key(a: &str, c: &str) -> (String, String) {
        (a.to_owned(), c.to_owned())
    }

    fn report(workloads: &[(&str, &str, i32)]) -> Report {
        let mut report = Report::default();
        for (a, c, ready) in workloads {
            report.add("Deployment", key(a, c), &observation(1, *ready, 1));
        }
        report
    }

    fn shown(entries: &[(&str, &str, &str, i64)]) -> StatusHealth {
        let mut status = StatusHealth::new();
        for (a, c, word, generation) in entries {
            status.entry((*a).to_owned()).or_default().insert(
                (*c).to_owned(),
                WorkloadHealth {
                    status: Some((*word).to_owned()),
                    generation: Some(*generation),
                    ..Default::default()
                },
            );
        }
        status
    }

    #[test]
    fn the_summary_counts_applications_whose_every_component_is_ready() {
        let r = report(&[
            ("nova", "api", 1),
            ("nova", "compute", 0),
            ("keystone", "api", 1),
        ]);
        assert_eq!(r.summary(), "1/2");
        assert_eq!(Report::default().summary(), "0/0");
    }

    #[test]
    fn workloads_sharing_an_entry_show_the_worst_state_and_its_generation() {
        let mut r = Report::default();
        r.add("Deployment", key("nova", "api"), &observation(1, 1, 7));
        r.add("StatefulSet", key("nova", "api"), &observation(1, 0, 3));
        r.add("DaemonSet", key("nova", "api"), &observation(1, 1, 9));
        let entry = r.applications["nova"]["api"];
        assert_eq!(entry.health, Health::Unhealthy);
        assert_eq!(entry.generation, 3);
        assert_eq!(r.workloads[&("StatefulSet", Health::Unhealthy)], 1);
        assert_eq!(r.workloads[&("Deployment", Health::Ready)], 1);
    }

    #[test]
    fn the_status_value_has_rockoon_keys() {
        let r = report(&[("nova", "api", 0)]);
        assert_eq!(
            r.status(),
            json!({"nova": {"api": {"status": "Unhealthy", "generation": 1}}})
        );
    }

    #[test]
    fn an_identical_status_needs_no_write() {
        let r = report(&[("nova", "api", 1), ("keystone", "api", 0)]);
        let current = shown(&[
            ("nova", "api", "Ready", 1),
            ("keystone", "api", "Unhealthy", 1),
        ]);
        assert!(r.same_as(Some(&current)));
    }

    #[test]
    fn keys_other_writers_added_inside_an_entry_do_not_force_a_write() {
        let r = report(&[("nova", "api", 1)]);
        let mut current = shown(&[("nova", "api", "Ready", 1)]);
        if let Some(entry) = current.get_mut("nova").and_then(|c| c.get_mut("api")) {
            entry.extra.insert("note".to_owned(), json!("kept"));
        }
        assert!(r.same_as(Some(&current)));
    }

    #[test]
    fn a_changed_state_generation_or_key_set_needs_a_write() {
        let r = report(&[("nova", "api", 1)]);
        assert!(!r.same_as(Some(&shown(&[("nova", "api", "Unhealthy", 1)]))));
        assert!(!r.same_as(Some(&shown(&[("nova", "api", "Ready", 2)]))));
        assert!(!r.same_as(Some(&shown(&[
            ("nova", "api", "Ready", 1),
            ("nova", "old", "Ready", 1)
        ]))));
        assert!(!r.same_as(Some(&shown(&[
            ("nova", "api", "Ready", 1),
            ("gone", "api", "Ready", 1)
        ]))));
        assert!(!r.same_as(None));
        assert!(Report::default().same_as(None));
    }

    #[test]
    fn entries_of_workloads_gone_are_stale() {
        let r = report(&[("nova", "api", 1)]);
        let current = shown(&[
            ("nova", "api", "Ready", 1),
            ("nova", "old", "Ready", 1),
            ("gone", "api", "Ready", 1),
        ]);
        assert_eq!(
            r.stale(Some(&current)),
            vec![
                ("gone".to_owned(), None),
                ("nova".to_owned(), Some("old".to_owned()))
            ]
        );
        assert!(r.stale(None).is_empty());
    }

    #[test]
    fn transitions_name_every_changed_appeared_and_gone_entry() {
        let before = report(&[
            ("nova", "api", 1),
            ("nova", "old", 1),
            ("keystone", "api", 1),
        ]);
        let after = report(&[
            ("nova", "api", 0),
            ("keystone", "api", 1),
            ("new", "api", 1),
        ]);
        let mut changes = after.transitions(&before);
        changes.sort();
        assert_eq!(
            changes,
            vec![
                (None, Some(Health::Ready)),
                (Some(Health::Ready), None),
                (Some(Health::Ready), Some(Health::Unhealthy)),
            ]
        );
        assert!(after.transitions(&after).is_empty());
    }
}
