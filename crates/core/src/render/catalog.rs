//! Which services exist, which charts they deploy, what they need, and in which order.

use serde::Serialize;
use serde_json::Value;

use super::RenderError;

/// Where a chart comes from: the OpenStack service charts or the infrastructure charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChartGroup {
    /// OpenStack service charts (keystone, nova, ...).
    Openstack,
    /// Infrastructure charts (mariadb, rabbitmq, memcached, ...).
    Infra,
}

impl ChartGroup {
    /// The key of this group under `spec.common`.
    pub fn key(self) -> &'static str {
        match self {
            ChartGroup::Openstack => "openstack",
            ChartGroup::Infra => "infra",
        }
    }
}

/// Generated credentials a service needs before it can render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A database user (`username`, `password`).
    Database,
    /// A RabbitMQ user on its messaging instance.
    Messaging,
    /// A Keystone service user.
    Identity,
    /// The memcached secret key.
    MemcacheKey,
    /// A generated secret of this service only (a plain string), by name.
    Secret(&'static str),
    /// A generated secret two services must agree on (a plain string), by name; looked up
    /// under the pseudo-service `shared`.
    Shared(&'static str),
}

impl Credential {
    /// The key of this credential in the service's (or the shared) credential tree.
    pub fn key(self) -> &'static str {
        match self {
            Credential::Database => "database",
            Credential::Messaging => "messaging",
            Credential::Identity => "identity",
            Credential::MemcacheKey => "memcache_secret_key",
            Credential::Secret(name) | Credential::Shared(name) => name,
        }
    }

    /// The service whose credential tree holds it: the service itself, or `shared`.
    pub fn owner(self, service: &'static str) -> &'static str {
        match self {
            Credential::Shared(_) => "shared",
            _ => service,
        }
    }
}

/// One service of `features.services`.
#[derive(Debug)]
pub struct ServiceDef {
    /// Name in `features.services`.
    pub name: &'static str,
    /// Apply stage: 0 infra, 1 identity, 2 everything else.
    pub stage: u8,
    /// Credentials that must exist before rendering.
    pub credentials: &'static [Credential],
}

use Credential::*;

/// Every service this version renders, in catalog order (the order within a stage).
pub const SERVICES: &[ServiceDef] = &[
    service(
        "database",
        0,
        &[
            Secret("sst_password"),
            Secret("audit_password"),
            Secret("exporter_password"),
        ],
    ),
    service(
        "messaging",
        0,
        &[
            Secret("erlang_cookie"),
            // The chart's built-in `guest` administrator: never its well-known default.
            Secret("guest_password"),
            // The one user of the notifications instance that every service publishes as.
            Shared("notifications_password"),
        ],
    ),
    service("memcached", 0, &[]),
    service("coordination", 0, &[]),
    // Public exposure: no release of its own; an HTTPRoute per public API (see `routes`).
    service("ingress", 0, &[]),
    service(
        "identity",
        1,
        &[
            Database,
            Messaging,
            MemcacheKey,
            Secret("test_password"),
            Shared("notifications_password"),
        ],
    ),
    service("placement", 2, &[Database, Identity, MemcacheKey]),
    service(
        "image",
        2,
        &[
            Database,
            Messaging,
            Identity,
            MemcacheKey,
            Secret("test_password"),
            Shared("notifications_password"),
        ],
    ),
    service(
        "compute",
        2,
        &[
            Database,
            Messaging,
            Identity,
            MemcacheKey,
            Shared("metadata_proxy_secret"),
            Secret("test_password"),
            Shared("notifications_password"),
        ],
    ),
    service(
        "networking",
        2,
        &[
            Database,
            Messaging,
            Identity,
            MemcacheKey,
            Shared("metadata_proxy_secret"),
            Secret("test_password"),
            Shared("notifications_password"),
        ],
    ),
    service(
        "block-storage",
        2,
        &[
            Database,
            Messaging,
            Identity,
            MemcacheKey,
            Secret("test_password"),
            Shared("notifications_password"),
        ],
    ),
    service(
        "dashboard",
        2,
        &[Database, MemcacheKey, Secret("secret_key")],
    ),
    service(
        "orchestration",
        2,
        &[
            Database,
            Messaging,
            Identity,
            MemcacheKey,
            Secret("test_password"),
            Shared("notifications_password"),
        ],
    ),
    service(
        "dns",
        2,
        &[
            Database,
            Messaging,
            Identity,
            MemcacheKey,
            Secret("powerdns_api_key"),
            Secret("test_password"),
        ],
    ),
    service(
        "load-balancer",
        2,
        &[
            Database,
            Messaging,
            Identity,
            MemcacheKey,
            Secret("heartbeat_key"),
            Secret("ca_passphrase"),
            Secret("test_password"),
            Shared("notifications_password"),
        ],
    ),
    service(
        "key-manager",
        2,
        &[Database, Messaging, Identity, MemcacheKey, Secret("kek")],
    ),
    service("object-storage", 2, &[Identity]),
    service(
        "instance-ha",
        2,
        &[
            Database,
            Messaging,
            Identity,
            MemcacheKey,
            Secret("test_password"),
        ],
    ),
    service(
        "shared-file-system",
        2,
        &[
            Database,
            Messaging,
            Identity,
            MemcacheKey,
            Secret("service_instance_password"),
            Secret("test_password"),
            Shared("notifications_password"),
        ],
    ),
    service("tempest", 2, &[Identity]),
];

/// Other names of a service in `features.services`: `(alias, service)`. Rockoon's newer name
/// of the public exposure service is `app-gateway`; both enable the same service.
pub const ALIASES: &[(&str, &str)] = &[("app-gateway", "ingress")];

/// The service a `features.services` name stands for (itself, or the aliased service).
pub fn canonical_name(name: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, service)| service)
}

const fn service(name: &'static str, stage: u8, credentials: &'static [Credential]) -> ServiceDef {
    ServiceDef {
        name,
        stage,
        credentials,
    }
}

/// Group of each chart the service templates may name.
pub fn chart_group(chart: &str) -> ChartGroup {
    match chart {
        "mariadb" | "rabbitmq" | "memcached" | "etcd" | "libvirt" | "openvswitch" | "ovn"
        | "powerdns" | "ceph-rgw" => ChartGroup::Infra,
        _ => ChartGroup::Openstack,
    }
}

/// The enabled services of a merged spec, in apply order; unknown names are errors naming
/// their place in `features.services`.
pub fn enabled_services(merged: &Value) -> Result<Vec<&'static ServiceDef>, RenderError> {
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
        if let Some(def) = def.filter(|d| !enabled.iter().any(|e: &&ServiceDef| e.name == d.name)) {
            enabled.push(def);
        }
    }
    enabled.sort_by_key(|def| (def.stage, SERVICES.iter().position(|s| s.name == def.name)));
    Ok(enabled)
}

/// Checks one `features.services` entry at `path`: the service it enables, `None` for a
/// `~name` removal of a known service, or an error naming the path.
pub fn check_entry(path: &str, item: &Value) -> Result<Option<&'static ServiceDef>, RenderError> {
    let Some(entry) = item.as_str() else {
        return Err(RenderError::InvalidSpec {
            path: path.to_owned(),
            message: format!("{item} is not a service name"),
        });
    };
    let name = entry.strip_prefix('~').unwrap_or(entry);
    let def = SERVICES.iter().find(|s| s.name == canonical_name(name));
    if def.is_none() && !(entry.starts_with('~') && crate::catalog::is_known_service_entry(entry)) {
        let hint = if crate::catalog::is_known_service_entry(name) {
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
        for service in SERVICES {
            assert!(
                crate::catalog::is_known_service_entry(service.name),
                "{}",
                service.name
            );
        }
    }
}
