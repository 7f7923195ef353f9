//! Names of the services an OSDPL may enable in `features.services`.
//!
//! The render engine maps each name to Helm releases; here the names alone feed the CRD's CEL
//! rule, so an unknown service is refused by the API server at `kubectl apply` time.

/// Every service name accepted in `features.services` (Rockoon's list plus the two the presets
/// add, so that `~descheduler` or `~app-gateway` can remove them).
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

/// CEL rule refusing unknown entries in `features.services`, naming them in the message.
pub fn service_list_rule() -> kube::core::Rule {
    let list = KNOWN_SERVICES
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(",");
    let known = format!("(s.startsWith('~') ? s.substring(1) : s) in [{list}]");
    kube::core::Rule::new(format!("self.all(s, {known})")).message(kube::core::Message::Expression(
        format!("'unknown service(s) in features.services: ' + self.filter(s, !({known})).join(', ')"),
    ))
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
        let rule = service_list_rule();
        for name in KNOWN_SERVICES {
            assert!(rule.rule.contains(&format!("'{name}'")), "{name} missing from the CEL rule");
        }
    }
}
