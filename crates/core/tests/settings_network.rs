//! Rockoon's network-side settings the templates implement (issue 17): Neutron's BGP dynamic
//! routing and BGP VPN, Designate's external PowerDNS Service, Octavia's management network,
//! and `migration.<chart>.deploy_main_service: false` holding a main release. Inputs are the
//! corpus OSDPLs (`tests/fixtures/corpus/`), rendered offline with dry-run credentials; each
//! setting is also checked to change only the releases that take it.

// In tests a failed unwrap is a failed test with its message; that is what we want.
#![allow(clippy::unwrap_used)]

use std::process::Command;

mod common;

use common::{corpus_spec, render_dry, values};
use rockoon_core::render::Rendered;
use serde_json::{Value, json};

/// `spec` without the setting at the JSON `pointer`.
fn without(spec: &Value, pointer: &str) -> Value {
    let mut spec = spec.clone();
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    let removed = spec
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .and_then(|map| map.remove(last));
    assert!(removed.is_some(), "{pointer} is not set in the fixture");
    spec
}

/// The releases (held ones included) whose rendered values differ between `a` and `b`.
fn changed_releases(a: &Rendered, b: &Rendered) -> Vec<String> {
    let all = |r: &Rendered| -> Vec<(String, String)> {
        let held = r.held.iter().map(|h| (h.release.clone(), "held".into()));
        r.releases()
            .map(|r| (r.name.clone(), r.fingerprint.clone()))
            .chain(held)
            .collect()
    };
    let (a, b) = (all(a), all(b));
    let mut names: Vec<String> = a
        .iter()
        .filter(|x| !b.contains(x))
        .chain(b.iter().filter(|x| !a.contains(x)))
        .map(|(name, _)| name.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Asserts that removing `pointer` from corpus file `file` changes exactly `releases`.
fn removing_changes_only(file: &str, pointer: &str, releases: &[&str]) {
    let spec = corpus_spec(file);
    let with = render_dry(&spec).unwrap();
    let without = render_dry(&without(&spec, pointer)).unwrap();
    assert_eq!(
        changed_releases(&with, &without),
        releases,
        "{file}: removing {pointer}"
    );
}

/// Asserts that `spec` does not render, with an error naming `path`.
fn refused_at(spec: &Value, path: &str) {
    let error = render_dry(spec).unwrap_err().to_string();
    assert!(error.contains(path), "{error}");
}

fn plugins(neutron: &Value) -> Vec<String> {
    let plugins = neutron["conf"]["neutron"]["DEFAULT"]["service_plugins"]
        .as_str()
        .unwrap();
    plugins.split(',').map(str::to_owned).collect()
}

#[test]
fn dynamic_routing_adds_the_bgp_plugin_and_a_dragent_on_each_gateway_node() {
    for file in [
        "51-neutron-ovs-bgp-dynamic-routing-bgpvpn.yaml",
        "52-neutron-ovn-bgp-portprober.yaml",
    ] {
        let neutron = values(
            &render_dry(&corpus_spec(file)).unwrap(),
            "openstack-neutron",
        );
        assert!(plugins(&neutron).contains(&"bgp".to_owned()), "{file}");
        assert_eq!(
            neutron["manifests"]["daemonset_bgp_dragent"], true,
            "{file}"
        );
        assert_eq!(
            neutron["labels"]["bgp_dragent"],
            json!({"node_selector_key": "openstack-gateway", "node_selector_value": "enabled"})
        );
        assert_eq!(
            neutron["conf"]["bgp_dragent"]["bgp"]["bgp_speaker_driver"],
            "neutron_dynamic_routing.services.bgp.agent.driver.os_ken.driver.OsKenBgpDriver"
        );
    }
    removing_changes_only(
        "51-neutron-ovs-bgp-dynamic-routing-bgpvpn.yaml",
        "/features/neutron/extensions/dynamic_routing",
        &["openstack-neutron"],
    );
}

#[test]
fn bgpvpn_with_ovs_runs_bagpipe_next_to_each_ovs_agent_with_the_specs_peers() {
    let rendered = render_dry(&corpus_spec(
        "51-neutron-ovs-bgp-dynamic-routing-bgpvpn.yaml",
    ))
    .unwrap();
    assert!(
        rendered.unsupported.is_empty(),
        "{:?}",
        rendered.unsupported
    );
    let neutron = values(&rendered, "openstack-neutron");
    assert!(plugins(&neutron).contains(&"bgpvpn".to_owned()));
    assert_eq!(
        neutron["conf"]["neutron"]["service_providers"]["service_provider"],
        "BGPVPN:BaGPipe:networking_bgpvpn.neutron.services.service_drivers.bagpipe.bagpipe_v2.BaGPipeBGPVPNDriver:default"
    );
    let conf = &neutron["conf"];
    assert_eq!(
        conf["plugins"]["openvswitch_agent"]["agent"]["extensions"],
        "bagpipe_bgpvpn"
    );
    assert_eq!(conf["auto_bridge_add"]["br-mpls"], Value::Null);
    assert_eq!(conf["auto_bridge_add"]["br-ex"], "bond0.40");
    let bgp = &conf["bagpipe_bgp"];
    assert_eq!(bgp["BGP"]["local_address"], "bond0.50");
    assert_eq!(bgp["BGP"]["peers"], "198.51.100.11,198.51.100.12");
    assert_eq!(bgp["BGP"]["my_as"], 65010);
    assert_eq!(
        bgp["DATAPLANE_DRIVER_IPVPN"]["dataplane_local_address"],
        "bond0.50"
    );
    assert_eq!(bgp["DATAPLANE_DRIVER_EVPN"]["vxlan_dst_port"], 4789);
    assert_eq!(neutron["manifests"]["daemonset_bagpipe_bgp"], true);
    assert_eq!(
        neutron["labels"]["bagpipe_bgp"]["node_selector_key"],
        "openvswitch"
    );
    removing_changes_only(
        "51-neutron-ovs-bgp-dynamic-routing-bgpvpn.yaml",
        "/features/neutron/bgpvpn",
        &["openstack-neutron"],
    );
}

#[test]
fn bgpvpn_is_refused_naming_the_field_where_rockoons_admission_refuses_it() {
    let bgp = "51-neutron-ovs-bgp-dynamic-routing-bgpvpn.yaml";
    // No autonomous system number.
    let spec = without(&corpus_spec(bgp), "/features/neutron/bgpvpn/as_number");
    refused_at(&spec, "spec.features.neutron.bgpvpn.as_number");
    // Neither peers nor a route reflector.
    let spec = without(&corpus_spec(bgp), "/features/neutron/bgpvpn/peers");
    refused_at(&spec, "spec.features.neutron.bgpvpn.peers");
    // No interface for the BGP sessions.
    let mut spec = corpus_spec(bgp);
    spec["features"]["neutron"]["bgpvpn"]["control_interface"] = json!("");
    refused_at(&spec, "spec.features.neutron.bgpvpn.control_interface");
    // With OVN (no Open vSwitch agent to program).
    let mut spec = corpus_spec("52-neutron-ovn-bgp-portprober.yaml");
    spec["features"]["neutron"]["bgpvpn"] =
        json!({"enabled": true, "as_number": 65010, "peers": ["198.51.100.11"]});
    refused_at(&spec, "spec.features.neutron.bgpvpn.enabled");
}

#[test]
fn portprober_and_the_bgpvpn_route_reflector_are_reported_not_rendered() {
    let reported = |path: &str, rendered: &Rendered| {
        assert!(
            rendered.unsupported.iter().any(|u| u.starts_with(path)),
            "{path} not in {:?}",
            rendered.unsupported
        );
    };
    let rendered = render_dry(&corpus_spec("52-neutron-ovn-bgp-portprober.yaml")).unwrap();
    reported("spec.features.neutron.extensions.portprober: ", &rendered);
    let neutron = values(&rendered, "openstack-neutron");
    assert!(!plugins(&neutron).contains(&"portprober".to_owned()));

    // A route reflector next to explicit peers: the peers render, the reflector is reported.
    let mut spec = corpus_spec("51-neutron-ovs-bgp-dynamic-routing-bgpvpn.yaml");
    spec["features"]["neutron"]["bgpvpn"]["route_reflector"] = json!({"enabled": true});
    let rendered = render_dry(&spec).unwrap();
    reported("spec.features.neutron.bgpvpn.route_reflector: ", &rendered);
    let neutron = values(&rendered, "openstack-neutron");
    assert_eq!(
        neutron["conf"]["bagpipe_bgp"]["BGP"]["peers"],
        "198.51.100.11,198.51.100.12"
    );
}

#[test]
fn powerdns_answers_outside_the_cluster_on_the_specs_protocols_and_address() {
    let powerdns = values(
        &render_dry(&corpus_spec("26-designate-powerdns.yaml")).unwrap(),
        "openstack-powerdns",
    );
    let service = &powerdns["extraObjects"]["powerdns_external_service"];
    assert_eq!(service["kind"], "Service");
    assert_eq!(service["spec"]["type"], "LoadBalancer");
    assert_eq!(service["spec"]["loadBalancerIP"], "203.0.113.53");
    assert_eq!(
        service["spec"]["ports"],
        json!([{"name": "dns-udp", "port": 53, "targetPort": 53, "protocol": "UDP"}])
    );
    assert_eq!(
        service["spec"]["selector"],
        json!({"application": "powerdns", "component": "server", "release_group": "openstack-powerdns"})
    );

    let powerdns = values(
        &render_dry(&corpus_spec("53-designate-external-tcp-udp.yaml")).unwrap(),
        "openstack-powerdns",
    );
    let service = &powerdns["extraObjects"]["powerdns_external_service"];
    assert!(service["spec"]["loadBalancerIP"].is_null());
    let protocols: Vec<&Value> = service["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["protocol"])
        .collect();
    assert_eq!(protocols, [&json!("TCP"), &json!("UDP")]);

    // Without either setting there is no external Service.
    let powerdns = values(
        &render_dry(&corpus_spec("05-compute-caracal-ovs.yaml")).unwrap(),
        "openstack-powerdns",
    );
    assert!(
        powerdns["extraObjects"].is_null(),
        "{}",
        powerdns["extraObjects"]
    );

    removing_changes_only(
        "26-designate-powerdns.yaml",
        "/features/designate/backend/external_ip",
        &["openstack-powerdns"],
    );
    removing_changes_only(
        "53-designate-external-tcp-udp.yaml",
        "/features/designate/backend/protocol",
        &["openstack-powerdns"],
    );
    let mut spec = corpus_spec("53-designate-external-tcp-udp.yaml");
    spec["features"]["designate"]["backend"]["protocol"] = json!("sctp");
    refused_at(&spec, "spec.features.designate.backend.protocol");
}

/// Whether `bash -n` accepts `script` (`None` when there is no bash outside CI).
fn bash_parses(script: &str) -> Option<bool> {
    match Command::new("bash")
        .arg("-n")
        .arg("-c")
        .arg(script)
        .output()
    {
        Ok(output) => Some(output.status.success()),
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("bash not runnable ({e}): the script is checked by its text only");
            None
        }
        Err(e) => panic!("bash is needed under CI=true: {e}"),
    }
}

#[test]
fn the_octavia_bootstrap_creates_the_management_network_and_its_subnets_once() {
    let octavia = values(
        &render_dry(&corpus_spec("27-octavia-lb-network.yaml")).unwrap(),
        "openstack-octavia",
    );
    let bootstrap = &octavia["bootstrap"];
    assert_eq!(bootstrap["enabled"], true);
    assert_eq!(bootstrap["ks_user"], "admin");
    let script = bootstrap["script"].as_str().unwrap();
    // The chart's own roles are still created.
    assert!(
        script.contains("openstack role create --or-show load-balancer_member"),
        "{script}"
    );
    assert!(script.contains("net='lb-mgmt-net'"), "{script}");
    assert!(
        script.contains("--subnet-range '10.255.0.0/16' --allocation-pool 'start=10.255.1.0,end=10.255.255.254' \"$subnet\""),
        "{script}"
    );
    assert!(script.contains("if ! openstack subnet show"), "{script}");
    assert_ne!(bash_parses(script), Some(false), "{script}");

    // A name with a quote stays one shell word.
    let mut spec = corpus_spec("27-octavia-lb-network.yaml");
    spec["features"]["octavia"]["lb_network"]["name"] = json!("lb'net; rm -rf /");
    let octavia = values(&render_dry(&spec).unwrap(), "openstack-octavia");
    let script = octavia["bootstrap"]["script"].as_str().unwrap();
    assert!(script.contains(r"net='lb'\''net; rm -rf /'"), "{script}");
    assert_ne!(bash_parses(script), Some(false), "{script}");

    removing_changes_only(
        "27-octavia-lb-network.yaml",
        "/features/octavia/lb_network",
        &["openstack-octavia"],
    );
    let mut spec = corpus_spec("27-octavia-lb-network.yaml");
    spec["features"]["octavia"]["lb_network"]["subnets"] = json!([{"pool_start": "10.0.0.1"}]);
    refused_at(&spec, "spec.features.octavia.lb_network.subnets[0].range");
}

#[test]
fn deploy_main_service_false_holds_only_that_charts_release() {
    let spec = corpus_spec("50-migration-main-services-held.yaml");
    let rendered = render_dry(&spec).unwrap();
    let held: Vec<(&str, &str)> = rendered
        .held
        .iter()
        .map(|h| (h.service.as_str(), h.release.as_str()))
        .collect();
    assert_eq!(
        held,
        [
            ("compute", "openstack-nova"),
            ("networking", "openstack-neutron"),
        ]
    );
    let names: Vec<&str> = rendered.releases().map(|r| r.name.as_str()).collect();
    for gone in ["openstack-nova", "openstack-neutron"] {
        assert!(!names.contains(&gone), "{gone} in {names:?}");
    }
    for kept in [
        "openstack-libvirt",
        "openstack-openvswitch",
        "openstack-cinder",
    ] {
        assert!(names.contains(&kept), "{kept} not in {names:?}");
    }
    assert!(
        rendered.unsupported.is_empty(),
        "{:?}",
        rendered.unsupported
    );
    removing_changes_only(
        "50-migration-main-services-held.yaml",
        "/migration/nova",
        &["openstack-nova"],
    );
    removing_changes_only(
        "50-migration-main-services-held.yaml",
        "/migration/cinder",
        &[],
    );

    // A switch naming a chart nothing renders holds nothing, and says so.
    let mut spec = spec;
    spec["migration"]["ironic"] = json!({"deploy_main_service": false});
    let rendered = render_dry(&spec).unwrap();
    assert!(
        rendered
            .unsupported
            .iter()
            .any(|u| u.starts_with("spec.migration.ironic.deploy_main_service: ")),
        "{:?}",
        rendered.unsupported
    );
}

#[test]
fn a_gateways_bgp_router_id_is_set_per_node_through_a_node_override() {
    let mut spec = corpus_spec("51-neutron-ovs-bgp-dynamic-routing-bgpvpn.yaml");
    spec["nodes"] = json!({"kubernetes.io/hostname::gw-1": {"services": {"networking": {"neutron": {
        "bgp_dragent": {"values": {"conf": {"bgp_dragent": {"bgp": {"bgp_router_id": "192.0.2.11"}}}}}
    }}}}});
    let rendered = render_dry(&spec).unwrap();
    assert!(
        rendered.unsupported.is_empty(),
        "{:?}",
        rendered.unsupported
    );
    let neutron = values(&rendered, "openstack-neutron");
    // The hostname label is a `hosts` entry: helm-toolkit names its DaemonSet after the host.
    let hosts = &neutron["conf"]["overrides"]["neutron_bgp-dragent"]["hosts"];
    assert_eq!(
        hosts,
        &json!([{
            "name": "gw-1",
            "conf": {"bgp_dragent": {"bgp": {"bgp_router_id": "192.0.2.11"}}},
        }])
    );
}
