//! Rendering one service: check its inputs, render its template, layer each release.

use serde_json::{Map, Value, json};

use super::{Release, RenderContext, RenderError, ServiceOutcome, Templates, overrides};
use crate::services::{Service, chart_group};
use crate::values::fingerprint;

/// What every service template sees, converted for the template engine once per render.
pub fn shared_context(merged: &Value, images: &Value, context: &RenderContext) -> minijinja::Value {
    let shared = json!({
        "spec": merged,
        "namespace": context.namespace,
        "images": images,
        "endpoints": endpoint_facts(merged, context),
        "ceph": context.ceph,
    });
    minijinja::Value::from(minijinja::value::Serde(shared))
}

/// The releases of `service`, or why it has to wait.
pub fn render_service(
    service: &Service,
    merged: &Value,
    shared: &minijinja::Value,
    context: &RenderContext,
    templates: &Templates,
) -> Result<ServiceOutcome, RenderError> {
    let template = format!("services/{}.yaml", service.name);
    if !templates.has(&template) {
        return Ok(ServiceOutcome::Waiting {
            reason: format!("not rendered by this version yet (no template {template})"),
        });
    }
    let (credentials, admin) = match credentials_of(service, context) {
        Ok(found) => found,
        Err(missing) => {
            return Ok(ServiceOutcome::Waiting {
                reason: format!("waiting for generated credentials: {}", missing.join(", ")),
            });
        }
    };
    let missing = missing_certificates(service, merged, context);
    if !missing.is_empty() {
        return Ok(ServiceOutcome::Waiting {
            reason: format!("waiting for generated certificates: {}", missing.join(", ")),
        });
    }
    let template_context = minijinja::context! {
        service => service.name,
        credentials => minijinja::Value::from(minijinja::value::Serde(credentials)),
        admin => minijinja::Value::from(minijinja::value::Serde(admin)),
        ..shared.clone()
    };
    let mut rendered = match templates.render_yaml_with(&template, template_context) {
        Err(RenderError::Wait(reason)) => return Ok(ServiceOutcome::Waiting { reason }),
        other => other?,
    };
    let entries = match rendered.get_mut("releases").map(Value::take) {
        Some(Value::Array(entries)) => entries,
        _ => {
            return Err(RenderError::Template {
                template: template.clone(),
                message: "must render a map with a `releases` list".into(),
            });
        }
    };
    let releases = entries
        .into_iter()
        .map(|entry| release(entry, service, merged, context, &template))
        .collect::<Result<_, _>>()?;
    Ok(ServiceOutcome::Ready { releases })
}

/// Credential trees by key, as a template sees them.
type Credentials = Map<String, Value>;

/// The service's generated credentials and the administrator accounts every template gets,
/// or the keys still missing.
fn credentials_of(
    service: &Service,
    context: &RenderContext,
) -> Result<(Credentials, Credentials), Vec<&'static str>> {
    let mut credentials = Map::new();
    let mut missing = Vec::new();
    for credential in service.all_credentials() {
        match context.credential(credential.owner(service.name), credential.key()) {
            Some(value) => {
                credentials.insert(credential.key().to_owned(), value);
            }
            None => missing.push(credential.key()),
        }
    }
    let mut admin = Map::new();
    for key in ["identity", "database", "messaging"] {
        match context.credential("admin", key) {
            Some(value) => {
                admin.insert(key.to_owned(), value);
            }
            None => missing.push(key),
        }
    }
    if missing.is_empty() {
        Ok((credentials, admin))
    } else {
        Err(missing)
    }
}

/// The certificate Secrets the service's pods mount that `secrets` has not generated yet (none
/// in a dry run): a kubelet must never see a missing Secret.
fn missing_certificates(
    service: &Service,
    merged: &Value,
    context: &RenderContext,
) -> Vec<&'static str> {
    if service.name != crate::certificates::SERVICE || context.dry_run_certificates {
        return Vec::new();
    }
    crate::certificates::needed(merged, true)
        .iter()
        .flat_map(|set| set.leaves)
        .map(|leaf| leaf.secret)
        .filter(|secret| !context.certificates.contains(*secret))
        .collect()
}

/// One rendered `releases` entry as a release: overlays merged, the spec's overrides layered,
/// its values fingerprinted.
fn release(
    mut entry: Value,
    service: &Service,
    merged: &Value,
    context: &RenderContext,
    template: &str,
) -> Result<Release, RenderError> {
    let (Some(name), Some(chart)) = (str_field(&entry, "name"), str_field(&entry, "chart")) else {
        return Err(RenderError::Template {
            template: template.to_owned(),
            message: "each release needs a name and a chart".into(),
        });
    };
    apply_overlays(&mut entry, template)?;
    let group = chart_group(&chart);
    overrides::apply(merged, service.name, group, &mut entry)?;
    let values = entry
        .get_mut("values")
        .map(Value::take)
        .unwrap_or_else(|| json!({}));
    Ok(Release {
        fingerprint: fingerprint(&values),
        name,
        chart,
        group,
        version: str_field(&entry, "version"),
        namespace: str_field(&entry, "namespace").unwrap_or_else(|| context.namespace.clone()),
        values,
    })
}

/// Merges a release's optional `overlays` (a list of values trees, for template parts that are
/// easier to write apart, such as generated secrets) into its `values`, in order.
fn apply_overlays(entry: &mut Value, template: &str) -> Result<(), RenderError> {
    let Some(overlays) = entry.as_object_mut().and_then(|e| e.remove("overlays")) else {
        return Ok(());
    };
    let Value::Array(overlays) = overlays else {
        return Err(RenderError::Template {
            template: template.to_owned(),
            message: "`overlays` must be a list".into(),
        });
    };
    let values = overrides::release_values(entry, template)?;
    for overlay in &overlays {
        crate::values::merge_into(values, overlay, &format!("{template} overlays"))?;
    }
    Ok(())
}

fn str_field(entry: &Value, key: &str) -> Option<String> {
    entry.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Facts every template needs for endpoints: domains, region, TLS, the cloud admin's project.
fn endpoint_facts(merged: &Value, context: &RenderContext) -> Value {
    let ssl = merged.pointer("/features/ssl/public_endpoints");
    json!({
        // features.keystone.users.admin.project_name: Keystone's bootstrap creates the admin
        // user's project by this name, and every chart's admin account is scoped to it.
        "admin_project": merged
            .pointer("/features/keystone/users/admin/project_name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or("admin"),
        "public_domain": merged.get("public_domain_name"),
        "cluster_domain": merged.get("internal_domain_name").and_then(Value::as_str).unwrap_or("cluster.local"),
        "region": merged.get("region_name").and_then(Value::as_str).unwrap_or("RegionOne"),
        "namespace": context.namespace,
        "tls": {
            "enabled": ssl.and_then(|s| s.get("api_cert")).is_some(),
            "ca": ssl.and_then(|s| s.get("ca_cert")),
            "crt": ssl.and_then(|s| s.get("api_cert")),
            "key": ssl.and_then(|s| s.get("api_key")),
        },
    })
}
