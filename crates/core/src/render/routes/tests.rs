//! Tests of the public exposure step (the whole compute and core samples, overrides, the
//! owned Gateway, hostile hosts).

use super::*;
use crate::render::ChartGroup;
use base64::Engine as _;

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
        ServiceOutcome::Waiting { .. } | ServiceOutcome::Unsupported { .. } => panic!("not ready"),
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

const COMPUTE_SAMPLE: &str = include_str!("../../../../../tests/fixtures/osdpl/compute.yaml");
const CORE_SAMPLE: &str = include_str!("../../../../../tests/fixtures/osdpl/core.yaml");

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

/// `(release, extraObjects key, object)` of every extra object the exposure rendered (not the
/// external PowerDNS Service the dns template adds for `features.designate.backend`, nor the
/// noVNC proxy's VeNCrypt snippet the compute template adds for noVNC TLS).
fn extra_objects(rendered: &crate::render::Rendered) -> Vec<(String, String, Value)> {
    rendered
        .releases()
        .flat_map(|r| {
            r.values
                .get("extraObjects")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "powerdns_external_service" | "novncproxy_vencrypt_conf"
                    )
                })
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
