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
        match &object.0 {
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
            Err(invalid) => {
                let event = Event {
                    type_: EventType::Warning,
                    reason: "InvalidSpec".into(),
                    note: Some(truncate(&invalid.error, 1024)),
                    action: "Reconcile".into(),
                    secondary: None,
                };
                if let Err(error) = self.recorder.publish(&event, &object.object_ref(&())).await {
                    tracing::warn!(%error, "cannot publish event");
                }
                Err(Error::InvalidSpec(invalid.error.clone()))
            }
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}
