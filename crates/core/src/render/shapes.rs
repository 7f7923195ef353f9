//! The types of the `features` settings the templates read. The CRD keeps most of `features`
//! open (Rockoon's objects carry many keys this version does not read), so a wrong type deep
//! inside (`features.database.cleanup.nova.enabled: "yes"`) would otherwise reach a template
//! and be used as whatever it happens to be. Each setting a template reads is checked here
//! first; a wrong type is an invalid spec naming its path.

use serde_json::Value;

use super::RenderError;

/// The JSON type a setting must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Text,
    Integer,
    List,
    Map,
}

use Kind::*;

/// `(path under the merged spec, type)`; `*` matches any key of a map.
const SHAPES: &[(&str, Kind)] = &[
    ("features.logging.*", Map),
    ("features.logging.*.level", Text),
    ("features.logging.cadf.enabled", Bool),
    ("features.logging.cadf.driver", Text),
    ("features.messaging.notifications.external.enabled", Bool),
    ("features.messaging.notifications.external.topics", List),
    ("features.policies.*", Map),
    ("features.policies.strict_admin.enabled", Bool),
    ("features.database.backup.enabled", Bool),
    ("features.database.backup.schedule_time", Text),
    ("features.database.backup.backend", Text),
    (
        "features.keystone.domain_specific_configuration.enabled",
        Bool,
    ),
    (
        "features.keystone.domain_specific_configuration.domains",
        List,
    ),
    (
        "features.keystone.domain_specific_configuration.ks_domains",
        Map,
    ),
    (
        "features.keystone.domain_specific_configuration.ks_domains.*",
        Map,
    ),
    (
        "features.keystone.domain_specific_configuration.ks_domains.*.enabled",
        Bool,
    ),
    (
        "features.keystone.domain_specific_configuration.ks_domains.*.config",
        Map,
    ),
    ("features.database.cleanup.*", Map),
    ("features.database.cleanup.*.enabled", Bool),
    ("features.database.cleanup.*.schedule", Text),
    ("features.database.cleanup.*.age", Integer),
    ("features.database.cleanup.*.batch", Integer),
    ("features.neutron.tenant_network_types", List),
    ("features.neutron.external_networks", List),
    ("features.neutron.extensions", Map),
    ("features.neutron.extensions.*.enabled", Bool),
    ("features.neutron.dns_servers", List),
    ("features.nova.images.lvm.volume_group", Text),
    ("features.keystone.users.admin.project_name", Text),
    ("features.nova.images.encryption.enabled", Bool),
    ("features.nova.images.encryption.cipher", Text),
    ("features.nova.images.encryption.key_size", Integer),
    ("features.neutron.floating_network.enabled", Bool),
    ("features.neutron.floating_network.name", Text),
    ("features.neutron.floating_network.physnet", Text),
    ("features.neutron.floating_network.network_type", Text),
    ("features.neutron.floating_network.segmentation_id", Integer),
    ("features.neutron.floating_network.subnet", Map),
    ("features.neutron.floating_network.router", Map),
    ("features.glance.backends", Map),
    ("features.glance.signature.enabled", Bool),
    ("features.glance.signature.certificate_validation", Bool),
    ("features.cinder.volume.backends", Map),
    ("features.cinder.backup.enabled", Bool),
    ("features.cinder.backup.drivers", Map),
    ("features.barbican.backends.vault.enabled", Bool),
    ("features.barbican.backends.vault.vault_url", Text),
    ("features.barbican.backends.vault.use_ssl", Bool),
    ("features.barbican.backends.vault.namespace", Text),
    ("features.barbican.backends.vault.kv_mountpoint", Text),
    ("features.designate.backend.type", Text),
    ("features.designate.backend.protocol", Text),
    ("features.designate.backend.external_ip", Text),
    ("features.neutron.bgpvpn.enabled", Bool),
    ("features.neutron.bgpvpn.as_number", Integer),
    ("features.neutron.bgpvpn.peers", List),
    ("features.neutron.bgpvpn.control_interface", Text),
    ("features.neutron.bgpvpn.dataplane_interface", Text),
    ("features.neutron.bgpvpn.evpn_vxlan_port", Integer),
    ("features.octavia.default_provider", Text),
    ("features.octavia.lb_network.name", Text),
    ("features.octavia.lb_network.subnets", List),
    ("features.masakari.monitors.introspective", Map),
];

/// An error for the first setting of `merged` whose type is not the one its template reads.
pub fn check(merged: &Value) -> Result<(), RenderError> {
    for (pattern, kind) in SHAPES {
        let parts: Vec<&str> = pattern.split('.').collect();
        check_at(merged, &parts, &mut "spec".to_owned(), *kind)?;
    }
    Ok(())
}

fn check_at(
    value: &Value,
    parts: &[&str],
    path: &mut String,
    kind: Kind,
) -> Result<(), RenderError> {
    let Some((first, rest)) = parts.split_first() else {
        return if value.is_null() || matches_kind(value, kind) {
            Ok(())
        } else {
            Err(RenderError::InvalidSpec {
                path: path.clone(),
                message: format!(
                    "must be {}, not {}",
                    describe(kind),
                    crate::values::merge::type_name(value)
                ),
            })
        };
    };
    let Some(map) = value.as_object() else {
        // A wrong type higher up is checked by its own entry (or by the CRD).
        return Ok(());
    };
    let children: Vec<(&String, &Value)> = match *first {
        "*" => map.iter().collect(),
        key => map.get_key_value(key).into_iter().collect(),
    };
    for (key, child) in children {
        let len = path.len();
        path.push('.');
        path.push_str(key);
        check_at(child, rest, path, kind)?;
        path.truncate(len);
    }
    Ok(())
}

fn matches_kind(value: &Value, kind: Kind) -> bool {
    match kind {
        Bool => value.is_boolean(),
        Text => value.is_string(),
        Integer => value.is_i64() || value.is_u64(),
        List => value.is_array(),
        Map => value.is_object(),
    }
}

fn describe(kind: Kind) -> &'static str {
    match kind {
        Bool => "true or false",
        Text => "a string",
        Integer => "an integer",
        List => "a list",
        Map => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_wrong_type_deep_in_features_names_its_path() {
        let merged = json!({"features": {"database": {"cleanup": {"nova": {"enabled": "yes"}}}}});
        let error = check(&merged).unwrap_err().to_string();
        assert_eq!(
            error,
            "invalid spec at spec.features.database.cleanup.nova.enabled: must be true or false, \
             not a string"
        );
        let merged = json!({"features": {"logging": {"nova": {"level": 5}}}});
        assert!(
            check(&merged)
                .unwrap_err()
                .to_string()
                .contains("spec.features.logging.nova.level")
        );
    }

    #[test]
    fn right_types_absent_keys_and_nulls_pass() {
        let merged = json!({"features": {
            "database": {"cleanup": {"nova": {"enabled": true, "schedule": "1 0 * * *", "age": 30}}},
            "logging": {"nova": {"level": "DEBUG"}, "cadf": {"enabled": true}},
            "neutron": {"dns_servers": ["10.0.0.1"], "extensions": null},
        }});
        check(&merged).unwrap();
        check(&json!({})).unwrap();
    }
}
