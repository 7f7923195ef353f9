//! Chart-default credentials left in Secrets and rendered config files.
//!
//! A value counts when it is, as a whole, one of [`DEFAULTS`] and sits under a key that names a
//! credential (`password`, `*_pass`, `*secret*`, `*token*`, `*key`, `*cookie*`,
//! `*credential*`): a whole Secret data value under such a data key, the value of such a key on
//! a line of a config file (`key = value`, `key: value`, `KEY=value`, `"key": "value"`), or the
//! password of a URL's `user:password@` part anywhere. So `auth_type = password` (a keystone
//! auth plugin, not a secret) and a random password that happens to contain `password` are not
//! flagged.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Secret;
use serde_json::Value;

use super::{Finding, Object};

/// The distinct default credentials of the upstream OpenStack-Helm charts (snapshot in
/// `../shared/openstack-helm`), found with
/// `grep -E '(password|secret|token|key|cookie)[a-z_]*:' */values.yaml` and read in context:
pub const DEFAULTS: &[&str] = &[
    // `endpoints.*.auth.*.password` of every chart (DB, RabbitMQ `user` and `guest`, keystone
    // service users, `*-keystone-test` users), `conf.*.metadata_proxy_shared_secret` of nova
    // and neutron (`ovn_agent.ini`, `metadata_agent.ini`, nova `[neutron]`), blazar,
    // prometheus-alertmanager's `smtp_auth_password`.
    "password",
    // ldap, elasticsearch, kibana, grafana, nagios and others' admin passwords.
    "changeme",
    // trove `conf.trove.*.password`.
    "testpass",
    // postgresql exporter `endpoints.prometheus_postgresql_exporter.auth.user.password`.
    "psql_exp_pass",
    // designate and powerdns `conf.powerdns.api-key` / `token`.
    "chiave_segreta",
    // zaqar `conf.zaqar.signed_url.secret_key`.
    "SOMELONGSECRETKEY",
    // ceph-rgw `endpoints.ceph_object_store.auth.admin` S3 keys.
    "admin_secret_key",
    "admin_access_key",
    // ceph-rgw commented examples of S3 keys (elasticsearch/backup users).
    "elastic_secret_key",
    "elastic_access_key",
    "backup_secret_key",
    "backup_access_key",
    // registry `conf.registry.http.secret`.
    "not-so-secret-secret",
    // freezer `secrets.*` placeholder.
    "freezer-db-password",
    // horizon `conf.horizon.local_settings.config.horizon_secret_key`.
    "9aee62c0-5253-4a86-b189-e0fb71fa503c",
    // glance and ironic `conf.*.swift.tmpurlkey`.
    "supersecret",
    // octavia `conf.octavia.health_manager.heartbeat_key`.
    "insecure",
    // manila `conf.manila.generic.service_instance_password`.
    "manila",
];

/// Whether a key names a credential.
pub fn is_credential_key(key: &str) -> bool {
    let key = key.trim().to_ascii_lowercase();
    let key = key.as_str();
    key.contains("passw")
        || key.contains("passwd")
        || key == "pass"
        || key.ends_with("_pass")
        || key.ends_with("-pass")
        || key.contains("secret")
        || key.contains("token")
        || key.ends_with("key")
        || key.contains("cookie")
        || key.contains("credential")
}

fn unquote(value: &str) -> &str {
    let value = value.trim().trim_end_matches(',').trim();
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

fn is_default(value: &str) -> Option<&'static str> {
    let value = unquote(value);
    DEFAULTS.iter().copied().find(|d| *d == value)
}

/// Passwords of the `scheme://user:password@host` parts of a text (several per URL, as in
/// `rabbit://u:p@h1,u:p@h2/`).
pub fn url_passwords(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let after = &rest[start + 3..];
        let end = after
            .find(|c: char| c.is_whitespace() || c == '/' || c == '"' || c == '\'' || c == '?')
            .unwrap_or(after.len());
        for part in after[..end].split(',') {
            if let Some((userinfo, _host)) = part.rsplit_once('@')
                && let Some((user, password)) = userinfo.split_once(':')
            {
                out.push((user.to_owned(), password.to_owned()));
            }
        }
        rest = &after[end..];
    }
    out
}

/// `(key, value)` of a config line: `key = value`, `key: value`, `export KEY=value`,
/// `"key": "value"`; the first `=` or `:` separates.
pub fn line_pair(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    if line.starts_with('#') || line.starts_with(';') || line.starts_with("//") {
        return None;
    }
    let line = line.strip_prefix("export ").unwrap_or(line);
    let line = line.strip_prefix("- ").unwrap_or(line);
    let at = line.find(['=', ':'])?;
    let key = unquote(&line[..at]);
    if key.is_empty() || key.contains(char::is_whitespace) {
        return None;
    }
    Some((key, &line[at + 1..]))
}

/// Default credentials in one piece of data (`data_key` is its Secret/ConfigMap key):
/// `(location, default)`.
pub fn scan(data_key: &str, text: &str) -> Vec<(String, &'static str)> {
    let mut found = Vec::new();
    if is_credential_key(data_key)
        && let Some(d) = is_default(text)
    {
        found.push((data_key.to_owned(), d));
    }
    for (n, line) in text.lines().enumerate() {
        if let Some((key, value)) = line_pair(line)
            && is_credential_key(key)
            && let Some(d) = is_default(value)
        {
            found.push((format!("{data_key} line {} `{key}`", n + 1), d));
        }
        for (user, password) in url_passwords(line) {
            if let Some(d) = is_default(&password) {
                found.push((format!("{data_key} line {} URL of user {user:?}", n + 1), d));
            }
        }
    }
    found
}

/// Every default credential in the Secrets and ConfigMaps.
pub fn check(objects: &[Object]) -> Vec<Finding> {
    let mut findings = BTreeSet::new();
    for object in objects {
        let data: Vec<(String, String)> = match object.kind.as_str() {
            "Secret" => {
                if object.body["type"] == "helm.sh/release.v1" {
                    continue;
                }
                let Ok(secret) = serde_json::from_value::<Secret>(object.body.clone()) else {
                    continue;
                };
                let mut data: Vec<(String, String)> = secret
                    .data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                    .collect();
                data.extend(secret.string_data.unwrap_or_default());
                data
            }
            "ConfigMap" => object.body["data"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect(),
            _ => continue,
        };
        for (key, text) in &data {
            for (location, value) in scan(key, text) {
                findings.insert(Finding::DefaultCredential {
                    object: object.id(),
                    release: object.release.clone(),
                    location,
                    value: value.to_owned(),
                });
            }
        }
    }
    findings.into_iter().collect()
}

/// A Secret object with `stringData` for tests and callers building inventories by hand.
pub fn secret_with(name: &str, data: &[(&str, &str)]) -> Value {
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
        .collect();
    serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data})
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_default_password_in_an_ini_file_is_found_with_its_line() {
        let ini = "[DEFAULT]\ndebug = false\n[keystone_authtoken]\nauth_type = password\nusername = nova\npassword = password\n";
        let found = scan("nova.conf", ini);
        assert_eq!(
            found,
            vec![("nova.conf line 6 `password`".to_owned(), "password")]
        );
    }

    #[test]
    fn a_random_password_containing_password_is_not_flagged() {
        let ini = "[keystone_authtoken]\npassword = Xpassword9fK2\nmetadata_proxy_shared_secret = passwordpassword\n";
        assert!(scan("nova.conf", ini).is_empty());
        assert!(scan("OS_PASSWORD", "x7Yq2passwordQ").is_empty());
    }

    #[test]
    fn a_default_password_inside_a_transport_url_is_found() {
        let ini = "[DEFAULT]\ntransport_url = rabbit://nova:R4nd0m@rabbitmq-nova:5672,guest:password@rabbitmq-nova-1:5672/nova\n";
        let found = scan("nova.conf", ini);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].0.contains("\"guest\""), "{found:?}");
    }

    #[test]
    fn default_values_of_secret_data_keys_and_yaml_lines_are_found() {
        let objects = vec![
            Object::new(
                secret_with(
                    "openstack-rabbitmq-admin-user",
                    &[
                        ("RABBITMQ_ADMIN_USERNAME", "rabbitmq"),
                        ("RABBITMQ_GUEST_PASSWORD", "password"),
                    ],
                ),
                Some("openstack-rabbitmq".into()),
            ),
            Object::new(
                json!({"kind": "ConfigMap", "metadata": {"name": "cfg"},
                       "data": {"clouds.yaml": "clouds:\n  admin:\n    auth:\n      password: \"changeme\"\n"}}),
                None,
            ),
            // Base64 data is decoded: "cGFzc3dvcmQ=" is "password".
            Object::new(
                json!({"kind": "Secret", "metadata": {"name": "nova-keystone-test"}, "data": {"OS_PASSWORD": "cGFzc3dvcmQ="}}),
                None,
            ),
            // helm's own release storage is not a credential store.
            Object::new(
                json!({"kind": "Secret", "type": "helm.sh/release.v1", "metadata": {"name": "sh.helm.release.v1.x.v1"}, "stringData": {"password": "password"}}),
                None,
            ),
        ];
        let findings = check(&objects);
        let text: Vec<String> = findings.iter().map(ToString::to_string).collect();
        assert_eq!(findings.len(), 3, "{text:#?}");
        assert!(
            text[0].contains("Secret/nova-keystone-test")
                || text.iter().any(|t| t.contains("nova-keystone-test"))
        );
        assert!(text.iter().any(|t| t.contains("RABBITMQ_GUEST_PASSWORD")));
        assert!(text.iter().any(|t| t.contains("clouds.yaml line 4")));
    }

    #[test]
    fn non_credential_keys_with_default_looking_values_are_ignored() {
        assert!(
            scan(
                "config",
                "auth_type = password\nusername: manila\nhost: insecure\n"
            )
            .is_empty()
        );
        assert!(scan("username", "password").is_empty());
    }
}
