//! The event writer against the real API server: a note longer than the API's 1024 bytes, in
//! multi-byte characters, is published (cut on a character boundary, not refused with 422),
//! and two different messages under one reason are two events, each with its own words,
//! while the same message again only counts up its event's series.

use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference};
use k8s_openapi::api::events::v1::Event;
use kube::api::{ListParams, PostParams};
use kube::{Api, Resource};
use rockoon_runtime::events::Events;
use rockoon_tests::harness::TestNamespace;
use serde_json::json;

use crate::cluster_or_return;

/// A ConfigMap in `namespace` to hang events on.
async fn subject(client: &kube::Client, namespace: &str) -> ObjectReference {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let map: ConfigMap = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "subject"}
    }))
    .unwrap();
    api.create(&PostParams::default(), &map)
        .await
        .unwrap()
        .object_ref(&())
}

async fn events(client: &kube::Client, namespace: &str, reason: &str) -> Vec<Event> {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let mut list = api.list(&ListParams::default()).await.unwrap().items;
    list.retain(|e| e.reason.as_deref() == Some(reason));
    list
}

#[tokio::test]
async fn a_long_multi_byte_note_is_published_cut_to_the_api_limit() {
    let cluster = cluster_or_return!();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "events-long").await.unwrap();
    let object = subject(&client, &ns.name).await;
    let writer = Events::new(client.clone(), "rockoon-tests", "Test");

    // 1,500 two-byte characters: 3,000 bytes, under the old 1,024-character cut.
    let note = format!("keystone: {}", "é".repeat(1500));
    writer.warning(&object, "ApplyFailed", &note).await;

    let published = events(&client, &ns.name, "ApplyFailed").await;
    assert_eq!(published.len(), 1, "the event was not published");
    let shown = published[0].note.clone().unwrap();
    assert!(shown.len() <= 1024, "{} bytes", shown.len());
    assert!(
        shown.starts_with("keystone: éé") && shown.ends_with('…'),
        "{shown}"
    );
    ns.delete().await.unwrap();
}

#[tokio::test]
async fn two_different_failures_of_one_service_are_two_events_and_a_repeat_counts_up() {
    let cluster = cluster_or_return!();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "events-new").await.unwrap();
    let object = subject(&client, &ns.name).await;
    let writer = Events::new(client.clone(), "rockoon-tests", "Test");

    let first = "identity: UPGRADE FAILED: template: keystone/templates/a.yaml: boom";
    let second = "identity: UPGRADE FAILED: cannot patch \"keystone-db-sync\" with kind Job";
    writer.warning(&object, "ApplyFailed", first).await;
    writer.warning(&object, "ApplyFailed", second).await;
    writer.warning(&object, "ApplyFailed", first).await;

    let published = events(&client, &ns.name, "ApplyFailed").await;
    let mut notes: Vec<(String, i32)> = published
        .iter()
        .map(|e| {
            let count = e.series.as_ref().map_or(1, |s| s.count);
            (e.note.clone().unwrap_or_default(), count)
        })
        .collect();
    notes.sort();
    let mut expected = vec![(first.to_owned(), 2), (second.to_owned(), 1)];
    expected.sort();
    assert_eq!(notes, expected);
    ns.delete().await.unwrap();
}
