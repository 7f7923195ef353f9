//! Names of the services an OSDPL may enable in `features.services`.
//!
//! The render engine maps each name to Helm releases; here the names alone feed the CRD's CEL
//! rule, so an unknown service is refused by the API server at `kubectl apply` time.

/// Every service name accepted in `features.services` (Rockoon's list plus the two the presets
/// add, so that `~descheduler` or `~app-gateway` can remove them). `app-gateway` is rendered
/// as an alias of `ingress` (see `render::catalog::ALIASES`).
pub const KNOWN_SERVICES: &[&str] = &[
    "alarming",
    "app-gateway",
    "baremetal",
    "block-storage",
    "cloudprober",
    "compute",
    "coordination",
    "dashboard",
    "database",
    "descheduler",
    "dns",
    "dynamic-resource-balancer",
    "event",
    "identity",
    "image",
    "ingress",
    "instance-ha",
    "key-manager",
    "load-balancer",
    "memcached",
    "messaging",
    "metering",
    "metric",
    "metric-storage",
    "networking",
    "object-storage",
    "orchestration",
    "placement",
    "redis",
    "shared-file-system",
    "stepler",
    "tempest",
];

/// Whether `entry` (a `features.services` item, possibly `~name`) names a known service.
pub fn is_known_service_entry(entry: &str) -> bool {
    let name = entry.strip_prefix('~').unwrap_or(entry);
    KNOWN_SERVICES.contains(&name)
}

/// CEL rule for one `features.services` item, naming the item when it is unknown.
///
/// The rule sits on the items rather than the list so the API server's cost estimate stays
/// small and its error names the offending index.
pub fn service_entry_rule() -> serde_json::Value {
    let list = KNOWN_SERVICES
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(",");
    serde_json::json!({
        "rule": format!("(self.startsWith('~') ? self.substring(1) : self) in [{list}]"),
        "messageExpression": "'unknown service ' + self + ' in features.services'",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_entries_of_known_services_are_accepted() {
        assert!(is_known_service_entry("identity"));
        assert!(is_known_service_entry("~descheduler"));
        assert!(!is_known_service_entry("~~identity"));
        assert!(!is_known_service_entry("frobnicator"));
    }

    #[test]
    fn service_rule_lists_every_known_service() {
        let rule = service_entry_rule()["rule"].as_str().unwrap().to_owned();
        for name in KNOWN_SERVICES {
            assert!(
                rule.contains(&format!("'{name}'")),
                "{name} missing from the CEL rule"
            );
        }
    }
}
