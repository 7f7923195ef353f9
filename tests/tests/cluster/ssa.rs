//! Server-side apply on the real API server: field ownership conflicts surface.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{Patch, PatchParams};
use rockoon_tests::harness::TestNamespace;
use serde_json::json;

use crate::cluster_or_return;

#[tokio::test]
async fn applying_a_field_owned_by_another_manager_conflicts_unless_forced() {
    let cluster = cluster_or_return!();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "ssa").await.unwrap();
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns.name);
    let body = |value: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned"}, "data": {"key": value}});

    maps.patch(
        "owned",
        &PatchParams::apply("rockoon-osdpl"),
        &Patch::Apply(body("a")),
    )
    .await
    .unwrap();
    let conflict = maps
        .patch(
            "owned",
            &PatchParams::apply("rockoon-health"),
            &Patch::Apply(body("b")),
        )
        .await
        .expect_err("a second manager changed a field it does not own");
    match conflict {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 409, "{status:?}");
            assert!(
                status.message.contains("rockoon-osdpl"),
                "conflict does not name the owner: {}",
                status.message
            );
        }
        other => panic!("unexpected error {other}"),
    }
    assert_eq!(maps.get("owned").await.unwrap().data.unwrap()["key"], "a");

    let forced = maps
        .patch(
            "owned",
            &PatchParams::apply("rockoon-health").force(),
            &Patch::Apply(body("b")),
        )
        .await
        .unwrap();
    assert_eq!(forced.data.unwrap()["key"], "b");
    let managers: Vec<String> = forced
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(
        managers.contains(&"rockoon-health".to_owned()),
        "{managers:?}"
    );
    ns.delete().await.unwrap();
}
