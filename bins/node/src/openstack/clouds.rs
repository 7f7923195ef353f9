//! The cloud `node` authenticates as, read from the `clouds.yaml` the secrets binary keeps in
//! the `keystone-os-clouds` Secret of the controller namespace (`bins/secrets/src/clouds.rs`).
//!
//! Pure parsing, first step of [`crate::openstack`]: [`Cloud::parse`] picks one cloud of the
//! document (`osctl` by default, Rockoon's `OS_CLOUD`), and [`crate::openstack::keystone`]
//! logs in with it. The password is kept out of `Debug`.

use std::fmt;

use serde::Deserialize;

/// Data key of the document in the Secret (as the secrets container writes it).
pub const KEY: &str = "clouds.yaml";

/// Password authentication with project scope, and where to find the endpoints.
#[derive(Clone, PartialEq, Eq)]
pub struct Cloud {
    /// Keystone v3 URL (`.../v3`).
    pub auth_url: String,
    /// User name.
    pub username: String,
    /// Password; never logged.
    pub password: String,
    /// The user's domain name.
    pub user_domain_name: String,
    /// Project the token is scoped to.
    pub project_name: String,
    /// The project's domain name.
    pub project_domain_name: String,
    /// Region of the endpoints; `None`: the first endpoint of any region.
    pub region_name: Option<String>,
    /// Endpoint interface (`internal`, `public`, `admin`).
    pub interface: String,
}

impl fmt::Debug for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cloud")
            .field("auth_url", &self.auth_url)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("project_name", &self.project_name)
            .field("region_name", &self.region_name)
            .field("interface", &self.interface)
            .finish()
    }
}

#[derive(Deserialize)]
struct Document {
    clouds: std::collections::BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
struct Entry {
    auth: Auth,
    region_name: Option<String>,
    interface: Option<String>,
    // openstacksdk also spells it endpoint_type.
    endpoint_type: Option<String>,
}

#[derive(Deserialize)]
struct Auth {
    auth_url: String,
    username: String,
    password: String,
    user_domain_name: Option<String>,
    project_name: Option<String>,
    project_domain_name: Option<String>,
}

impl Cloud {
    /// The cloud `name` of the clouds.yaml `text`. Errors name the cloud and the missing
    /// piece, never quote the document (it holds the password).
    pub fn parse(text: &str, name: &str) -> Result<Self, String> {
        let document: Document = serde_norway::from_str(text)
            .map_err(|e| format!("clouds.yaml is not a clouds document: {}", redact(&e)))?;
        let mut clouds = document.clouds;
        let Some(entry) = clouds.remove(name) else {
            return Err(format!("clouds.yaml has no cloud {name:?}"));
        };
        let Some(project_name) = entry.auth.project_name.filter(|p| !p.is_empty()) else {
            return Err(format!(
                "cloud {name:?} is not project-scoped (auth.project_name is missing)"
            ));
        };
        let domain = |d: Option<String>| d.filter(|d| !d.is_empty()).unwrap_or("Default".into());
        Ok(Self {
            auth_url: v3(&entry.auth.auth_url),
            username: entry.auth.username,
            password: entry.auth.password,
            user_domain_name: domain(entry.auth.user_domain_name),
            project_name,
            project_domain_name: domain(entry.auth.project_domain_name),
            region_name: entry.region_name.filter(|r| !r.is_empty()),
            interface: entry
                .interface
                .or(entry.endpoint_type)
                .map(|i| i.trim_end_matches("URL").to_owned())
                .unwrap_or_else(|| "public".into()),
        })
    }
}

/// `url` ending in `/v3`, as the token API lives there.
fn v3(url: &str) -> String {
    let url = url.trim_end_matches('/');
    if url.ends_with("/v3") {
        url.to_owned()
    } else {
        format!("{url}/v3")
    }
}

/// A YAML error's kind and place, without the text it may quote.
fn redact(error: &serde_norway::Error) -> String {
    match error.location() {
        Some(at) => format!("invalid YAML at line {}", at.line()),
        None => "invalid YAML".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "clouds:\n  osctl:\n    auth:\n      auth_url: http://keystone-api.openstack.svc.cluster.local:5000\n      username: admin\n      password: s3cret\n      user_domain_name: Default\n      project_name: admin\n      project_domain_name: Default\n    region_name: RegionOne\n    interface: internal\n    identity_api_version: 3\n  osctl-system:\n    auth:\n      auth_url: http://k/v3\n      username: admin\n      password: s3cret\n      system_scope: all\n";

    #[test]
    fn the_osctl_cloud_gives_a_project_scoped_login_on_the_v3_url() {
        let cloud = Cloud::parse(DOC, "osctl").unwrap();
        assert_eq!(
            cloud.auth_url,
            "http://keystone-api.openstack.svc.cluster.local:5000/v3"
        );
        assert_eq!(cloud.project_name, "admin");
        assert_eq!(cloud.region_name.as_deref(), Some("RegionOne"));
        assert_eq!(cloud.interface, "internal");
    }

    #[test]
    fn a_missing_or_system_scoped_cloud_is_an_error_that_never_shows_the_password() {
        let missing = Cloud::parse(DOC, "nope").unwrap_err();
        assert!(missing.contains("no cloud \"nope\""), "{missing}");
        let system = Cloud::parse(DOC, "osctl-system").unwrap_err();
        assert!(system.contains("not project-scoped"), "{system}");
        let garbage = Cloud::parse("clouds: [s3cret", "osctl").unwrap_err();
        assert!(!garbage.contains("s3cret"), "{garbage}");
        let debug = format!("{:?}", Cloud::parse(DOC, "osctl").unwrap());
        assert!(!debug.contains("s3cret"), "{debug}");
    }
}
