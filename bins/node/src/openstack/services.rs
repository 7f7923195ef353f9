//! The few Nova, Neutron and Masakari calls instance HA needs, over a
//! [`crate::openstack::keystone::Session`]. Each returns what the safety checks in
//! [`crate::instance_ha`] judge; the Masakari notification body is built here ([`payload`],
//! pure) as the Masakari API reference describes `POST /notifications`.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::openstack::http::Answer;
use crate::openstack::keystone::Session;

/// Catalog types of Masakari (`instance-ha`; `ha` in old deployments).
pub const MASAKARI: &[&str] = &["instance-ha", "ha"];
const COMPUTE: &[&str] = &["compute"];
const NETWORK: &[&str] = &["network"];

/// What Masakari said to a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// Accepted; the notification's UUID.
    Created(String),
    /// 400: Masakari knows no host of that name (not in any failover segment).
    UnknownHost(String),
    /// 409: a duplicate of a notification already sent, or the host is in maintenance.
    Conflict(String),
}

/// The `POST /notifications` body for host `hostname` down since `since` (RFC 3339). The
/// outage's start is the generated time, so every attempt for one outage is the same
/// notification and Masakari's duplicate check (same host, type and payload) refuses a second.
pub fn payload(hostname: &str, since: &str) -> Value {
    json!({"notification": {
        "type": "COMPUTE_HOST",
        "hostname": hostname,
        "generated_time": since,
        "payload": {"event": "STOPPED", "host_status": "NORMAL", "cluster_status": "OFFLINE"},
    }})
}

/// Percent-encodes a query value.
fn query(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The answer of a GET that must succeed, or an error naming the call.
fn ok(what: &str, answer: Option<Answer>) -> Result<Option<Value>, String> {
    match answer {
        None => Ok(None),
        Some(a) if a.status.is_success() => Ok(Some(a.body)),
        Some(a) => Err(format!("{what}: {} {}", a.status, a.text)),
    }
}

/// Lengths of `body[key]`, an error if it is not a list.
fn list<'a>(what: &str, body: &'a Value, key: &str) -> Result<&'a Vec<Value>, String> {
    body[key]
        .as_array()
        .ok_or_else(|| format!("{what}: the answer has no {key:?} list"))
}

/// A service the checks cannot do without is missing from the catalog.
fn required(what: &str, kind: &str, body: Option<Value>) -> Result<Value, String> {
    body.ok_or_else(|| format!("{what}: no {kind} endpoint in the catalog"))
}

/// Number of servers (any project) Nova places on `host` (at most 1 is asked for).
pub async fn servers_on(session: &Session, host: &str) -> Result<usize, String> {
    let what = "Nova servers";
    let path = format!("/servers?all_tenants=True&host={}&limit=1", query(host));
    let answer = session.call(COMPUTE, Method::GET, &path, None).await?;
    let body = required(what, "compute", ok(what, answer)?)?;
    Ok(list(what, &body, "servers")?.len())
}

/// Number of `nova-compute` services on `host` that Nova reports `up`.
pub async fn compute_services_up(session: &Session, host: &str) -> Result<usize, String> {
    let what = "Nova compute services";
    let path = format!("/os-services?binary=nova-compute&host={}", query(host));
    let answer = session.call(COMPUTE, Method::GET, &path, None).await?;
    let body = required(what, "compute", ok(what, answer)?)?;
    let services = list(what, &body, "services")?;
    Ok(services
        .iter()
        .filter(|s| s["host"].as_str().is_none_or(|h| h == host))
        .filter(|s| s["state"].as_str() == Some("up"))
        .count())
}

/// Number of Neutron agents on `host` that are alive.
pub async fn agents_alive(session: &Session, host: &str) -> Result<usize, String> {
    let what = "Neutron agents";
    // The catalog holds Neutron's root; the API is under /v2.0.
    let path = format!("/v2.0/agents?host={}", query(host));
    let answer = session.call(NETWORK, Method::GET, &path, None).await?;
    let body = required(what, "network", ok(what, answer)?)?;
    let agents = list(what, &body, "agents")?;
    Ok(agents
        .iter()
        .filter(|a| a["host"].as_str().is_none_or(|h| h == host))
        .filter(|a| a["alive"].as_bool() == Some(true))
        .count())
}

/// UUIDs of the Masakari hosts named `host`, in any failover segment. `None`: Masakari is
/// not in the catalog.
pub async fn segment_hosts(session: &Session, host: &str) -> Result<Option<Vec<String>>, String> {
    let what = "Masakari segments";
    let answer = session
        .call(MASAKARI, Method::GET, "/segments", None)
        .await?;
    let Some(body) = ok(what, answer)? else {
        return Ok(None);
    };
    let mut found = Vec::new();
    for segment in list(what, &body, "segments")? {
        let Some(uuid) = segment["uuid"].as_str() else {
            continue;
        };
        let what = "Masakari hosts";
        let path = format!("/segments/{}/hosts", query(uuid));
        let answer = session.call(MASAKARI, Method::GET, &path, None).await?;
        let body = required(what, "instance-ha", ok(what, answer)?)?;
        found.extend(
            list(what, &body, "hosts")?
                .iter()
                .filter(|h| h["name"].as_str() == Some(host))
                .filter_map(|h| h["uuid"].as_str().map(str::to_owned)),
        );
    }
    Ok(Some(found))
}

/// Number of `COMPUTE_HOST` notifications generated since `since` from any of `hosts`.
pub async fn notifications_since(
    session: &Session,
    hosts: &[String],
    since: &str,
) -> Result<usize, String> {
    let what = "Masakari notifications";
    let mut count = 0;
    for host in hosts {
        let path = format!(
            "/notifications?type=COMPUTE_HOST&source_host_uuid={}&generated-since={}",
            query(host),
            query(since)
        );
        let answer = session.call(MASAKARI, Method::GET, &path, None).await?;
        let body = required(what, "instance-ha", ok(what, answer)?)?;
        count += list(what, &body, "notifications")?.len();
    }
    Ok(count)
}

/// Sends the notification for `host` down since `since`. `Ok(None)`: Masakari is not in the
/// catalog.
pub async fn notify(session: &Session, host: &str, since: &str) -> Result<Option<Posted>, String> {
    let body = payload(host, since);
    let answer = session
        .call(MASAKARI, Method::POST, "/notifications", Some(&body))
        .await?;
    let Some(answer) = answer else {
        return Ok(None);
    };
    let message = || {
        answer
            .body
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|fault| fault["message"].as_str())
            .map_or_else(|| answer.text.clone(), str::to_owned)
    };
    match answer.status {
        s if s.is_success() => Ok(Some(Posted::Created(
            answer.body["notification"]["notification_uuid"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ))),
        StatusCode::BAD_REQUEST => Ok(Some(Posted::UnknownHost(message()))),
        StatusCode::CONFLICT => Ok(Some(Posted::Conflict(message()))),
        status => Err(format!(
            "Masakari notification for {host}: {status} {}",
            answer.text
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notification_is_a_compute_host_stop_generated_at_the_outage_start() {
        let body = payload("cmp-1", "2026-01-02T03:04:05Z");
        let n = &body["notification"];
        assert_eq!(n["type"], "COMPUTE_HOST");
        assert_eq!(n["hostname"], "cmp-1");
        assert_eq!(n["generated_time"], "2026-01-02T03:04:05Z");
        assert_eq!(
            n["payload"],
            json!({"event": "STOPPED", "host_status": "NORMAL", "cluster_status": "OFFLINE"})
        );
        // One outage, one notification: the body does not depend on when it is sent.
        assert_eq!(body, payload("cmp-1", "2026-01-02T03:04:05Z"));
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(query("cmp-1.example"), "cmp-1.example");
        assert_eq!(
            query("2026-01-02T03:04:05+00:00"),
            "2026-01-02T03%3A04%3A05%2B00%3A00"
        );
    }
}
