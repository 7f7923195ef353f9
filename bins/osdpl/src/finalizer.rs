//! The OSDPL finalizer `lcm.mirantis.com/rockoon-osdpl`, one small module: added before
//! anything is applied, and on deletion every release labelled as this OSDPL's is uninstalled
//! (latest stage first, concurrent within a stage) before it is removed. An OSDPL that does not
//! own its namespace uninstalls nothing (the releases are the owner's). Credential Secrets are
//! not touched; the osdplst is deleted before the finalizer goes, so no status outlives its
//! OSDPL (garbage collection of its owner reference would take a moment).
//!
//! Kept by hand rather than through `kube::runtime::finalizer`: that helper would also put the
//! finalizer on an object the suite's types cannot read (reported and left alone here), and
//! its JSON-patch test of the whole list fails on any concurrent edit, where this merge patch
//! is guarded by the `resourceVersion` that was read.

use futures::future::join_all;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, Resource, ResourceExt};
use rockoon_core::crd::OpenStackDeployment;
use rockoon_core::ownership::Standing;
use rockoon_runtime::guard::Guarded;
use serde_json::json;

use crate::error::Error;
use crate::fetch::Mirrors;
use crate::helm::installed::Installed;
use crate::plan;
use crate::report::Report;
use crate::rollout::Releases;

/// Finalizer that makes deleting an OSDPL uninstall its releases first.
pub const FINALIZER: &str = "lcm.mirantis.com/rockoon-osdpl";

type Object = Guarded<OpenStackDeployment>;

/// Whether `object` carries our finalizer.
pub fn held(object: &Object) -> bool {
    object
        .meta()
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == FINALIZER)
}

/// Adds the finalizer if it is missing.
pub async fn ensure(client: &Client, object: &Object) -> Result<(), Error> {
    if held(object) {
        return Ok(());
    }
    patch(client, object, true).await
}

/// Uninstalls every release of the OSDPL, latest stage first, then lets go of it.
pub async fn cleanup(
    client: &Client,
    releases: &impl Releases,
    mirrors: &Mirrors,
    report: &Report,
    object: &Object,
) -> Result<(), Error> {
    let name = object.name_any();
    mirrors.synced().await;
    let owner = match mirrors.osdpls.standing(object.meta()).await {
        Standing::Owner => true,
        Standing::Conflict { owner } => {
            tracing::info!(osdpl = %name, %owner, "deleting an OSDPL in conflict: uninstalling nothing");
            false
        }
    };
    let ours: Vec<Installed> = mirrors
        .installed()
        .into_values()
        .filter(|r| owner && r.osdpl.as_deref() == Some(name.as_str()))
        .collect();
    let namespace = object.namespace().unwrap_or_default();
    tracing::info!(osdpl = %name, releases = ours.len(), "deleting: uninstalling releases");
    let stage = |r: &Installed| plan::stage_of(r.service.as_deref().unwrap_or(""));
    for current in (0..=2u8).rev() {
        let batch = ours.iter().filter(|r| stage(r) == current).map(|r| async {
            let result = releases.uninstall(&r.name, &namespace).await;
            (r.name.clone(), result)
        });
        for (release, result) in join_all(batch).await {
            if let Err(source) = result {
                let message = format!("uninstall {release}: {source}");
                report
                    .uninstall_failed(&object.object_ref(&()), &message)
                    .await;
                return Err(Error::Uninstall { release, source });
            }
        }
    }
    let uid = object.uid().unwrap_or_default();
    report.remove_status(mirrors, &name, &uid).await?;
    patch(client, object, false).await?;
    report.forget(&uid);
    tracing::info!(osdpl = %name, "deleted; generated credential Secrets are kept");
    Ok(())
}

/// Adds or removes our finalizer, keeping everyone else's, guarded by resourceVersion.
async fn patch(client: &Client, object: &Object, present: bool) -> Result<(), Error> {
    let meta = object.meta();
    let mut finalizers: Vec<&str> = meta
        .finalizers
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|f| *f != FINALIZER)
        .collect();
    if present {
        finalizers.push(FINALIZER);
    }
    let api: Api<Object> = Api::namespaced(client.clone(), &object.namespace().unwrap_or_default());
    let patch = json!({"metadata": {
        "finalizers": finalizers,
        "resourceVersion": meta.resource_version,
    }});
    let params = PatchParams::default();
    match api
        .patch(&object.name_any(), &params, &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        // Gone already: nothing to hold.
        Err(kube::Error::Api(status)) if status.code == 404 && !present => Ok(()),
        Err(error) => Err(Error::Finalizer(error)),
    }
}
