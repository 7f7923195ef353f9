//! Images not from the OSDPL's artifacts: every container and init container of every pod
//! template must run an image Rockoon rendered (an `images.tags` value of some release's
//! values) and, when the OSDPL names a registry (`spec.artifacts.images_base_url`), one from
//! that registry. An image only the chart's defaults know (an `images.tags` key Rockoon does
//! not set) comes from the chart's default registry, which an offline or mirrored site lacks.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Finding, PodTemplate};

/// Every image reference under `images.tags` of the releases' values.
pub fn artifact_images(values: &BTreeMap<String, Value>) -> BTreeSet<String> {
    values
        .values()
        .filter_map(|v| v.pointer("/images/tags")?.as_object())
        .flat_map(|tags| tags.values().filter_map(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether `image` is under the registry `prefix` (`prefix/…`).
fn under_prefix(image: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    image
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// Foreign images of the templates. `prefix`: the registry prefix every image must have;
/// `allowed`: the artifact images (not checked when empty).
pub fn check(
    templates: &[PodTemplate],
    prefix: Option<&str>,
    allowed: &BTreeSet<String>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for template in templates {
        let containers = template
            .spec
            .init_containers
            .iter()
            .flatten()
            .chain(template.spec.containers.iter());
        for container in containers {
            let image = container.image.clone().unwrap_or_default();
            let mut reasons = Vec::new();
            if let Some(prefix) = prefix.filter(|p| !p.is_empty())
                && !under_prefix(&image, prefix)
            {
                reasons.push(format!("not under the artifacts registry {prefix}/"));
            }
            if !allowed.is_empty() && !allowed.contains(&image) {
                reasons.push("not an image of the OSDPL's artifacts (no release's images.tags names it; a chart default?)".to_owned());
            }
            if !reasons.is_empty() {
                findings.push(Finding::ForeignImage {
                    workload: template.owner.clone(),
                    release: template.release.clone(),
                    container: container.name.clone(),
                    image,
                    reason: reasons.join("; "),
                });
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::super::{Object, pod_templates};
    use super::*;
    use serde_json::json;

    fn templates() -> Vec<PodTemplate> {
        let objects = vec![Object::new(
            json!({"kind": "DaemonSet", "metadata": {"name": "ovn-controller", "annotations": {"meta.helm.sh/release-name": "openstack-ovn"}},
                   "spec": {"template": {"spec": {
                       "initContainers": [{"name": "get-gw-enabled", "image": "docker.io/openstackhelm/ceph-config-helper:latest"}],
                       "containers": [{"name": "controller", "image": "registry.example.net/mirror/openstack/ovn:epoxy"}]}}}}),
            None,
        )];
        pod_templates(&objects).0
    }

    #[test]
    fn an_image_from_another_registry_is_reported_with_its_container() {
        let findings = check(
            &templates(),
            Some("registry.example.net/mirror/openstack"),
            &BTreeSet::new(),
        );
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            matches!(&findings[0], Finding::ForeignImage { container, .. } if container == "get-gw-enabled")
        );
    }

    #[test]
    fn an_image_no_release_values_name_is_reported_even_without_a_prefix() {
        let values = BTreeMap::from([(
            "openstack-ovn".to_owned(),
            json!({"images": {"tags": {"ovn_controller": "registry.example.net/mirror/openstack/ovn:epoxy"}}}),
        )]);
        let allowed = artifact_images(&values);
        let findings = check(&templates(), None, &allowed);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].to_string().contains("ceph-config-helper"));
    }

    #[test]
    fn a_registry_prefix_must_end_at_a_path_boundary() {
        assert!(under_prefix("reg.example/os/nova:1", "reg.example/os"));
        assert!(under_prefix("reg.example/os/nova:1", "reg.example/os/"));
        assert!(!under_prefix(
            "reg.example/os-evil/nova:1",
            "reg.example/os"
        ));
    }
}
