//! What a Node's labels mean to OpenStack: its roles and the internal labels that follow them.
//!
//! Pure logic, first step of every Node reconcile ([`crate::reconcile`]). A role comes from a
//! placement label set to `enabled` (the seed's labels, `rockoon_core::names`); its internal
//! label `rockoon-<placement label>=controller` is what the rendered charts' per-role overrides
//! select on, so a node gets role-specific agents only once `node` has seen it.

use std::collections::BTreeMap;

use rockoon_core::names::openstack_role_labels;

/// Value of the placement labels that give a role.
pub const ENABLED: &str = "enabled";
/// Value of every internal label.
pub const INTERNAL_VALUE: &str = "controller";
/// Prefix of the internal labels.
pub const INTERNAL_PREFIX: &str = "rockoon-";

/// OpenStack roles a node's labels give it (`<label>=enabled`, the seed's placement labels).
pub fn openstack_roles(labels: &BTreeMap<String, String>) -> Vec<&'static str> {
    openstack_role_labels()
        .filter(|(label, _)| labels.get(*label).is_some_and(|v| v == ENABLED))
        .map(|(_, role)| role)
        .collect()
}

/// Every internal label key this binary manages, whether the node should carry it or not.
pub fn internal_keys() -> impl Iterator<Item = String> {
    openstack_role_labels().map(|(label, _)| format!("{INTERNAL_PREFIX}{label}"))
}

/// The internal labels a node with `labels` should carry.
pub fn desired_internal(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    openstack_role_labels()
        .filter(|(label, _)| labels.get(*label).is_some_and(|v| v == ENABLED))
        .map(|(label, _)| {
            (
                format!("{INTERNAL_PREFIX}{label}"),
                INTERNAL_VALUE.to_owned(),
            )
        })
        .collect()
}

/// Internal labels the node carries but should not (left by an earlier role or by Rockoon).
pub fn stale_internal(labels: &BTreeMap<String, String>) -> Vec<String> {
    let desired = desired_internal(labels);
    internal_keys()
        .filter(|key| labels.contains_key(key) && !desired.contains_key(key))
        .collect()
}

/// Whether the node's internal labels are exactly the desired ones.
pub fn labels_settled(labels: &BTreeMap<String, String>) -> bool {
    let desired = desired_internal(labels);
    desired.iter().all(|(k, v)| labels.get(k) == Some(v)) && stale_internal(labels).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn roles_come_from_enabled_placement_labels_only() {
        let labels = labels(&[
            ("openstack-compute-node", "enabled"),
            ("openvswitch", "enabled"),
            ("openstack-gateway", "disabled"),
        ]);
        assert_eq!(openstack_roles(&labels), vec!["compute"]);
    }

    #[test]
    fn each_role_gets_its_internal_label_and_openvswitch_none() {
        let labels = labels(&[
            ("openstack-compute-node", "enabled"),
            ("openstack-control-plane", "enabled"),
            ("openvswitch", "enabled"),
        ]);
        assert_eq!(
            desired_internal(&labels),
            BTreeMap::from([
                (
                    "rockoon-openstack-compute-node".to_owned(),
                    "controller".to_owned()
                ),
                (
                    "rockoon-openstack-control-plane".to_owned(),
                    "controller".to_owned()
                ),
            ])
        );
    }

    #[test]
    fn an_internal_label_without_its_role_is_stale() {
        let labels = labels(&[
            ("rockoon-openstack-gateway", "controller"),
            ("rockoon-unrelated", "x"),
            ("openstack-compute-node", "enabled"),
        ]);
        assert_eq!(stale_internal(&labels), vec!["rockoon-openstack-gateway"]);
        assert!(!labels_settled(&labels));
    }

    #[test]
    fn odd_label_values_give_no_role_and_a_wrong_internal_value_is_unsettled() {
        let odd = labels(&[
            ("openstack-compute-node", "Enabled"),
            ("openstack-control-plane", ""),
        ]);
        assert!(openstack_roles(&odd).is_empty());
        assert!(labels_settled(&odd));
        let wrong = labels(&[
            ("openstack-compute-node", "enabled"),
            ("rockoon-openstack-compute-node", "yes"),
        ]);
        assert!(!labels_settled(&wrong));
    }
}
