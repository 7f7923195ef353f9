//! Hosts of the namespace that rendered configs point at and that no Service answers for
//! (a connection refused or an unresolvable name at run time).
//!
//! Looked at: every `scheme://…` authority on any line of a Secret or ConfigMap, and the values
//! of keys named like host lists (`*_host(s)`, `*_servers`, `host(s)`, `servers`:
//! `h1:11211,h2:11211`). A host is of this namespace when it is `svc.ns` or `svc.ns.svc…`, or
//! a pod under a headless Service, `pod-0.svc.ns` or `pod-0.svc.ns.svc…`. Hosts of other namespaces and public names
//! are not judged (their Services are not ours to know).
//!
//! Not judged either: client sections the charts always write for an optional integration
//! that the same file leaves off ([`inert_sections`]), e.g. nova's `[ironic]` without the
//! ironic compute driver. Nothing connects to those hosts.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};

use super::credentials::line_pair;
use super::{Finding, Object};

fn host_of(authority: &str) -> String {
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split(']').next().unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    host.trim()
        .trim_matches(['"', '\'', '[', ']'])
        .to_ascii_lowercase()
}

/// Hosts on one config line.
pub fn line_hosts(line: &str) -> Vec<String> {
    let mut hosts = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("://") {
        let after = &rest[at + 3..];
        let end = after
            .find(|c: char| {
                c.is_whitespace() || matches!(c, '/' | '?' | '"' | '\'' | ';' | ')' | '#')
            })
            .unwrap_or(after.len());
        hosts.extend(after[..end].split(',').map(host_of));
        rest = &after[end..];
    }
    if let Some((key, value)) = line_pair(line) {
        let key = key.to_ascii_lowercase();
        let listy = ["host", "hosts", "servers"].contains(&key.as_str())
            || key.ends_with("_host")
            || key.ends_with("_hosts")
            || key.ends_with("_servers");
        if listy && !value.contains("://") {
            hosts.extend(
                value
                    .trim()
                    .trim_matches(['"', '\''])
                    .split(',')
                    .map(host_of),
            );
        }
    }
    hosts.retain(|h| !h.is_empty());
    hosts
}

/// The Service a host of `namespace` names, if it is one of this namespace.
pub fn service_of(host: &str, namespace: &str) -> Option<String> {
    let labels: Vec<&str> = host.split('.').collect();
    let valid = |l: &str| {
        !l.is_empty()
            && l.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    // `svc.ns`, `svc.ns.svc…`; then a pod under a headless Service: `pod.svc.ns`,
    // `pod.svc.ns.svc…`. `docs.openstack.org` in namespace `openstack` is neither.
    let at = |i: usize| {
        labels.get(i) == Some(&namespace)
            && (labels.len() == i + 1 || labels.get(i + 1) == Some(&"svc"))
    };
    if at(1) && valid(labels[0]) {
        return Some(labels[0].to_owned());
    }
    if at(2) && valid(labels[1]) {
        return Some(labels[1].to_owned());
    }
    None
}

fn texts(object: &Object) -> Vec<(String, String)> {
    match object.kind.as_str() {
        "Secret" if object.body["type"] != "helm.sh/release.v1" => {
            let Ok(secret) = serde_json::from_value::<Secret>(object.body.clone()) else {
                return Vec::new();
            };
            let mut out: Vec<(String, String)> = secret
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                .collect();
            out.extend(secret.string_data.unwrap_or_default());
            out
        }
        "ConfigMap" => serde_json::from_value::<ConfigMap>(object.body.clone())
            .ok()
            .and_then(|m| m.data)
            .map(|d| d.into_iter().collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Ini sections of one config file whose hosts nothing connects to, because the file leaves
/// their integration off:
/// - `[ironic]` (nova) unless `compute_driver` is the ironic driver;
/// - `[octavia]` (neutron) unless a load-balancer service plugin is configured;
/// - `[task_flow]` (octavia) unless `jobboard_enabled` is true (its hosts are the jobboard's).
pub fn inert_sections(text: &str) -> BTreeSet<String> {
    let mut values: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            section = name.to_ascii_lowercase();
        } else if let Some((key, value)) = line_pair(trimmed) {
            values.insert(
                (section.clone(), key.to_ascii_lowercase()),
                value.trim().to_ascii_lowercase(),
            );
        }
    }
    let value = |section: &str, key: &str| {
        values
            .get(&(section.to_owned(), key.to_owned()))
            .cloned()
            .unwrap_or_default()
    };
    let mut inert = BTreeSet::new();
    if !value("default", "compute_driver").contains("ironic") {
        inert.insert("ironic".to_owned());
    }
    let plugins = value("default", "service_plugins");
    if !plugins.contains("lbaas") && !plugins.contains("octavia") {
        inert.insert("octavia".to_owned());
    }
    if value("task_flow", "jobboard_enabled") != "true" {
        inert.insert("task_flow".to_owned());
    }
    inert
}

/// Hosts on the lines of `text` that are not in an inert section.
fn live_hosts(text: &str) -> Vec<String> {
    let inert = inert_sections(text);
    let mut section = String::new();
    let mut hosts = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            section = name.to_ascii_lowercase();
        } else if !inert.contains(&section) {
            hosts.extend(line_hosts(line));
        }
    }
    hosts
}

/// Hosts of the namespace that no Service answers for, with where they are named.
pub fn check(objects: &[Object], namespace: &str) -> Vec<Finding> {
    let services: BTreeSet<&str> = objects
        .iter()
        .filter(|o| o.kind == "Service")
        .map(|o| o.name.as_str())
        .collect();
    let mut missing: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for object in objects {
        for (key, text) in texts(object) {
            for host in live_hosts(&text) {
                if let Some(service) = service_of(&host, namespace)
                    && !services.contains(service.as_str())
                {
                    let release = object
                        .release
                        .as_ref()
                        .map_or_else(String::new, |r| format!(" (release {r})"));
                    missing
                        .entry((service, host))
                        .or_default()
                        .insert(format!("{}{release} {key}", object.id()));
                }
            }
        }
    }
    missing
        .into_iter()
        .map(|((service, host), users)| Finding::HostWithoutService {
            host,
            service,
            users: users.into_iter().collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::credentials::secret_with;
    use super::*;
    use serde_json::json;

    #[test]
    fn a_config_url_to_a_service_that_does_not_exist_is_reported_with_its_user() {
        let objects = vec![
            Object::new(
                secret_with(
                    "keystone-etc",
                    &[(
                        "keystone.conf",
                        "[cache]\nmemcache_servers = memcached.openstack.svc.cluster.local:11211\n[x]\nadmin_url = http://keystone.openstack.svc.cluster.local:35357/v3\n",
                    )],
                ),
                Some("openstack-keystone".into()),
            ),
            Object::new(
                json!({"kind": "Service", "metadata": {"name": "memcached"}}),
                None,
            ),
        ];
        let findings = check(&objects, "openstack");
        assert_eq!(findings.len(), 1, "{findings:?}");
        let text = findings[0].to_string();
        assert!(
            text.contains("keystone.openstack.svc.cluster.local") && text.contains("keystone.conf"),
            "{text}"
        );
    }

    #[test]
    fn hosts_of_an_integration_the_file_leaves_off_are_not_judged() {
        let nova = "[DEFAULT]\ncompute_driver = libvirt.LibvirtDriver\n[ironic]\napi_endpoint = http://ironic-api.openstack.svc.cluster.local:6385/\n";
        assert!(live_hosts(nova).is_empty(), "{:?}", live_hosts(nova));
        let bare_metal = nova.replace("libvirt.LibvirtDriver", "ironic.IronicDriver");
        assert_eq!(
            live_hosts(&bare_metal),
            vec!["ironic-api.openstack.svc.cluster.local"]
        );
        let octavia = "[task_flow]\njobboard_enabled = false\njobboard_backend_hosts = valkey.openstack.svc.cluster.local\n";
        assert!(live_hosts(octavia).is_empty());
        let jobboard = octavia.replace("= false", "= True");
        assert_eq!(
            live_hosts(&jobboard),
            vec!["valkey.openstack.svc.cluster.local"]
        );
        let neutron = "[DEFAULT]\nservice_plugins = router\n[octavia]\nbase_url = http://octavia-api.openstack.svc.cluster.local:9876/\n";
        assert!(live_hosts(neutron).is_empty());
    }

    #[test]
    fn pod_names_under_a_headless_service_and_other_namespaces_are_judged_right() {
        assert_eq!(
            service_of(
                "rabbitmq-rabbitmq-0.rabbitmq.openstack.svc.cluster.local",
                "openstack"
            ),
            Some("rabbitmq".into())
        );
        assert_eq!(service_of("rook-ceph-rgw.rook-ceph.svc", "openstack"), None);
        assert_eq!(service_of("keystone.it.example.com", "openstack"), None);
        assert_eq!(service_of("docs.openstack.org", "openstack"), None);
        assert_eq!(
            service_of("keystone.openstack", "openstack"),
            Some("keystone".into())
        );
        assert_eq!(
            line_hosts("transport_url = rabbit://u:p@a.openstack:5672,u:p@b.openstack:5672/v"),
            vec!["a.openstack", "b.openstack"]
        );
        assert_eq!(
            line_hosts(
                "memcached_servers: m-0.memcached.openstack:11211,m-1.memcached.openstack:11211"
            ),
            vec!["m-0.memcached.openstack", "m-1.memcached.openstack"]
        );
    }
}
