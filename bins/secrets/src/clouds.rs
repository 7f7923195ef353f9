//! `clouds.yaml` with the Keystone admin account, for tools and controllers that call
//! OpenStack APIs. Pure: the reconcile writes it to the `keystone-os-clouds` Secret of the
//! controller namespace (mounted at `/etc/openstack/` by the chart).
//!
//! Clouds: `admin` and `osctl` (project-scoped, internal endpoint), `admin-system` and
//! `osctl-system` (system-scoped, internal endpoint), `admin-public` (project-scoped, public
//! endpoint). `osctl`/`osctl-system` are the names Rockoon's controllers use (`OS_CLOUD`).

use serde_json::{Value, json};

/// Data key of the document in the Secret.
pub const KEY: &str = "clouds.yaml";

/// Where Keystone answers, from the OSDPL spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// `http://keystone-api.<namespace>.svc.<internal_domain_name>:5000/v3`.
    pub internal: String,
    /// `https://keystone.<public_domain_name>/v3`.
    pub public: String,
    /// Keystone region.
    pub region: String,
    /// The admin user's project (`features.keystone.users.admin.project_name`, default
    /// `admin`), which the keystone chart's bootstrap creates.
    pub admin_project: String,
}

impl Endpoints {
    /// The endpoints of the OSDPL `spec` deployed in `namespace`.
    pub fn of(spec: &Value, namespace: &str) -> Self {
        let text = |key: &str, default: &str| {
            spec.get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or(default)
                .to_owned()
        };
        let internal_domain = text("internal_domain_name", "cluster.local");
        let public_domain = text("public_domain_name", "");
        Self {
            internal: format!("http://keystone-api.{namespace}.svc.{internal_domain}:5000/v3"),
            public: format!("https://keystone.{public_domain}/v3"),
            region: text("region_name", "RegionOne"),
            admin_project: spec
                .pointer("/features/keystone/users/admin/project_name")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or("admin")
                .to_owned(),
        }
    }
}

/// The clouds.yaml document for the admin `username`/`password`.
pub fn document(endpoints: &Endpoints, username: &str, password: &str) -> Result<String, String> {
    let auth = |url: &str, system: bool| {
        let mut auth = json!({
            "auth_url": url,
            "username": username,
            "password": password,
            "user_domain_name": "Default",
        });
        if system {
            auth["system_scope"] = json!("all");
        } else {
            auth["project_name"] = json!(endpoints.admin_project);
            auth["project_domain_name"] = json!("Default");
        }
        auth
    };
    let cloud = |url: &str, interface: &str, system: bool| {
        json!({
            "auth": auth(url, system),
            "region_name": endpoints.region,
            "interface": interface,
            "identity_api_version": 3,
        })
    };
    let internal = cloud(&endpoints.internal, "internal", false);
    let system = cloud(&endpoints.internal, "internal", true);
    let document = json!({"clouds": {
        "admin": internal,
        "admin-system": system,
        "admin-public": cloud(&endpoints.public, "public", false),
        "osctl": internal,
        "osctl-system": system,
    }});
    // The encoder's message never quotes the document.
    serde_norway::to_string(&document).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_the_namespace_and_domains_with_defaults() {
        let spec = json!({"public_domain_name": "it.example.com", "region_name": "RegionTwo"});
        let endpoints = Endpoints::of(&spec, "openstack");
        assert_eq!(
            endpoints.internal,
            "http://keystone-api.openstack.svc.cluster.local:5000/v3"
        );
        assert_eq!(endpoints.public, "https://keystone.it.example.com/v3");
        assert_eq!(endpoints.region, "RegionTwo");
    }

    #[test]
    fn the_project_clouds_are_scoped_to_the_admin_project_the_spec_names() {
        let spec = json!({"public_domain_name": "x.test",
            "features": {"keystone": {"users": {"admin": {"project_name": "cloud-admin"}}}}});
        let endpoints = Endpoints::of(&spec, "os");
        let text = document(&endpoints, "admin", "pw").unwrap();
        let parsed: Value = serde_norway::from_str(&text).unwrap();
        for cloud in ["admin", "osctl", "admin-public"] {
            assert_eq!(
                parsed["clouds"][cloud]["auth"]["project_name"], "cloud-admin",
                "{cloud}"
            );
        }
        assert!(
            parsed["clouds"]["admin-system"]["auth"]
                .get("project_name")
                .is_none()
        );
    }

    #[test]
    fn the_document_has_project_and_system_scoped_admin_clouds() {
        let endpoints = Endpoints::of(&json!({"public_domain_name": "x.test"}), "os");
        let text = document(&endpoints, "admin", "pa:ss'word").unwrap();
        let parsed: Value = serde_norway::from_str(&text).unwrap();
        let clouds = &parsed["clouds"];
        assert_eq!(clouds["admin"]["auth"]["password"], "pa:ss'word");
        assert_eq!(clouds["admin"]["auth"]["project_name"], "admin");
        assert_eq!(clouds["osctl"], clouds["admin"]);
        assert_eq!(clouds["admin-system"]["auth"]["system_scope"], "all");
        assert!(clouds["admin-system"]["auth"].get("project_name").is_none());
        assert_eq!(clouds["admin-public"]["interface"], "public");
        assert_eq!(
            clouds["admin-public"]["auth"]["auth_url"],
            "https://keystone.x.test/v3"
        );
        assert_eq!(clouds["admin"]["region_name"], "RegionOne");
    }
}
