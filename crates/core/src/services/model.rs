//! The shape of a service descriptor and of the facts it declares.

use serde::Serialize;

use crate::crd::osdpl::Preset;

/// One service of `features.services`: everything the suite needs to know about it besides
/// its template and images.
#[derive(Debug)]
pub struct Service {
    /// Name in `features.services` (also the template's file name).
    pub name: &'static str,
    /// Other names enabling the same service (Rockoon's newer or older spellings).
    pub aliases: &'static [&'static str],
    /// Apply stage: 0 infra, 1 identity, 2 everything else.
    pub stage: u8,
    /// Whether its releases hold data that removing them deletes (databases, queues, locks):
    /// removing it takes an explicit confirmation (see `render::removals`).
    pub stateful: bool,
    /// The OpenStack project (readable generated usernames start with it).
    pub project: &'static str,
    /// The `features.<section>` that configures only this service, if any: a secret
    /// referenced from there re-renders this service alone.
    pub feature: Option<&'static str>,
    /// The charts its releases may use.
    pub charts: &'static [Chart],
    /// Generated credentials that must exist before it renders, in groups (see [`API`]).
    pub credentials: &'static [&'static [Credential]],
    /// The presets whose base spec enables it.
    pub presets: &'static [Preset],
}

impl Service {
    /// Every generated credential it needs, in declaration order.
    pub fn all_credentials(&self) -> impl Iterator<Item = Credential> + '_ {
        self.credentials
            .iter()
            .flat_map(|group| group.iter().copied())
    }
}

/// What an OpenStack API service needs: a database user, a RabbitMQ user, a Keystone user and
/// the memcache key of its token cache.
pub const API: &[Credential] = &[
    Credential::Database,
    Credential::Messaging,
    Credential::Identity,
    Credential::MemcacheKey,
];
/// The password of the chart's `<chart>-test` Keystone user (its helm test pod).
pub const TESTED: &[Credential] = &[Credential::Secret("test_password")];
/// The user of the notifications RabbitMQ instance, shared by every publisher.
pub const NOTIFYING: &[Credential] = &[Credential::Shared("notifications_password")];
/// The metadata proxy secret nova and neutron must agree on.
pub const METADATA_PROXY: &[Credential] = &[Credential::Shared("metadata_proxy_secret")];

/// The presets enabling a service of a minimal cloud.
pub const CORE_AND_COMPUTE: &[Preset] = &[Preset::Core, Preset::Compute];
/// The presets enabling a service only the `compute` preset adds.
pub const COMPUTE_ONLY: &[Preset] = &[Preset::Compute];
/// Enabled by no preset: only when the user lists it.
pub const NO_PRESET: &[Preset] = &[];

/// A chart a service deploys.
#[derive(Debug)]
pub struct Chart {
    /// Chart name.
    pub name: &'static str,
    /// Where it comes from.
    pub group: ChartGroup,
    /// The public APIs its Services serve (routed by the `ingress` service).
    pub public_apis: &'static [PublicApi],
}

impl Chart {
    /// An OpenStack service chart without public APIs.
    pub const fn openstack(name: &'static str) -> Self {
        Self {
            name,
            group: ChartGroup::Openstack,
            public_apis: &[],
        }
    }

    /// An infrastructure chart without public APIs.
    pub const fn infra(name: &'static str) -> Self {
        Self {
            name,
            group: ChartGroup::Infra,
            public_apis: &[],
        }
    }
}

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

    /// The service that serves this credential's account (a database user needs `database`),
    /// if another service does.
    pub fn provider(self) -> Option<&'static str> {
        match self {
            Credential::Database => Some("database"),
            Credential::Messaging => Some("messaging"),
            Credential::Identity => Some("identity"),
            Credential::MemcacheKey => Some("memcached"),
            Credential::Secret(_) | Credential::Shared(_) => None,
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

/// One public API of a chart: the endpoint whose public host is routed, and the Service the
/// chart creates for it (name from `hosts.<internal|default>`, port from
/// `port.<port>.<lookup|default>`, as helm-toolkit looks them up). Facts read from the pinned
/// charts' `values.yaml` and service templates.
#[derive(Debug)]
pub struct PublicApi {
    /// `endpoints.<endpoint>` key.
    pub endpoint: &'static str,
    /// The chart's `endpoints.<endpoint>.hosts.default`.
    pub host_default: &'static str,
    /// The chart's `endpoints.<endpoint>.hosts.internal`, when it has one.
    pub host_internal: Option<&'static str>,
    /// Port name under `endpoints.<endpoint>.port`.
    pub port: &'static str,
    /// Which endpoint type the chart's Service port looks up (`service` or `internal`).
    pub port_lookup: &'static str,
    /// The chart's value of `port.<port>.<port_lookup>`, when it has one.
    pub port_typed: Option<u16>,
    /// The chart's `port.<port>.default`.
    pub port_default: u16,
    /// Conditions for the chart to create the Service: `(values pointer, expected value, chart
    /// default)`, compared as strings.
    pub when: &'static [(&'static str, &'static str, &'static str)],
}

/// The usual condition of an API Service: `manifests.service_api` (default true).
pub const SERVICE_API: &[(&str, &str, &str)] = &[("/manifests/service_api", "true", "true")];

impl PublicApi {
    /// An API whose Service port looks up the `service` endpoint type, with no typed port.
    pub const fn new(
        endpoint: &'static str,
        host_default: &'static str,
        port: &'static str,
        port_default: u16,
        when: &'static [(&'static str, &'static str, &'static str)],
    ) -> Self {
        Self {
            endpoint,
            host_default,
            host_internal: None,
            port,
            port_lookup: "service",
            port_typed: None,
            port_default,
            when,
        }
    }

    /// With the chart's typed port value (`port.<port>.<lookup>`).
    pub const fn typed(self, port: u16) -> Self {
        Self {
            port_typed: Some(port),
            ..self
        }
    }

    /// With the port looked up under the `internal` endpoint type.
    pub const fn internal_port(self) -> Self {
        Self {
            port_lookup: "internal",
            ..self
        }
    }

    /// With the chart's `hosts.internal`.
    pub const fn internal_host(self, host: &'static str) -> Self {
        Self {
            host_internal: Some(host),
            ..self
        }
    }
}
