//! Public exposure through the Gateway API: one `HTTPRoute` per public API, in the
//! `extraObjects` map of the release that serves it.
//!
//! Upstream OpenStack-Helm has no Ingress any more (removed 2026-06-16): a chart renders every
//! entry of its `extraObjects` map (through `tpl`), and public exposure is an `HTTPRoute` there.
//! When the `ingress` service (alias `app-gateway`) is enabled and `migration.ingress.state` is
//! not `absent`, this step runs on the rendered releases, after every values layer and before
//! the fingerprints:
//!
//! - per release, per public API of its chart ([`crate::services::public_apis`]: chart facts declared by the service descriptors, the Service name
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

mod gateway;
mod settings;

use serde_json::{Map, Value, json};

use super::{Release, RenderError, ServiceOutcome};
use crate::services::{PublicApi, public_apis};
use crate::values::{fingerprint, merge_into};

use gateway::owned_gateway;
pub use settings::{DEFAULT_GATEWAY, GatewaySettings, ParentRef, gateway_class};

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
            for api in public_apis(&release.chart) {
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

/// `features.ssl.public_endpoints` as an `UnsupportedSettings` line when its certificate, key
/// and CA reach nothing rendered: no Gateway TLS Secret among the releases (the Gateway is the
/// platform's, or nothing is exposed). The certificate alone still switches the routes to the
/// `https` listener, so only the material is reported, never dropped in silence.
pub fn unrendered_tls(
    services: &[(String, ServiceOutcome)],
    merged: &Value,
    gateway: &GatewaySettings,
) -> Option<String> {
    let ssl = merged.pointer("/features/ssl/public_endpoints")?;
    if ["api_cert", "api_key", "ca_cert"]
        .iter()
        .all(|k| ssl.get(k).is_none_or(Value::is_null))
    {
        return None;
    }
    let rendered = services.iter().any(|(_, outcome)| match outcome {
        ServiceOutcome::Ready { releases } => releases.iter().any(|r| {
            r.values
                .pointer(&format!("/extraObjects/{GATEWAY_TLS_KEY}"))
                .is_some()
        }),
        _ => false,
    });
    if rendered {
        return None;
    }
    let why = match &gateway.class {
        None => format!(
            "the certificate, key and CA are not rendered: the public Gateway {} is the platform's (no --gateway-class), so it terminates TLS with its own Secret",
            gateway.parent.name
        ),
        Some(_) => "the certificate, key and CA are not rendered: no public Gateway is rendered (ingress or identity not enabled, or migration.ingress.state absent)".to_owned(),
    };
    Some(format!("spec.features.ssl.public_endpoints: {why}"))
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
            "labels": {"application": release.chart, "component": "public-route"},
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

pub(super) fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// A lower-case RFC 1123 DNS name (labels of `[a-z0-9-]`, not starting or ending with `-`).
pub(super) fn is_dns_name(text: &str) -> bool {
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
mod tests;
