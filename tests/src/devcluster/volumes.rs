//! A volume provisioner for the dev cluster: every PersistentVolumeClaim gets a matching
//! PersistentVolume, pre-bound to it, so StatefulSets of the upstream charts (MariaDB,
//! RabbitMQ, OVN's databases, ...) and Jobs mounting claims can be scheduled on kwok nodes.
//!
//! A real cluster has a storage provisioner per StorageClass; the dev cluster has none, and a
//! claim that never binds leaves its pod Pending, which would hide every later step (a helm
//! hook waiting on such a pod never finishes). kwok mounts nothing, so the volumes are
//! `hostPath` placeholders that no process ever writes. The claim's own StorageClass name is
//! kept, so what the charts asked for stays visible (`kubectl get pv`).

use std::collections::BTreeMap;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::{DeleteParams, PostParams};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, ResourceExt as _};
use serde_json::json;

/// Field manager and label of the volumes this provisioner creates.
const MANAGER: &str = "rockoon-devcluster-volumes";

/// Runs until aborted: binds new claims, removes the volume of a deleted claim.
pub async fn provision(client: Client) {
    let claims: Api<PersistentVolumeClaim> = Api::all(client.clone());
    let volumes: Api<PersistentVolume> = Api::all(client);
    let mut events = watcher::watcher(claims, watcher::Config::default()).boxed();
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Apply(claim) | Event::InitApply(claim)) => {
                if let Err(error) = bind(&volumes, &claim).await {
                    tracing::warn!(claim = %claim.name_any(), %error, "cannot provision a volume");
                }
            }
            Ok(Event::Delete(claim)) => {
                let _ = volumes
                    .delete(&volume_name(&claim), &DeleteParams::default())
                    .await;
            }
            Ok(_) => {}
            Err(error) => tracing::debug!(%error, "claim watch restarts"),
        }
    }
}

/// Creates the volume of an unbound claim; an existing volume (409) is left as it is.
async fn bind(volumes: &Api<PersistentVolume>, claim: &PersistentVolumeClaim) -> kube::Result<()> {
    let spec = claim.spec.clone().unwrap_or_default();
    if spec.volume_name.is_some() {
        return Ok(());
    }
    let namespace = claim.namespace().unwrap_or_default();
    let size = spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage").cloned())
        .unwrap_or_else(|| Quantity("1Gi".into()));
    let volume: PersistentVolume = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": volume_name(claim),
            "labels": {"app.kubernetes.io/managed-by": MANAGER},
        },
        "spec": {
            "capacity": BTreeMap::from([("storage", size)]),
            "accessModes": spec.access_modes.clone().unwrap_or_else(|| vec!["ReadWriteOnce".into()]),
            "storageClassName": spec.storage_class_name.clone().unwrap_or_default(),
            "persistentVolumeReclaimPolicy": "Retain",
            "hostPath": {"path": format!("/var/lib/rockoon-dev-volumes/{namespace}/{}", claim.name_any())},
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": namespace,
                "name": claim.name_any(),
                "uid": claim.uid(),
            },
        },
    }))
    .map_err(kube::Error::SerdeError)?;
    match volumes.create(&PostParams::default(), &volume).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(error) => Err(error),
    }
}

/// One volume per claim: `dev.<namespace>.<claim>` (a namespace has no dots, so two claims
/// never share a name), shortened with a digest when too long for an object name.
fn volume_name(claim: &PersistentVolumeClaim) -> String {
    let name = format!(
        "dev.{}.{}",
        claim.namespace().unwrap_or_default(),
        claim.name_any()
    );
    if name.len() <= 253 {
        return name;
    }
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", &name[..200])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(namespace: &str, name: &str) -> PersistentVolumeClaim {
        serde_json::from_value(json!({"metadata": {"namespace": namespace, "name": name}})).unwrap()
    }

    #[test]
    fn each_claim_gets_a_volume_name_of_its_own() {
        assert_eq!(
            volume_name(&claim("openstack", "mysql-data-mariadb-server-0")),
            "dev.openstack.mysql-data-mariadb-server-0"
        );
        assert_ne!(
            volume_name(&claim("a", "b-c")),
            volume_name(&claim("a-b", "c"))
        );
    }

    #[test]
    fn a_very_long_claim_name_still_makes_a_valid_object_name() {
        let long = "x".repeat(300);
        let name = volume_name(&claim("openstack", &long));
        assert!(name.len() <= 253, "{}", name.len());
        assert_ne!(name, volume_name(&claim("openstack", &"x".repeat(299))));
    }
}
