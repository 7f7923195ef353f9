//! Secrets and ConfigMaps that pod templates need and that do not exist. A real kubelet leaves
//! such a pod in `ContainerCreating` (a volume) or `CreateContainerConfigError` (an env
//! reference); kwok starts it anyway. References marked `optional: true` are fine missing.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Container, KeyToPath};

use super::{Finding, Object, PodTemplate};

/// One need: (kind, name, key) and how it is needed.
struct Need {
    kind: &'static str,
    name: String,
    key: Option<String>,
    how: String,
}

fn item_keys(items: Option<&Vec<KeyToPath>>) -> Vec<Option<String>> {
    match items {
        Some(items) if !items.is_empty() => items.iter().map(|i| Some(i.key.clone())).collect(),
        _ => vec![None],
    }
}

fn container_needs(container: &Container, what: &str, needs: &mut Vec<Need>) {
    for env in container.env.iter().flatten() {
        let Some(from) = &env.value_from else {
            continue;
        };
        if let Some(r) = &from.secret_key_ref
            && r.optional != Some(true)
        {
            needs.push(Need {
                kind: "Secret",
                name: r.name.clone(),
                key: Some(r.key.clone()),
                how: format!("{what} {} env {}", container.name, env.name),
            });
        }
        if let Some(r) = &from.config_map_key_ref
            && r.optional != Some(true)
        {
            needs.push(Need {
                kind: "ConfigMap",
                name: r.name.clone(),
                key: Some(r.key.clone()),
                how: format!("{what} {} env {}", container.name, env.name),
            });
        }
    }
    for from in container.env_from.iter().flatten() {
        if let Some(r) = &from.secret_ref
            && r.optional != Some(true)
        {
            needs.push(Need {
                kind: "Secret",
                name: r.name.clone(),
                key: None,
                how: format!("{what} {} envFrom", container.name),
            });
        }
        if let Some(r) = &from.config_map_ref
            && r.optional != Some(true)
        {
            needs.push(Need {
                kind: "ConfigMap",
                name: r.name.clone(),
                key: None,
                how: format!("{what} {} envFrom", container.name),
            });
        }
    }
}

fn template_needs(template: &PodTemplate) -> Vec<Need> {
    let mut needs = Vec::new();
    let spec = &template.spec;
    for volume in spec.volumes.iter().flatten() {
        let how = format!("volume {}", volume.name);
        if let Some(s) = &volume.secret
            && s.optional != Some(true)
        {
            for key in item_keys(s.items.as_ref()) {
                needs.push(Need {
                    kind: "Secret",
                    name: s.secret_name.clone().unwrap_or_default(),
                    key,
                    how: how.clone(),
                });
            }
        }
        if let Some(c) = &volume.config_map
            && c.optional != Some(true)
        {
            for key in item_keys(c.items.as_ref()) {
                needs.push(Need {
                    kind: "ConfigMap",
                    name: c.name.clone(),
                    key,
                    how: how.clone(),
                });
            }
        }
        if let Some(p) = &volume.projected {
            for source in p.sources.iter().flatten() {
                if let Some(s) = &source.secret
                    && s.optional != Some(true)
                {
                    for key in item_keys(s.items.as_ref()) {
                        needs.push(Need {
                            kind: "Secret",
                            name: s.name.clone(),
                            key,
                            how: format!("{how} (projected)"),
                        });
                    }
                }
                if let Some(c) = &source.config_map
                    && c.optional != Some(true)
                {
                    for key in item_keys(c.items.as_ref()) {
                        needs.push(Need {
                            kind: "ConfigMap",
                            name: c.name.clone(),
                            key,
                            how: format!("{how} (projected)"),
                        });
                    }
                }
            }
        }
    }
    for c in &spec.containers {
        container_needs(c, "container", &mut needs);
    }
    for c in spec.init_containers.iter().flatten() {
        container_needs(c, "init container", &mut needs);
    }
    needs
}

/// Keys of each existing Secret and ConfigMap, by (kind, name).
fn existing(objects: &[Object]) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for object in objects {
        let fields: &[&str] = match object.kind.as_str() {
            "Secret" => &["data", "stringData"],
            "ConfigMap" => &["data", "binaryData"],
            _ => continue,
        };
        let keys = out
            .entry((object.kind.clone(), object.name.clone()))
            .or_default();
        for field in fields {
            if let Some(map) = object.body[*field].as_object() {
                keys.extend(map.keys().cloned());
            }
        }
    }
    out
}

/// Every missing Secret/ConfigMap (or key of one) with everything that needs it.
pub fn check(templates: &[PodTemplate], objects: &[Object]) -> Vec<Finding> {
    let existing = existing(objects);
    let mut missing: BTreeMap<(String, String, Option<String>), BTreeSet<String>> = BTreeMap::new();
    for template in templates {
        for need in template_needs(template) {
            let found = existing.get(&(need.kind.to_owned(), need.name.clone()));
            let entry = match (found, &need.key) {
                // The object is missing: one finding for the object, whatever key was read.
                (None, _) => (need.kind.to_owned(), need.name.clone(), None),
                (Some(keys), Some(key)) if !keys.contains(key) => {
                    (need.kind.to_owned(), need.name.clone(), Some(key.clone()))
                }
                _ => continue,
            };
            missing.entry(entry).or_default().insert(format!(
                "{}: {}",
                template.describe(),
                need.how
            ));
        }
    }
    missing
        .into_iter()
        .map(|((kind, name, key), users)| Finding::MissingReference {
            kind,
            name,
            key,
            users: users.into_iter().collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::pod_templates;
    use super::*;
    use serde_json::{Value, json};

    fn daemonset(spec: Value) -> Object {
        Object::new(
            json!({"kind": "DaemonSet", "metadata": {"name": "libvirt", "annotations": {"meta.helm.sh/release-name": "openstack-libvirt"}},
                   "spec": {"template": {"metadata": {"labels": {"application": "libvirt"}}, "spec": spec}}}),
            None,
        )
    }

    fn run(objects: &[Object]) -> Vec<Finding> {
        let (templates, errors) = pod_templates(objects);
        assert!(errors.is_empty(), "{errors:?}");
        check(&templates, objects)
    }

    #[test]
    fn a_mounted_secret_that_does_not_exist_is_reported_with_its_user() {
        let objects = vec![daemonset(json!({
            "containers": [{"name": "libvirt", "image": "x"}],
            "volumes": [{"name": "keyring", "secret": {"secretName": "nova-rbd-keyring"}}]
        }))];
        let findings = run(&objects);
        assert_eq!(
            findings,
            vec![Finding::MissingReference {
                kind: "Secret".into(),
                name: "nova-rbd-keyring".into(),
                key: None,
                users: vec!["DaemonSet/libvirt (release openstack-libvirt): volume keyring".into()],
            }]
        );
    }

    #[test]
    fn an_optional_missing_config_map_is_accepted_and_a_required_one_is_not() {
        let objects = vec![daemonset(json!({
            "containers": [{"name": "c", "image": "x",
                "envFrom": [{"configMapRef": {"name": "maybe", "optional": true}}],
                "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "ceph-etc", "key": "ceph.conf"}}}]}],
            "volumes": [
                {"name": "o", "configMap": {"name": "optional-one", "optional": true}},
                {"name": "p", "projected": {"sources": [{"configMap": {"name": "proj-opt", "optional": true}}]}}
            ]
        }))];
        let findings = run(&objects);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            findings[0]
                .to_string()
                .contains("ConfigMap/ceph-etc does not exist"),
            "{}",
            findings[0]
        );
    }

    #[test]
    fn a_key_missing_from_an_existing_secret_is_named() {
        let objects = vec![
            daemonset(json!({"containers": [{"name": "c", "image": "x",
                "env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}],
                "volumes": [{"name": "v", "secret": {"secretName": "db", "items": [{"key": "user", "path": "u"}]}}]})),
            Object::new(
                json!({"kind": "Secret", "metadata": {"name": "db"}, "data": {"user": "dXNlcg=="}}),
                None,
            ),
        ];
        let findings = run(&objects);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            matches!(&findings[0], Finding::MissingReference { key: Some(k), .. } if k == "password")
        );
    }

    #[test]
    fn existing_secrets_and_config_maps_give_no_finding() {
        let objects = vec![
            daemonset(json!({"containers": [{"name": "c", "image": "x",
                "envFrom": [{"secretRef": {"name": "s"}}]}],
                "volumes": [{"name": "v", "configMap": {"name": "cm"}},
                            {"name": "p", "projected": {"sources": [{"secret": {"name": "s"}}]}}]})),
            Object::new(json!({"kind": "Secret", "metadata": {"name": "s"}}), None),
            Object::new(
                json!({"kind": "ConfigMap", "metadata": {"name": "cm"}}),
                None,
            ),
        ];
        assert!(run(&objects).is_empty());
    }
}
