//! Which services a merged spec enables, checked against the service descriptors
//! ([`crate::services`]), in apply order.

use serde_json::Value;

use super::RenderError;
use crate::services::{self, Service};

/// The enabled services of a merged spec, in apply order; unknown names are errors naming
/// their place in `features.services`.
pub fn enabled_services(merged: &Value) -> Result<Vec<&'static Service>, RenderError> {
    let list = match merged.pointer("/features/services") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(RenderError::InvalidSpec {
                path: "spec.features.services".into(),
                message: "must be a list of service names".into(),
            });
        }
    };
    let mut enabled = Vec::new();
    for (index, item) in list.iter().enumerate() {
        let def = check_entry(&format!("spec.features.services[{index}]"), item)?;
        if let Some(def) = def.filter(|d| !enabled.iter().any(|e: &&Service| e.name == d.name)) {
            enabled.push(def);
        }
    }
    enabled.sort_by_key(|def| {
        (
            def.stage,
            services::ALL.iter().position(|s| s.name == def.name),
        )
    });
    Ok(enabled)
}

/// Checks one `features.services` entry at `path`: the service it enables, `None` for a
/// `~name` removal of a known service, or an error naming the path.
pub fn check_entry(path: &str, item: &Value) -> Result<Option<&'static Service>, RenderError> {
    let Some(entry) = item.as_str() else {
        return Err(RenderError::InvalidSpec {
            path: path.to_owned(),
            message: format!("{item} is not a service name"),
        });
    };
    let name = entry.strip_prefix('~').unwrap_or(entry);
    let def = services::find(name);
    if def.is_none() && !(entry.starts_with('~') && crate::services::is_known_service_entry(entry))
    {
        let hint = if crate::services::is_known_service_entry(name) {
            " (a Rockoon service this version does not render)".to_owned()
        } else {
            String::new()
        };
        return Err(RenderError::UnknownService {
            path: path.to_owned(),
            name: name.to_owned(),
            hint,
        });
    }
    Ok(if entry.starts_with('~') { None } else { def })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn services_come_out_infra_first_then_identity_then_the_rest() {
        let spec =
            json!({"features": {"services": ["compute", "identity", "memcached", "database"]}});
        let names: Vec<_> = enabled_services(&spec)
            .unwrap()
            .iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, vec!["database", "memcached", "identity", "compute"]);
    }

    #[test]
    fn an_unknown_service_is_an_error_naming_its_index() {
        let spec = json!({"features": {"services": ["identity", "frobnicator"]}});
        let error = enabled_services(&spec).unwrap_err();
        assert_eq!(
            error.to_string(),
            "spec.features.services[1]: unknown service \"frobnicator\""
        );
    }

    #[test]
    fn a_rockoon_service_not_rendered_here_says_so() {
        let spec = json!({"features": {"services": ["redis"]}});
        assert!(
            enabled_services(&spec)
                .unwrap_err()
                .to_string()
                .contains("does not render")
        );
    }

    #[test]
    fn app_gateway_and_ingress_enable_the_one_exposure_service() {
        for services in [
            json!(["app-gateway"]),
            json!(["ingress"]),
            json!(["ingress", "app-gateway"]),
        ] {
            let spec = json!({"features": {"services": services}});
            let names: Vec<_> = enabled_services(&spec)
                .unwrap()
                .iter()
                .map(|s| s.name)
                .collect();
            assert_eq!(names, vec!["ingress"], "{spec}");
        }
        let spec = json!({"features": {"services": ["identity", "~app-gateway"]}});
        assert_eq!(enabled_services(&spec).unwrap().len(), 1);
    }

    #[test]
    fn every_catalog_service_is_a_known_service_name() {
        for service in services::ALL {
            assert!(
                crate::services::is_known_service_entry(service.name),
                "{}",
                service.name
            );
        }
    }
}
