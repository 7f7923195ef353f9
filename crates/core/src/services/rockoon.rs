//! Rockoon's service facts that are not descriptors: the services it knows that this version
//! does not render (and why), its per-release availability rules, and what its `compute`
//! preset enables beyond the rendered services.
//!
//! The render engine turns an enabled service it cannot render into an `UNSUPPORTED` entry
//! with the reason from here (never a failed render, never a silent drop); the CRD refuses
//! what Rockoon's admission refuses, with a CEL rule built from [`VERSION_RULES`].

use crate::crd::osdpl::{OpenStackVersion, Preset};

/// Why each Rockoon service without a descriptor is not rendered by this version, sorted.
pub const NOT_RENDERED: &[(&str, &str)] = &[
    (
        "baremetal",
        "Ironic (bare metal) is not rendered by this version",
    ),
    (
        "cloudprober",
        "Rockoon's own cloudprober probes have no OpenStack-Helm chart",
    ),
    (
        "descheduler",
        "the Kubernetes descheduler Rockoon's compute preset adds is not rendered by this version",
    ),
    (
        "dynamic-resource-balancer",
        "Rockoon's own dynamic resource balancer has no OpenStack-Helm chart",
    ),
    (
        "event",
        "Panko (event) is retired upstream and has no chart",
    ),
    (
        "metering",
        "Ceilometer (metering) is not rendered by this version",
    ),
    ("metric", "Gnocchi (metric) is not rendered by this version"),
    (
        "metric-storage",
        "Rockoon's metric storage is not rendered by this version",
    ),
    (
        "redis",
        "Redis (for Rockoon's telemetry and resource balancer) is not rendered by this version",
    ),
    (
        "stepler",
        "Mirantis' stepler test suite has no OpenStack-Helm chart",
    ),
];

/// Services Rockoon's `compute` preset enables that have no descriptor here, with the
/// releases (from, until, both inclusive) in which it does. Its `compute-tf` preset adds the
/// same, `redis` at every release.
const COMPUTE_PRESET_EXTRAS: &[(&str, Option<OpenStackVersion>, Option<OpenStackVersion>)] = &[
    ("descheduler", None, None),
    ("dynamic-resource-balancer", None, None),
    ("redis", None, Some(OpenStackVersion::Flamingo)),
];

/// One of Rockoon's per-release service rules (its admission refuses the service outside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionRule {
    /// The `features.services` name.
    pub service: &'static str,
    /// First release with the service.
    pub from: Option<OpenStackVersion>,
    /// Last release with the service.
    pub until: Option<OpenStackVersion>,
}

/// Rockoon's per-release service availability.
pub const VERSION_RULES: &[VersionRule] = &[
    VersionRule {
        service: "event",
        from: None,
        until: Some(OpenStackVersion::Wallaby),
    },
    VersionRule {
        service: "instance-ha",
        from: Some(OpenStackVersion::Victoria),
        until: None,
    },
    VersionRule {
        service: "metric",
        from: None,
        until: Some(OpenStackVersion::Epoxy),
    },
    VersionRule {
        service: "metric-storage",
        from: Some(OpenStackVersion::Gazpacho),
        until: None,
    },
    VersionRule {
        service: "shared-file-system",
        from: Some(OpenStackVersion::Yoga),
        until: None,
    },
];

impl VersionRule {
    fn allows(&self, version: OpenStackVersion) -> bool {
        self.from.is_none_or(|f| version >= f) && self.until.is_none_or(|u| version <= u)
    }

    /// The rule in words, e.g. `instance-ha from victoria`.
    pub fn describe(&self) -> String {
        let mut text = self.service.to_owned();
        if let Some(from) = self.from {
            text.push_str(&format!(" from {}", from.as_str()));
        }
        if let Some(until) = self.until {
            text.push_str(&format!(" until {}", until.as_str()));
        }
        text
    }
}

/// Why `networking` cannot render with the neutron `backend` of the merged spec, if it cannot.
pub fn backend_refusal(service: &str, backend: Option<&str>) -> Option<String> {
    (service == "networking" && backend == Some("tungstenfabric")).then(|| {
        "features.neutron.backend tungstenfabric: Tungsten Fabric has no OpenStack-Helm chart; \
         networking is not rendered (ml2 and ml2/ovn are)"
            .to_owned()
    })
}

/// Why `service` (a canonical name) cannot run at `version` with `preset`, if it cannot.
pub fn refusal(service: &str, version: OpenStackVersion, preset: Preset) -> Option<String> {
    if service == "baremetal" && preset == Preset::ComputeTf {
        return Some(
            "baremetal is not available with the compute-tf preset (Rockoon's rule)".into(),
        );
    }
    VERSION_RULES
        .iter()
        .find(|r| r.service == service && !r.allows(version))
        .map(|rule| {
            format!(
                "{} is not available at openstack_version {} (Rockoon's rule: {})",
                service,
                version.as_str(),
                rule.describe()
            )
        })
}

/// Why a Rockoon service without a descriptor is not rendered.
pub fn not_rendered(service: &str) -> Option<&'static str> {
    NOT_RENDERED
        .iter()
        .find(|(name, _)| *name == service)
        .map(|(_, why)| *why)
}

/// The services Rockoon's `preset` enables at `version` that have no descriptor here; the
/// render reports each as unsupported.
pub fn preset_extras(preset: Preset, version: Option<OpenStackVersion>) -> Vec<&'static str> {
    if preset == Preset::Core {
        return Vec::new();
    }
    let tf = preset == Preset::ComputeTf;
    COMPUTE_PRESET_EXTRAS
        .iter()
        .filter(|(_, from, until)| {
            tf || version
                .is_none_or(|v| from.is_none_or(|f| v >= f) && until.is_none_or(|u| v <= u))
        })
        .map(|(name, _, _)| *name)
        .collect()
}

/// The CRD's CEL rule refusing, as Rockoon's admission does, a `features.services` entry its
/// `openstack_version` (or preset) does not have.
pub fn version_rule_cel() -> kube::core::Rule {
    let all = crate::crd::osdpl::OpenStackVersion::ALL;
    let mut terms = vec!["!(s == 'baremetal' && self.preset == 'compute-tf')".to_owned()];
    for rule in VERSION_RULES {
        let outside: Vec<String> = all
            .iter()
            .filter(|v| !rule.allows(**v))
            .map(|v| format!("'{}'", v.as_str()))
            .collect();
        terms.push(format!(
            "!(s == '{}' && self.openstack_version in [{}])",
            rule.service,
            outside.join(",")
        ));
    }
    let described: Vec<String> = VERSION_RULES.iter().map(VersionRule::describe).collect();
    kube::core::Rule::new(format!(
        "!has(self.features) || !has(self.features.services) || self.features.services.all(s, {})",
        terms.join(" && ")
    ))
    .message(kube::core::Message::Message(format!(
        "features.services names a service its openstack_version or preset does not have \
         (Rockoon's rules: {}; baremetal not with compute-tf)",
        described.join(", ")
    )))
    .field_path(".features.services")
}

#[cfg(test)]
mod tests {
    use super::*;
    use OpenStackVersion::*;

    #[test]
    fn services_outside_their_releases_are_refused_with_the_rule() {
        let why = refusal("instance-ha", Ussuri, Preset::Compute).unwrap();
        assert!(why.contains("instance-ha from victoria"), "{why}");
        assert!(refusal("instance-ha", Victoria, Preset::Compute).is_none());
        assert!(refusal("shared-file-system", Xena, Preset::Compute).is_some());
        assert!(refusal("shared-file-system", Antelope, Preset::Compute).is_none());
        assert!(refusal("metric", Flamingo, Preset::Compute).is_some());
        assert!(refusal("metric", Epoxy, Preset::Compute).is_none());
        assert!(refusal("metric-storage", Epoxy, Preset::Compute).is_some());
        assert!(refusal("event", Antelope, Preset::Compute).is_some());
        assert!(refusal("baremetal", Caracal, Preset::ComputeTf).is_some());
        assert!(refusal("compute", Queens, Preset::Compute).is_none());
    }

    #[test]
    fn the_compute_preset_adds_redis_only_before_gazpacho() {
        let at = |v| preset_extras(Preset::Compute, Some(v));
        assert!(at(Epoxy).contains(&"redis") && at(Flamingo).contains(&"redis"));
        assert!(!at(Gazpacho).contains(&"redis"));
        assert!(at(Gazpacho).contains(&"descheduler"));
        assert!(preset_extras(Preset::Core, Some(Epoxy)).is_empty());
        assert!(preset_extras(Preset::ComputeTf, Some(Gazpacho)).contains(&"redis"));
    }

    #[test]
    fn the_preset_lists_are_rockoons_with_app_gateway_as_ingress() {
        let listed = |preset, version| {
            let mut all = super::super::preset_services(preset).unwrap();
            all.extend(preset_extras(preset, Some(version)));
            all.sort_unstable();
            all
        };
        let core = [
            "compute",
            "coordination",
            "dashboard",
            "database",
            "identity",
            "image",
            "ingress",
            "memcached",
            "messaging",
            "networking",
            "placement",
        ];
        assert_eq!(listed(Preset::Core, Epoxy), core);
        let mut compute: Vec<&str> = core.to_vec();
        compute.extend([
            "block-storage",
            "descheduler",
            "dns",
            "dynamic-resource-balancer",
            "key-manager",
            "load-balancer",
            "orchestration",
            "redis",
        ]);
        compute.sort_unstable();
        assert_eq!(listed(Preset::Compute, Epoxy), compute);
        assert_eq!(listed(Preset::ComputeTf, Gazpacho), compute);
        compute.retain(|s| *s != "redis");
        assert_eq!(listed(Preset::Compute, Gazpacho), compute);
    }

    #[test]
    fn every_rockoon_service_without_a_descriptor_has_a_reason() {
        for name in super::super::ROCKOON_NAMES {
            if super::super::find(name).is_none() {
                assert!(not_rendered(name).is_some(), "{name} has no reason");
            }
        }
        assert!(NOT_RENDERED.is_sorted_by_key(|(name, _)| *name));
    }

    #[test]
    fn the_cel_rule_names_every_rule_and_the_field() {
        let rule = version_rule_cel();
        assert_eq!(rule.field_path.as_deref(), Some(".features.services"));
        for r in VERSION_RULES {
            assert!(rule.rule.contains(&format!("s == '{}'", r.service)));
        }
        assert!(
            rule.rule
                .contains("'queens','rocky','stein','train','ussuri']")
        );
    }
}
