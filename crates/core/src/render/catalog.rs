//! Which services a merged spec enables, checked against the service descriptors
//! ([`crate::services`]), in apply order.

use serde_json::Value;

use super::RenderError;
use crate::crd::osdpl::{OpenStackVersion, Preset};
use crate::services::{self, Service, rockoon};

/// The enabled services of a merged spec that this version renders, in apply order; unknown
/// names are errors naming their place in `features.services`. Enabled services it cannot
/// render are left out here and listed by [`unsupported_services`].
pub fn enabled_services(merged: &Value) -> Result<Vec<&'static Service>, RenderError> {
    let mut enabled = Vec::new();
    for (index, item) in service_list(merged)?.iter().enumerate() {
        let def = check_entry(&format!("spec.features.services[{index}]"), item)?;
        let def = def.filter(|d| refusal(merged, d.name).is_none());
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

/// The enabled services of a merged spec this version cannot render, each with why: Rockoon
/// services without a descriptor, and services outside Rockoon's per-release rules. Sorted by
/// name.
pub fn unsupported_services(merged: &Value) -> Result<Vec<(String, String)>, RenderError> {
    let mut found: Vec<(String, String)> = Vec::new();
    for (index, item) in service_list(merged)?.iter().enumerate() {
        let path = format!("spec.features.services[{index}]");
        let Some(entry) = item.as_str().filter(|e| !e.starts_with('~')) else {
            continue;
        };
        let name = services::canonical_name(entry);
        let why = match check_entry(&path, item)? {
            Some(def) => refusal(merged, def.name),
            None => Some(
                rockoon::not_rendered(name)
                    .unwrap_or("a Rockoon service this version does not render")
                    .to_owned(),
            ),
        };
        if let Some(why) = why.filter(|_| !found.iter().any(|(n, _)| n == name)) {
            found.push((name.to_owned(), why));
        }
    }
    found.sort();
    Ok(found)
}

fn service_list(merged: &Value) -> Result<&[Value], RenderError> {
    match merged.pointer("/features/services") {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(RenderError::InvalidSpec {
            path: "spec.features.services".into(),
            message: "must be a list of service names".into(),
        }),
    }
}

/// Why the merged spec's release or preset rules out `service`, if they do (a spec without
/// them, e.g. a bare service list, rules out nothing).
fn refusal(merged: &Value, service: &str) -> Option<String> {
    fn field<T: serde::de::DeserializeOwned>(merged: &Value, key: &str) -> Option<T> {
        serde_json::from_value(merged.get(key)?.clone()).ok()
    }
    let backend = merged
        .pointer("/features/neutron/backend")
        .and_then(Value::as_str);
    if let Some(why) = rockoon::backend_refusal(service, backend) {
        return Some(why);
    }
    let version: OpenStackVersion = field(merged, "openstack_version")?;
    let preset: Preset = field(merged, "preset").unwrap_or(Preset::Compute);
    rockoon::refusal(service, version, preset)
}

/// Checks one `features.services` entry at `path`: the service it enables, `None` for a
/// `~name` removal or a Rockoon service without a descriptor, or an error naming the path
/// when the name is no service at all.
pub fn check_entry(path: &str, item: &Value) -> Result<Option<&'static Service>, RenderError> {
    let Some(entry) = item.as_str() else {
        return Err(RenderError::InvalidSpec {
            path: path.to_owned(),
            message: format!("{item} is not a service name"),
        });
    };
    let name = entry.strip_prefix('~').unwrap_or(entry);
    if !services::is_known_service_entry(entry) {
        return Err(RenderError::UnknownService {
            path: path.to_owned(),
            name: name.to_owned(),
            hint: String::new(),
        });
    }
    Ok(if entry.starts_with('~') {
        None
    } else {
        services::find(name)
    })
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
    fn a_rockoon_service_not_rendered_here_is_listed_with_why_and_the_rest_stays_enabled() {
        let spec =
            json!({"features": {"services": ["identity", "redis", "stepler", "~descheduler"]}});
        let names: Vec<_> = enabled_services(&spec)
            .unwrap()
            .iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, vec!["identity"]);
        let unsupported = unsupported_services(&spec).unwrap();
        let listed: Vec<&str> = unsupported.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(listed, vec!["redis", "stepler"]);
        assert!(unsupported[1].1.contains("stepler"), "{unsupported:?}");
    }

    #[test]
    fn a_service_outside_its_releases_is_unsupported_not_rendered() {
        let spec = json!({"openstack_version": "ussuri", "preset": "compute",
            "features": {"services": ["identity", "instance-ha"]}});
        assert_eq!(enabled_services(&spec).unwrap().len(), 1);
        let unsupported = unsupported_services(&spec).unwrap();
        assert_eq!(unsupported[0].0, "instance-ha");
        assert!(
            unsupported[0].1.contains("from victoria"),
            "{unsupported:?}"
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
