//! The writes of the ceph-exchange reconcile besides status: `openstack-rgw-creds` in the Ceph
//! shared namespace, then `ceph-etc` and the keyring Secrets of the OpenStack namespace, each
//! awaited (bounded) in the caches so the next reconcile does not send it again.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{DeleteParams, Patch};
use kube::{Api, ResourceExt};
use rockoon_core::ceph;
use rockoon_runtime::error::RuntimeError;
use rockoon_runtime::ssa;

use super::{CephExchange, RgwWanted, SEE_WRITES, with_kind};
use crate::plan::{self, FIELD_MANAGER};
use crate::rgw;

impl CephExchange {
    /// Brings `openstack-rgw-creds` in the Ceph shared namespace in line with `wanted`.
    pub(super) async fn rgw(&self, wanted: RgwWanted) -> Result<(), RuntimeError> {
        let cached = self.mirrors.rgw.state();
        let current = cached
            .iter()
            .find(|s| s.metadata.name.as_deref() == Some(rgw::RGW_SECRET));
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.settings.ceph_namespace);
        match wanted {
            RgwWanted::Wanted(Some(data)) => {
                if current.is_some_and(|s| rgw::up_to_date(s, &data)) {
                    return Ok(());
                }
                let params = ssa::params(FIELD_MANAGER);
                let body = with_kind(&rgw::secret(&data), "Secret");
                api.patch(rgw::RGW_SECRET, &params, &Patch::Apply(&body))
                    .await?;
                self.metrics.rgw_applied();
                tracing::info!(secret = rgw::RGW_SECRET, namespace = %self.settings.ceph_namespace, "RGW credentials applied");
                self.mirrors
                    .rgw
                    .wait_until(SEE_WRITES, |secrets| {
                        secrets.iter().any(|s| rgw::up_to_date(s, &data))
                    })
                    .await;
            }
            RgwWanted::Absent if current.is_some() => {
                match api.delete(rgw::RGW_SECRET, &DeleteParams::default()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
                    Err(error) => return Err(error.into()),
                }
                self.metrics.rgw_deleted();
                tracing::info!(
                    secret = rgw::RGW_SECRET,
                    "object-storage disabled: RGW credentials deleted"
                );
                self.mirrors
                    .rgw
                    .wait_until(SEE_WRITES, |secrets| {
                        !secrets
                            .iter()
                            .any(|s| s.metadata.name.as_deref() == Some(rgw::RGW_SECRET))
                    })
                    .await;
            }
            RgwWanted::Wanted(None) | RgwWanted::Absent | RgwWanted::Unknown => {}
        }
        Ok(())
    }

    /// Sends the plan's applies and deletions, then waits (bounded) for the caches to show
    /// them, so the next reconcile does not send them again.
    pub(super) async fn write(&self, plan: &plan::Plan) -> Result<(), RuntimeError> {
        let params = ssa::params(FIELD_MANAGER);
        let namespace = &self.settings.namespace;
        if let Some(config) = &plan.config {
            let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
            api.patch(
                ceph::CONFIG_MAP,
                &params,
                &Patch::Apply(&with_kind(config, "ConfigMap")),
            )
            .await?;
            self.metrics.config_applied();
            tracing::info!(configmap = ceph::CONFIG_MAP, "ceph.conf applied");
        }
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        for keyring in &plan.keyrings {
            let name = keyring.name_any();
            secrets
                .patch(&name, &params, &Patch::Apply(&with_kind(keyring, "Secret")))
                .await?;
            self.metrics.keyring_applied();
            tracing::info!(secret = %name, "keyring applied");
        }
        for name in &plan.delete {
            match secrets.delete(name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => continue,
                Err(error) => return Err(error.into()),
            }
            self.metrics.keyring_deleted();
            tracing::info!(secret = %name, "keyring of a user no enabled service needs deleted");
        }
        if plan.config.is_some() {
            let conf = plan
                .config
                .as_ref()
                .and_then(|c| c.data.as_ref())
                .and_then(|d| d.get(ceph::CONFIG_KEY))
                .cloned()
                .unwrap_or_default();
            self.mirrors
                .config_maps
                .wait_until(SEE_WRITES, |maps| {
                    maps.iter().any(|c| plan::config_up_to_date(c, &conf))
                })
                .await;
        }
        if !plan.keyrings.is_empty() || !plan.delete.is_empty() {
            let wanted: BTreeMap<String, Vec<u8>> = plan
                .keyrings
                .iter()
                .map(|s| {
                    let key = s.data.as_ref().and_then(|d| d.get(ceph::KEYRING_KEY));
                    (s.name_any(), key.map(|k| k.0.clone()).unwrap_or_default())
                })
                .collect();
            let gone: BTreeSet<&String> = plan.delete.iter().collect();
            self.mirrors
                .secrets
                .wait_until(SEE_WRITES, |secrets| {
                    let applied = wanted.iter().all(|(name, key)| {
                        secrets.iter().any(|s| {
                            s.metadata.name.as_ref() == Some(name)
                                && s.data
                                    .as_ref()
                                    .and_then(|d| d.get(ceph::KEYRING_KEY))
                                    .map(|k| &k.0)
                                    == Some(key)
                        })
                    });
                    let deleted = !secrets
                        .iter()
                        .any(|s| s.metadata.name.as_ref().is_some_and(|n| gone.contains(n)));
                    applied && deleted
                })
                .await;
        }
        Ok(())
    }
}
