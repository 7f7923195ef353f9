//! Refusing a set of enabled services that would break the cloud or destroy data, before
//! anything renders (so nothing is applied or uninstalled):
//!
//! - every enabled service's providers must be enabled too: a service with a database user
//!   needs `database`, with a RabbitMQ user `messaging`, with a Keystone user `identity`, with a
//!   memcache key `memcached` (from the descriptors' credentials). `~database` while identity
//!   is enabled is refused naming every dependent;
//! - removing a stateful service (`~database`, `~messaging`) uninstalls its
//!   data with it, so the OSDPL must confirm it with the annotation
//!   `lcm.mirantis.com/confirm-removal: <service>[,<service>…]`.

use serde_json::Value;

use super::RenderError;
use crate::names::CONFIRM_REMOVAL_ANNOTATION;
use crate::services::{self, Service};

/// Checks the enabled services (`enabled`, from the merged spec) against the user's spec.
pub fn check(user: &Value, enabled: &[&Service], confirmed: &[String]) -> Result<(), RenderError> {
    check_providers(enabled)?;
    check_stateful_removals(user, confirmed)
}

fn check_providers(enabled: &[&Service]) -> Result<(), RenderError> {
    let is_enabled = |name: &str| enabled.iter().any(|s| s.name == name);
    let mut problems = Vec::new();
    for provider in ["database", "messaging", "memcached", "identity"] {
        if is_enabled(provider) {
            continue;
        }
        let dependents: Vec<&str> = enabled
            .iter()
            .filter(|s| s.all_credentials().any(|c| c.provider() == Some(provider)))
            .map(|s| s.name)
            .collect();
        if !dependents.is_empty() {
            problems.push(format!(
                "{provider} is not enabled but {} need it: keep it, or remove them too",
                dependents.join(", ")
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(RenderError::InvalidSpec {
            path: "spec.features.services".into(),
            message: problems.join("; "),
        })
    }
}

fn check_stateful_removals(user: &Value, confirmed: &[String]) -> Result<(), RenderError> {
    let Some(Value::Array(items)) = user.pointer("/features/services") else {
        return Ok(());
    };
    for (index, item) in items.iter().enumerate() {
        let Some(name) = item.as_str().and_then(|s| s.strip_prefix('~')) else {
            continue;
        };
        let Some(service) = services::find(name).filter(|s| s.stateful) else {
            continue;
        };
        if !confirmed.iter().any(|c| c == service.name) {
            return Err(RenderError::InvalidSpec {
                path: format!("spec.features.services[{index}]"),
                message: format!(
                    "removing {} uninstalls its releases with their data; to confirm, annotate \
                     the OpenStackDeployment with {CONFIRM_REMOVAL_ANNOTATION}={}",
                    service.name, service.name
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn enabled(names: &[&str]) -> Vec<&'static Service> {
        names.iter().map(|n| services::find(n).unwrap()).collect()
    }

    #[test]
    fn removing_the_database_under_identity_and_compute_names_them() {
        let error = check_providers(&enabled(&["messaging", "memcached", "identity", "compute"]))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("invalid spec at spec.features.services: database is not enabled"),
            "{error}"
        );
        assert!(error.contains("identity, compute need it"), "{error}");
    }

    #[test]
    fn a_service_whose_providers_are_all_enabled_passes() {
        check_providers(&enabled(&[
            "database",
            "messaging",
            "memcached",
            "identity",
            "image",
        ]))
        .unwrap();
        check_providers(&enabled(&["memcached"])).unwrap();
    }

    #[test]
    fn removing_a_stateful_service_needs_the_confirmation_annotation() {
        let user = json!({"features": {"services": ["tempest", "~database"]}});
        let error = check_stateful_removals(&user, &[]).unwrap_err().to_string();
        assert!(
            error.starts_with("invalid spec at spec.features.services[1]: removing database"),
            "{error}"
        );
        assert!(
            error.contains("lcm.mirantis.com/confirm-removal=database"),
            "{error}"
        );
        check_stateful_removals(&user, &["database".to_owned()]).unwrap();
    }

    #[test]
    fn removing_a_stateless_service_needs_no_confirmation() {
        let user = json!({"features": {"services": ["~dashboard", "~memcached"]}});
        check_stateful_removals(&user, &[]).unwrap();
    }
}
