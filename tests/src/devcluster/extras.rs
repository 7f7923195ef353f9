//! API kinds a production cluster usually has that the deploy chart uses: a minimal
//! `PodMonitor` CRD (Prometheus Operator's kind, schema left open), so the chart's output can
//! be checked with `kubectl apply --dry-run=server` on the dev cluster.

use anyhow::Result;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, Client};
use serde_json::json;

/// Installs the extra CRDs and waits until they are served.
pub async fn install(client: &Client) -> Result<()> {
    let name = "podmonitors.monitoring.coreos.com";
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name},
        "spec": {
            "group": "monitoring.coreos.com",
            "names": {"kind": "PodMonitor", "plural": "podmonitors", "singular": "podmonitor", "listKind": "PodMonitorList"},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
            }],
        },
    });
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    api.patch(
        name,
        &PatchParams::apply("rockoon-devcluster").force(),
        &Patch::Apply(&crd),
    )
    .await?;
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        await_condition(api, name, conditions::is_crd_established()),
    )
    .await??;
    Ok(())
}
