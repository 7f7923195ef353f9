//! The declared list of Rockoon spec settings this version accepts but does not render yet,
//! and which of them a spec sets: each is named, with its path and why, in the OSDPL
//! condition `UnsupportedSettings` and in `render`'s output (step 7 of the render).
//!
//! The list is kept honest by `crates/core/tests/settings_coverage.rs`: every known setting
//! either changes what renders or is listed here, and nothing listed here changes what
//! renders. Implementing a setting means deleting its line.

use serde_json::Value;

/// One declared setting.
#[derive(Debug, Clone, Copy)]
pub struct Declared {
    /// Dotted path under `spec`; `*` matches any one key.
    pub path: &'static str,
    /// Why it is not rendered.
    pub why: &'static str,
    /// A value that is the default (setting it changes nothing and is not reported).
    pub default: Option<bool>,
    /// `(merged spec pointer, value)`: when the merged spec has that value there, the setting
    /// is rendered (e.g. DVR with OVN) and not reported.
    pub unless: Option<(&'static str, &'static str)>,
    /// Rendered in part: what renders changes the releases, and the rest is reported (e.g.
    /// CADF audit of the APIs whose charts mount an audit map, reported for the others).
    pub partial: bool,
    /// The setting's own rule, when a value can ask for nothing (a complete Vault backend,
    /// an rbd volume backend) or be reported in parts: the lines to report for one value
    /// found in the spec (none: it asks for nothing). Without it, a found value is reported
    /// with `why`.
    pub judge: Option<Judge>,
}

/// A [`Declared::judge`].
pub type Judge = fn(&Found<'_>) -> Vec<String>;

/// One value of a declared setting found in the user's spec, as a [`Judge`] sees it.
pub struct Found<'a> {
    /// Its concrete dotted path under `spec`.
    pub path: &'a str,
    /// Its value.
    pub value: &'a Value,
    /// The OSDPL's `.spec` as written.
    pub user: &'a Value,
    /// The merged spec (preset, size and defaults under the user's).
    pub merged: &'a Value,
    /// The declared reason.
    pub why: &'static str,
}

impl Found<'_> {
    /// The standard report line: `spec.<path>: <why>`.
    pub fn line(&self) -> String {
        format!("spec.{}: {}", self.path, self.why)
    }

    /// The standard line, unless the value asks for nothing.
    fn line_unless(&self, asks_nothing: bool) -> Vec<String> {
        if asks_nothing {
            Vec::new()
        } else {
            vec![self.line()]
        }
    }
}

const fn entry(path: &'static str, why: &'static str) -> Declared {
    Declared {
        path,
        why,
        default: None,
        unless: None,
        partial: false,
        judge: None,
    }
}

/// A setting with its own rule ([`Declared::judge`]).
const fn judged(path: &'static str, why: &'static str, judge: Judge) -> Declared {
    Declared {
        judge: Some(judge),
        ..entry(path, why)
    }
}

/// A setting rendered in part, reported for the part that is not (by its `judge`).
const fn partial(path: &'static str, why: &'static str, judge: Judge) -> Declared {
    Declared {
        partial: true,
        ..judged(path, why, judge)
    }
}

/// Not-yet-rendered settings, sorted by path.
pub const DECLARED: &[Declared] = &[
    entry(
        "artifacts.binary_base_url",
        "no rendered chart downloads binary artifacts (VM images, themes) yet",
    ),
    judged(
        "features.barbican.backends.vault",
        "Vault needs vault_url, approle_role_id and approle_secret_id; without them Barbican keeps its simple_crypto store",
        vault_judge,
    ),
    judged(
        "features.cinder.volume.backends.*",
        "only rbd volume backends are rendered; Rockoon's extra backends (their own cinder-volume StatefulSet or DaemonSet with driver values) are left out",
        cinder_backend_judge,
    ),
    entry(
        "features.cloudprober",
        "cloudprober is not rendered by this version",
    ),
    entry(
        "features.database.backup.backup_type",
        "the mariadb chart's backup takes full dumps only",
    ),
    entry(
        "features.database.backup.backups_to_keep",
        "the mariadb chart keeps backups by age (days), not by count",
    ),
    entry(
        "features.database.backup.encryption",
        "the mariadb chart does not encrypt backups",
    ),
    entry(
        "features.database.backup.full_backup_cycle",
        "the mariadb chart's backup takes full dumps only",
    ),
    entry(
        "features.database.backup.pv_nfs",
        "the NFS server and path are not rendered: the mariadb chart's backup volume is a claim of the persistent storage class",
    ),
    entry(
        "features.database.backup.sync_remote",
        "the mariadb chart's remote backup targets RGW/Swift only, not Rockoon's rclone sync",
    ),
    judged(
        "features.database.cleanup.aodh.batch",
        "aodh-expirer takes an age only, no batch size",
        cleanup_judge,
    ),
    judged(
        "features.database.cleanup.barbican",
        "the barbican chart has no database cleanup job",
        cleanup_judge,
    ),
    judged(
        "features.database.cleanup.cinder.batch",
        "cinder-manage db purge takes an age only, no batch size",
        cleanup_judge,
    ),
    judged(
        "features.database.cleanup.glance",
        "the glance chart has no database purge job",
        cleanup_judge,
    ),
    judged(
        "features.database.cleanup.heat.batch",
        "heat-manage purge_deleted takes an age only, no batch size",
        cleanup_judge,
    ),
    judged(
        "features.database.cleanup.horizon",
        "Horizon keeps no database of its own in the upstream chart (sessions live in memcached)",
        cleanup_judge,
    ),
    judged(
        "features.database.cleanup.manila.batch",
        "manila-manage db purge takes an age only, no batch size",
        cleanup_judge,
    ),
    judged(
        "features.database.cleanup.masakari",
        "the masakari chart has no database purge job",
        cleanup_judge,
    ),
    judged(
        "features.database.cleanup.nova.age",
        "the nova chart's archive job moves every soft-deleted row (a batch per run), not rows older than an age",
        cleanup_judge,
    ),
    entry(
        "features.glance.backends.cinder",
        "the Glance cinder store needs Cinder volume backends this version does not render (only rbd); images go to the other stores given (the default rbd store when there is none)",
    ),
    entry(
        "features.horizon.motd.*.beforeLogin",
        "upstream Horizon shows no message before login",
    ),
    judged(
        "features.horizon.themes",
        "themes downloaded from a url cannot be shipped to the upstream Horizon chart; only Horizon's own default and material themes are offered",
        themes_judge,
    ),
    entry(
        "features.ironic",
        "Ironic (baremetal) is not rendered by this version",
    ),
    // `features.keystone.federation` and `keycloak` render (templates/services/identity.yaml,
    // dashboard.yaml); the CA bundle a Secret would hold does not.
    entry(
        "features.keystone.keycloak.oidc.oidcCASecret",
        "the upstream keystone chart has no place for an OpenID provider's CA bundle (mod_auth_openidc's OIDCCABundlePath needs a mounted file); the system CAs of the image verify the provider",
    ),
    // `project_name` renders (the admin account's project in every chart, Keystone's
    // bootstrap, clouds.yaml); the domains only as the default domain (`found` skips that).
    judged(
        "features.keystone.users.admin.default_domain_id",
        "Keystone's bootstrap creates the admin user and project in the default domain, whose id stays default",
        admin_domain_judge,
    ),
    judged(
        "features.keystone.users.admin.project_domain_name",
        "Keystone's bootstrap creates the admin project in the default domain only",
        admin_domain_judge,
    ),
    judged(
        "features.keystone.users.admin.user_domain_name",
        "Keystone's bootstrap creates the admin user in the default domain only",
        admin_domain_judge,
    ),
    // The services whose charts cannot take it are named by `found` (CADF_UNAUDITED).
    partial(
        "features.logging.cadf",
        "their upstream charts mount no API audit map for keystonemiddleware's audit filter, so they send no CADF audit events (nova, cinder, neutron, heat, barbican and glance do)",
        cadf_judge,
    ),
    partial(
        "features.messaging.notifications.external",
        "the topics are published on the notifications RabbitMQ (release openstack-rabbitmq-notifications) for consumers inside the cluster; Rockoon's per-topic RabbitMQ users, its external TLS listener and the openstack-external/openstack-<topic>-notifications Secrets are not provided yet",
        external_topics_judge,
    ),
    entry(
        "features.neutron.baremetal",
        "networking-generic-switch configures the switch ports of Ironic bare metal nodes, and the baremetal service (Ironic) is not rendered by this version",
    ),
    entry(
        "features.neutron.bgpvpn.route_reflector",
        "the BGP route reflector (FRR) has no upstream OpenStack-Helm chart; point bgpvpn.peers at an existing one",
    ),
    entry(
        "features.neutron.extensions.portprober",
        "portprober is a Mirantis extension: upstream Neutron has no portprober service plugin and the upstream neutron chart no portprober agent",
    ),
    entry(
        "features.neutron.ipsec",
        "IPsec encryption of tenant traffic is not rendered yet",
    ),
    // Rendered as nova's [libvirt] images_volume_group with the lvm backend; any other
    // backend keeps no disk in a volume group.
    Declared {
        path: "features.nova.images.lvm.volume_group",
        why: "the volume group holds instance disks only with features.nova.images.backend lvm",
        default: None,
        unless: Some(("/features/nova/images/backend", "lvm")),
        partial: false,
        judge: None,
    },
    entry(
        "features.policies.gnocchi",
        "gnocchi is not rendered by this version",
    ),
    entry(
        "features.policies.ironic",
        "ironic is not rendered by this version",
    ),
    entry(
        "features.policies.masakari",
        "the masakari chart ships no policy file to write rules into",
    ),
    entry(
        "features.policies.panko",
        "panko is not rendered by this version",
    ),
    entry(
        "features.ssl.tls_proxy",
        "the TLS proxy sidecars are not rendered yet",
    ),
    entry(
        "features.stacklight",
        "StackLight integration is not rendered yet",
    ),
    entry(
        "features.telemetry",
        "the telemetry (autoscaling) mode needs services this version does not render",
    ),
];

/// Every declared setting `user` (the OSDPL's `.spec`) sets, as `spec.<path>: <why>`.
pub fn found(user: &Value, merged: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for declared in DECLARED {
        let parts: Vec<&str> = declared.path.split('.').collect();
        let mut hits = Vec::new();
        matches(user, &parts, String::new(), &mut hits);
        for (path, value) in hits {
            // The default value, or a section switched off, asks for nothing.
            if declared.default.is_some_and(|d| value == &Value::Bool(d))
                || value.get("enabled") == Some(&Value::Bool(false))
            {
                continue;
            }
            if declared
                .unless
                .is_some_and(|(pointer, v)| merged.pointer(pointer) == Some(&Value::from(v)))
            {
                continue;
            }
            let found = Found {
                path: &path,
                value,
                user,
                merged,
                why: declared.why,
            };
            match declared.judge {
                Some(judge) => out.extend(judge(&found)),
                None => out.push(found.line()),
            }
        }
    }
    out
}

fn vault_judge(found: &Found<'_>) -> Vec<String> {
    found.line_unless(vault_complete(found.merged))
}

/// An rbd volume backend renders; only the others are unsupported.
fn cinder_backend_judge(found: &Found<'_>) -> Vec<String> {
    found.line_unless(found.value.get("rbd").is_some())
}

/// A setting of a cleanup switched off asks for nothing.
fn cleanup_judge(found: &Found<'_>) -> Vec<String> {
    found.line_unless(cleanup_off(found.user, found.path))
}

/// Naming the default domain (Rockoon's default, `default`) asks for nothing.
fn admin_domain_judge(found: &Found<'_>) -> Vec<String> {
    let default = found
        .value
        .as_str()
        .is_some_and(|v| v.eq_ignore_ascii_case("default"));
    found.line_unless(default)
}

/// Horizon's own themes render; only a theme to download is unsupported.
fn themes_judge(found: &Found<'_>) -> Vec<String> {
    found.line_unless(!has_downloaded_theme(found.value))
}

/// CADF renders for the APIs whose charts take it and names the others; keys outside
/// Rockoon's section (`enabled`, `driver`), or a driver of a section left off, are reported.
fn cadf_judge(found: &Found<'_>) -> Vec<String> {
    let (path, value) = (found.path, found.value);
    let mut out: Vec<String> = value
        .as_object()
        .into_iter()
        .flat_map(|m| m.keys())
        .filter(|key| *key != "enabled" && *key != "driver")
        .map(|key| {
            format!(
                "spec.{path}.{key}: not a setting of Rockoon's CADF section (enabled, driver); it changes nothing"
            )
        })
        .collect();
    // Off (Rockoon requires `enabled`), a driver changes nothing.
    if value.get("enabled") != Some(&Value::Bool(true)) {
        if value.get("driver").is_some() {
            out.push(format!(
                "spec.{path}.driver: CADF audit is off without enabled: true, so the driver changes nothing"
            ));
        }
        return out;
    }
    let unaudited = cadf_unaudited(found.merged);
    if !unaudited.is_empty() {
        out.push(format!(
            "spec.{path}: {}: {}",
            unaudited.join(", "),
            found.why
        ));
    }
    out
}

/// Without topics nothing external is asked for; as in Rockoon, topics count only once the
/// section is switched on.
fn external_topics_judge(found: &Found<'_>) -> Vec<String> {
    let topics = found.value.get("topics").and_then(Value::as_array);
    if topics.is_none_or(Vec::is_empty) {
        return Vec::new();
    }
    if found.value.get("enabled") != Some(&Value::Bool(true)) {
        return vec![format!(
            "spec.{}: the topics are published only with enabled: true",
            found.path
        )];
    }
    vec![found.line()]
}

/// The enabled services (by their chart) whose upstream chart cannot take
/// `features.logging.cadf`: no `api_audit_map.conf` is mounted into their API pods (and
/// keystone, placement and octavia have no paste pipeline in their values at all).
const CADF_UNAUDITED: &[(&str, &str)] = &[
    ("identity", "keystone"),
    ("placement", "placement"),
    ("load-balancer", "octavia"),
    ("dns", "designate"),
    ("shared-file-system", "manila"),
    ("instance-ha", "masakari"),
    ("alarming", "aodh"),
];

/// The charts of [`CADF_UNAUDITED`] the merged spec enables.
fn cadf_unaudited(merged: &Value) -> Vec<&'static str> {
    let enabled = merged
        .pointer("/features/services")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    CADF_UNAUDITED
        .iter()
        .filter(|(service, _)| enabled.iter().any(|e| e == service))
        .map(|(_, chart)| *chart)
        .collect()
}

/// Whether the cleanup section holding `path` (`features.database.cleanup.<svc>.<key>`) is
/// switched off (`enabled: false`).
fn cleanup_off(user: &Value, path: &str) -> bool {
    let parent: Vec<&str> = path.split('.').take(4).collect();
    user.pointer(&format!("/{}", parent.join("/")))
        .and_then(|section| section.get("enabled"))
        == Some(&Value::Bool(false))
}

/// Whether a `features.horizon.themes` list names a theme to download (`url`).
fn has_downloaded_theme(themes: &Value) -> bool {
    themes
        .as_array()
        .is_some_and(|list| list.iter().any(|theme| theme.get("url").is_some()))
}

/// Whether the merged spec's Vault backend has what the key-manager template needs.
fn vault_complete(merged: &Value) -> bool {
    let vault = merged.pointer("/features/barbican/backends/vault");
    let Some(vault) = vault else {
        return true;
    };
    vault.get("enabled") != Some(&Value::Bool(true))
        || ["vault_url", "approle_role_id", "approle_secret_id"]
            .iter()
            .all(|k| vault.get(*k).is_some_and(|v| !v.is_null()))
}

/// Every `(path, value)` in `value` matching `parts`.
fn matches<'a>(value: &'a Value, parts: &[&str], here: String, out: &mut Vec<(String, &'a Value)>) {
    let Some((first, rest)) = parts.split_first() else {
        out.push((here, value));
        return;
    };
    let Some(map) = value.as_object() else {
        return;
    };
    let join = |key: &str| {
        if here.is_empty() {
            key.to_owned()
        } else {
            format!("{here}.{key}")
        }
    };
    for (key, child) in map {
        if *first == "*" || first == key {
            matches(child, rest, join(key), out);
        }
    }
}

/// Whether a concrete dotted path is covered by a declared pattern.
pub fn is_declared(path: &str) -> bool {
    DECLARED.iter().any(|d| covers(d, path))
}

/// Whether a concrete dotted path is covered by a pattern rendered in part.
pub fn is_partial(path: &str) -> bool {
    DECLARED.iter().any(|d| d.partial && covers(d, path))
}

fn covers(declared: &Declared, path: &str) -> bool {
    let pattern: Vec<&str> = declared.path.split('.').collect();
    let parts: Vec<&str> = path.split('.').collect();
    parts.len() >= pattern.len() && pattern.iter().zip(&parts).all(|(p, k)| *p == "*" || p == k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_list_is_sorted_and_every_reason_is_one_line() {
        assert!(
            DECLARED.is_sorted_by_key(|d| d.path),
            "keep DECLARED sorted"
        );
        for d in DECLARED {
            assert!(!d.why.contains('\n') && !d.why.is_empty(), "{}", d.path);
        }
    }

    #[test]
    fn a_declared_setting_is_reported_with_its_path_unless_it_is_the_default() {
        let user = json!({"features": {"nova": {"images": {"lvm": {"volume_group": "vg0"}}}}});
        let found = found(&user, &user);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("spec.features.nova.images.lvm.volume_group: "));
    }

    #[test]
    fn an_lvm_volume_group_is_reported_unless_the_images_backend_is_lvm() {
        let user = json!({"features": {"nova": {"images": {"lvm": {"volume_group": "vg0"}}}}});
        let qcow2 = json!({"features": {"nova": {"images": {"backend": "qcow2", "lvm": {"volume_group": "vg0"}}}}});
        assert_eq!(found(&user, &qcow2).len(), 1);
        let lvm = json!({"features": {"nova": {"images": {"backend": "lvm", "lvm": {"volume_group": "vg0"}}}}});
        assert!(found(&lvm, &lvm).is_empty());
    }

    #[test]
    fn cadf_audit_is_reported_naming_only_the_enabled_services_whose_charts_cannot_take_it() {
        let user = json!({"features": {"logging": {"cadf": {"enabled": true}}}});
        let merged = json!({"features": {
            "services": ["identity", "compute", "dns", "block-storage"],
            "logging": {"cadf": {"enabled": true}}}});
        let found = found(&user, &merged);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("spec.features.logging.cadf: keystone, designate: "),
            "{found:?}"
        );
        let audited = json!({"features": {
            "services": ["compute", "block-storage"], "logging": {"cadf": {"enabled": true}}}});
        assert!(super::found(&user, &audited).is_empty());
        let off = json!({"features": {"logging": {"cadf": {"enabled": false}}}});
        assert!(super::found(&off, &merged).is_empty());
        let driver_only = json!({"features": {"logging": {"cadf": {"driver": "log"}}}});
        assert_eq!(
            super::found(&driver_only, &merged),
            [
                "spec.features.logging.cadf.driver: CADF audit is off without enabled: true, so the driver changes nothing"
            ]
        );
        let map =
            json!({"features": {"logging": {"cadf": {"enabled": true, "map": {"nova": true}}}}});
        assert_eq!(
            super::found(&map, &audited),
            [
                "spec.features.logging.cadf.map: not a setting of Rockoon's CADF section (enabled, driver); it changes nothing"
            ]
        );
    }

    #[test]
    fn external_notifications_are_reported_only_with_topics() {
        let with = json!({"features": {"messaging": {"notifications": {"external": {
            "enabled": true, "topics": ["billing"]}}}}});
        assert_eq!(found(&with, &with).len(), 1);
        let without = json!({"features": {"messaging": {"notifications": {"external": {
            "enabled": true, "topics": []}}}}});
        assert!(found(&without, &without).is_empty());
        let not_on = json!({"features": {"messaging": {"notifications": {"external": {
            "topics": ["billing"]}}}}});
        assert_eq!(
            found(&not_on, &not_on),
            [
                "spec.features.messaging.notifications.external: the topics are published only with enabled: true"
            ]
        );
    }

    #[test]
    fn an_admin_domain_other_than_the_default_one_is_reported() {
        let default = json!({"features": {"keystone": {"users": {"admin": {
            "project_name": "cloud", "user_domain_name": "Default",
            "project_domain_name": "default", "default_domain_id": "default"}}}}});
        assert!(found(&default, &default).is_empty());
        let ldap = json!({"features": {"keystone": {"users": {"admin": {
            "user_domain_name": "ldap", "default_domain_id": "abc"}}}}});
        let found = found(&ldap, &ldap);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("spec.features.keystone.users.admin.default_domain_id: "));
        assert!(found[1].starts_with("spec.features.keystone.users.admin.user_domain_name: "));
    }

    #[test]
    fn a_vault_backend_with_only_enabled_is_reported_and_a_complete_one_is_not() {
        let bare = json!({"features": {"barbican": {"backends": {"vault": {"enabled": true}}}}});
        assert_eq!(found(&bare, &bare).len(), 1);
        let complete = json!({"features": {"barbican": {"backends": {"vault": {
            "enabled": true, "vault_url": "https://vault:8200",
            "approle_role_id": "r", "approle_secret_id": "s"}}}}});
        assert!(found(&complete, &complete).is_empty());
    }

    #[test]
    fn a_section_switched_off_is_not_reported() {
        let user = json!({"features": {"neutron": {"ipsec": {"enabled": false}}}});
        assert!(found(&user, &user).is_empty());
        let on = json!({"features": {"neutron": {"ipsec": {"enabled": true}}}});
        assert_eq!(found(&on, &on).len(), 1);
    }

    #[test]
    fn only_a_horizon_theme_to_download_is_reported() {
        let own =
            json!({"features": {"horizon": {"themes": [{"name": "material", "enabled": false}]}}});
        assert!(found(&own, &own).is_empty());
        let downloaded = json!({"features": {"horizon": {"themes": [
            {"name": "material"}, {"name": "mirantis", "url": "https://example.com/t.tgz"}]}}});
        assert_eq!(found(&downloaded, &downloaded).len(), 1);
    }

    #[test]
    fn a_message_shown_before_login_is_reported_by_its_name() {
        let user = json!({"features": {"horizon": {"motd": {"hello": {"message": "Hi", "beforeLogin": true}}}}});
        assert_eq!(
            found(&user, &user),
            [
                "spec.features.horizon.motd.hello.beforeLogin: upstream Horizon shows no message before login"
            ]
        );
    }

    #[test]
    fn only_volume_backends_without_rbd_are_reported() {
        let user = json!({"features": {"cinder": {"volume": {"backends": {
            "fast": {"rbd": {"pool": "fast"}},
            "netapp": {"type": "statefulset", "values": {}},
        }}}}});
        let found = found(&user, &user);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("spec.features.cinder.volume.backends.netapp: "));
    }

    #[test]
    fn a_cleanup_setting_the_chart_cannot_take_is_reported_unless_its_cleanup_is_off() {
        let on =
            json!({"features": {"database": {"cleanup": {"heat": {"enabled": true, "batch": 5}}}}});
        assert_eq!(
            found(&on, &on),
            [
                "spec.features.database.cleanup.heat.batch: heat-manage purge_deleted takes an age only, no batch size"
            ]
        );
        let off =
            json!({"features": {"database": {"cleanup": {"nova": {"enabled": false, "age": 5}}}}});
        assert!(found(&off, &off).is_empty());
    }

    #[test]
    fn patterns_cover_the_paths_under_them() {
        assert!(is_declared(
            "features.neutron.bgpvpn.route_reflector.enabled"
        ));
        assert!(!is_declared("migration.nova.deploy_main_service"));
    }
}
