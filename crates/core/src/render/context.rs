//! What rendering needs besides the spec, handed in by the caller (the engine fetches nothing).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{RenderError, Templates};
use crate::values::merge_into;

/// Inputs of a render other than the OSDPL spec.
#[derive(Debug, Clone, Default)]
pub struct RenderContext {
    /// Namespace of the OpenStack releases.
    pub namespace: String,
    /// Registry prefix used when the spec sets none (the controller's `OSCTL_IMAGES_BASE_URL`).
    pub images_base_url: String,
    /// Binary artifacts prefix used when the spec sets none (`OSCTL_BINARY_BASE_URL`).
    pub binary_base_url: String,
    /// Generated credentials: `<service>.<credential>.{username,password}` or a plain value.
    pub credentials: Value,
    /// When true, missing credentials are replaced by deterministic values marked `dry-run`
    /// (for `render` without a cluster); never set by the controller.
    pub dry_run_credentials: bool,
    /// Names of the generated certificate Secrets that are complete
    /// ([`crate::certificates::complete`]); the services mounting one wait until it is. Only
    /// names: the charts mount the Secrets, no certificate goes into values.
    pub certificates: BTreeSet<String>,
    /// When true, every certificate Secret counts as generated (for `render` without a
    /// cluster); never set by the controller.
    pub dry_run_certificates: bool,
    /// Data of the Secrets an OSDPL may reference with `value_from.secret_key_ref`:
    /// Secret name → key → value.
    pub secrets: BTreeMap<String, BTreeMap<String, String>>,
    /// When true, a reference to a Secret missing from `secrets` becomes a visibly fake
    /// `dry-run-secret:<name>/<key>` (for `render` without the Secrets); never set by the
    /// controller.
    pub dry_run_secrets: bool,
    /// Ceph data published for OpenStack, once available (`fsid`, `monitors`, `keys.<client>`,
    /// `pools.<use>`, `rgw`; see `crates/core/templates/README.md`).
    pub ceph: Option<Value>,
    /// Image overrides for the OpenStack version (the `<osdpl>-artifacts` ConfigMap).
    pub artifacts_override: Option<Value>,
    /// The Gateway public routes attach to (`OSCTL_GATEWAY_PARENT`), and whether the suite
    /// renders it (`OSCTL_GATEWAY_CLASS`); see [`super::routes`].
    pub gateway: super::GatewaySettings,
    /// Stateful services whose removal the OSDPL confirms (its
    /// `lcm.mirantis.com/confirm-removal` annotation); see [`super::removals`].
    pub confirmed_removals: Vec<String>,
}

impl RenderContext {
    /// A context for rendering offline: namespace `openstack`, deterministic dry-run
    /// credentials and Secret values, and dry-run Ceph data, all visibly marked; generated
    /// certificate Secrets count as present.
    pub fn dry_run() -> Self {
        Self {
            namespace: "openstack".into(),
            dry_run_credentials: true,
            dry_run_secrets: true,
            dry_run_certificates: true,
            ceph: Some(dry_run_ceph()),
            ..Self::default()
        }
    }

    /// Credential `credential` of `service`, or `None` when not generated yet.
    pub fn credential(&self, service: &str, credential: &str) -> Option<Value> {
        if let Some(value) = self
            .credentials
            .get(service)
            .and_then(|s| s.get(credential))
        {
            return Some(value.clone());
        }
        self.dry_run_credentials
            .then(|| dry_run_credential(service, credential))
    }
}

/// Ceph data for offline renders: documentation addresses and keys marked `dry-run`.
fn dry_run_ceph() -> Value {
    let key = |client: &str| format!("dry-run-ceph-key-{client}");
    json!({
        "fsid": "00000000-0000-0000-0000-000000000000",
        "monitors": ["192.0.2.11:6789", "192.0.2.12:6789", "192.0.2.13:6789"],
        "keys": {"nova": key("nova"), "cinder": key("cinder"), "glance": key("glance"), "manila": key("manila")},
        "key_hashes": {"nova": "dry-run-nova", "cinder": "dry-run-cinder", "glance": "dry-run-glance", "manila": "dry-run-manila"},
        "pools": {"images": "images", "volumes": "volumes", "vms": "vms", "backup": "backup"},
        "rgw": {"internal_url": "http://rook-ceph-rgw.rook-ceph.svc:80"},
    })
}

/// A visibly fake credential, stable across runs so dry-run output diffs cleanly.
fn dry_run_credential(service: &str, credential: &str) -> Value {
    let user = format!("{}-{credential}", service.replace('-', "_"));
    match credential {
        "database" | "messaging" | "identity" => {
            json!({"username": user, "password": format!("dry-run-{user}")})
        }
        // Plain generated secrets (memcache key, cookies, shared secrets, ...).
        _ => json!(format!("dry-run-{user}")),
    }
}

/// Image references for the merged spec's OpenStack version: `<chart>.<image key>` → reference,
/// with the registry prefix of `artifacts.images_base_url` (or the controller default) and the
/// artifacts override on top.
pub fn images(
    merged: &Value,
    context: &RenderContext,
    templates: &Templates,
) -> Result<Value, RenderError> {
    let version = merged
        .get("openstack_version")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let prefix = format!("artifacts/{version}/");
    let files: Vec<&str> = templates.names_under(&prefix).collect();
    if files.is_empty() {
        return Err(RenderError::UnsupportedRelease {
            version: version.to_owned(),
            supported: supported_versions(templates)
                .into_iter()
                .map(str::to_owned)
                .collect(),
        });
    }
    let registry = merged
        .pointer("/artifacts/images_base_url")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(&context.images_base_url);
    let variables = json!({"images_base_url": registry});
    let mut images = serde_json::Map::new();
    for file in files {
        let chart = file[prefix.len()..].trim_end_matches(".yaml").to_owned();
        images.insert(chart, templates.render_yaml_memo(file, &variables)?);
    }
    let mut images = Value::Object(images);
    if let Some(extra) = &context.artifacts_override {
        merge_into(&mut images, extra, "artifacts override")?;
    }
    Ok(images)
}

/// The OpenStack versions with an image list (`artifacts/<version>/`), in release order
/// (the names are alphabetical, as OpenStack's release names are).
pub fn supported_versions(templates: &Templates) -> Vec<&str> {
    let mut versions: Vec<&str> = templates
        .names_under("artifacts/")
        .filter_map(|name| name["artifacts/".len()..].split_once('/'))
        .map(|(version, _)| version)
        .collect();
    versions.dedup();
    versions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_credentials_are_marked_and_stable() {
        let context = RenderContext::dry_run();
        let a = context.credential("block-storage", "database").unwrap();
        assert_eq!(a, context.credential("block-storage", "database").unwrap());
        assert_eq!(a["password"], "dry-run-block_storage-database");
    }

    #[test]
    fn every_shipped_release_has_an_image_list() {
        assert_eq!(
            supported_versions(&Templates::embedded()),
            ["antelope", "caracal", "epoxy", "flamingo", "gazpacho"]
        );
    }

    #[test]
    fn a_version_without_an_image_list_is_an_unsupported_release_naming_the_supported_ones() {
        let templates = Templates::embedded();
        for version in ["zed", "yoga", "bobcat", "master"] {
            let merged = json!({"openstack_version": version});
            let error = images(&merged, &RenderContext::dry_run(), &templates).unwrap_err();
            let RenderError::UnsupportedRelease {
                version: asked,
                supported,
            } = &error
            else {
                panic!("{version}: {error:?} is not an unsupported release");
            };
            assert_eq!(asked, version);
            assert_eq!(
                supported,
                &["antelope", "caracal", "epoxy", "flamingo", "gazpacho"]
            );
            assert_eq!(
                crate::error::ErrorKind::kind(&error),
                "unsupported_release",
                "the controller reports it as FAILED/UnsupportedRelease"
            );
            assert!(!crate::error::ErrorKind::is_transient(&error));
        }
    }

    #[test]
    fn real_credentials_are_never_invented() {
        let context = RenderContext {
            namespace: "openstack".into(),
            ..Default::default()
        };
        assert_eq!(context.credential("identity", "database"), None);
    }
}
