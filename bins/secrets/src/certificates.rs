//! Generated certificates (libvirt TLS, VeNCrypt), beside the credentials in step 3 of the
//! secrets reconcile: every set the spec asks for ([`rockoon_core::certificates::needed`]) has
//! all its Secrets. Pure planning and generation are in `rockoon_core::certificates`; this
//! module reads and creates.
//!
//! Create-only, like a first credential generation: a Secret that exists is never written
//! (no patch, no apply), so a certificate a host already uses is never replaced. A create that
//! finds the Secret there (409) stops the set for this pass; the next reconcile, triggered by
//! that very Secret, plans again from what the API holds. Before planning, the set's Secrets
//! are read from the API (the cache may lag a deletion or a create), and only when the cache
//! shows one missing, so a steady state costs no request. Secrets carry no owner reference:
//! like credentials they outlive the OSDPL. Nothing here logs or reports key material: the
//! logs and the `Certificates` condition name Secrets only.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use k8s_openapi::jiff::tz::TimeZone;
use rockoon_core::certificates::{self, NewSecret, SET_LABEL, Set};
use rockoon_core::crd::OpenStackDeployment;
use rockoon_core::credentials::{MANAGED_BY, MANAGED_BY_LABEL};

use crate::error::Error;
use crate::status::{self, Verdict};
use crate::write::SecretCalls;

/// What the certificate step found and did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Sets the spec asks for.
    pub needed: Vec<&'static str>,
    /// Secrets created in this pass.
    pub created: Vec<&'static str>,
    /// Why a set could not be completed (names only).
    pub problems: Vec<String>,
}

impl Outcome {
    /// The `Certificates` condition.
    pub fn verdict(&self) -> Verdict {
        if !self.problems.is_empty() {
            return Verdict::failed(status::CERTIFICATES, "CertificateProblem", &self.problems);
        }
        let message = if self.needed.is_empty() {
            "no certificate set is enabled".to_owned()
        } else {
            format!("generated: {}", self.needed.join(", "))
        };
        Verdict::ok(status::CERTIFICATES, "Present", message)
    }
}

/// The sets `osdpl` asks for (none when its enabled services cannot be told).
pub fn needed(osdpl: &OpenStackDeployment) -> Vec<&'static Set> {
    let compute = rockoon_core::enabled::enabled_services(&osdpl.spec)
        .is_ok_and(|services| services.iter().any(|s| s.name == certificates::SERVICE));
    let spec = serde_json::to_value(&osdpl.spec).unwrap_or_default();
    certificates::needed(&spec, compute)
}

/// Makes every Secret of the needed sets exist; `cached` are the cached certificate Secrets.
pub async fn ensure<A: SecretCalls>(
    api: &A,
    sets: &[&'static Set],
    cached: &[Arc<Secret>],
) -> Result<Outcome, Error> {
    let mut outcome = Outcome {
        needed: sets.iter().map(|s| s.name).collect(),
        ..Outcome::default()
    };
    let today = Timestamp::now().to_zoned(TimeZone::UTC).date();
    for set in sets {
        let in_cache = |name: &str| {
            cached
                .iter()
                .any(|s| s.metadata.name.as_deref() == Some(name))
        };
        if set.leaves.iter().all(|leaf| in_cache(leaf.secret)) {
            continue;
        }
        let mut existing = BTreeMap::new();
        for name in set.secrets() {
            if let Some(secret) = api.get(name).await? {
                existing.insert(name.to_owned(), secret.data);
            }
        }
        let planned = match certificates::plan(set, &existing, today) {
            Ok(planned) => planned,
            Err(problem) => {
                tracing::warn!(set = set.name, %problem, "certificates cannot be completed");
                outcome.problems.push(problem.to_string());
                continue;
            }
        };
        for new in planned {
            if !api.create(&secret(set, &new)).await? {
                // Someone else was first; the next pass plans from what exists.
                break;
            }
            tracing::info!(
                set = set.name,
                secret = new.name,
                "certificate Secret generated"
            );
            outcome.created.push(new.name);
        }
    }
    Ok(outcome)
}

/// The Secret for a planned one: the set's label, no owner reference.
fn secret(set: &Set, new: &NewSecret) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(new.name.to_owned()),
            labels: Some(BTreeMap::from([
                (SET_LABEL.to_owned(), set.name.to_owned()),
                (MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned()),
            ])),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_owned()),
        data: Some(
            new.data
                .iter()
                .map(|(k, v)| (k.clone(), ByteString(v.clone().into_bytes())))
                .collect(),
        ),
        ..Secret::default()
    }
}

#[cfg(test)]
#[path = "certificates_tests.rs"]
mod tests;
