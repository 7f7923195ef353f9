//! RabbitMQ instances no service uses. An instance is a StatefulSet whose pods are labelled
//! `application: rabbitmq`; it answers to the Services selecting its pods (`svc`, `svc.ns`,
//! `svc.ns.svc…`, and pod names under a headless one). It is used when some Secret or ConfigMap
//! of another release (the charts keep service configs in `<service>-etc` Secrets) has a
//! `transport_url` (or `rabbit_host(s)`) whose hosts include one of those names. The users'
//! Secrets the charts render for their `rabbit-init` jobs (`RABBITMQ_CONNECTION`) do not count:
//! they create an account, nobody sends a message through it.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};

use super::credentials::line_pair;
use super::{Finding, Object, PodTemplate, map_selector_matches, string_map};

/// Hosts of a messaging URL (`rabbit://u:p@h1:5672,u:p@h2:5672/vhost`) or host list
/// (`h1:5672,h2`).
pub fn url_hosts(value: &str) -> Vec<String> {
    let value = value.trim().trim_matches(['"', '\'']);
    let rest = value.split_once("://").map_or(value, |(_, rest)| rest);
    let rest = rest.split(['/', '?']).next().unwrap_or_default();
    rest.split(',')
        .map(|part| {
            let host = part.rsplit_once('@').map_or(part, |(_, h)| h);
            let host = if host.starts_with('[') {
                host.split(']')
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches('[')
            } else {
                host.split(':').next().unwrap_or_default()
            };
            host.trim().to_ascii_lowercase()
        })
        .filter(|h| !h.is_empty())
        .collect()
}

fn is_messaging_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key == "transport_url" || key == "rabbit_host" || key == "rabbit_hosts"
}

/// Every `(object, host)` of a messaging setting in the Secrets and ConfigMaps.
fn messaging_hosts(objects: &[Object]) -> Vec<(&Object, String)> {
    let mut out = Vec::new();
    for object in objects {
        let texts: Vec<String> = match object.kind.as_str() {
            "Secret" if object.body["type"] != "helm.sh/release.v1" => {
                let Ok(secret) = serde_json::from_value::<Secret>(object.body.clone()) else {
                    continue;
                };
                let mut texts: Vec<String> = secret
                    .data
                    .unwrap_or_default()
                    .into_values()
                    .map(|v| String::from_utf8_lossy(&v.0).into_owned())
                    .collect();
                texts.extend(secret.string_data.unwrap_or_default().into_values());
                texts
            }
            "ConfigMap" => {
                let Ok(map) = serde_json::from_value::<ConfigMap>(object.body.clone()) else {
                    continue;
                };
                map.data.unwrap_or_default().into_values().collect()
            }
            _ => continue,
        };
        for text in texts {
            for line in text.lines() {
                if let Some((key, value)) = line_pair(line)
                    && is_messaging_key(key)
                {
                    out.extend(url_hosts(value).into_iter().map(|h| (object, h)));
                }
            }
        }
    }
    out
}

/// Whether `host` names the Service `service` of `namespace` (or a pod under it).
fn host_is_service(host: &str, service: &str, namespace: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    let in_ns = |i: usize| labels.get(i).is_none_or(|l| *l == namespace);
    (labels[0] == service && in_ns(1)) || (labels.get(1) == Some(&service) && in_ns(2))
}

/// RabbitMQ instances without users.
pub fn check(templates: &[PodTemplate], objects: &[Object], namespace: &str) -> Vec<Finding> {
    let services: Vec<(String, BTreeMap<String, String>)> = objects
        .iter()
        .filter(|o| o.kind == "Service")
        .map(|o| (o.name.clone(), string_map(&o.body["spec"]["selector"])))
        .collect();
    let used = messaging_hosts(objects);
    let mut findings = Vec::new();
    for template in templates.iter().filter(|t| {
        t.owner.starts_with("StatefulSet/")
            && t.labels.get("application").map(String::as_str) == Some("rabbitmq")
    }) {
        let names: BTreeSet<&str> = services
            .iter()
            .filter(|(_, selector)| map_selector_matches(selector, &template.labels))
            .map(|(name, _)| name.as_str())
            .collect();
        let is_used = used.iter().any(|(object, host)| {
            (object.release.is_none() || object.release != template.release)
                && names.iter().any(|s| host_is_service(host, s, namespace))
        });
        if !is_used {
            findings.push(Finding::UnusedRabbitmq {
                instance: template.owner.clone(),
                release: template.release.clone(),
                hosts: names.iter().map(|s| format!("{s}.{namespace}")).collect(),
            });
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::super::credentials::secret_with;
    use super::super::pod_templates;
    use super::*;
    use serde_json::json;

    fn rabbit(release: &str, service: &str) -> Vec<Object> {
        vec![
            Object::new(
                json!({"kind": "StatefulSet", "metadata": {"name": format!("{release}-rabbitmq")}, "spec": {"template": {
                    "metadata": {"labels": {"application": "rabbitmq", "component": "server", "release_group": release}},
                    "spec": {"containers": [{"name": "rabbitmq", "image": "x"}]}}}}),
                Some(release.to_owned()),
            ),
            Object::new(
                json!({"kind": "Service", "metadata": {"name": service}, "spec": {"clusterIP": "None",
                    "selector": {"application": "rabbitmq", "component": "server", "release_group": release}}}),
                Some(release.to_owned()),
            ),
        ]
    }

    fn run(objects: &[Object]) -> Vec<Finding> {
        let (templates, _) = pod_templates(objects);
        check(&templates, objects, "openstack")
    }

    #[test]
    fn a_rabbitmq_that_no_transport_url_names_is_unused() {
        let mut objects = rabbit("openstack-rabbitmq", "rabbitmq");
        objects.extend(rabbit(
            "openstack-notifications-rabbitmq",
            "rabbitmq-notifications",
        ));
        objects.push(Object::new(
            secret_with("nova-etc", &[("nova.conf", "[DEFAULT]\ntransport_url = rabbit://nova:x@rabbitmq.openstack.svc.cluster.local:5672/nova\n[oslo_messaging_notifications]\ndriver = messagingv2\n")]),
            Some("openstack-nova".into()),
        ));
        let findings = run(&objects);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            findings[0]
                .to_string()
                .contains("StatefulSet/openstack-notifications-rabbitmq-rabbitmq"),
            "{}",
            findings[0]
        );
    }

    #[test]
    fn a_url_of_the_rabbitmq_own_release_or_of_a_user_secret_does_not_count() {
        let mut objects = rabbit("openstack-rabbitmq", "rabbitmq");
        objects.push(Object::new(
            secret_with(
                "rabbitmq-etc",
                &[("x.conf", "transport_url = rabbit://a:b@rabbitmq:5672/\n")],
            ),
            Some("openstack-rabbitmq".into()),
        ));
        objects.push(Object::new(
            secret_with(
                "nova-rabbitmq-user",
                &[("RABBITMQ_CONNECTION", "rabbit://nova:x@rabbitmq:5672/nova")],
            ),
            Some("openstack-nova".into()),
        ));
        assert_eq!(run(&objects).len(), 1);
    }

    #[test]
    fn hosts_of_every_url_form_are_read() {
        assert_eq!(
            url_hosts(
                "rabbit://u:p@rabbitmq-0.rabbitmq.openstack.svc.cluster.local:5672,u:p@[::1]:5672/nova?ssl=1"
            ),
            vec!["rabbitmq-0.rabbitmq.openstack.svc.cluster.local", "::1"]
        );
        assert!(host_is_service(
            "rabbitmq-0.rabbitmq.openstack.svc.cluster.local",
            "rabbitmq",
            "openstack"
        ));
        assert!(host_is_service("rabbitmq", "rabbitmq", "openstack"));
        assert!(!host_is_service("rabbitmq.other", "rabbitmq", "openstack"));
    }
}
