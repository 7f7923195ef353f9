//! Public exposure through the Gateway API: one `HTTPRoute` per public API, in the
//! `extraObjects` map of the release that serves it.
//!
//! Upstream OpenStack-Helm has no Ingress any more (removed 2026-06-16): a chart renders every
//! entry of its `extraObjects` map (through `tpl`), and public exposure is an `HTTPRoute` there.
//! When the `ingress` service (alias `app-gateway`) is enabled and `migration.ingress.state` is
//! not `absent`, this step runs on the rendered releases, after every values layer and before
//! the fingerprints:
//!
//! - per release, per public API of its chart ([`PUBLIC_APIS`]: chart facts, the Service name
//!   and port of each endpoint, read from the upstream `values.yaml` and service templates),
//!   an `HTTPRoute` `<endpoint>-public` under `extraObjects.<endpoint>_public_route`, when the
//!   release's values publish the endpoint (`endpoints.<endpoint>.host_fqdn_override.public`,
//!   which the service template sets: it stays the one place that says what is public) and
//!   the chart creates its Service. Host, Service name and port are read from the values, so
//!   overrides are followed;
//! - the route's parent is the configured Gateway ([`GatewaySettings`]), with `sectionName`
//!   `https` (or the configured section) when `features.ssl.public_endpoints` has a
//!   certificate;
//! - when the suite owns the Gateway (a Gateway class is configured), the identity release
//!   (`openstack-keystone`) also carries the `Gateway` (one HTTPS listener on 443) and, with a
//!   certificate in `features.ssl.public_endpoints`, the TLS Secret it terminates with.
//!
//! Every string written is a DNS name or a fixed word, and Secret data is base64: nothing
//! holds `{{`, which helm's `tpl` would evaluate.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::{Release, RenderError, ServiceOutcome};
use crate::values::{fingerprint, merge_into};

/// The Gateway the routes attach to, and whether the suite renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySettings {
    /// `parentRefs[0]` of every route.
    pub parent: ParentRef,
    /// When set, the suite owns the Gateway: it renders it with this `gatewayClassName` (and
    /// its TLS Secret) in the identity release. When unset, the platform provides it.
    pub class: Option<String>,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            parent: ParentRef {
                namespace: None,
                name: DEFAULT_GATEWAY.into(),
                section: None,
            },
            class: None,
        }
    }
}

/// Checks a `gatewayClassName` given on the command line (a lower-case DNS name).
pub fn gateway_class(text: &str) -> Result<String, String> {
    if is_dns_name(text) {
        Ok(text.to_owned())
    } else {
        Err(format!("{text:?} is not a lower-case DNS name"))
    }
}

/// Name of the Gateway when none is configured (in the releases' namespace).
pub const DEFAULT_GATEWAY: &str = "openstack-gateway";

/// A Gateway reference: `[<namespace>/]<name>[/<section>]` (namespace defaults to the
/// releases' namespace; section to `https` with TLS, else any listener).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentRef {
    /// Namespace of the Gateway; `None` is the releases' namespace.
    pub namespace: Option<String>,
    /// Name of the Gateway.
    pub name: String,
    /// Listener (`sectionName`) the routes attach to.
    pub section: Option<String>,
}

impl FromStr for ParentRef {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = text.split('/').collect();
        let (namespace, name, section) = match parts.as_slice() {
            [name] => (None, *name, None),
            [namespace, name] => (Some(*namespace), *name, None),
            [namespace, name, section] => (Some(*namespace), *name, Some(*section)),
            _ => {
                return Err(format!(
                    "{text:?}: expected [<namespace>/]<name>[/<section>]"
                ));
            }
        };
        // `ns//section` would leave the namespace to the default; say it instead.
        let namespace = namespace.filter(|n| !n.is_empty());
        for (what, part) in [
            ("namespace", namespace),
            ("name", Some(name)),
            ("section", section),
        ] {
            if let Some(part) = part
                && !is_dns_name(part)
            {
                return Err(format!(
                    "{text:?}: {what} {part:?} is not a lower-case DNS name"
                ));
            }
        }
        Ok(Self {
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
            section: section.map(str::to_owned),
        })
    }
}

impl fmt::Display for ParentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(namespace) = &self.namespace {
            write!(f, "{namespace}/")?;
        }
        write!(f, "{}", self.name)?;
        if let Some(section) = &self.section {
            write!(f, "/{section}")?;
        }
        Ok(())
    }
}

/// One public API of a chart: the endpoint whose public host is routed, and the Service the
/// chart creates for it (name from `hosts.<internal|default>`, port from
/// `port.<port>.<lookup|default>`, as helm-toolkit looks them up).
#[derive(Debug)]
pub struct PublicApi {
    /// Chart name.
    pub chart: &'static str,
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

const fn api(
    chart: &'static str,
    endpoint: &'static str,
    host_default: &'static str,
    port: &'static str,
    port_default: u16,
    when: &'static [(&'static str, &'static str, &'static str)],
) -> PublicApi {
    PublicApi {
        chart,
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

/// The public APIs of the upstream charts (snapshot of `../shared/openstack-helm`: each
/// chart's `values.yaml` `endpoints` and its `service*.yaml` templates).
pub const PUBLIC_APIS: &[PublicApi] = &[
    PublicApi {
        host_internal: Some("keystone-api"),
        port_typed: Some(5000),
        ..api("keystone", "identity", "keystone", "api", 80, SERVICE_API)
    },
    api("glance", "image", "glance-api", "api", 9292, SERVICE_API),
    PublicApi {
        port_typed: Some(8774),
        ..api(
            "nova",
            "compute",
            "nova-api",
            "api",
            8774,
            &[("/manifests/service_osapi", "true", "true")],
        )
    },
    PublicApi {
        port_lookup: "internal",
        ..api(
            "nova",
            "compute_novnc_proxy",
            "nova-novncproxy",
            "novnc_proxy",
            6080,
            &[
                ("/manifests/service_novncproxy", "true", "true"),
                ("/console/console_kind", "novnc", "novnc"),
            ],
        )
    },
    PublicApi {
        port_lookup: "internal",
        ..api(
            "nova",
            "compute_spice_proxy",
            "nova-spiceproxy",
            "spice_proxy",
            6082,
            &[
                ("/manifests/service_spiceproxy", "true", "true"),
                ("/console/console_kind", "spice", "novnc"),
            ],
        )
    },
    PublicApi {
        port_lookup: "internal",
        ..api(
            "nova",
            "compute_serial_proxy",
            "nova-serialproxy",
            "serial_proxy",
            6083,
            &[
                ("/manifests/service_serialproxy", "true", "true"),
                ("/console/console_kind", "serial", "novnc"),
            ],
        )
    },
    PublicApi {
        port_typed: Some(8778),
        ..api(
            "placement",
            "placement",
            "placement-api",
            "api",
            8778,
            &[("/manifests/service", "true", "true")],
        )
    },
    PublicApi {
        port_typed: Some(9696),
        ..api(
            "neutron",
            "network",
            "neutron-server",
            "api",
            9696,
            &[("/manifests/service_server", "true", "true")],
        )
    },
    api("cinder", "volumev3", "cinder-api", "api", 8776, SERVICE_API),
    PublicApi {
        port_typed: Some(8004),
        ..api(
            "heat",
            "orchestration",
            "heat-api",
            "api",
            8004,
            SERVICE_API,
        )
    },
    PublicApi {
        port_typed: Some(8000),
        ..api(
            "heat",
            "cloudformation",
            "heat-cfn",
            "api",
            8000,
            &[("/manifests/service_cfn", "true", "true")],
        )
    },
    PublicApi {
        port_lookup: "internal",
        ..api(
            "horizon",
            "dashboard",
            "horizon-int",
            "web",
            80,
            &[("/manifests/service", "true", "true")],
        )
    },
    api(
        "octavia",
        "load_balancer",
        "octavia-api",
        "api",
        9876,
        SERVICE_API,
    ),
    PublicApi {
        port_typed: Some(9311),
        ..api(
            "barbican",
            "key_manager",
            "barbican-api",
            "api",
            9311,
            SERVICE_API,
        )
    },
    PublicApi {
        port_lookup: "internal",
        ..api(
            "designate",
            "dns",
            "designate-api",
            "api",
            9001,
            SERVICE_API,
        )
    },
    api(
        "masakari",
        "instance_ha",
        "masakari-api",
        "api",
        15868,
        SERVICE_API,
    ),
    PublicApi {
        port_typed: Some(8786),
        ..api("manila", "sharev2", "manila-api", "api", 8786, SERVICE_API)
    },
    // Ceph runs the gateways: `host_fqdn_override.default` names their Service (in Ceph's
    // namespace), which the route then targets.
    PublicApi {
        port_lookup: "internal",
        ..api("ceph-rgw", "object_store", "ceph-rgw", "api", 8088, &[])
    },
];

const SERVICE_API: &[(&str, &str, &str)] = &[("/manifests/service_api", "true", "true")];

/// `extraObjects` key of the Gateway in the identity release.
pub const GATEWAY_KEY: &str = "public_gateway";
/// `extraObjects` key of the Gateway's TLS Secret in the identity release.
pub const GATEWAY_TLS_KEY: &str = "public_gateway_tls";

/// Adds the routes (and the owned Gateway) to the ready releases of `services`, when exposure
/// is on; recomputes the fingerprints of the releases it changes.
pub fn expose(
    services: &mut [(String, ServiceOutcome)],
    merged: &Value,
    gateway: &GatewaySettings,
) -> Result<(), RenderError> {
    let enabled = services.iter().any(|(name, outcome)| {
        name == "ingress" && matches!(outcome, ServiceOutcome::Ready { .. })
    });
    if !enabled || exposure_absent(merged) {
        return Ok(());
    }
    let tls = merged
        .pointer("/features/ssl/public_endpoints")
        .filter(|ssl| ssl.get("api_cert").is_some());
    for (service, outcome) in services.iter_mut() {
        let ServiceOutcome::Ready { releases } = outcome else {
            continue;
        };
        for release in releases.iter_mut() {
            let mut objects = Map::new();
            for api in PUBLIC_APIS.iter().filter(|a| a.chart == release.chart) {
                if let Some((key, route)) = route(api, release, gateway, tls.is_some())? {
                    objects.insert(key, route);
                }
            }
            if service == "identity" && release.chart == "keystone" {
                objects.extend(owned_gateway(gateway, &release.namespace, tls));
            }
            if !objects.is_empty() {
                add_objects(release, objects)?;
            }
        }
    }
    Ok(())
}

/// Whether `migration.ingress.state` is `absent`: nothing is exposed.
pub fn exposure_absent(merged: &Value) -> bool {
    merged
        .pointer("/migration/ingress/state")
        .and_then(Value::as_str)
        == Some("absent")
}

/// The route of `api` in `release`, keyed for `extraObjects`; `None` when the release does not
/// publish the endpoint or the chart creates no Service for it.
fn route(
    api: &PublicApi,
    release: &Release,
    gateway: &GatewaySettings,
    tls: bool,
) -> Result<Option<(String, Value)>, RenderError> {
    let values = &release.values;
    let endpoint = values
        .pointer(&format!("/endpoints/{}", api.endpoint))
        .unwrap_or(&Value::Null);
    let Some(host) = fqdn(endpoint.pointer("/host_fqdn_override/public")) else {
        return Ok(None);
    };
    let condition_met = |(pointer, expected, default): &(&str, &str, &str)| {
        values
            .pointer(pointer)
            .map_or_else(|| (*default).to_owned(), scalar_text)
            == *expected
    };
    if !api.when.iter().all(condition_met) {
        return Ok(None);
    }
    if !is_dns_name(host) {
        return Err(RenderError::InvalidSpec {
            path: format!(
                "release {} values endpoints.{}.host_fqdn_override.public",
                release.name, api.endpoint
            ),
            message: format!("{host:?} is not a lower-case DNS name"),
        });
    }
    let (backend_name, backend_namespace) = backend(api, endpoint, &release.namespace);
    let port = endpoint
        .pointer(&format!("/port/{}/{}", api.port, api.port_lookup))
        .and_then(Value::as_u64)
        .or(api.port_typed.map(u64::from))
        .or_else(|| {
            endpoint
                .pointer(&format!("/port/{}/default", api.port))
                .and_then(Value::as_u64)
        })
        .unwrap_or(u64::from(api.port_default));
    let mut backend_ref = json!({"name": backend_name, "port": port});
    if let Some(namespace) = backend_namespace {
        backend_ref["namespace"] = json!(namespace);
    }
    let dashed = api.endpoint.replace('_', "-");
    let route = json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {
            "name": format!("{dashed}-public"),
            "namespace": release.namespace,
            "labels": {"application": api.chart, "component": "public-route"},
        },
        "spec": {
            "parentRefs": [parent_ref(gateway, tls)],
            "hostnames": [host],
            "rules": [{
                "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                "backendRefs": [backend_ref],
            }],
        },
    });
    Ok(Some((format!("{}_public_route", api.endpoint), route)))
}

/// The Service behind `api`: from `host_fqdn_override.default` when it names a Service
/// (`<name>.<namespace>.svc…`, e.g. Ceph's RGW), else the chart's short name.
fn backend(api: &PublicApi, endpoint: &Value, namespace: &str) -> (String, Option<String>) {
    if let Some(fqdn) = fqdn(endpoint.pointer("/host_fqdn_override/default")) {
        let labels: Vec<&str> = fqdn.split('.').collect();
        if let [name, service_namespace, "svc", ..] = labels.as_slice()
            && is_dns_name(name)
            && is_dns_name(service_namespace)
        {
            let other = (*service_namespace != namespace).then(|| (*service_namespace).to_owned());
            return ((*name).to_owned(), other);
        }
    }
    let host = |key: &str| {
        endpoint
            .pointer(&format!("/hosts/{key}"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let name = host("internal")
        .or(api.host_internal.map(str::to_owned))
        .or_else(|| host("default"))
        .unwrap_or_else(|| api.host_default.to_owned());
    (name, None)
}

fn parent_ref(gateway: &GatewaySettings, tls: bool) -> Value {
    let parent = &gateway.parent;
    let mut reference = json!({
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        "name": parent.name,
    });
    if let Some(namespace) = &parent.namespace {
        reference["namespace"] = json!(namespace);
    }
    let section = parent
        .section
        .clone()
        .or_else(|| tls.then(|| "https".to_owned()));
    if let Some(section) = section {
        reference["sectionName"] = json!(section);
    }
    reference
}

/// The Gateway (and its TLS Secret, with a certificate) when the suite owns it.
fn owned_gateway(
    gateway: &GatewaySettings,
    release_namespace: &str,
    tls: Option<&Value>,
) -> Vec<(String, Value)> {
    let Some(class) = &gateway.class else {
        return Vec::new();
    };
    let parent = &gateway.parent;
    let namespace = parent.namespace.as_deref().unwrap_or(release_namespace);
    let secret = format!("{}-tls", parent.name);
    let listener = json!({
        "name": parent.section.as_deref().unwrap_or("https"),
        "protocol": "HTTPS",
        "port": 443,
        "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": secret}]},
        "allowedRoutes": {"namespaces": {
            "from": "Selector",
            "selector": {"matchLabels": {"kubernetes.io/metadata.name": release_namespace}},
        }},
    });
    let mut objects = vec![(
        GATEWAY_KEY.to_owned(),
        json!({
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "Gateway",
            "metadata": {"name": parent.name, "namespace": namespace},
            "spec": {"gatewayClassName": class, "listeners": [listener]},
        }),
    )];
    if let Some(ssl) = tls {
        let b64 = |key: &str| {
            ssl.get(key)
                .map(|v| base64::engine::general_purpose::STANDARD.encode(scalar_text(v)))
        };
        let mut data = Map::new();
        for (key, field) in [
            ("tls.crt", "api_cert"),
            ("tls.key", "api_key"),
            ("ca.crt", "ca_cert"),
        ] {
            if let Some(encoded) = b64(field) {
                data.insert(key.to_owned(), json!(encoded));
            }
        }
        objects.push((
            GATEWAY_TLS_KEY.to_owned(),
            json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "kubernetes.io/tls",
                "metadata": {"name": secret, "namespace": namespace},
                "data": data,
            }),
        ));
    }
    objects
}

/// Puts `objects` into the release's `extraObjects`, under what the values already hold there
/// (a user's `extraObjects` entry of the same key is merged over ours), and refreshes the
/// fingerprint.
fn add_objects(release: &mut Release, objects: Map<String, Value>) -> Result<(), RenderError> {
    let mut extra = Value::Object(objects);
    if let Some(existing) = release.values.get("extraObjects").filter(|v| !v.is_null()) {
        merge_into(
            &mut extra,
            existing,
            &format!("release {} values.extraObjects", release.name),
        )?;
    }
    if let Some(values) = release.values.as_object_mut() {
        values.insert("extraObjects".into(), extra);
    } else {
        release.values = json!({"extraObjects": extra});
    }
    release.fingerprint = fingerprint(&release.values);
    Ok(())
}

/// The host of a `host_fqdn_override.<type>` value: a string or `{host: ...}`.
fn fqdn(value: Option<&Value>) -> Option<&str> {
    match value? {
        Value::String(host) => Some(host),
        Value::Object(map) => map.get("host").and_then(Value::as_str),
        _ => None,
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A lower-case RFC 1123 DNS name (labels of `[a-z0-9-]`, not starting or ending with `-`).
fn is_dns_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::ChartGroup;

    fn release(chart: &str, values: Value) -> Release {
        Release {
            name: format!("openstack-{chart}"),
            chart: chart.into(),
            group: ChartGroup::Openstack,
            version: None,
            namespace: "openstack".into(),
            fingerprint: fingerprint(&values),
            values,
        }
    }

    fn ready(service: &str, releases: Vec<Release>) -> (String, ServiceOutcome) {
        (service.into(), ServiceOutcome::Ready { releases })
    }

    fn values_of(services: &[(String, ServiceOutcome)], index: usize) -> &Value {
        match &services[index].1 {
            ServiceOutcome::Ready { releases } => &releases[0].values,
            ServiceOutcome::Waiting { .. } => panic!("waiting"),
        }
    }

    fn public(host: &str) -> Value {
        json!({"host_fqdn_override": {"public": {"host": host}}})
    }

    #[test]
    fn parent_refs_parse_and_print_back() {
        let full: ParentRef = "infra/edge/https".parse().unwrap();
        assert_eq!(full.namespace.as_deref(), Some("infra"));
        assert_eq!(full.section.as_deref(), Some("https"));
        assert_eq!(full.to_string(), "infra/edge/https");
        let short: ParentRef = "edge".parse().unwrap();
        assert_eq!(
            (short.namespace, short.name, short.section),
            (None, "edge".into(), None)
        );
        assert!("a/b/c/d".parse::<ParentRef>().is_err());
        assert!(
            "Infra/edge"
                .parse::<ParentRef>()
                .unwrap_err()
                .contains("namespace")
        );
        assert!("ns/{{x}}".parse::<ParentRef>().is_err());
    }

    #[test]
    fn a_route_follows_the_values_overrides_of_host_and_port() {
        let mut services = vec![
            ready("ingress", vec![]),
            ready(
                "image",
                vec![release(
                    "glance",
                    json!({"endpoints": {"image": {
                        "host_fqdn_override": {"public": "glance.example.org"},
                        "hosts": {"default": "my-glance"},
                        "port": {"api": {"default": 9999}},
                    }}}),
                )],
            ),
        ];
        expose(&mut services, &json!({}), &GatewaySettings::default()).unwrap();
        let route = &values_of(&services, 1)["extraObjects"]["image_public_route"];
        assert_eq!(route["spec"]["hostnames"], json!(["glance.example.org"]));
        assert_eq!(
            route["spec"]["rules"][0]["backendRefs"],
            json!([{"name": "my-glance", "port": 9999}])
        );
        assert_eq!(
            route["spec"]["parentRefs"],
            json!([{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "openstack-gateway"}])
        );
    }

    #[test]
    fn the_fingerprint_is_recomputed_and_user_extra_objects_win() {
        let values = json!({
            "endpoints": {"identity": public("keystone.example.org")},
            "extraObjects": {
                "identity_public_route": {"metadata": {"annotations": {"a": "b"}}},
                "mine": {"kind": "ConfigMap"},
            },
        });
        let before = fingerprint(&values);
        let mut services = vec![
            ready("ingress", vec![]),
            ready("identity", vec![release("keystone", values)]),
        ];
        expose(&mut services, &json!({}), &GatewaySettings::default()).unwrap();
        let ServiceOutcome::Ready { releases } = &services[1].1 else {
            panic!()
        };
        assert_ne!(releases[0].fingerprint, before);
        assert_eq!(releases[0].fingerprint, fingerprint(&releases[0].values));
        let extra = &releases[0].values["extraObjects"];
        assert_eq!(extra["mine"]["kind"], "ConfigMap");
        assert_eq!(
            extra["identity_public_route"]["metadata"]["annotations"]["a"],
            "b"
        );
        assert_eq!(
            extra["identity_public_route"]["spec"]["rules"][0]["backendRefs"][0],
            json!({"name": "keystone-api", "port": 5000})
        );
    }

    #[test]
    fn consoles_are_routed_only_for_the_console_kind_in_use() {
        let values = json!({
            "console": {"console_kind": "spice"},
            "endpoints": {
                "compute": public("nova.example.org"),
                "compute_novnc_proxy": public("novncproxy.example.org"),
                "compute_spice_proxy": public("spiceproxy.example.org"),
            },
        });
        let mut services = vec![
            ready("ingress", vec![]),
            ready("compute", vec![release("nova", values)]),
        ];
        expose(&mut services, &json!({}), &GatewaySettings::default()).unwrap();
        let extra = values_of(&services, 1)["extraObjects"].as_object().unwrap();
        let keys: Vec<&str> = extra.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            vec!["compute_public_route", "compute_spice_proxy_public_route"]
        );
    }

    #[test]
    fn a_host_that_is_not_a_dns_name_is_refused() {
        let mut services = vec![
            ready("ingress", vec![]),
            ready(
                "identity",
                vec![release(
                    "keystone",
                    json!({"endpoints": {"identity": public("{{ .Values.x }}")}}),
                )],
            ),
        ];
        let error = expose(&mut services, &json!({}), &GatewaySettings::default()).unwrap_err();
        assert!(
            error.to_string().contains("not a lower-case DNS name"),
            "{error}"
        );
    }

    #[test]
    fn an_rgw_run_by_ceph_is_targeted_in_its_namespace() {
        let values = json!({"endpoints": {"object_store": {
            "host_fqdn_override": {"default": "rook-ceph-rgw.rook-ceph.svc", "public": {"host": "object-store.example.org"}},
            "port": {"api": {"default": 80}},
        }}});
        let mut services = vec![
            ready("ingress", vec![]),
            ready("object-storage", vec![release("ceph-rgw", values)]),
        ];
        expose(&mut services, &json!({}), &GatewaySettings::default()).unwrap();
        let route = &values_of(&services, 1)["extraObjects"]["object_store_public_route"];
        assert_eq!(
            route["spec"]["rules"][0]["backendRefs"][0],
            json!({"name": "rook-ceph-rgw", "namespace": "rook-ceph", "port": 80})
        );
    }

    #[test]
    fn an_owned_gateway_gets_the_certificate_as_base64_secret_data() {
        let values = json!({"endpoints": {"identity": public("keystone.example.org")}});
        let mut services = vec![
            ready("ingress", vec![]),
            ready("identity", vec![release("keystone", values)]),
        ];
        let merged = json!({"features": {"ssl": {"public_endpoints": {
            "api_cert": "CERT {{ x }}", "api_key": "KEY", "ca_cert": "CA",
        }}}});
        let gateway = GatewaySettings {
            parent: "edge/public".parse().unwrap(),
            class: Some("eg".into()),
        };
        expose(&mut services, &merged, &gateway).unwrap();
        let extra = &values_of(&services, 1)["extraObjects"];
        let gw = &extra[GATEWAY_KEY];
        assert_eq!(
            gw["metadata"],
            json!({"name": "public", "namespace": "edge"})
        );
        assert_eq!(gw["spec"]["gatewayClassName"], "eg");
        assert_eq!(gw["spec"]["listeners"][0]["name"], "https");
        let secret = &extra[GATEWAY_TLS_KEY];
        assert_eq!(secret["metadata"]["name"], "public-tls");
        assert_eq!(secret["data"]["tls.key"], "S0VZ");
        assert!(!secret.to_string().contains("{{"));
        let parent = &extra["identity_public_route"]["spec"]["parentRefs"][0];
        assert_eq!(parent["namespace"], "edge");
        assert_eq!(parent["sectionName"], "https");
    }

    // End to end: the samples through the whole render.

    const COMPUTE_SAMPLE: &str = include_str!("../../../../tests/fixtures/osdpl/compute.yaml");
    const CORE_SAMPLE: &str = include_str!("../../../../tests/fixtures/osdpl/core.yaml");

    fn spec_of(sample: &str, extra: Value) -> Value {
        let object: Value = serde_norway::from_str(sample).unwrap();
        let mut spec = object["spec"].clone();
        merge_into(&mut spec, &extra, "spec").unwrap();
        spec
    }

    fn render_with(spec: &Value, gateway: GatewaySettings) -> crate::render::Rendered {
        let context = crate::render::RenderContext {
            gateway,
            ..crate::render::RenderContext::dry_run()
        };
        crate::render::render(spec, &context, &crate::render::Templates::embedded()).unwrap()
    }

    /// `(release, extraObjects key, object)` of every extra object rendered.
    fn extra_objects(rendered: &crate::render::Rendered) -> Vec<(String, String, Value)> {
        rendered
            .releases()
            .flat_map(|r| {
                r.values
                    .get("extraObjects")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (r.name.clone(), k.clone(), v.clone()))
            })
            .collect()
    }

    fn ready_count(rendered: &crate::render::Rendered) -> usize {
        rendered
            .services
            .iter()
            .filter(|(_, o)| matches!(o, ServiceOutcome::Ready { .. }))
            .count()
    }

    #[test]
    fn the_compute_sample_routes_every_public_api_to_its_service() {
        let rendered = render_with(
            &spec_of(COMPUTE_SAMPLE, json!({})),
            GatewaySettings::default(),
        );
        let mut routes: Vec<(String, String, String, String)> = Vec::new();
        for (release, key, route) in extra_objects(&rendered) {
            assert_eq!(route["kind"], "HTTPRoute", "{key}");
            assert_eq!(route["metadata"]["namespace"], "openstack");
            // The sample has a public certificate: routes attach to the HTTPS listener.
            assert_eq!(
                route["spec"]["parentRefs"],
                json!([{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                        "name": "openstack-gateway", "sectionName": "https"}]),
                "{key}"
            );
            let backend = &route["spec"]["rules"][0]["backendRefs"][0];
            let target = match backend.get("namespace") {
                Some(ns) => format!(
                    "{}/{}:{}",
                    ns.as_str().unwrap(),
                    backend["name"].as_str().unwrap(),
                    backend["port"]
                ),
                None => format!("{}:{}", backend["name"].as_str().unwrap(), backend["port"]),
            };
            routes.push((
                release,
                key,
                route["spec"]["hostnames"][0].as_str().unwrap().to_owned(),
                target,
            ));
        }
        routes.sort();
        let expected = [
            (
                "openstack-barbican",
                "key_manager_public_route",
                "barbican",
                "barbican-api:9311",
            ),
            (
                "openstack-ceph-rgw",
                "object_store_public_route",
                "object-store",
                "rook-ceph/rook-ceph-rgw:80",
            ),
            (
                "openstack-cinder",
                "volumev3_public_route",
                "cinder",
                "cinder-api:8776",
            ),
            (
                "openstack-designate",
                "dns_public_route",
                "designate",
                "designate-api:9001",
            ),
            (
                "openstack-glance",
                "image_public_route",
                "glance",
                "glance-api:9292",
            ),
            (
                "openstack-heat",
                "cloudformation_public_route",
                "cloudformation",
                "heat-cfn:8000",
            ),
            (
                "openstack-heat",
                "orchestration_public_route",
                "heat",
                "heat-api:8004",
            ),
            (
                "openstack-horizon",
                "dashboard_public_route",
                "horizon",
                "horizon-int:80",
            ),
            (
                "openstack-keystone",
                "identity_public_route",
                "keystone",
                "keystone-api:5000",
            ),
            (
                "openstack-manila",
                "sharev2_public_route",
                "manila",
                "manila-api:8786",
            ),
            (
                "openstack-masakari",
                "instance_ha_public_route",
                "masakari",
                "masakari-api:15868",
            ),
            (
                "openstack-neutron",
                "network_public_route",
                "neutron",
                "neutron-server:9696",
            ),
            (
                "openstack-nova",
                "compute_novnc_proxy_public_route",
                "novncproxy",
                "nova-novncproxy:6080",
            ),
            (
                "openstack-nova",
                "compute_public_route",
                "nova",
                "nova-api:8774",
            ),
            (
                "openstack-octavia",
                "load_balancer_public_route",
                "octavia",
                "octavia-api:9876",
            ),
            (
                "openstack-placement",
                "placement_public_route",
                "placement",
                "placement-api:8778",
            ),
        ]
        .map(|(r, k, h, t)| {
            (
                r.to_owned(),
                k.to_owned(),
                format!("{h}.cloud.example.net"),
                t.to_owned(),
            )
        });
        assert_eq!(routes, expected);
        // No release of its own, nothing named after the old ingress chart.
        assert!(rendered.releases().all(|r| r.chart != "ingress"));
        let ingress = rendered
            .services
            .iter()
            .find(|(n, _)| n == "ingress")
            .unwrap();
        assert_eq!(ingress.1, ServiceOutcome::Ready { releases: vec![] });
        // Fingerprints cover the routes.
        assert!(
            rendered
                .releases()
                .all(|r| r.fingerprint == fingerprint(&r.values))
        );
    }

    #[test]
    fn migration_ingress_absent_renders_no_route_and_every_service() {
        let spec = spec_of(
            COMPUTE_SAMPLE,
            json!({"migration": {"ingress": {"state": "absent"}}}),
        );
        let gateway = GatewaySettings {
            class: Some("eg".into()),
            ..GatewaySettings::default()
        };
        let absent = render_with(&spec, gateway.clone());
        assert_eq!(extra_objects(&absent), vec![]);
        let present = render_with(&spec_of(COMPUTE_SAMPLE, json!({})), gateway);
        assert_eq!(ready_count(&absent), ready_count(&present));
        assert_eq!(absent.releases().count(), present.releases().count());
    }

    #[test]
    fn app_gateway_is_the_same_service_and_removing_it_removes_the_routes() {
        let with_services = |entries: &[&str]| {
            let mut spec = spec_of(CORE_SAMPLE, json!({}));
            let list = spec["features"]["services"].as_array_mut().unwrap();
            list.extend(entries.iter().map(|e| json!(e)));
            spec
        };
        let rendered = render_with(&with_services(&["app-gateway"]), GatewaySettings::default());
        let exposure: Vec<&String> = rendered
            .services
            .iter()
            .map(|(n, _)| n)
            .filter(|n| *n == "ingress" || *n == "app-gateway")
            .collect();
        assert_eq!(exposure, ["ingress"]);
        let keys: Vec<String> = extra_objects(&rendered)
            .into_iter()
            .map(|(_, k, _)| k)
            .collect();
        assert!(
            keys.contains(&"identity_public_route".to_owned()),
            "{keys:?}"
        );

        // The user's `~ingress` removes the preset's entry: nothing is exposed.
        let rendered = render_with(&with_services(&["~ingress"]), GatewaySettings::default());
        assert!(rendered.services.iter().all(|(n, _)| n != "ingress"));
        assert_eq!(extra_objects(&rendered), vec![]);
    }

    #[test]
    fn an_owned_gateway_terminates_tls_with_the_public_certificate() {
        let secrets = [("tls.crt", "CERT"), ("tls.key", "KEY"), ("ca.crt", "CA")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let mut context = crate::render::RenderContext {
            gateway: GatewaySettings {
                parent: "openstack-gateway".parse().unwrap(),
                class: Some("eg".into()),
            },
            ..crate::render::RenderContext::dry_run()
        };
        context
            .secrets
            .insert("cloud-public-tls".into(), secrets.into_iter().collect());
        let rendered = crate::render::render(
            &spec_of(COMPUTE_SAMPLE, json!({})),
            &context,
            &crate::render::Templates::embedded(),
        )
        .unwrap();
        let objects = extra_objects(&rendered);
        let owned: Vec<&(String, String, Value)> = objects
            .iter()
            .filter(|(_, k, _)| k == GATEWAY_KEY || k == GATEWAY_TLS_KEY)
            .collect();
        assert_eq!(owned.len(), 2);
        assert!(
            owned
                .iter()
                .all(|(release, _, _)| release == "openstack-keystone")
        );
        let gateway = &owned[0].2;
        assert_eq!(gateway["kind"], "Gateway");
        assert_eq!(gateway["metadata"]["namespace"], "openstack");
        let listener = &gateway["spec"]["listeners"][0];
        assert_eq!(
            (listener["name"].as_str(), listener["port"].as_u64()),
            (Some("https"), Some(443))
        );
        assert_eq!(
            listener["tls"]["certificateRefs"][0]["name"],
            "openstack-gateway-tls"
        );
        let secret = &owned[1].2;
        let decode = |key: &str| {
            let text = secret["data"][key].as_str().unwrap();
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .unwrap(),
            )
            .unwrap()
        };
        assert_eq!(
            (decode("tls.crt"), decode("tls.key"), decode("ca.crt")),
            ("CERT".into(), "KEY".into(), "CA".into())
        );

        // Without a certificate: the Gateway still has its HTTPS listener (its Secret is the
        // operator's), no Secret is rendered, routes name no section.
        let mut spec = spec_of(CORE_SAMPLE, json!({}));
        spec["features"].as_object_mut().unwrap().remove("ssl");
        let rendered = render_with(&spec, context.gateway.clone());
        let objects = extra_objects(&rendered);
        assert!(objects.iter().any(|(_, k, _)| k == GATEWAY_KEY));
        assert!(objects.iter().all(|(_, k, _)| k != GATEWAY_TLS_KEY));
        let route = objects
            .iter()
            .find(|(_, k, _)| k == "identity_public_route")
            .unwrap();
        assert!(
            route.2["spec"]["parentRefs"][0]
                .get("sectionName")
                .is_none()
        );
    }
}
