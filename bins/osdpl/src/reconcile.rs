//! Reconcile of one OpenStackDeployment: today, read it and report what is wrong with it.

use std::sync::Arc;

use kube::core::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource, ResourceExt};
use rockoon_core::controller::Reconciler;
use rockoon_core::crd::OpenStackDeployment;

use crate::error::Error;

/// The osdpl reconciler.
pub struct Osdpl {
    recorder: Recorder,
}

impl Osdpl {
    /// A reconciler publishing events as `rockoon-osdpl`.
    pub fn new(client: Client) -> Self {
        let reporter = Reporter {
            controller: "rockoon-osdpl".into(),
            instance: std::env::var("HOSTNAME").ok(),
        };
        Self {
            recorder: Recorder::new(client, reporter),
        }
    }
}

impl Reconciler<DeserializeGuard<OpenStackDeployment>> for Osdpl {
    type Error = Error;

    async fn reconcile(
        &self,
        object: Arc<DeserializeGuard<OpenStackDeployment>>,
    ) -> Result<Action, Error> {
        match readable(&object) {
            Ok(osdpl) => {
                tracing::info!(
                    osdpl = %osdpl.name_any(),
                    generation = osdpl.metadata.generation,
                    openstack_version = osdpl.spec.openstack_version.as_str(),
                    draft = osdpl.spec.draft.unwrap_or(false),
                    "OpenStackDeployment seen"
                );
                Ok(Action::await_change())
            }
            Err(error) => {
                let event = Event {
                    type_: EventType::Warning,
                    reason: "InvalidSpec".into(),
                    note: Some(truncate(&error.to_string(), 1024)),
                    action: "Reconcile".into(),
                    secondary: None,
                };
                if let Err(publish) = self.recorder.publish(&event, &object.object_ref(&())).await {
                    tracing::warn!(error = %publish, "cannot publish event");
                }
                Err(error)
            }
        }
    }
}

/// The OSDPL, or why it cannot be read (it passed the API schema, e.g. under an older, looser
/// CRD, but does not match the suite's types).
fn readable(object: &DeserializeGuard<OpenStackDeployment>) -> Result<&OpenStackDeployment, Error> {
    object
        .0
        .as_ref()
        .map_err(|invalid| Error::InvalidSpec(invalid.error.clone()))
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rockoon_core::error::ErrorKind;

    fn guard(spec: serde_json::Value) -> DeserializeGuard<OpenStackDeployment> {
        let object = serde_json::json!({
            "apiVersion": "lcm.mirantis.com/v1alpha1",
            "kind": "OpenStackDeployment",
            "metadata": {"name": "osh-dev", "namespace": "openstack"},
            "spec": spec,
        });
        serde_json::from_value(object).unwrap()
    }

    #[test]
    fn an_osdpl_the_types_cannot_read_is_a_permanent_invalid_spec_error_naming_the_value() {
        let bad = guard(serde_json::json!({
            "openstack_version": "caracal", "preset": "hyperscale", "size": "tiny",
            "public_domain_name": "it.example.com",
        }));
        let error = readable(&bad).unwrap_err();
        assert_eq!(error.kind(), "invalid_spec");
        assert!(
            !error.is_transient(),
            "an invalid spec must wait for a change, not be retried"
        );
        assert!(error.to_string().contains("hyperscale"), "{error}");
    }

    #[test]
    fn a_valid_osdpl_is_readable() {
        let good = guard(serde_json::json!({
            "openstack_version": "caracal", "preset": "core", "size": "tiny",
            "public_domain_name": "it.example.com",
        }));
        assert_eq!(
            readable(&good).unwrap().spec.openstack_version.as_str(),
            "caracal"
        );
    }

    #[test]
    fn long_event_notes_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("ééé", 2), "éé…");
        assert_eq!(truncate("short", 10), "short");
    }
}
