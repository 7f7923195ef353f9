//! Well-known names the binaries and the domain share: CRD, Secrets, labels, field managers,
//! node placement labels. One place, so a name is never spelled two ways.

/// Name of the OpenStackDeployment CRD (what the osdpl and secrets controllers wait for).
pub const OSDPL_CRD: &str = "openstackdeployments.lcm.mirantis.com";

/// The Secret Ceph publishes its keys and monitor endpoints in (Rockoon's name).
pub const CEPH_KEYS_SECRET: &str = "openstack-ceph-keys";

/// Label a Secret must carry (with value [`OSDPL_SECRET_VALUE`]) for `value_from` to read it.
pub const OSDPL_SECRET_LABEL: &str = "openstack.lcm.mirantis.com/osdpl_secret";
/// Value of [`OSDPL_SECRET_LABEL`] that allows reading.
pub const OSDPL_SECRET_VALUE: &str = "true";
/// Label selector of the Secrets `value_from` may read.
pub const OSDPL_SECRET_SELECTOR: &str = "openstack.lcm.mirantis.com/osdpl_secret=true";

/// Annotation on an OSDPL confirming the removal of stateful services (comma-separated
/// names, e.g. `database`): without it, `~database` is refused rather than uninstalling data.
pub const CONFIRM_REMOVAL_ANNOTATION: &str = "lcm.mirantis.com/confirm-removal";

/// The services an OSDPL's annotations confirm the removal of.
pub fn confirmed_removals(
    annotations: Option<&std::collections::BTreeMap<String, String>>,
) -> Vec<String> {
    annotations
        .and_then(|a| a.get(CONFIRM_REMOVAL_ANNOTATION))
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Field manager (and event reporter) of the osdpl container.
pub const OSDPL_MANAGER: &str = "rockoon-osdpl";
/// Field manager (and event reporter) of the secrets container.
pub const SECRETS_MANAGER: &str = "rockoon-secrets";
/// Field manager (and event reporter) of the health container.
pub const HEALTH_MANAGER: &str = "rockoon-health";
/// Field manager (and event reporter) of the ceph-exchange container.
pub const CEPH_EXCHANGE_MANAGER: &str = "rockoon-ceph-exchange";

/// The seed's node placement labels (`<label>=enabled`) and the role each gives a node; the
/// image pre-caching DaemonSets are named by role.
pub const PLACEMENT_LABELS: &[(&str, &str)] = &[
    ("openstack-control-plane", "controller"),
    ("openstack-compute-node", "compute"),
    ("openvswitch", "openvswitch"),
    ("openstack-gateway", "gateway"),
];

/// The OpenStack roles among [`PLACEMENT_LABELS`]: those in the `openstack-` namespace
/// (`openvswitch` places a component, it is no role of its own).
pub fn openstack_role_labels() -> impl Iterator<Item = (&'static str, &'static str)> {
    PLACEMENT_LABELS
        .iter()
        .copied()
        .filter(|(label, _)| label.starts_with("openstack-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_selector_is_the_label_and_its_value() {
        assert_eq!(
            OSDPL_SECRET_SELECTOR,
            format!("{OSDPL_SECRET_LABEL}={OSDPL_SECRET_VALUE}")
        );
    }

    #[test]
    fn the_openstack_roles_are_controller_compute_and_gateway() {
        let roles: Vec<_> = openstack_role_labels().map(|(_, role)| role).collect();
        assert_eq!(roles, ["controller", "compute", "gateway"]);
    }
}
