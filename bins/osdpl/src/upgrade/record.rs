//! `status.upgrade` of the osdplst as each reconcile leaves it (pure): the last complete apply
//! (release and spec hash, what the [guard](super::guard) compares with), and the upgrade's
//! state, from/to and steps. Every osdplst write carries it whole: the field belongs to osdpl's
//! field manager, so a write without it would remove it.

use rockoon_core::crd::OpenStackDeploymentSpec;
use rockoon_core::crd::upgrade_status::{AppliedRelease, UpgradeStatus};

use super::guard::spec_hash;
use crate::state::Overall;

/// `status.upgrade.state` while an upgrade runs.
pub const RUNNING: &str = "RUNNING";
/// `status.upgrade.state` while a step is held by an unhealthy service.
pub const STALLED: &str = "STALLED";
/// `status.upgrade.state` after a refused version change (until the next accepted reconcile).
pub const REFUSED: &str = "REFUSED";
/// `status.upgrade.state` while an upgrade waits for a deployment not APPLIED, which osdpl
/// goes on applying at the old release ([`super::guard::Verdict::Held`]).
pub const HELD: &str = "HELD";
/// `status.upgrade.state` once the upgraded deployment is APPLIED.
pub const DONE: &str = "DONE";

/// The target release of an upgrade under way, if any.
pub fn running(status: Option<&UpgradeStatus>) -> Option<&str> {
    let status = status?;
    match status.state.as_deref() {
        Some(RUNNING | STALLED) => status.to.as_deref(),
        _ => None,
    }
}

/// The record after a reconcile that ends in `overall` for `spec`, from `current`.
pub fn next(
    current: Option<&UpgradeStatus>,
    spec: &OpenStackDeploymentSpec,
    overall: &Overall,
) -> Option<UpgradeStatus> {
    let mut record = current.cloned().unwrap_or_default();
    let version = spec.openstack_version.as_str();
    match overall {
        Overall::Refused { message, .. } => {
            record.state = Some(REFUSED.into());
            record.to = Some(version.into());
            record.from = record
                .applied
                .as_ref()
                .and_then(|a| a.openstack_version.clone());
            record.cause = Some(message.clone());
        }
        // Every service APPLIED while steps are left (the later ones hold nothing, e.g. an
        // empty final apply): the upgrade goes on, the applied release stays the old one.
        Overall::Services(_)
            if overall.word() == "APPLIED"
                && running(Some(&record)) == Some(version)
                && !steps_done(&record) => {}
        Overall::Services(_) if overall.word() == "APPLIED" => {
            if running(Some(&record)) == Some(version) {
                record.state = Some(DONE.into());
                record.current = None;
                record.cause = None;
            }
            // A held upgrade (to another release than this apply's) stays shown until the
            // next reconcile starts it.
            if record.state.as_deref() == Some(REFUSED) || released(&record, version) {
                record = UpgradeStatus {
                    steps: None,
                    ..UpgradeStatus::default()
                };
            }
            record.applied = Some(AppliedRelease {
                openstack_version: Some(version.into()),
                spec_hash: Some(spec_hash(spec)),
                ..AppliedRelease::default()
            });
        }
        Overall::Services(_) => {
            let applied = record
                .applied
                .as_ref()
                .and_then(|a| a.openstack_version.clone());
            if record.state.as_deref() == Some(REFUSED) || released(&record, version) {
                record.state = None;
                record.cause = None;
                record.from = None;
                record.to = None;
            }
            if applied.is_some() && applied.as_deref() != Some(version) {
                if running(Some(&record)) != Some(version) {
                    record.state = Some(RUNNING.into());
                    record.steps = None;
                    record.current = None;
                    record.cause = None;
                }
                record.from = applied;
                record.to = Some(version.into());
            }
        }
        _ => {}
    }
    (record != UpgradeStatus::default()).then_some(record)
}

/// Whether the record is a held upgrade whose target is `version`: accepted now. A held
/// upgrade stays shown while the spec is applied at the old release.
fn released(record: &UpgradeStatus, version: &str) -> bool {
    record.state.as_deref() == Some(HELD) && record.to.as_deref() == Some(version)
}

/// Whether every step of the record's plan is APPLIED (no plan: nothing left).
fn steps_done(record: &UpgradeStatus) -> bool {
    record
        .steps
        .iter()
        .flatten()
        .all(|s| s.state.as_deref() == Some(super::execute::APPLIED))
}

/// The OSDPL's `Upgrading` condition as `(status, reason, message)`: True with from/to (and the
/// step, or what holds it) while an upgrade runs; False otherwise, saying how the last one ended.
pub fn condition(record: Option<&UpgradeStatus>) -> (bool, &'static str, String) {
    let Some(record) = record else {
        return (false, "NotUpgrading", String::new());
    };
    let from = record.from.as_deref().unwrap_or("?");
    let to = record.to.as_deref().unwrap_or("?");
    let step = record
        .current
        .as_deref()
        .map(|s| format!(", step {s}"))
        .unwrap_or_default();
    let cause = record.cause.as_deref().unwrap_or_default();
    match record.state.as_deref() {
        Some(RUNNING) => (true, "Upgrading", format!("from {from} to {to}{step}")),
        Some(STALLED) => (
            true,
            "Stalled",
            format!("from {from} to {to}{step}: {cause}"),
        ),
        Some(REFUSED | HELD) => (false, "UpgradeRefused", cause.to_owned()),
        Some(DONE) => (false, "Upgraded", format!("upgraded from {from} to {to}")),
        _ => (false, "NotUpgrading", String::new()),
    }
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
