//! Pre-flight of an OpenStack upgrade, the checks the API server cannot make (pure): a change of
//! `spec.openstack_version` is accepted only from a deployment whose every service is APPLIED,
//! with nothing else in the spec changed since that apply, without pinned image tags, and as an
//! allowed step ([`rockoon_core::crd::upgrade_rules`]; the CRD's CEL rule already refuses the
//! rest, this covers objects stored under an older CRD). A refused change is reported and
//! nothing of it is applied: the deployment stays at the applied release.
//!
//! The CEL rule refuses setting the version back (a downgrade), so every refusal says a way
//! out that keeps the new version: undo the other changes; remove the pins (pinned tags are not
//! part of the "other changes", so removing them with the version bumped is accepted); and a
//! deployment not APPLIED is [`Verdict::Held`]: osdpl goes on applying the spec at the applied
//! release, so the failing service can be fixed, and the upgrade starts once every service is
//! APPLIED.

use rockoon_core::crd::OpenStackDeploymentSpec;
use rockoon_core::crd::osdpl::OpenStackVersion;
use rockoon_core::crd::upgrade_rules;
use rockoon_core::crd::upgrade_status::AppliedRelease;
use rockoon_core::values::fingerprint;
use serde_json::Value;

/// What a reconcile does with the spec's release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The release is the applied one (or nothing was applied yet): the normal apply.
    Same,
    /// An accepted upgrade.
    Upgrade {
        /// The applied release.
        from: OpenStackVersion,
        /// The spec's release.
        to: OpenStackVersion,
    },
    /// The deployment is not APPLIED: the upgrade waits, and the spec is applied at the
    /// applied release `from` meanwhile.
    Held {
        /// The applied release.
        from: OpenStackVersion,
        /// Why, and what to do.
        message: String,
    },
    /// A refused change: why, and what to do.
    Refused {
        /// Short machine reason (`NotApplied`, `OtherChanges`, `PinnedImages`, `NotAllowed`).
        reason: &'static str,
        /// The whole message for people.
        message: String,
    },
}

/// Hash of the spec without `openstack_version` and pinned image tags: what must not change
/// with the version (removing pins must stay possible once the version is bumped).
pub fn spec_hash(spec: &OpenStackDeploymentSpec) -> String {
    let mut value = serde_json::to_value(spec).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.remove("openstack_version");
    }
    for values in value_roots(&mut value) {
        let Some(values) = values.as_object_mut() else {
            continue;
        };
        if let Some(images) = values.get_mut("images").and_then(Value::as_object_mut) {
            images.remove("tags");
        }
    }
    // A spec whose pins were its only values must hash as one that never had them.
    prune_empty(&mut value);
    fingerprint(&value)
}

/// Removes the keys holding nothing (null or empty maps), deepest first.
fn prune_empty(value: &mut Value) {
    if let Some(map) = value.as_object_mut() {
        for entry in map.values_mut() {
            prune_empty(entry);
        }
        map.retain(|_, entry| !entry.is_null() && entry.as_object().is_none_or(|m| !m.is_empty()));
    }
}

/// The `values` of `spec.common.*` and `spec.services.*.*`.
fn value_roots(spec: &mut Value) -> Vec<&mut Value> {
    let mut roots = Vec::new();
    let Some(map) = spec.as_object_mut() else {
        return roots;
    };
    for (key, entry) in map.iter_mut() {
        let groups = match (key.as_str(), entry.as_object_mut()) {
            ("common", Some(groups)) => groups.values_mut().collect::<Vec<_>>(),
            ("services", Some(services)) => services
                .values_mut()
                .filter_map(Value::as_object_mut)
                .flat_map(|charts| charts.values_mut())
                .collect(),
            _ => Vec::new(),
        };
        roots.extend(groups.into_iter().filter_map(|g| g.get_mut("values")));
    }
    roots
}

/// Where the spec pins image tags (`…values.images.tags` with entries), as paths.
pub fn pinned_image_tags(spec: &OpenStackDeploymentSpec) -> Vec<String> {
    let value = serde_json::to_value(spec).unwrap_or_default();
    let mut found = Vec::new();
    let mut roots: Vec<(String, &Value)> = Vec::new();
    if let Some(common) = value.get("common").and_then(Value::as_object) {
        for (group, entry) in common {
            roots.push((format!("spec.common.{group}.values"), &entry["values"]));
        }
    }
    if let Some(services) = value.get("services").and_then(Value::as_object) {
        for (service, charts) in services {
            for (chart, entry) in charts.as_object().into_iter().flatten() {
                let path = format!("spec.services.{service}.{chart}.values");
                roots.push((path, &entry["values"]));
            }
        }
    }
    for (path, values) in roots {
        let tags = values.pointer("/images/tags").and_then(Value::as_object);
        if tags.is_some_and(|t| !t.is_empty()) {
            found.push(format!("{path}.images.tags"));
        }
    }
    found
}

/// The verdict on `spec` against the last complete apply `applied`; `all_applied` says whether
/// every service of the osdplst is APPLIED now; `running` is the target of an upgrade already
/// under way (it continues, and the user may fix a service's spec meanwhile).
pub fn check(
    spec: &OpenStackDeploymentSpec,
    applied: Option<&AppliedRelease>,
    all_applied: bool,
    running: Option<&str>,
) -> Verdict {
    let to = spec.openstack_version;
    let from = applied
        .and_then(|a| a.openstack_version.as_deref())
        .and_then(|v| serde_json::from_value::<OpenStackVersion>(Value::from(v)).ok());
    let Some(from) = from.filter(|from| *from != to) else {
        return Verdict::Same;
    };
    let (from_word, to_word) = (from.as_str(), to.as_str());
    if running == Some(to_word) && upgrade_rules::is_allowed(from, to) {
        return Verdict::Upgrade { from, to };
    }
    if let Some(message) = upgrade_rules::refusal(from, to) {
        let message = format!("{message}; set spec.openstack_version back to {from_word}");
        return refused("NotAllowed", message);
    }
    if !all_applied {
        return Verdict::Held {
            from,
            message: format!(
                "upgrade {from_word} → {to_word} refused for now: the deployment is not \
                 APPLIED; osdpl goes on applying {from_word} — fix what is not APPLIED (the \
                 spec may change meanwhile), the upgrade starts once every service is APPLIED"
            ),
        };
    }
    let unchanged = applied.and_then(|a| a.spec_hash.as_deref()) == Some(&spec_hash(spec));
    if !unchanged {
        return refused(
            "OtherChanges",
            format!(
                "upgrade {from_word} → {to_word} refused: the spec has other changes since \
                 the last apply; change spec.openstack_version alone (undo the other changes; \
                 make them after the upgrade)"
            ),
        );
    }
    let pinned = pinned_image_tags(spec);
    if !pinned.is_empty() {
        return refused(
            "PinnedImages",
            format!(
                "upgrade {from_word} → {to_word} refused: image tags are pinned at {}; the \
                 upgrade switches every image to {to_word}'s, so remove the pins (the upgrade \
                 then starts)",
                pinned.join(", ")
            ),
        );
    }
    Verdict::Upgrade { from, to }
}

fn refused(reason: &'static str, message: String) -> Verdict {
    Verdict::Refused { reason, message }
}

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
