//! The Gateway the suite renders when it owns it (`--gateway-class`), with the TLS Secret of
//! `features.ssl.public_endpoints`; carried by the identity release. Part of [`super`].

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::{GATEWAY_KEY, GATEWAY_TLS_KEY, GatewaySettings, scalar_text};

/// The Gateway (and its TLS Secret, with a certificate) when the suite owns it.
pub(super) fn owned_gateway(
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
