//! Public exposure: the HTTPRoutes, Gateway and TLS Secret the render puts in the releases'
//! `extraObjects` are valid for the API server with the Gateway API CRDs installed
//! (server-side apply, dry run), and a broken route is refused, so the check is real.

use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::{Api, Client};
use rockoon_core::render::{GatewaySettings, RenderContext, Templates, render};
use rockoon_tests::devcluster::{build_components, gateway_api, workspace_root};
use rockoon_tests::harness::TestNamespace;
use serde_json::{Value, json};

use crate::cluster_or_return;

fn resource(object: &Value) -> ApiResource {
    let (group, version) = match object["apiVersion"].as_str().unwrap().split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", object["apiVersion"].as_str().unwrap()),
    };
    let kind = object["kind"].as_str().unwrap();
    let plural = format!("{}s", kind.to_lowercase());
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), &plural)
}

async fn dry_run_apply(client: &Client, namespace: &str, object: &Value) -> kube::Result<()> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &resource(object));
    let name = object["metadata"]["name"].as_str().unwrap();
    let params = PatchParams {
        dry_run: true,
        ..PatchParams::apply("rockoon-tests").force()
    };
    api.patch(name, &params, &Patch::Apply(object))
        .await
        .map(drop)
}

#[tokio::test]
async fn rendered_routes_gateway_and_tls_secret_pass_the_api_servers_validation() {
    let cluster = cluster_or_return!();
    let client = cluster.client().await.unwrap();
    // Idempotent; also covers a cluster of ROCKOON_TEST_KUBECONFIG started before the CRDs.
    let crds = gateway_api::install(&client, &build_components().unwrap())
        .await
        .unwrap();
    assert!(
        crds.contains(&"httproutes.gateway.networking.k8s.io".to_owned()),
        "{crds:?}"
    );
    let ns = TestNamespace::create(&client, "routes").await.unwrap();

    let sample =
        std::fs::read_to_string(workspace_root().join("tests/fixtures/osdpl/compute.yaml"))
            .unwrap();
    let spec = serde_norway::from_str::<Value>(&sample).unwrap()["spec"].clone();
    let mut context = RenderContext::dry_run();
    context.namespace = ns.name.clone();
    context.gateway = GatewaySettings {
        parent: "openstack-gateway".parse().unwrap(),
        class: Some("rockoon-test".into()),
    };
    let rendered = render(&spec, &context, &Templates::embedded()).unwrap();
    let objects: Vec<(String, Value)> = rendered
        .releases()
        .flat_map(|release| {
            let extra = release.values.get("extraObjects").cloned();
            let name = release.name.clone();
            extra
                .and_then(|e| e.as_object().cloned())
                .into_iter()
                .flatten()
                .map(move |(key, object)| (format!("{name}/{key}"), object))
        })
        .collect();
    let kinds = |kind: &str| objects.iter().filter(|(_, o)| o["kind"] == kind).count();
    assert_eq!(kinds("HTTPRoute"), 16, "{objects:#?}");
    assert_eq!((kinds("Gateway"), kinds("Secret")), (1, 1));

    // Every object, in the namespace helm would install it to.
    for (what, object) in &objects {
        assert_eq!(object["metadata"]["namespace"], json!(ns.name), "{what}");
        if let Err(error) = dry_run_apply(&client, &ns.name, object).await {
            panic!("{what} refused by the API server: {error}\n{object:#}");
        }
    }

    // The CRD's validation is in force: a route to port 0 with an upper-case host is refused.
    let (_, route) = objects
        .iter()
        .find(|(_, o)| o["kind"] == "HTTPRoute")
        .unwrap();
    let mut broken = route.clone();
    broken["spec"]["hostnames"] = json!(["Not_A_Host"]);
    broken["spec"]["rules"][0]["backendRefs"][0]["port"] = json!(0);
    let error = dry_run_apply(&client, &ns.name, &broken)
        .await
        .expect_err("an invalid HTTPRoute was accepted: are the CRDs installed?");
    assert!(error.to_string().contains("Invalid"), "{error}");
    ns.delete().await.unwrap();
}
