//! The one event writer of the suite: Kubernetes events (`events.k8s.io/v1`) on the object a
//! reconcile is about, published as the binary (`rockoon-<name>`) with the pod's host name as
//! instance.
//!
//! Every distinct message is an event of its own: an event is identified by its object, type,
//! reason *and note*, so a service failing anew (a different message under the same reason)
//! shows as a new event, and only the very same message again counts up the existing event's
//! series. (kube-runtime's recorder keys on the reason alone, so a second failure only bumped
//! the count of the first and its words were never seen.) Notes are cut to the API's limit of
//! 1024 *bytes* on a character boundary; a note cut by characters was refused (422).
//!
//! A failure to publish is logged and otherwise ignored: events are for people, and a
//! reconcile must not fail (and retry helm work) because the events API hiccupped.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event as K8sEvent, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

pub use kube::runtime::events::EventType;

/// Longest note published, in bytes; the API refuses longer ones.
pub const MAX_NOTE_BYTES: usize = 1024;

/// How long a published event is remembered for counting repeats (as kube's recorder does).
const REMEMBER: Duration = Duration::from_secs(6 * 60);

/// What makes two publications the same event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    namespace: String,
    object: (Option<String>, Option<String>, Option<String>),
    warning: bool,
    reason: String,
    note: String,
}

/// An event already published: its name and how often it was seen.
#[derive(Debug, Clone)]
struct Seen {
    name: String,
    count: i32,
    at: Instant,
}

/// Publishes events for one binary.
pub struct Events {
    client: Client,
    controller: String,
    instance: String,
    action: &'static str,
    seen: Mutex<HashMap<Key, Seen>>,
}

impl Events {
    /// A writer reporting as `controller` (the field manager name); `action` says what the
    /// binary was doing (`Reconcile`, `Credentials`).
    pub fn new(client: Client, controller: &str, action: &'static str) -> Self {
        Self {
            client,
            controller: controller.into(),
            instance: std::env::var("HOSTNAME").unwrap_or_else(|_| controller.into()),
            action,
            seen: Mutex::default(),
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

    /// An event of `kind` about `object`: a new event for a new note, a repeat of the same
    /// note counted on the event already published.
    pub async fn publish(
        &self,
        object: &ObjectReference,
        kind: EventType,
        reason: &str,
        note: &str,
    ) {
        let note = truncate_bytes(note, MAX_NOTE_BYTES);
        let key = Key {
            namespace: object.namespace.clone().unwrap_or_else(|| "default".into()),
            object: (object.kind.clone(), object.name.clone(), object.uid.clone()),
            warning: kind == EventType::Warning,
            reason: reason.into(),
            note,
        };
        let repeat = self.remembered(&key);
        let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), &key.namespace);
        let result = match &repeat {
            Some(seen) => {
                let series = EventSeries {
                    count: seen.count + 1,
                    last_observed_time: MicroTime(Timestamp::now()),
                };
                let patch = json!({ "series": series });
                api.patch(&seen.name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map(|_| Seen {
                        count: seen.count + 1,
                        ..seen.clone()
                    })
            }
            None => {
                let event = self.event(object, &key);
                api.create(&PostParams::default(), &event)
                    .await
                    .map(|created| Seen {
                        name: created.metadata.name.unwrap_or_default(),
                        count: 1,
                        at: Instant::now(),
                    })
            }
        };
        match result {
            Ok(seen) => {
                self.lock().insert(key, seen);
            }
            Err(error) => tracing::warn!(error = %error, reason, "cannot publish event"),
        }
    }

    /// The event published for `key` lately, forgetting those older than [`REMEMBER`].
    fn remembered(&self, key: &Key) -> Option<Seen> {
        let mut seen = self.lock();
        seen.retain(|_, s| s.at.elapsed() < REMEMBER);
        seen.get(key).cloned()
    }

    fn event(&self, object: &ObjectReference, key: &Key) -> K8sEvent {
        let now = Timestamp::now();
        let prefix = object.name.as_deref().unwrap_or(&self.controller);
        K8sEvent {
            metadata: ObjectMeta {
                namespace: Some(key.namespace.clone()),
                name: Some(format!("{prefix}.{:x}", now.as_nanosecond())),
                ..ObjectMeta::default()
            },
            action: Some(self.action.into()),
            reason: Some(key.reason.clone()),
            note: Some(key.note.clone()),
            type_: Some(if key.warning { "Warning" } else { "Normal" }.into()),
            event_time: Some(MicroTime(now)),
            regarding: Some(object.clone()),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            ..K8sEvent::default()
        }
    }

    /// The map only holds names and counts: a panicking holder leaves it usable.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Seen>> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `text` cut to at most `max` bytes on a character boundary, marked with `…` when cut (the
/// mark counts towards `max`).
pub fn truncate_bytes(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mark = "…";
    let mut end = max.saturating_sub(mark.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{mark}", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_multi_byte_notes_are_cut_to_the_byte_limit_on_a_character_boundary() {
        let note = "é".repeat(1000);
        let cut = truncate_bytes(&note, MAX_NOTE_BYTES);
        assert!(cut.len() <= MAX_NOTE_BYTES, "{} bytes", cut.len());
        assert!(cut.ends_with('…'));
        assert!(cut.len() > MAX_NOTE_BYTES - 4);
        assert_eq!(truncate_bytes("ééé", 5), "é…");
    }

    #[test]
    fn notes_within_the_limit_are_kept_whole() {
        assert_eq!(truncate_bytes("short", 10), "short");
        let exact = "x".repeat(MAX_NOTE_BYTES);
        assert_eq!(truncate_bytes(&exact, MAX_NOTE_BYTES), exact);
    }
}
