//! Why a workload that holds an upgrade step is not Ready, in its own words: the first
//! condition of its Deployment, StatefulSet or DaemonSet that is not as it should be (e.g.
//! `Available=False MinimumReplicasUnavailable: Deployment does not have minimum
//! availability.`). The health map only says `Unhealthy`; the blocker shown in status adds
//! this. Read with plain GETs, only while a step waits on unhealthy components.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kube::{Api, Client};
use serde_json::Value;

/// `application/component` → its workload's failing condition, for each of `components`.
pub async fn conditions(
    client: &Client,
    namespace: &str,
    components: &[(String, String)],
) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for (application, component) in components {
        // The health container names a workload `<application>-<component>` → component.
        let names = [format!("{application}-{component}"), component.clone()];
        for name in &names {
            if let Some(condition) = failing(client, namespace, name).await {
                found.insert(format!("{application}/{component}"), condition);
                break;
            }
        }
    }
    found
}

/// The failing condition of the workload `name`, of whichever kind exists.
async fn failing(client: &Client, namespace: &str, name: &str) -> Option<String> {
    let status = match Api::<Deployment>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
    {
        Ok(Some(d)) => serde_json::to_value(d.status).ok(),
        _ => match Api::<StatefulSet>::namespaced(client.clone(), namespace)
            .get_opt(name)
            .await
        {
            Ok(Some(s)) => serde_json::to_value(s.status).ok(),
            _ => match Api::<DaemonSet>::namespaced(client.clone(), namespace)
                .get_opt(name)
                .await
            {
                Ok(Some(d)) => serde_json::to_value(d.status).ok(),
                _ => None,
            },
        },
    }?;
    first_failing(&status)
}

/// The first condition that is not as a healthy workload has it (`Available`/`Progressing`
/// True, anything else False), as `Type=Status Reason: message`.
pub fn first_failing(status: &Value) -> Option<String> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| {
            let healthy = if matches!(c["type"].as_str(), Some("Available" | "Progressing")) {
                "True"
            } else {
                "False"
            };
            c["status"].as_str() != Some(healthy)
                || c["reason"].as_str() == Some("ProgressDeadlineExceeded")
        })
        .map(|c| {
            format!(
                "{}={} {}: {}",
                c["type"].as_str().unwrap_or("?"),
                c["status"].as_str().unwrap_or("?"),
                c["reason"].as_str().unwrap_or_default(),
                c["message"].as_str().unwrap_or_default()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_condition_not_as_healthy_is_named_with_reason_and_message() {
        let status = json!({"conditions": [
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": "ok"},
            {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
             "message": "Deployment does not have minimum availability."},
        ]});
        assert_eq!(
            first_failing(&status).as_deref(),
            Some(
                "Available=False MinimumReplicasUnavailable: Deployment does not have minimum \
                 availability."
            )
        );
        let stuck = json!({"conditions": [
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "x"},
        ]});
        assert!(
            first_failing(&stuck)
                .unwrap()
                .starts_with("Progressing=False")
        );
        assert_eq!(
            first_failing(&json!({"conditions": [
            {"type": "Available", "status": "True"}]})),
            None
        );
        assert_eq!(first_failing(&json!({})), None);
    }
}
