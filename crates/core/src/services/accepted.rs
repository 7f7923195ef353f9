//! The names accepted in `features.services`, for the CRD's CEL rule: an unknown service is
//! refused by the API server at `kubectl apply` time. Derived from the descriptors plus the
//! Rockoon services this version does not render (so `~descheduler` can remove one).

use super::known_names;

/// Whether `entry` (a `features.services` item, possibly `~name`) names a known service.
pub fn is_known_service_entry(entry: &str) -> bool {
    let name = entry.strip_prefix('~').unwrap_or(entry);
    known_names().contains(&name)
}

/// CEL rule for one `features.services` item, naming the item when it is unknown.
///
/// The rule sits on the items rather than the list so the API server's cost estimate stays
/// small and its error names the offending index.
pub fn service_entry_rule() -> serde_json::Value {
    let list = known_names()
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
        assert!(is_known_service_entry("app-gateway"));
        assert!(!is_known_service_entry("~~identity"));
        assert!(!is_known_service_entry("frobnicator"));
    }

    #[test]
    fn service_rule_lists_every_known_service() {
        let rule = service_entry_rule()["rule"].as_str().unwrap().to_owned();
        for name in known_names().iter() {
            assert!(
                rule.contains(&format!("'{name}'")),
                "{name} missing from the CEL rule"
            );
        }
    }
}
