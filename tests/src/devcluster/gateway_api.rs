//! The Gateway API CRDs (standard channel, at the version pinned in
//! `tests/cluster/go/gateway-api/go.mod`), so the API server validates the `HTTPRoute`s and
//! the `Gateway` the render puts in the releases' `extraObjects`. `tests/cluster/build.sh`
//! caches them as `<bin dir>/gateway-api-crds.yaml`, read from the module cache.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, Client};
use serde::Deserialize as _;
use serde_json::Value;

/// File of the CRDs in the components' folder.
pub const CRDS_FILE: &str = "gateway-api-crds.yaml";

/// Server-side applies every CRD of `<bin_dir>/gateway-api-crds.yaml` and waits until each is
/// Established; returns their names.
pub async fn install(client: &Client, bin_dir: &Path) -> Result<Vec<String>> {
    let path = bin_dir.join(CRDS_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{} is missing; run tests/cluster/build.sh", path.display()))?;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut names = Vec::new();
    for document in serde_norway::Deserializer::from_str(&text) {
        let crd = Value::deserialize(document).with_context(|| path.display().to_string())?;
        if crd.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
            continue;
        }
        let Some(name) = crd.pointer("/metadata/name").and_then(Value::as_str) else {
            bail!("{}: a CRD without a name", path.display());
        };
        api.patch(
            name,
            &PatchParams::apply("rockoon-devcluster").force(),
            &Patch::Apply(&crd),
        )
        .await
        .with_context(|| format!("applying CRD {name}"))?;
        names.push(name.to_owned());
    }
    if names.is_empty() {
        bail!("{}: no CustomResourceDefinition in it", path.display());
    }
    for name in &names {
        tokio::time::timeout(
            Duration::from_secs(60),
            await_condition(api.clone(), name, conditions::is_crd_established()),
        )
        .await
        .with_context(|| format!("CRD {name} not Established after 60 s"))??;
    }
    Ok(names)
}
