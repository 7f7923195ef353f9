//! A Keystone v3 session: password login with project scope, the token reused until shortly
//! before it expires (or until a service answers 401), and endpoints taken from the token's
//! catalog by service type, interface and region.
//!
//! Second step of [`crate::openstack`], after [`crate::openstack::clouds`]; the service calls
//! ([`crate::openstack::services`]) go through [`Session::call`]. Tokens and passwords are
//! never logged nor put into errors.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode};
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::openstack::clouds::Cloud;
use crate::openstack::http::{Answer, Http};

/// A token is renewed this long before it expires.
const MARGIN: Duration = Duration::from_secs(120);

/// A token and its catalog.
struct Token {
    value: String,
    expires: Timestamp,
    catalog: Value,
}

/// A logged-in (lazily) Keystone session for one cloud.
pub struct Session {
    http: Http,
    cloud: Cloud,
    interface: String,
    token: Mutex<Option<Arc<Token>>>,
}

impl Session {
    /// A session for `cloud`; `interface` overrides the cloud's endpoint interface.
    pub fn new(http: Http, cloud: Cloud, interface: Option<&str>) -> Self {
        let interface = interface.map_or_else(|| cloud.interface.clone(), str::to_owned);
        Self {
            http,
            cloud,
            interface,
            token: Mutex::new(None),
        }
    }

    /// The cloud this session logs in to.
    pub fn cloud(&self) -> &Cloud {
        &self.cloud
    }

    /// `method` on `path` (appended to the endpoint of the first of `types` found in the
    /// catalog) with `body`. `Ok(None)`: no such service in the catalog. A 401 logs in again
    /// and retries once; any status is returned to the caller to judge.
    pub async fn call(
        &self,
        types: &[&str],
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Option<Answer>, String> {
        for attempt in 0..2 {
            let token = self.token(attempt > 0).await?;
            let Some(base) = endpoint(
                &token.catalog,
                types,
                &self.interface,
                self.cloud.region_name.as_deref(),
            ) else {
                return Ok(None);
            };
            let url = format!("{}{path}", base.trim_end_matches('/'));
            let answer = self
                .http
                .send(method.clone(), &url, Some(&token.value), body)
                .await?;
            if answer.status != StatusCode::UNAUTHORIZED {
                return Ok(Some(answer));
            }
        }
        Err(format!(
            "{} answered 401 to a fresh token of user {:?}",
            types.first().copied().unwrap_or("service"),
            self.cloud.username
        ))
    }

    /// A valid token: the kept one unless `renew` or it expires within [`MARGIN`].
    async fn token(&self, renew: bool) -> Result<Arc<Token>, String> {
        let mut kept = self.token.lock().await;
        if let Some(token) = kept.as_ref().filter(|_| !renew) {
            let margin = k8s_openapi::jiff::SignedDuration::try_from(MARGIN).unwrap_or_default();
            if Timestamp::now()
                .checked_add(margin)
                .is_ok_and(|t| t < token.expires)
            {
                return Ok(token.clone());
            }
        }
        let token = Arc::new(self.login().await?);
        *kept = Some(token.clone());
        Ok(token)
    }

    async fn login(&self) -> Result<Token, String> {
        let cloud = &self.cloud;
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": cloud.username,
                "domain": {"name": cloud.user_domain_name},
                "password": cloud.password,
            }}},
            "scope": {"project": {
                "name": cloud.project_name,
                "domain": {"name": cloud.project_domain_name},
            }},
        }});
        let url = format!("{}/auth/tokens", cloud.auth_url);
        let answer = self
            .http
            .send(Method::POST, &url, None, Some(&body))
            .await?;
        if answer.status != StatusCode::CREATED {
            // Keystone's error body names no credential.
            return Err(format!(
                "Keystone login of user {:?} at {url}: {} {}",
                cloud.username, answer.status, answer.text
            ));
        }
        let value = answer
            .subject_token
            .ok_or_else(|| format!("Keystone at {url} answered without X-Subject-Token"))?;
        let expires = answer.body["token"]["expires_at"]
            .as_str()
            .and_then(|t| t.parse::<Timestamp>().ok())
            .ok_or_else(|| format!("Keystone at {url}: a token without a valid expires_at"))?;
        tracing::debug!(user = %cloud.username, %expires, "logged in to Keystone");
        Ok(Token {
            value,
            expires,
            catalog: answer.body["token"]["catalog"].clone(),
        })
    }
}

/// The URL of the first service of `types` in `catalog` with an endpoint of `interface` in
/// `region` (any region when `None`).
pub fn endpoint(
    catalog: &Value,
    types: &[&str],
    interface: &str,
    region: Option<&str>,
) -> Option<String> {
    let services = catalog.as_array()?;
    types.iter().find_map(|kind| {
        services
            .iter()
            .filter(|s| s["type"].as_str() == Some(kind))
            .flat_map(|s| s["endpoints"].as_array().into_iter().flatten())
            .find(|e| {
                e["interface"].as_str() == Some(interface)
                    && region.is_none_or(|r| {
                        e["region_id"].as_str() == Some(r) || e["region"].as_str() == Some(r)
                    })
            })
            .and_then(|e| e["url"].as_str().map(str::to_owned))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Value {
        json!([
            {"type": "identity", "endpoints": [
                {"interface": "public", "region_id": "RegionOne", "url": "http://k/v3"}]},
            {"type": "instance-ha", "endpoints": [
                {"interface": "internal", "region_id": "RegionOne", "url": "http://m:15868/v1/p"},
                {"interface": "public", "region_id": "RegionOne", "url": "https://m.example/v1/p"}]},
            {"type": "compute", "endpoints": [
                {"interface": "internal", "region_id": "RegionTwo", "url": "http://n2/v2.1"},
                {"interface": "internal", "region_id": "RegionOne", "url": "http://n1/v2.1"}]},
        ])
    }

    #[test]
    fn the_endpoint_matches_type_interface_and_region() {
        let c = catalog();
        let at = |types: &[&str], interface, region| endpoint(&c, types, interface, region);
        assert_eq!(
            at(&["instance-ha", "ha"], "internal", Some("RegionOne")).as_deref(),
            Some("http://m:15868/v1/p")
        );
        assert_eq!(
            at(&["instance-ha"], "public", Some("RegionOne")).as_deref(),
            Some("https://m.example/v1/p")
        );
        assert_eq!(
            at(&["compute"], "internal", Some("RegionOne")).as_deref(),
            Some("http://n1/v2.1")
        );
        assert_eq!(
            at(&["compute"], "internal", None).as_deref(),
            Some("http://n2/v2.1")
        );
    }

    #[test]
    fn a_service_missing_from_the_catalog_or_the_region_has_no_endpoint() {
        let c = catalog();
        assert_eq!(
            endpoint(&c, &["instance-ha"], "internal", Some("RegionTwo")),
            None
        );
        assert_eq!(endpoint(&c, &["network"], "internal", None), None);
        assert_eq!(endpoint(&Value::Null, &["compute"], "public", None), None);
    }
}
