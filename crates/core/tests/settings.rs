//! Rockoon's feature settings the templates implement (issue 17), each checked where the
//! upstream chart reads it: log levels, oslo.policy rules and strict admin, the floating
//! network bootstrap, MariaDB backups, Keystone's domain-specific configuration. Inputs are the
//! corpus OSDPLs (`tests/fixtures/corpus/`), rendered offline with dry-run credentials.

// In tests a failed unwrap is a failed test with its message; that is what we want.
#![allow(clippy::unwrap_used)]

mod common;

use common::{corpus_spec, render_dry, values};
use rockoon_core::render::Rendered;
use serde_json::{Value, json};

/// `spec` without the setting at `path` (dot-separated keys).
fn without(spec: &Value, path: &str) -> Value {
    let mut spec = spec.clone();
    let (parent, last) = path.rsplit_once('.').unwrap();
    let pointer = format!("/{}", parent.replace('.', "/"));
    let removed = spec
        .pointer_mut(&pointer)
        .and_then(Value::as_object_mut)
        .and_then(|map| map.remove(last));
    assert!(removed.is_some(), "{path} is not set in the fixture");
    spec
}

#[test]
fn each_services_log_level_lands_in_its_charts_logger() {
    let rendered = render_dry(&corpus_spec("10-logging-levels.yaml")).unwrap();
    for (release, logger, level) in [
        ("openstack-keystone", "logger_keystone", "DEBUG"),
        ("openstack-nova", "logger_nova", "DEBUG"),
        ("openstack-neutron", "logger_neutron", "WARNING"),
        ("openstack-glance", "logger_glance", "INFO"),
        ("openstack-placement", "logger_placement", "ERROR"),
        ("openstack-cinder", "logger_cinder", "DEBUG"),
        ("openstack-heat", "logger_heat", "INFO"),
        ("openstack-octavia", "logger_octavia", "WARNING"),
        ("openstack-barbican", "logger_barbican", "DEBUG"),
        ("openstack-designate", "logger_designate", "INFO"),
    ] {
        let values = values(&rendered, release);
        assert_eq!(
            values["conf"]["logging"][logger]["level"], level,
            "{release}"
        );
    }
    let horizon = values(&rendered, "openstack-horizon");
    assert_eq!(
        horizon["conf"]["horizon"]["local_settings"]["config"]["log_level"],
        "DEBUG"
    );
}

#[test]
fn policy_rules_go_to_each_charts_policy_file_with_strict_admin_under_them() {
    let rendered = render_dry(&corpus_spec("11-policies-strict-admin.yaml")).unwrap();
    let strict = "role:admin and is_admin_project:True";
    for (release, rule, value) in [
        (
            "openstack-keystone",
            "identity:list_projects",
            "rule:admin_required",
        ),
        (
            "openstack-nova",
            "os_compute_api:servers:create:forced_host",
            "rule:context_is_admin",
        ),
        (
            "openstack-neutron",
            "create_network:provider:physical_network",
            "rule:admin_only",
        ),
        ("openstack-glance", "publicize_image", "role:admin"),
        ("openstack-cinder", "volume:force_delete", "rule:admin_api"),
        (
            "openstack-heat",
            "stacks:global_index",
            "rule:deny_everybody",
        ),
        (
            "openstack-placement",
            "placement:resource_providers:list",
            "role:admin or role:reader",
        ),
        ("openstack-designate", "create_zone", "rule:admin_or_owner"),
        ("openstack-barbican", "secrets:get", "rule:all_users"),
    ] {
        let policy = &values(&rendered, release)["conf"]["policy"];
        assert_eq!(policy[rule], value, "{release}");
        assert_eq!(policy["context_is_admin"], strict, "{release}");
    }
    // Keystone marks tokens of the cloud admin's project, which the rule above requires.
    let keystone = values(&rendered, "openstack-keystone");
    assert_eq!(
        keystone["conf"]["keystone"]["resource"],
        json!({"admin_project_name": "admin", "admin_project_domain_name": "Default"})
    );
}

#[test]
fn without_strict_admin_only_the_listed_rules_change() {
    let rendered = render_dry(&corpus_spec("12-policies-without-strict-admin.yaml")).unwrap();
    let nova = values(&rendered, "openstack-nova");
    assert_eq!(
        nova["conf"]["policy"],
        json!({"os_compute_api:os-hypervisors:list": "rule:context_is_admin"})
    );
    assert!(values(&rendered, "openstack-glance")["conf"]["policy"].is_null());
    assert!(values(&rendered, "openstack-keystone")["conf"]["keystone"]["resource"].is_null());
}

#[test]
fn a_services_own_context_is_admin_rule_wins_over_strict_admin() {
    let mut spec = corpus_spec("11-policies-strict-admin.yaml");
    spec["features"]["policies"]["nova"]["context_is_admin"] = json!("role:cloud-admin");
    let rendered = render_dry(&spec).unwrap();
    assert_eq!(
        values(&rendered, "openstack-nova")["conf"]["policy"]["context_is_admin"],
        "role:cloud-admin"
    );
}

#[test]
fn the_floating_network_is_created_by_neutrons_bootstrap_job_only_when_missing() {
    let rendered = render_dry(&corpus_spec("13-floating-network-flat.yaml")).unwrap();
    let bootstrap = &values(&rendered, "openstack-neutron")["bootstrap"];
    assert_eq!(bootstrap["enabled"], true);
    let script = bootstrap["script"].as_str().unwrap();
    for expected in [
        "net='public'",
        "if ! openstack network show \"$net\"",
        "openstack network create --external --provider-network-type 'flat' \
         --provider-physical-network 'physnet1' \"$net\"",
        "subnet='public-subnet'",
        "--subnet-range '203.0.113.0/24' --allocation-pool \
         'start=203.0.113.100,end=203.0.113.200' --gateway '203.0.113.1' --no-dhcp",
        "router='r1'",
        "openstack router set --external-gateway \"$net\" \"$router\"",
    ] {
        assert!(script.contains(expected), "{expected:?} not in:\n{script}");
    }
    assert!(script.starts_with("set -ex\n"), "{script}");
}

#[test]
fn floating_network_values_stay_single_shell_words() {
    let rendered = render_dry(&corpus_spec("14-floating-network-vlan-ovn.yaml")).unwrap();
    let script = values(&rendered, "openstack-neutron")["bootstrap"]["script"]
        .as_str()
        .unwrap()
        .to_owned();
    // The name `ext'net` closes the quote, escapes its quote and reopens: one word.
    assert!(script.contains(r"net='ext'\''net'"), "{script}");
    assert!(
        script.contains("--provider-network-type 'vlan'"),
        "{script}"
    );
    assert!(script.contains("--provider-segment '120'"), "{script}");
    // No subnet name: `<network>-subnet`; no router: none created.
    assert!(script.contains(r"subnet='ext'\''net-subnet'"), "{script}");
    assert!(!script.contains("router"), "{script}");
}

#[test]
fn a_floating_network_without_its_physnet_is_refused_naming_the_field() {
    let spec = without(
        &corpus_spec("13-floating-network-flat.yaml"),
        "features.neutron.floating_network.physnet",
    );
    let error = render_dry(&spec).unwrap_err().to_string();
    assert!(
        error.contains("spec.features.neutron.floating_network.physnet"),
        "{error}"
    );
    let mut spec = corpus_spec("13-floating-network-flat.yaml");
    spec["features"]["neutron"]["floating_network"]["enabled"] = json!("yes");
    let error = render_dry(&spec).unwrap_err().to_string();
    assert!(
        error.contains("spec.features.neutron.floating_network.enabled"),
        "{error}"
    );
}

#[test]
fn database_backups_run_the_charts_cronjob_into_a_claim_of_the_backup_class() {
    let rendered = render_dry(&corpus_spec("15-database-backup-pvc.yaml")).unwrap();
    let mariadb = values(&rendered, "openstack-mariadb");
    assert_eq!(mariadb["manifests"]["cron_job_mariadb_backup"], true);
    assert_eq!(mariadb["manifests"]["pvc_backup"], true);
    assert_eq!(mariadb["conf"]["backup"]["enabled"], true);
    assert_eq!(mariadb["jobs"]["mariadb_backup"]["cron"], "0 2 * * *");
    assert_eq!(mariadb["volume"]["backup"]["class_name"], "ceph-rbd");
}

#[test]
fn hostpath_database_backups_use_no_claim_and_no_backup_means_no_cronjob() {
    let spec = corpus_spec("16-database-backup-hostpath-and-cleanup.yaml");
    let mariadb = values(&render_dry(&spec).unwrap(), "openstack-mariadb");
    assert_eq!(mariadb["manifests"]["cron_job_mariadb_backup"], true);
    assert_eq!(mariadb["manifests"]["pvc_backup"], false);
    // The chart's default schedule stays when the spec names none.
    assert!(mariadb["jobs"].is_null());

    let spec = without(&spec, "features.database.backup");
    let mariadb = values(&render_dry(&spec).unwrap(), "openstack-mariadb");
    assert_eq!(mariadb["manifests"]["cron_job_mariadb_backup"], false);
    assert_eq!(mariadb["manifests"]["pvc_backup"], false);

    let mut spec = corpus_spec("15-database-backup-pvc.yaml");
    spec["features"]["database"]["backup"]["backend"] = json!("tape");
    let error = render_dry(&spec).unwrap_err().to_string();
    assert!(
        error.contains("spec.features.database.backup.backend"),
        "{error}"
    );
}

#[test]
fn ldap_domains_of_the_list_form_become_keystone_domain_configs() {
    let rendered = render_dry(&corpus_spec("17-keystone-ldap-domains-list.yaml")).unwrap();
    let domains = &values(&rendered, "openstack-keystone")["conf"]["ks_domains"];
    let corp = &domains["corp.example"];
    assert_eq!(corp["identity"]["driver"], "ldap");
    assert_eq!(corp["ldap"]["url"], "ldaps://ldap.corp.example:636");
    // The bind password came from its Secret reference, resolved before the template.
    assert!(corp["ldap"]["password"].is_string(), "{corp}");
    assert!(domains.get("retired.example").is_none(), "{domains}");
}

#[test]
fn ldap_domains_of_the_map_form_become_keystone_domain_configs() {
    let rendered = render_dry(&corpus_spec("18-keystone-ldap-domains-map.yaml")).unwrap();
    let domains = &values(&rendered, "openstack-keystone")["conf"]["ks_domains"];
    assert_eq!(
        domains["emea"]["ldap"]["url"],
        "ldap://ldap-emea.example:389"
    );
    assert_eq!(domains["apac"]["ldap"]["suffix"], "dc=apac,dc=example");

    let mut spec = corpus_spec("18-keystone-ldap-domains-map.yaml");
    spec["features"]["keystone"]["domain_specific_configuration"]["enabled"] = json!(false);
    let rendered = render_dry(&spec).unwrap();
    assert!(values(&rendered, "openstack-keystone")["conf"]["ks_domains"].is_null());
}

#[test]
fn dvr_with_open_vswitch_runs_l3_agents_on_every_ovs_node_and_snat_on_gateways() {
    let rendered = render_dry(&corpus_spec("08-compute-gazpacho-ovs-dvr.yaml")).unwrap();
    let neutron = values(&rendered, "openstack-neutron");
    let conf = &neutron["conf"];
    assert_eq!(conf["neutron"]["DEFAULT"]["router_distributed"], true);
    assert_eq!(
        conf["plugins"]["openvswitch_agent"]["agent"]["enable_distributed_routing"],
        true
    );
    assert_eq!(conf["l3_agent"]["DEFAULT"]["agent_mode"], "dvr");
    assert_eq!(
        conf["overrides"]["neutron_l3-agent"]["labels"],
        json!([{"label": {"key": "openstack-gateway", "values": ["enabled"]},
                "conf": {"l3_agent": {"DEFAULT": {"agent_mode": "dvr_snat"}}}}])
    );
    for agent in ["l3", "metadata"] {
        assert_eq!(
            neutron["labels"]["agent"][agent]["node_selector_key"], "openvswitch",
            "{agent}"
        );
    }
    assert_eq!(
        neutron["labels"]["agent"]["dhcp"]["node_selector_key"],
        "openstack-gateway"
    );

    let without_dvr = without(
        &corpus_spec("08-compute-gazpacho-ovs-dvr.yaml"),
        "features.neutron.dvr",
    );
    let neutron = values(&render_dry(&without_dvr).unwrap(), "openstack-neutron");
    assert_eq!(
        neutron["conf"]["neutron"]["DEFAULT"]["router_distributed"],
        false
    );
    assert!(neutron["conf"]["overrides"].is_null());
    assert_eq!(
        neutron["labels"]["agent"]["l3"]["node_selector_key"],
        "openstack-gateway"
    );
}

#[test]
fn vpnaas_adds_the_plugin_its_provider_and_the_agent_part_of_each_backend() {
    let rendered = render_dry(&corpus_spec("35-neutron-ovs-dvr-vpnaas.yaml")).unwrap();
    let neutron = values(&rendered, "openstack-neutron");
    let conf = &neutron["conf"];
    assert_eq!(
        conf["neutron"]["DEFAULT"]["service_plugins"],
        "router,vpnaas"
    );
    assert_eq!(
        conf["neutron_vpnaas"]["service_providers"]["service_provider"],
        "VPN:strongswan:neutron_vpnaas.services.vpn.service_drivers.ipsec.IPsecVPNDriver:default"
    );
    assert_eq!(conf["l3_agent"]["AGENT"]["extensions"], "vpnaas");
    // DVR's agent mode and the VPN extension share l3_agent.ini.
    assert_eq!(conf["l3_agent"]["DEFAULT"]["agent_mode"], "dvr");

    let rendered = render_dry(&corpus_spec("36-neutron-ovn-vpnaas.yaml")).unwrap();
    let neutron = values(&rendered, "openstack-neutron");
    assert_eq!(
        neutron["conf"]["neutron"]["DEFAULT"]["service_plugins"],
        "ovn-router,ovn-vpnaas"
    );
    assert_eq!(neutron["manifests"]["daemonset_ovn_vpn_agent"], true);
    assert!(neutron["conf"]["l3_agent"]["AGENT"].is_null());
}

#[test]
fn a_domain_name_the_charts_shell_scripts_would_split_is_refused() {
    let mut spec = corpus_spec("18-keystone-ldap-domains-map.yaml");
    let domains = &mut spec["features"]["keystone"]["domain_specific_configuration"]["ks_domains"];
    domains["x; rm -rf /"] = json!({"config": {"identity": {"driver": "ldap"}}});
    let error = render_dry(&spec).unwrap_err().to_string();
    assert!(
        error.contains("spec.features.keystone.domain_specific_configuration")
            && error.contains("x; rm -rf /"),
        "{error}"
    );
}

/// Issue 17's complaint, for the settings implemented here: removing one changes the render.
#[test]
fn removing_any_implemented_setting_changes_what_is_rendered() {
    for (file, path) in [
        ("10-logging-levels.yaml", "features.logging.nova"),
        ("10-logging-levels.yaml", "features.logging.keystone"),
        ("10-logging-levels.yaml", "features.logging.horizon"),
        (
            "11-policies-strict-admin.yaml",
            "features.policies.strict_admin",
        ),
        (
            "11-policies-strict-admin.yaml",
            "features.policies.keystone",
        ),
        ("11-policies-strict-admin.yaml", "features.policies.neutron"),
        ("11-policies-strict-admin.yaml", "features.policies.glance"),
        (
            "11-policies-strict-admin.yaml",
            "features.policies.placement",
        ),
        ("28-instance-ha-and-manila.yaml", "features.policies.manila"),
        (
            "29-alarming-object-storage-tempest.yaml",
            "features.policies.aodh",
        ),
        (
            "29-alarming-object-storage-tempest.yaml",
            "features.logging.aodh",
        ),
        (
            "13-floating-network-flat.yaml",
            "features.neutron.floating_network",
        ),
        ("15-database-backup-pvc.yaml", "features.database.backup"),
        ("08-compute-gazpacho-ovs-dvr.yaml", "features.neutron.dvr"),
        (
            "35-neutron-ovs-dvr-vpnaas.yaml",
            "features.neutron.extensions.vpnaas",
        ),
        (
            "36-neutron-ovn-vpnaas.yaml",
            "features.neutron.extensions.vpnaas",
        ),
        (
            "17-keystone-ldap-domains-list.yaml",
            "features.keystone.domain_specific_configuration",
        ),
        (
            "18-keystone-ldap-domains-map.yaml",
            "features.keystone.domain_specific_configuration",
        ),
    ] {
        let spec = corpus_spec(file);
        let with = render_dry(&spec).unwrap();
        let without = render_dry(&without(&spec, path)).unwrap();
        let fingerprints =
            |r: &Rendered| -> Vec<String> { r.releases().map(|r| r.fingerprint.clone()).collect() };
        assert_ne!(
            fingerprints(&with),
            fingerprints(&without),
            "{file}: removing {path} changes nothing rendered"
        );
    }
}

#[test]
fn libvirt_tls_listens_with_tls_only_mounts_the_generated_secrets_and_migrates_over_tls() {
    let spec = corpus_spec("54-nova-libvirt-and-vnc-tls.yaml");
    let rendered = render_dry(&spec).unwrap();
    let libvirt = values(&rendered, "openstack-libvirt");
    assert_eq!(libvirt["conf"]["libvirt"]["listen_tls"], "1");
    assert_eq!(libvirt["conf"]["libvirt"]["listen_tcp"], "0");
    // Reachable from the other hosts: on the migration interface, not the chart's 127.0.0.1.
    assert_eq!(
        libvirt["conf"]["dynamic_options"]["libvirt"],
        json!({"listen_interface": "ens5"})
    );
    // The chart's tls_volume mounts read these Secrets (keys from crates/core/src/certificates).
    assert_eq!(libvirt["secrets"]["tls"]["server"], "libvirt-tls-server");
    assert_eq!(libvirt["secrets"]["tls"]["client"], "libvirt-tls-client");
    let mounts = &libvirt["pod"]["mounts"]["libvirt"]["libvirt"];
    assert!(
        mounts["volumeMounts"].as_array().unwrap().contains(&json!({
            "name": "libvirt-tls-client-key",
            "mountPath": "/etc/pki/libvirt/private/clientkey.pem",
            "subPath": "clientkey.pem",
            "readOnly": true,
        })),
        "libvirtd's client key where libvirtd reads it: {mounts}"
    );
    let nova = values(&rendered, "openstack-nova");
    assert_eq!(
        nova["conf"]["nova"]["libvirt"]["live_migration_uri"],
        "qemu+tls://%s/system?no_verify=1"
    );

    let off = render_dry(&without(&spec, "features.nova.libvirt.tls")).unwrap();
    let libvirt = values(&off, "openstack-libvirt");
    assert!(libvirt["conf"]["libvirt"].is_null(), "{}", libvirt["conf"]);
    assert!(libvirt["conf"]["dynamic_options"].is_null());
    assert!(libvirt["secrets"].is_null());
    let nova = values(&off, "openstack-nova");
    assert!(nova["conf"]["nova"]["libvirt"]["live_migration_uri"].is_null());
}

#[test]
fn novnc_tls_gives_qemu_and_the_proxy_their_certificates_without_any_cert_manager_request() {
    let spec = corpus_spec("54-nova-libvirt-and-vnc-tls.yaml");
    let rendered = render_dry(&spec).unwrap();
    let libvirt = values(&rendered, "openstack-libvirt");
    let qemu = &libvirt["conf"]["qemu"];
    assert_eq!(qemu["vnc_tls"], "1");
    assert_eq!(qemu["vnc_tls_x509_verify"], "1");
    assert_eq!(qemu["vnc_tls_x509_cert_dir"], "/etc/pki/libvirt-vnc");
    let script = libvirt["conf"]["vencrypt"]["cert_init_sh"]
        .as_str()
        .unwrap();
    assert!(!script.contains("cert-manager.io"), "{script}");
    assert!(!script.contains("kubectl"), "{script}");
    let mounts = &libvirt["pod"]["mounts"]["libvirt"]["libvirt"];
    assert!(mounts["volumes"].as_array().unwrap().contains(&json!({
        "name": "libvirt-vnc-tls",
        "secret": {"secretName": "libvirt-vnc-tls-server", "defaultMode": 292},
    })));

    let nova = values(&rendered, "openstack-nova");
    // `vencrypt` in auth_schemes would make the nova chart render a cert-manager Certificate.
    assert!(nova["conf"]["nova"]["vnc"]["auth_schemes"].is_null());
    let snippet = nova["extraObjects"]["novncproxy_vencrypt_conf"]["data"]["vencrypt.conf"]
        .as_str()
        .unwrap();
    assert!(
        snippet.starts_with("[vnc]\nauth_schemes = vencrypt\n"),
        "{snippet}"
    );
    assert!(snippet.contains("vencrypt_client_key = /etc/pki/nova-novncproxy/tls.key"));
    assert_eq!(
        nova["pod"]["etcSources"]["nova_novncproxy"],
        json!([{"configMap": {"name": "nova-novncproxy-vencrypt-conf"}}])
    );
    let proxy = &nova["pod"]["mounts"]["nova_novncproxy"]["nova_novncproxy"];
    assert_eq!(
        proxy["volumes"][0]["secret"]["secretName"],
        "nova-novncproxy-vencrypt"
    );
    assert_eq!(
        proxy["volumeMounts"][0]["mountPath"],
        "/etc/pki/nova-novncproxy"
    );

    let off = render_dry(&without(&spec, "features.nova.console.novnc.tls")).unwrap();
    assert!(values(&off, "openstack-libvirt")["conf"]["qemu"].is_null());
    assert!(values(&off, "openstack-nova")["extraObjects"]["novncproxy_vencrypt_conf"].is_null());
}

#[test]
fn compute_waits_for_the_generated_certificate_secrets_until_each_is_complete() {
    use rockoon_core::render::{RenderContext, ServiceOutcome, Templates, render};
    let spec = corpus_spec("54-nova-libvirt-and-vnc-tls.yaml");
    let mut context = RenderContext::dry_run();
    context.dry_run_certificates = false;
    context.certificates = ["libvirt-tls-server".to_owned()].into();
    let rendered = render(&spec, &context, &Templates::embedded()).unwrap();
    let compute = rendered
        .services
        .iter()
        .find(|(name, _)| name == "compute")
        .map(|(_, outcome)| outcome)
        .unwrap();
    assert_eq!(
        compute,
        &ServiceOutcome::Waiting {
            reason: "waiting for generated certificates: libvirt-tls-client, \
                     libvirt-vnc-tls-server, nova-novncproxy-vencrypt"
                .into()
        }
    );
    context.certificates.extend(
        [
            "libvirt-tls-client",
            "libvirt-vnc-tls-server",
            "nova-novncproxy-vencrypt",
        ]
        .map(str::to_owned),
    );
    let rendered = render(&spec, &context, &Templates::embedded()).unwrap();
    assert!(rendered.releases().any(|r| r.name == "openstack-libvirt"));
}
