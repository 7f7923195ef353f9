//! Keystone's OpenID Connect federation (`features.keystone.federation.openid`) and the
//! Keycloak switch (`features.keystone.keycloak`), issue 17: what the keystone release gets
//! (keystone.conf, our Apache site with mod_auth_openidc, the bootstrap script creating the
//! Keystone resources) and what the horizon release gets (WebSSO). Input: the corpus OSDPL
//! `19-keystone-federation-openid.yaml`, rendered offline with dry-run credentials.

// In tests a failed unwrap is a failed test with its message; that is what we want.
#![allow(clippy::unwrap_used)]

mod common;

use common::{corpus_spec, render_dry, values};
use serde_json::{Value, json};

const FIXTURE: &str = "19-keystone-federation-openid.yaml";

fn spec() -> Value {
    corpus_spec(FIXTURE)
}

fn keystone(spec: &Value) -> Value {
    values(&render_dry(spec).unwrap(), "openstack-keystone")
}

fn horizon(spec: &Value) -> Value {
    values(&render_dry(spec).unwrap(), "openstack-horizon")
}

fn site(keystone: &Value) -> String {
    keystone["conf"]["wsgi_keystone"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn script(keystone: &Value) -> String {
    keystone["bootstrap"]["script"].as_str().unwrap().to_owned()
}

/// The spec with only the Keycloak switch (no `federation` block).
fn keycloak_only() -> Value {
    let mut spec = spec();
    spec["features"]["keystone"]
        .as_object_mut()
        .unwrap()
        .remove("federation");
    spec
}

#[test]
fn federation_adds_the_mapped_and_openid_auth_methods_the_issuer_attribute_and_horizon_as_trusted_dashboard()
 {
    let conf = &keystone(&spec())["conf"]["keystone"];
    let methods: Vec<&str> = conf["auth"]["methods"]
        .as_str()
        .unwrap()
        .split(',')
        .collect();
    for method in [
        "password",
        "token",
        "mapped",
        "openid",
        "application_credential",
    ] {
        assert!(methods.contains(&method), "{methods:?}");
    }
    for section in ["federation", "mapped", "openid"] {
        assert_eq!(
            conf[section]["remote_id_attribute"], "HTTP_OIDC_ISS",
            "{section}"
        );
    }
    assert_eq!(
        conf["federation"]["trusted_dashboard"],
        json!({"type": "multistring", "values": ["https://horizon.sso.example.com/auth/websso/"]})
    );
}

#[test]
fn the_apache_site_keeps_the_chart_listener_and_application_and_adds_the_provider_directives() {
    let site = site(&keystone(&spec()));
    // The chart's port lookup stays Helm text for the chart to render.
    assert!(site.contains("endpoint_port_lookup"), "{site}");
    assert!(site.contains("Listen 0.0.0.0:{{ $portInt }}"), "{site}");
    assert!(site.contains("WSGIScriptAlias / /var/www/cgi-bin/keystone/wsgi.py"));
    for line in [
        r#"OIDCClaimPrefix "OIDC-""#,
        r#"OIDCProviderMetadataURL "https://keycloak.example.com/auth/realms/iam/.well-known/openid-configuration""#,
        r#"OIDCClientID "os""#,
        r#"OIDCResponseType "id_token""#,
        r#"OIDCSSLValidateServer "Off""#,
        r#"OIDCRedirectURI "https://keystone.sso.example.com/v3/auth/OS-FEDERATION/identity_providers/keycloak/protocols/mapped/websso/""#,
        r#"OIDCSessionType "client-cookie""#,
    ] {
        assert!(site.contains(line), "missing {line} in\n{site}");
    }
    assert!(site.contains(
        "<LocationMatch \"^/v3/auth/OS-FEDERATION/(websso/(mapped|openid)|identity_providers/keycloak/protocols/(mapped|openid)/websso)\">\n        AuthType openid-connect"
    ), "{site}");
    assert!(site.contains(
        "<LocationMatch \"^/v3/OS-FEDERATION/identity_providers/keycloak/protocols/(mapped|openid)/auth\">\n        AuthType oauth2"
    ), "{site}");
}

#[test]
fn the_crypto_passphrase_is_the_generated_identity_credential() {
    let site = site(&keystone(&spec()));
    // The dry-run value of the identity service's `oidc_crypto_passphrase` credential.
    assert!(
        site.contains(r#"OIDCCryptoPassphrase "dry-run-identity-oidc_crypto_passphrase""#),
        "{site}"
    );
    assert!(rockoon_core::values::diff::is_sensitive(
        "conf.wsgi_keystone"
    ));
}

#[test]
fn the_oauth2_flow_verifies_bearer_tokens_with_mod_oauth2_and_enables_both_modules() {
    let keystone = keystone(&spec());
    assert_eq!(
        keystone["conf"]["software"]["apache2"]["a2enmod"],
        json!(["auth_openidc", "oauth2"])
    );
    assert!(site(&keystone).contains(
        "OAuth2TokenVerify jwks_uri https://keycloak.example.com/auth/realms/iam/protocol/openid-connect/certs jwks_uri.ssl_verify=false"
    ));
}

#[test]
fn the_keycloak_switch_alone_is_one_provider_keycloak_with_the_iam_realm_issuer_and_the_legacy_flow()
 {
    let keystone = keystone(&keycloak_only());
    let site = site(&keystone);
    assert!(site.contains(
        r#"OIDCProviderMetadataURL "https://keycloak.example.com/auth/realms/iam/.well-known/openid-configuration""#
    ));
    assert!(site.contains(
        r#"OIDCOAuthVerifyJwksUri "https://keycloak.example.com/auth/realms/iam/protocol/openid-connect/certs""#
    ));
    assert!(site.contains("AuthType oauth20"), "{site}");
    assert_eq!(
        keystone["conf"]["software"]["apache2"]["a2enmod"],
        json!(["auth_openidc"])
    );
    let script = script(&keystone);
    assert!(script.contains(
        "openstack identity provider create --remote-id 'https://keycloak.example.com/auth/realms/iam' --domain keycloak keycloak"
    ), "{script}");
    // Rockoon's default mapping: user name, email and groups from the Keycloak claims.
    assert!(script.contains(r#"{"type": "OIDC-iam_roles"}"#), "{script}");
}

#[test]
fn the_bootstrap_script_creates_or_updates_the_domain_provider_mapping_and_both_protocols() {
    let script = script(&keystone(&spec()));
    // The chart's default step is kept (our script replaces the chart's).
    assert!(script.starts_with(
        "# The admin user holds the admin role on the default domain.\nopenstack role add"
    ));
    for (show, create, update) in [
        (
            "openstack domain show keycloak",
            "openstack domain create",
            "",
        ),
        (
            "openstack identity provider show keycloak",
            "openstack identity provider create --remote-id 'https://keycloak.example.com/auth/realms/iam' --domain keycloak keycloak",
            "openstack identity provider set --remote-id 'https://keycloak.example.com/auth/realms/iam' keycloak",
        ),
        (
            "openstack mapping show keycloak_mapping",
            "openstack mapping create --rules \"${rules}\" keycloak_mapping",
            "openstack mapping set --rules \"${rules}\" keycloak_mapping",
        ),
        (
            "openstack federation protocol show --identity-provider keycloak \"${protocol}\"",
            "openstack federation protocol create --identity-provider keycloak --mapping keycloak_mapping \"${protocol}\"",
            "openstack federation protocol set --identity-provider keycloak --mapping keycloak_mapping \"${protocol}\"",
        ),
    ] {
        let at = script
            .find(show)
            .unwrap_or_else(|| panic!("no {show} in\n{script}"));
        assert!(script[at..].contains(create), "no {create} in\n{script}");
        assert!(script[at..].contains(update), "no {update} in\n{script}");
    }
    assert!(script.contains("for protocol in mapped openid; do"));
    // The mapping rules are the provider's, as JSON between the heredoc markers.
    let rules = script
        .split("<<'END_OF_MAPPING_RULES'\n")
        .nth(1)
        .and_then(|rest| rest.split("\nEND_OF_MAPPING_RULES").next())
        .unwrap();
    let rules: Value = serde_json::from_str(rules).unwrap();
    assert_eq!(
        rules,
        spec()["features"]["keystone"]["federation"]["openid"]["providers"]["keycloak"]["mapping"]
    );
}

#[test]
fn horizon_offers_the_providers_web_single_sign_on_next_to_keystone_credentials() {
    let config = &horizon(&spec())["conf"]["horizon"]["local_settings"]["config"];
    assert_eq!(
        config["auth"]["sso"],
        json!({"enabled": true, "initial_choice": "credentials", "websso_keystone_url": "https://keystone.sso.example.com/v3"})
    );
    assert_eq!(
        config["auth"]["idp_mapping"],
        json!([{"name": "keycloak_mapped", "label": "External Authentication Service", "idp": "keycloak", "protocol": "mapped"}])
    );
    assert_eq!(
        config["raw"]["LOGOUT_URL"],
        "https://keystone.sso.example.com/v3/auth/OS-FEDERATION/identity_providers/keycloak/protocols/mapped/websso/?logout=https://horizon.sso.example.com/auth/logout"
    );
}

#[test]
fn without_federation_keystone_and_horizon_keep_the_charts_defaults() {
    let mut spec = spec();
    spec["features"].as_object_mut().unwrap().remove("keystone");
    let keystone = keystone(&spec);
    assert!(keystone.get("bootstrap").is_none(), "{keystone:#}");
    assert!(keystone["conf"].get("wsgi_keystone").is_none());
    assert!(keystone["conf"]["keystone"].get("auth").is_none());
    let horizon = horizon(&spec);
    assert!(
        horizon["conf"]["horizon"]["local_settings"]["config"]
            .get("auth")
            .is_none()
    );
}

#[test]
fn federation_switched_off_renders_nothing_of_it_even_with_keycloak_on() {
    let mut spec = spec();
    spec["features"]["keystone"]["federation"]["openid"]["enabled"] = json!(false);
    assert!(keystone(&spec).get("bootstrap").is_none());
}

#[test]
fn several_enabled_providers_are_refused_at_the_providers_path() {
    let mut spec = spec();
    spec["features"]["keystone"]["federation"]["openid"]["providers"]["other"] =
        json!({"issuer": "https://idp.example.org"});
    let error = render_dry(&spec).unwrap_err().to_string();
    assert!(
        error.contains("spec.features.keystone.federation.openid.providers"),
        "{error}"
    );
    // A disabled second provider is fine.
    spec["features"]["keystone"]["federation"]["openid"]["providers"]["other"]["enabled"] =
        json!(false);
    assert!(render_dry(&spec).is_ok());
}

#[test]
fn openid_oidc_directives_replace_ours_and_add_new_ones() {
    let mut spec = spec();
    spec["features"]["keystone"]["federation"]["openid"]["oidc"] =
        json!({"OIDCScope": "openid", "OIDCPassClaimsAs": "environment"});
    let site = site(&keystone(&spec));
    assert!(site.contains(r#"OIDCScope "openid""#), "{site}");
    assert!(!site.contains("openid email profile"), "{site}");
    assert!(site.contains(r#"OIDCPassClaimsAs "environment""#), "{site}");
}

#[test]
fn a_directive_value_that_could_break_the_apache_site_is_refused() {
    let mut spec = spec();
    spec["features"]["keystone"]["federation"]["openid"]["oidc"] =
        json!({"OIDCScope": "openid\" evil"});
    let error = render_dry(&spec).unwrap_err().to_string();
    assert!(
        error.contains("spec.features.keystone.federation.openid"),
        "{error}"
    );
}

#[test]
fn a_provider_without_a_way_to_verify_bearer_tokens_leaves_the_cli_location_unprotected() {
    let mut spec = spec();
    let openid = &mut spec["features"]["keystone"]["federation"]["openid"];
    openid["providers"] = json!({"corp": {"issuer": "https://idp.example.org/realm"}});
    let keystone = keystone(&spec);
    let site = site(&keystone);
    assert!(!site.contains("/auth\">"), "{site}");
    assert!(site.contains("identity_providers/corp/protocols/(mapped|openid)/websso"));
    assert_eq!(
        keystone["conf"]["software"]["apache2"]["a2enmod"],
        json!(["auth_openidc"])
    );
}

#[test]
fn federation_is_no_longer_reported_but_the_keycloak_ca_secret_is() {
    let rendered = render_dry(&spec()).unwrap();
    assert!(
        rendered.unsupported.is_empty(),
        "{:?}",
        rendered.unsupported
    );
    let mut spec = spec();
    spec["features"]["keystone"]["keycloak"]["oidc"]["oidcCASecret"] = json!("keycloak-ca");
    let rendered = render_dry(&spec).unwrap();
    assert_eq!(rendered.unsupported.len(), 1, "{:?}", rendered.unsupported);
    assert!(
        rendered.unsupported[0].starts_with("spec.features.keystone.keycloak.oidc.oidcCASecret: ")
    );
}
