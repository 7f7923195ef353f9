//! OSDPLs outside the namespace the suite manages. osdpl renders and applies the OSDPLs of
//! `--namespace` only; one created anywhere else would sit without any status. With
//! `--unmanaged-selector`, a cluster-wide watch of the OSDPLs of every other namespace
//! (matching the selector; read through `Guarded`, so one this version cannot decode is still
//! marked, and managed fields are dropped) gives each one state `UNMANAGED` and condition
//! Ready=False, reason `NamespaceNotManaged`, naming the namespace the suite manages. Nothing
//! else is done for them: no finalizer, no render, no helm call. Off unless the flag is set
//! (the chart sets it by default); two suites in one cluster would each mark the other's
//! OSDPLs, so there it is turned off.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::Action as Requeue;
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};
use rockoon_core::crd::{OpenStackDeployment, OsdplStatus};
use rockoon_core::names::OSDPL_CRD;
use rockoon_runtime::controller::{Reconciler, Watch};
use rockoon_runtime::guard::Guarded;
use rockoon_runtime::ssa;

use crate::error::Error;

/// Field manager of the UNMANAGED status: not `rockoon-osdpl`, so should two suites share a
/// cluster, this write never drops the other suite's status fields.
pub const FIELD_MANAGER: &str = "rockoon-osdpl-unmanaged";

/// `--unmanaged-selector` value meaning every OSDPL outside the managed namespace.
pub const EVERY: &str = "*";
/// The state word of an OSDPL outside the managed namespace.
pub const STATE: &str = "UNMANAGED";

/// The reconciler of OSDPLs outside the managed namespace.
pub struct Unmanaged {
    client: Client,
    managed: String,
    /// OSDPL uids whose status was written (a metadata watch does not show the status).
    written: Mutex<HashSet<String>>,
}

impl Unmanaged {
    /// A reporter for OSDPLs outside `managed`.
    pub fn new(client: Client, managed: &str) -> Self {
        Self {
            client,
            managed: managed.to_owned(),
            written: Mutex::default(),
        }
    }

    /// The watch of every OSDPL outside `managed` matching `selector` (`*`: all).
    pub fn watch(
        client: Client,
        managed: &str,
        selector: &str,
    ) -> Watch<Guarded<OpenStackDeployment>> {
        let mut config =
            watcher::Config::default().fields(&format!("metadata.namespace!={managed}"));
        if selector != EVERY {
            config = config.labels(selector);
        }
        Watch {
            resource: "UnmanagedOpenStackDeployment",
            api: Api::all(client),
            config,
            crd: Some(OSDPL_CRD),
        }
    }
}

/// The status of an OSDPL in `namespace`, which the suite (managing `managed`) ignores.
pub fn unmanaged_status(managed: &str, namespace: &str, generation: Option<i64>) -> OsdplStatus {
    let message = format!(
        "namespace {namespace} is not managed by this Rockoon suite (it manages {managed}): \
         nothing is rendered or applied for this OpenStackDeployment"
    );
    OsdplStatus {
        version: Some(rockoon_core::VERSION.into()),
        observed_generation: generation,
        state: Some(STATE.into()),
        conditions: Some(vec![Condition {
            type_: "Ready".into(),
            status: "False".into(),
            reason: "NamespaceNotManaged".into(),
            message,
            last_transition_time: Time(Timestamp::now()),
            observed_generation: generation,
        }]),
        ..OsdplStatus::default()
    }
}

impl Reconciler<Guarded<OpenStackDeployment>> for Unmanaged {
    type Error = Error;

    async fn reconcile(&self, object: Arc<Guarded<OpenStackDeployment>>) -> Result<Requeue, Error> {
        let namespace = object.namespace().unwrap_or_default();
        let uid = object.uid().unwrap_or_default();
        let known = || self.lock().contains(&uid);
        if namespace == self.managed || object.meta().deletion_timestamp.is_some() || known() {
            return Ok(Requeue::await_change());
        }
        let status = unmanaged_status(&self.managed, &namespace, object.meta().generation);
        let api: Api<OpenStackDeployment> = Api::namespaced(self.client.clone(), &namespace);
        match ssa::apply_status(&api, FIELD_MANAGER, &object.name_any(), &status).await {
            Ok(_) => {}
            // Deleted meanwhile: nothing to report to.
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(error) => return Err(Error::Report(error)),
        }
        tracing::info!(osdpl = %object.name_any(), %namespace, "OSDPL outside the managed namespace marked UNMANAGED");
        self.lock().insert(uid);
        Ok(Requeue::await_change())
    }
}

impl Unmanaged {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.written.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_osdpl_elsewhere_is_unmanaged_and_not_ready_naming_both_namespaces() {
        let status = unmanaged_status("openstack", "team-a", Some(2));
        assert_eq!(status.state.as_deref(), Some("UNMANAGED"));
        let conditions = status.conditions.unwrap_or_default();
        let ready = conditions.iter().find(|c| c.type_ == "Ready");
        let ready = ready.map(|c| (c.status.as_str(), c.reason.as_str(), c.message.as_str()));
        let (status, reason, message) = ready.unwrap_or_default();
        assert_eq!((status, reason), ("False", "NamespaceNotManaged"));
        assert!(
            message.contains("team-a") && message.contains("openstack"),
            "{message}"
        );
    }
}
