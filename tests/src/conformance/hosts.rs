//! Hosts of the namespace that rendered configs point at and that no Service answers for
//! (a connection refused or an unresolvable name at run time).
//!
//! Looked at: every `scheme://…` authority on any line of a Secret or ConfigMap, and the values
//! of keys named like host lists (`*_host(s)`, `*_servers`, `host(s)`, `servers`:
//! `h1:11211,h2:11211`). A host is of this namespace when it is `svc.ns` or `svc.ns.svc…`, or
//! a pod under a headless Service, `pod-0.svc.ns` or `pod-0.svc.ns.svc…`. Hosts of other namespaces and public names
//! are not judged (their Services are not ours to know).

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
            for line in text.lines() {
                for host in line_hosts(line) {
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
