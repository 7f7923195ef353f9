//! Step 3 of the secrets reconcile: generate what is missing and rotate what was asked, through
//! the add-only write protocol of [`crate::write`]. Returns what it did; the report step turns
//! rotations into events.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use rockoon_core::crd::OpenStackDeployment;
use rockoon_core::credentials::Group;

use crate::error::Error;
use crate::metrics::Metrics;
use crate::reconcile::{Needs, needs_write};
use crate::rotation::Plan;
use crate::write::{SecretCalls, Writer};

/// What the generate step wrote.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Generated {
    /// Credentials created, in all.
    pub created: usize,
    /// Per rotated group: the new rotation id and how many Secrets got a new generation.
    pub rotated: Vec<(Group, i64, usize)>,
}

impl Generated {
    /// Whether anything was written (the caches may then lag behind).
    pub fn written(&self) -> bool {
        self.created > 0 || !self.rotated.is_empty()
    }
}

/// Ensures every owner's credentials, then rotates the groups whose plan says so.
pub async fn run<A: SecretCalls>(
    api: &A,
    metrics: &Metrics,
    osdpl: &OpenStackDeployment,
    needs: &Needs,
    plans: &BTreeMap<Group, Plan>,
    cached: &[Arc<Secret>],
) -> Result<Generated, Error> {
    let name = osdpl.name_any();
    let writer = Writer { api, metrics };
    let mut generated = Generated::default();
    for (owner, owner_needs) in needs {
        let group = Group::of(owner);
        if !needs_write(cached, owner, owner_needs, &plans[&group]) {
            continue;
        }
        let created = writer
            .ensure(owner, owner_needs, plans[&group].id())
            .await?;
        if created > 0 {
            generated.created += created;
            metrics.created(group.as_str(), created);
            tracing::info!(osdpl = %name, owner, credentials = created, "credentials generated");
        }
    }
    let now = Timestamp::now().to_string();
    for group in Group::ALL {
        let Plan::RotateTo { id } = plans[&group] else {
            continue;
        };
        let mut rotated = 0;
        for (owner, owner_needs) in needs.iter().filter(|(o, _)| Group::of(o) == group) {
            if writer.rotate(owner, owner_needs, id, &now).await? {
                rotated += 1;
                metrics.rotated(group.as_str());
                tracing::info!(osdpl = %name, owner, rotation_id = id, "credentials rotated");
            }
        }
        if rotated > 0 {
            generated.rotated.push((group, id, rotated));
        }
    }
    Ok(generated)
}
