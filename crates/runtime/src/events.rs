//! The one event writer of the suite: Kubernetes events on the object a reconcile is about,
//! published as the binary (`rockoon-<name>`) with the pod's host name as instance.
//!
//! A failure to publish is logged and otherwise ignored: events are for people, and a
//! reconcile must not fail (and retry helm work) because the events API hiccupped. Notes are
//! cut at 1024 characters, on a character boundary, as the API limits them.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

/// Longest note published; the API refuses longer ones.
const MAX_NOTE: usize = 1024;

/// Publishes events for one binary.
pub struct Events {
    recorder: Recorder,
    action: &'static str,
}

impl Events {
    /// A writer reporting as `controller` (the field manager name); `action` says what the
    /// binary was doing (`Reconcile`, `Credentials`).
    pub fn new(client: Client, controller: &str, action: &'static str) -> Self {
        let reporter = Reporter {
            controller: controller.into(),
            instance: std::env::var("HOSTNAME").ok(),
        };
        Self {
            recorder: Recorder::new(client, reporter),
            action,
        }
    }

    /// A Normal event.
    pub async fn normal(&self, object: &ObjectReference, reason: &str, note: &str) {
        self.publish(object, EventType::Normal, reason, note).await;
    }

    /// A Warning event.
    pub async fn warning(&self, object: &ObjectReference, reason: &str, note: &str) {
        self.publish(object, EventType::Warning, reason, note).await;
    }

    /// An event of `kind` about `object`.
    pub async fn publish(
        &self,
        object: &ObjectReference,
        kind: EventType,
        reason: &str,
        note: &str,
    ) {
        let event = Event {
            type_: kind,
            reason: reason.into(),
            note: Some(truncate(note, MAX_NOTE)),
            action: self.action.into(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, object).await {
            tracing::warn!(error = %error, reason, "cannot publish event");
        }
    }
}

/// `text` cut to `max` characters, marked with `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_event_notes_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("ééé", 2), "éé…");
        assert_eq!(truncate("short", 10), "short");
    }
}
