//! What is installed, read from Helm's own storage: the release Secrets (`owner=helm`) in the
//! namespace, watched by metadata only. Their labels carry the revision, the status and the
//! labels the apply step sets (owning OSDPL, service, desired hash), so deciding whether a
//! release needs an upgrade costs neither a helm call nor an API request.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// Label set by helm on its storage Secrets.
pub const HELM_OWNER_SELECTOR: &str = "owner=helm";
/// Release label: the OSDPL the release belongs to.
pub const OSDPL_LABEL: &str = "rockoon.lcm.mirantis.com/osdpl";
/// Release label: the service of `features.services` that rendered it.
pub const SERVICE_LABEL: &str = "rockoon.lcm.mirantis.com/service";
/// Release label: hash of the values and chart it was installed with.
pub const HASH_LABEL: &str = "rockoon.lcm.mirantis.com/hash";

/// The latest revision of one installed release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// Release name.
    pub name: String,
    /// Latest revision number.
    pub revision: u32,
    /// Helm status of that revision (`deployed`, `failed`, `pending-upgrade`, ...).
    pub status: String,
    /// Desired hash it was applied with, when we applied it.
    pub hash: Option<String>,
    /// Owning OSDPL, when we applied it.
    pub osdpl: Option<String>,
    /// Service that rendered it, when we applied it.
    pub service: Option<String>,
}

impl Installed {
    /// Helm left the release mid-operation (its process died): nothing else will finish it.
    pub fn is_stuck(&self) -> bool {
        self.status.starts_with("pending-")
    }

    /// The last operation on the release succeeded.
    pub fn is_deployed(&self) -> bool {
        self.status == "deployed"
    }
}

/// The latest revision of every release, by name, from the metadata of Helm's storage Secrets.
pub fn installed<'a>(
    storage: impl IntoIterator<Item = &'a ObjectMeta>,
) -> BTreeMap<String, Installed> {
    let mut releases: BTreeMap<String, Installed> = BTreeMap::new();
    for meta in storage {
        let Some(labels) = meta.labels.as_ref() else {
            continue;
        };
        if labels.get("owner").map(String::as_str) != Some("helm") {
            continue;
        }
        let (Some(name), Some(revision)) = (
            labels.get("name"),
            labels.get("version").and_then(|v| v.parse::<u32>().ok()),
        ) else {
            continue;
        };
        if releases.get(name).is_some_and(|r| r.revision >= revision) {
            continue;
        }
        releases.insert(
            name.clone(),
            Installed {
                name: name.clone(),
                revision,
                status: labels.get("status").cloned().unwrap_or_default(),
                hash: labels.get(HASH_LABEL).cloned(),
                osdpl: labels.get(OSDPL_LABEL).cloned(),
                service: labels.get(SERVICE_LABEL).cloned(),
            },
        );
    }
    // An uninstalled release kept with --keep-history is not installed.
    releases.retain(|_, r| r.status != "uninstalled");
    releases
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn storage(name: &str, revision: u32, status: &str, extra: &[(&str, &str)]) -> ObjectMeta {
        let mut labels: BTreeMap<String, String> =
            [("owner", "helm"), ("name", name), ("status", status)]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
        labels.insert("version".into(), revision.to_string());
        for (k, v) in extra {
            labels.insert((*k).to_owned(), (*v).to_owned());
        }
        ObjectMeta {
            name: Some(format!("sh.helm.release.v1.{name}.v{revision}")),
            labels: Some(labels),
            ..Default::default()
        }
    }

    #[test]
    fn the_latest_revision_of_each_release_wins_with_its_labels() {
        let metas = [
            storage(
                "openstack-nova",
                2,
                "deployed",
                &[(HASH_LABEL, "new"), (OSDPL_LABEL, "osh")],
            ),
            storage("openstack-nova", 1, "superseded", &[(HASH_LABEL, "old")]),
            storage("openstack-glance", 1, "pending-install", &[]),
        ];
        let releases = installed(&metas);
        let nova = &releases["openstack-nova"];
        assert_eq!((nova.revision, nova.hash.as_deref()), (2, Some("new")));
        assert!(nova.is_deployed());
        assert_eq!(nova.osdpl.as_deref(), Some("osh"));
        assert!(releases["openstack-glance"].is_stuck());
    }

    #[test]
    fn objects_that_are_not_helm_storage_are_ignored() {
        let mut other = storage("x", 1, "deployed", &[]);
        other
            .labels
            .as_mut()
            .unwrap()
            .insert("owner".into(), "someone".into());
        let mut broken = storage("y", 1, "deployed", &[]);
        broken
            .labels
            .as_mut()
            .unwrap()
            .insert("version".into(), "one".into());
        assert!(installed(&[other, broken]).is_empty());
    }
}
