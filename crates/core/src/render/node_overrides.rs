//! Per-node overrides (`spec.nodes["<label-key>::<label-value>"]`), the last values layer of a
//! release, written in the mechanism each upstream DaemonSet actually reads:
//! - helm-toolkit `daemonset_overrides_root` (libvirt, ovn): any values, under
//!   `values.overrides.<chart>_<daemonset>.labels["<key>::<value>"].values`;
//! - helm-toolkit `daemonset_overrides` (nova-compute, the neutron agents, octavia): the `conf`
//!   part only, as `values.conf.overrides.<chart>_<daemonset>.labels[]` entries
//!   `{label: {key, values: [value]}, conf}`.
//!
//! What no chart can take (a DaemonSet without per-node overrides, such as openvswitch's;
//! non-`conf` values of a classic DaemonSet) is not written anywhere and is listed by
//! [`unsupported`], which the controller reports in the OSDPL status. Per-node `features` go
//! through the same mechanisms, from [`super::node_features`].

use serde_json::{Value, json};

use super::RenderError;
use super::overrides::child_map;
use crate::values::merge_into;

/// How a DaemonSet takes per-node values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mechanism {
    /// `daemonset_overrides_root`: any values.
    AnyValues,
    /// `daemonset_overrides`: `conf` only.
    ConfOnly,
}

use Mechanism::*;

/// The DaemonSets of the pinned upstream charts that take per-node overrides, by chart and by
/// the `$daemonset` name their template passes to helm-toolkit.
const DAEMONSETS: &[(&str, &str, Mechanism)] = &[
    ("libvirt", "libvirt", AnyValues),
    ("ovn", "controller", AnyValues),
    ("ovn", "bgp-agent", AnyValues),
    ("nova", "compute", ConfOnly),
    ("neutron", "dhcp-agent", ConfOnly),
    ("neutron", "l3-agent", ConfOnly),
    ("neutron", "metadata-agent", ConfOnly),
    ("neutron", "ovn-metadata-agent", ConfOnly),
    ("neutron", "ovs-agent", ConfOnly),
    ("neutron", "ovn-agent", ConfOnly),
    ("neutron", "ovn-vpn-agent", ConfOnly),
    ("neutron", "sriov-agent", ConfOnly),
    ("neutron", "bgp-dragent", ConfOnly),
    ("neutron", "l2gw-agent", ConfOnly),
    ("neutron", "bagpipe-bgp", ConfOnly),
    ("neutron", "netns-cleanup-cron", ConfOnly),
    ("octavia", "worker", ConfOnly),
    ("octavia", "health_manager", ConfOnly),
];

/// The override keys (`<chart>_<daemonset>`) and mechanisms of every DaemonSet of `chart`
/// that takes per-node values (none for most charts).
pub(crate) fn daemonsets_of(chart: &str) -> Vec<(String, Mechanism)> {
    DAEMONSETS
        .iter()
        .filter(|(c, _, _)| *c == chart)
        .map(|(c, d, mechanism)| (format!("{c}_{d}"), *mechanism))
        .collect()
}

/// The override key (`<chart>_<daemonset>`) and mechanism of the DaemonSet a spec names, if
/// its chart has one. The spec may write the name with or without the chart prefix and with
/// `_` or `-` inside (`nova_compute`, `neutron_l3_agent`, `l3-agent`).
fn resolve(chart: &str, daemonset: &str) -> Option<(String, Mechanism)> {
    let normal = |s: &str| s.replace('-', "_");
    let prefix = format!("{chart}_");
    let wanted = normal(daemonset.strip_prefix(&prefix).unwrap_or(daemonset));
    DAEMONSETS
        .iter()
        .find(|(c, d, _)| *c == chart && normal(d) == wanted)
        .map(|(c, d, mechanism)| (format!("{c}_{d}"), *mechanism))
}

/// Writes the node overrides of `service`'s release of `chart` into its `values`.
pub fn apply(
    merged: &Value,
    service: &str,
    chart: &str,
    values: &mut Value,
) -> Result<(), RenderError> {
    let Some(nodes) = merged.get("nodes").and_then(Value::as_object) else {
        return Ok(());
    };
    for (group, node) in nodes {
        let Some(daemonsets) = node
            .pointer(&format!("/services/{service}/{chart}"))
            .and_then(Value::as_object)
        else {
            continue;
        };
        let (key, value) = group_label(group)?;
        for (daemonset, override_) in daemonsets {
            let here = format!("spec.nodes[{group:?}].services.{service}.{chart}.{daemonset}");
            let override_values = override_values(override_, &here)?;
            match resolve(chart, daemonset) {
                Some((root, AnyValues)) => {
                    let labels = child_map(values, &["overrides", &root, "labels"], &here)?;
                    let slot = labels
                        .entry(group.clone())
                        .or_insert_with(|| json!({"values": {}}));
                    let layer = json!({"values": override_values});
                    merge_into(slot, &layer, &format!("{here}.values"))?;
                }
                Some((root, ConfOnly)) => {
                    if let Some(conf) = override_values.get("conf")
                        && let Some(slot) = conf_slot(values, &root, key, value, &here)?
                    {
                        merge_into(slot, conf, &format!("{here}.values.conf"))?;
                    }
                }
                None => {}
            }
        }
    }
    Ok(())
}

/// Every node setting that no chart takes, as `path: why`, in spec order.
pub fn unsupported(merged: &Value) -> Vec<String> {
    let Some(nodes) = merged.get("nodes").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (group, node) in nodes {
        let base = format!("spec.nodes[{group:?}]");
        // A bad key is refused by `check_keys` before anything is reported.
        let key = group.split_once("::").map_or("", |(key, _)| key);
        let services = node.get("services").and_then(Value::as_object);
        for (service, charts) in services.into_iter().flatten() {
            for (chart, daemonsets) in charts.as_object().into_iter().flatten() {
                for (daemonset, override_) in daemonsets.as_object().into_iter().flatten() {
                    let here = format!("{base}.services.{service}.{chart}.{daemonset}");
                    found.extend(unsupported_parts(chart, daemonset, override_, key, &here));
                }
            }
        }
    }
    found
}

fn unsupported_parts(
    chart: &str,
    daemonset: &str,
    override_: &Value,
    key: &str,
    here: &str,
) -> Vec<String> {
    match resolve(chart, daemonset) {
        None => vec![format!(
            "{here}: the {chart} chart has no per-node overrides for a DaemonSet {daemonset:?}"
        )],
        Some((_, AnyValues)) => Vec::new(),
        Some((root, ConfOnly)) => {
            let values = override_.get("values").and_then(Value::as_object);
            let mut found: Vec<String> = values
                .into_iter()
                .flatten()
                .filter(|(name, _)| name.as_str() != "conf")
                .map(|(name, _)| {
                    format!("{here}.values.{name}: the {chart} chart's {root} DaemonSet takes per-node conf only")
                })
                .collect();
            if values.is_some_and(|v| v.contains_key("conf")) && !nameable(key) {
                found.push(unnameable(&format!("{here}.values.conf"), chart, key));
            }
            found
        }
    }
}

/// An error for the first `spec.nodes` key that is not `<label-key>::<label-value>` with a
/// valid Kubernetes label key and value (such a key could never select a node).
pub fn check_keys(merged: &Value) -> Result<(), RenderError> {
    let Some(nodes) = merged.get("nodes").and_then(Value::as_object) else {
        return Ok(());
    };
    nodes
        .keys()
        .try_for_each(|group| group_label(group).map(drop))
}

pub(crate) fn group_label(group: &str) -> Result<(&str, &str), RenderError> {
    let invalid = || RenderError::InvalidSpec {
        path: format!("spec.nodes[{group:?}]"),
        message: "node group keys must be <label-key>::<label-value>, a Kubernetes label key \
                  ([prefix/]name) and value"
            .into(),
    };
    let (key, value) = group.split_once("::").ok_or_else(invalid)?;
    let (prefix, name) = key
        .rsplit_once('/')
        .map_or((None, key), |(p, n)| (Some(p), n));
    let valid = prefix.is_none_or(is_dns_subdomain)
        && is_label_name(name)
        && (value.is_empty() || is_label_name(value));
    valid.then_some((key, value)).ok_or_else(invalid)
}

/// A label name or value: at most 63 alphanumerics, `-`, `_` or `.`, alphanumeric at both ends.
fn is_label_name(text: &str) -> bool {
    let inner = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    !text.is_empty()
        && text.len() <= 63
        && text.chars().all(inner)
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A DNS subdomain (a label key's prefix): lower-case labels joined by dots, at most 253.
fn is_dns_subdomain(text: &str) -> bool {
    text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn override_values(override_: &Value, here: &str) -> Result<Value, RenderError> {
    match override_.get("values") {
        None | Some(Value::Null) => Ok(json!({})),
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        Some(_) => Err(RenderError::InvalidSpec {
            path: format!("{here}.values"),
            message: "must be a map".into(),
        }),
    }
}

/// The label key whose per-node conf `daemonset_overrides` takes as a `hosts` entry (named
/// after the host) rather than a `labels` entry (named after the key).
const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// Whether helm-toolkit's `daemonset_overrides` can name the per-node DaemonSet of a label
/// key: it names a `labels` entry's DaemonSet `<chart>-<daemonset>-<key>-<hash>`, and a
/// prefixed key (`example.com/role`) puts a `/` in that name, which the API server refuses.
/// The hostname label goes through `hosts` entries instead.
pub(crate) fn nameable(key: &str) -> bool {
    key == HOSTNAME_LABEL || !key.contains('/')
}

/// Why the conf of a prefixed label key is not written.
pub(crate) fn unnameable(here: &str, chart: &str, key: &str) -> String {
    format!(
        "{here}: the {chart} chart names a per-node DaemonSet after its label key, and \
         {key:?} (with a prefix) would make a name the API server refuses; use an unprefixed \
         label key or kubernetes.io/hostname"
    )
}

/// The `conf` of the `daemonset_overrides` entry for the nodes of `key`=`value` in
/// `values.conf.overrides.<root>`, created empty when missing: a `hosts` entry for the
/// hostname label, a `labels` entry otherwise; `None` for a key that cannot be named
/// ([`nameable`]).
pub(crate) fn conf_slot<'v>(
    values: &'v mut Value,
    root: &str,
    key: &str,
    value: &str,
    here: &str,
) -> Result<Option<&'v mut Value>, RenderError> {
    if !nameable(key) {
        return Ok(None);
    }
    let (list, entry) = if key == HOSTNAME_LABEL {
        ("hosts", json!({"name": value, "conf": {}}))
    } else {
        (
            "labels",
            json!({"label": {"key": key, "values": [value]}, "conf": {}}),
        )
    };
    let overrides = child_map(values, &["conf", "overrides", root], here)?;
    let entries = overrides
        .entry(list)
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .ok_or_else(|| RenderError::InvalidSpec {
            path: here.to_owned(),
            message: format!("values.conf.overrides.{root}.{list} of the release is not a list"),
        })?;
    let same = |e: &Value| {
        if key == HOSTNAME_LABEL {
            e.get("name") == entry.get("name")
        } else {
            e.get("label") == entry.get("label")
        }
    };
    let index = match entries.iter().position(same) {
        Some(index) => index,
        None => {
            entries.push(entry);
            entries.len() - 1
        }
    };
    Ok(Some(&mut entries[index]["conf"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nova_values() -> Value {
        json!({"conf": {"nova": {"DEFAULT": {"debug": false}}}})
    }

    #[test]
    fn node_keys_must_be_a_label_key_and_value() {
        for good in [
            "openstack-compute-node::enabled",
            "example.com/rack::r1",
            "kubernetes.io/hostname::cmp-1",
        ] {
            check_keys(&json!({"nodes": {good: {}}})).unwrap();
        }
        for bad in [
            "a::b::c",
            "::enabled",
            "spaces here::x",
            "UPPER.com/x::y",
            "x::-y",
            "no-separator",
        ] {
            let error = check_keys(&json!({"nodes": {bad: {}}}))
                .unwrap_err()
                .to_string();
            assert!(error.contains("spec.nodes["), "{bad}: {error}");
        }
    }

    #[test]
    fn a_nova_compute_override_becomes_a_per_label_conf_override() {
        let merged = json!({"nodes": {"openstack-compute-node::enabled": {"services": {"compute": {"nova": {
            "nova_compute": {"values": {"conf": {"nova": {"DEFAULT": {"cpu_allocation_ratio": 4}}}}}}}}}}});
        let mut values = nova_values();
        apply(&merged, "compute", "nova", &mut values).unwrap();
        assert_eq!(
            values["conf"]["overrides"]["nova_compute"]["labels"][0],
            json!({"label": {"key": "openstack-compute-node", "values": ["enabled"]},
                   "conf": {"nova": {"DEFAULT": {"cpu_allocation_ratio": 4}}}})
        );
        assert!(
            values.get("overrides").is_none(),
            "nova reads conf overrides only"
        );
        assert!(unsupported(&merged).is_empty());
    }

    #[test]
    fn a_hostname_groups_conf_becomes_a_hosts_entry_named_after_the_host() {
        let merged = json!({"nodes": {"kubernetes.io/hostname::cmp-1": {"services": {"compute": {"nova": {
            "nova_compute": {"values": {"conf": {"nova": {"DEFAULT": {"cpu_allocation_ratio": 4}}}}}}}}}}});
        let mut values = nova_values();
        apply(&merged, "compute", "nova", &mut values).unwrap();
        assert_eq!(
            values["conf"]["overrides"]["nova_compute"],
            json!({"hosts": [{"name": "cmp-1", "conf": {"nova": {"DEFAULT": {"cpu_allocation_ratio": 4}}}}]})
        );
        assert!(unsupported(&merged).is_empty());
    }

    #[test]
    fn a_prefixed_label_keys_conf_is_reported_and_written_nowhere() {
        let merged = json!({"nodes": {"example.com/role::big": {"services": {"compute": {"nova": {
            "nova_compute": {"values": {"conf": {"nova": {"DEFAULT": {"cpu_allocation_ratio": 4}}}}}}}}}}});
        let mut values = nova_values();
        let before = values.clone();
        apply(&merged, "compute", "nova", &mut values).unwrap();
        assert_eq!(values, before);
        let found = unsupported(&merged);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with(
                "spec.nodes[\"example.com/role::big\"].services.compute.nova.nova_compute.values.conf: \
                 the nova chart names a per-node DaemonSet after its label key"
            ),
            "{found:?}"
        );
    }

    #[test]
    fn a_libvirt_override_of_any_value_goes_to_the_root_overrides() {
        let merged = json!({"nodes": {"a::b": {"services": {"compute": {"libvirt": {"libvirt": {"values": {"pod": {"x": 1}}}}}}}}});
        let mut values = json!({});
        apply(&merged, "compute", "libvirt", &mut values).unwrap();
        assert_eq!(
            values["overrides"]["libvirt_libvirt"]["labels"]["a::b"]["values"]["pod"]["x"],
            1
        );
        assert!(unsupported(&merged).is_empty());
    }

    #[test]
    fn neutron_agent_names_are_accepted_with_underscores_or_dashes() {
        assert_eq!(
            resolve("neutron", "neutron_l3_agent"),
            Some(("neutron_l3-agent".into(), ConfOnly))
        );
        assert_eq!(
            resolve("neutron", "ovn-metadata-agent"),
            Some(("neutron_ovn-metadata-agent".into(), ConfOnly))
        );
        assert_eq!(resolve("neutron", "frobnicator"), None);
    }

    #[test]
    fn an_openvswitch_override_is_reported_unsupported_and_written_nowhere() {
        let merged = json!({"nodes": {"a::b": {"services": {"networking": {"openvswitch": {
            "openvswitch_vswitchd": {"values": {"conf": {"ovs_dpdk": {"enabled": false}}}}}}}}}});
        let mut values = json!({"conf": {}});
        apply(&merged, "networking", "openvswitch", &mut values).unwrap();
        assert_eq!(values, json!({"conf": {}}));
        let found = unsupported(&merged);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with(
                "spec.nodes[\"a::b\"].services.networking.openvswitch.openvswitch_vswitchd: "
            ),
            "{found:?}"
        );
    }

    #[test]
    fn non_conf_values_of_a_conf_only_daemonset_are_reported() {
        let merged = json!({"nodes": {"a::b": {"services": {"compute": {"nova": {
            "nova_compute": {"values": {"conf": {}, "pod": {"resources": {}}}}}}}}}});
        assert_eq!(
            unsupported(&merged),
            vec![
                "spec.nodes[\"a::b\"].services.compute.nova.nova_compute.values.pod: the nova \
                 chart's nova_compute DaemonSet takes per-node conf only"
                    .to_owned()
            ]
        );
    }

    #[test]
    fn per_node_features_are_left_to_node_features() {
        let merged =
            json!({"nodes": {"a::b": {"features": {"nova": {"vcpu_type": "host-model"}}}}});
        assert_eq!(unsupported(&merged), Vec::<String>::new());
    }

    #[test]
    fn a_node_override_whose_values_are_not_a_map_names_its_path() {
        let merged = json!({"nodes": {"a::b": {"services": {"compute": {"nova": {"nova_compute": {"values": "x"}}}}}}});
        let error = apply(&merged, "compute", "nova", &mut nova_values()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("spec.nodes[\"a::b\"].services.compute.nova.nova_compute.values"),
            "{error}"
        );
    }
}
