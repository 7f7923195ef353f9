//! Step 5 of the osdpl reconcile, and the one place it writes status and events: the typed
//! status of the OSDPL and its OpenStackDeploymentStatus ([`crate::status`]), events on
//! transitions only (`Applied`, `ApplyFailed`, `Waiting`, `InvalidSpec`, `Uninstalled`,
//! `UninstallFailed`, `UnusableInput`, `Conflict`, `Adopted`, `UpgradeRefused`), `Drift` when a release was
//! changed outside osdpl, and the state metrics.
//!
//! The osdplst shows the OSDPL it belongs to and nothing else: one left by an earlier OSDPL of
//! the same name is deleted before the first write, one deleted by hand is written again
//! whole, and it is deleted with its OSDPL.
//!
//! After a restart, the last reported service states are read back from the osdplst, so a
//! restart repeats no events.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::EventType;
use kube::{Client, Resource, ResourceExt};
use rockoon_core::crd::OpenStackDeployment;
use rockoon_core::crd::upgrade_status::UpgradeStatus;
use rockoon_runtime::events::Events;

use crate::error::Error;
use crate::fetch::Mirrors;
use crate::helm::installed::Installed;
use crate::metrics::StateMetrics;
use crate::rollout::Progress;
use crate::state::{Overall, ServiceState};
use crate::status::{self, FIELD_MANAGER, Notes, Writer};
use crate::upgrade;

/// Service → the state last reported, in the form transitions compare.
pub type Reported = BTreeMap<String, String>;

/// Status, events and metrics of the osdpl controller.
pub struct Report {
    writer: Writer,
    events: Events,
    metrics: StateMetrics,
    /// Last reported state per OSDPL uid and service, for events on transitions only.
    reported: Mutex<HashMap<String, Reported>>,
    /// Last reported input problems per OSDPL uid, so each set is reported once.
    noted: Mutex<HashMap<String, Vec<String>>>,
    /// The latest `status.upgrade` per OSDPL uid (the cache may lag behind our own writes).
    upgrades: Mutex<HashMap<String, UpgradeStatus>>,
}

impl Report {
    /// A report writing as `rockoon-osdpl`.
    pub fn new(client: Client, metrics: StateMetrics) -> Self {
        Self {
            writer: Writer::new(client.clone()),
            events: Events::new(client, FIELD_MANAGER, "Reconcile"),
            metrics,
            reported: Mutex::default(),
            noted: Mutex::default(),
            upgrades: Mutex::default(),
        }
    }

    /// Writes the status of `osdpl` and its osdplst for `overall`; `unsupported` are the spec
    /// settings no chart takes, when the spec rendered.
    pub async fn status(
        &self,
        mirrors: &Mirrors,
        osdpl: &OpenStackDeployment,
        overall: &Overall,
        fingerprint: Option<&str>,
        notes: Option<Notes<'_>>,
    ) -> Result<(), Error> {
        if let Some(stale) = mirrors.stale_status_of(osdpl) {
            tracing::info!(osdpl = %osdpl.name_any(), "deleting an osdplst another OSDPL left");
            let uid = osdpl.uid().unwrap_or_default();
            self.writer
                .delete(&uid, &stale)
                .await
                .map_err(Error::Report)?;
        }
        let current = mirrors.status_of(osdpl);
        let mut osdplst = status::osdplst_status(osdpl, overall, fingerprint);
        // A spec that cannot render says nothing new about the services: keep what they were
        // (omitting them would remove them, as this writer owns them).
        // A refused upgrade changes nothing either.
        if let Overall::Invalid { .. } | Overall::Refused { .. } = overall {
            osdplst.services = current
                .as_ref()
                .and_then(|c| c.status.as_ref()?.services.clone());
        }
        let recorded = self.upgrade_record(mirrors, osdpl);
        osdplst.upgrade = upgrade::record::next(recorded.as_ref(), &osdpl.spec, overall);
        if let Some(record) = &osdplst.upgrade {
            self.set_upgrade(osdpl, record.clone());
        }
        if let Overall::Refused { .. } = overall {
            // The deployment stays at the applied release; the summary says so.
            let applied = osdplst.upgrade.as_ref().and_then(|u| u.applied.as_ref());
            if let (Some(summary), Some(version)) = (
                osdplst.osdpl.as_mut(),
                applied.and_then(|a| a.openstack_version.clone()),
            ) {
                summary.openstack_version = Some(version);
            }
        }
        // The OSDPL first: whoever sees the osdplst change then finds the conditions agree.
        let mut osdpl_status = status::osdpl_status(osdpl, overall, fingerprint, notes);
        let upgrading = upgrade::record::condition(osdplst.upgrade.as_ref());
        status::add_condition(osdpl, &mut osdpl_status, "Upgrading", upgrading);
        self.writer
            .osdpl(osdpl, &osdpl_status)
            .await
            .map_err(Error::Report)?;
        self.writer
            .osdplst(osdpl, current.as_deref(), &osdplst)
            .await
            .map_err(Error::Report)
    }

    /// A spec the render refuses: FAILED with the message, a Warning on the transition; both
    /// carry `reason` (`InvalidSpec`, `UnsupportedRelease`).
    pub async fn invalid(
        &self,
        mirrors: &Mirrors,
        osdpl: &OpenStackDeployment,
        reason: &'static str,
        message: String,
    ) -> Result<(), Error> {
        let words = BTreeMap::from([("*".to_owned(), message.clone())]);
        if self.transition(mirrors, osdpl, words) {
            self.events
                .warning(&osdpl.object_ref(&()), reason, &message)
                .await;
        }
        let invalid = Overall::Invalid { reason, message };
        self.status(mirrors, osdpl, &invalid, None, None).await
    }

    /// A refused change of `spec.openstack_version`: FAILED with why and what to do (also in
    /// the `Upgrading` condition and `status.upgrade`), a Warning event `UpgradeRefused` on the
    /// transition. Nothing is applied or removed.
    pub async fn refused(
        &self,
        mirrors: &Mirrors,
        osdpl: &OpenStackDeployment,
        reason: &'static str,
        message: String,
    ) -> Result<(), Error> {
        let words = BTreeMap::from([("*".to_owned(), message.clone())]);
        if self.transition(mirrors, osdpl, words) {
            tracing::warn!(osdpl = %osdpl.name_any(), reason, %message, "upgrade refused");
            self.events
                .warning(&osdpl.object_ref(&()), "UpgradeRefused", &message)
                .await;
        }
        let refused = Overall::Refused { reason, message };
        self.status(mirrors, osdpl, &refused, None, None).await
    }

    /// An upgrade held because the deployment is not APPLIED (the spec is applied at the
    /// applied release meanwhile): `status.upgrade` HELD with why and what to do (so the
    /// `Upgrading` condition is False `UpgradeRefused`), a Warning event `UpgradeRefused` when
    /// that starts or its message changes.
    pub async fn held(&self, mirrors: &Mirrors, osdpl: &OpenStackDeployment, message: &str) {
        let mut record = self.upgrade_record(mirrors, osdpl).unwrap_or_default();
        if record.state.as_deref() == Some(upgrade::record::HELD)
            && record.cause.as_deref() == Some(message)
        {
            return;
        }
        tracing::warn!(osdpl = %osdpl.name_any(), %message, "upgrade held");
        self.events
            .warning(&osdpl.object_ref(&()), "UpgradeRefused", message)
            .await;
        record.state = Some(upgrade::record::HELD.into());
        record.from = record
            .applied
            .as_ref()
            .and_then(|a| a.openstack_version.clone());
        record.to = Some(osdpl.spec.openstack_version.as_str().into());
        record.cause = Some(message.to_owned());
        self.set_upgrade(osdpl, record);
    }

    /// Another OSDPL owns the namespace: CONFLICT with a message naming it, a Warning event
    /// `Conflict` on the transition. Nothing else is done for this OSDPL.
    pub async fn conflict(
        &self,
        mirrors: &Mirrors,
        osdpl: &OpenStackDeployment,
        owner: &str,
    ) -> Result<(), Error> {
        let message = format!(
            "namespace {} is owned by OpenStackDeployment {owner} (the oldest): this one is \
             not rendered, applied or removed until {owner} is deleted",
            osdpl.namespace().unwrap_or_default()
        );
        let words = BTreeMap::from([("*".to_owned(), message.clone())]);
        if self.transition(mirrors, osdpl, words) {
            tracing::warn!(osdpl = %osdpl.name_any(), %owner, "namespace owned by another OSDPL");
            self.events
                .warning(&osdpl.object_ref(&()), "Conflict", &message)
                .await;
        }
        let conflict = Overall::Conflict(message);
        self.status(mirrors, osdpl, &conflict, None, None).await
    }

    /// Releases this OSDPL takes over (installed without an owner label, or labelled for an
    /// OSDPL that no longer exists): a Normal event `Adopted` naming them.
    pub async fn adopted(&self, osdpl: &OpenStackDeployment, releases: &[String]) {
        if releases.is_empty() {
            return;
        }
        let note = format!(
            "adopting release(s) {} found without a living owner: upgraded and labelled as \
             this OSDPL's",
            releases.join(", ")
        );
        tracing::info!(osdpl = %osdpl.name_any(), releases = %releases.join(","), "adopting");
        self.events
            .normal(&osdpl.object_ref(&()), "Adopted", &note)
            .await;
    }

    /// Deletes the osdplst of the OSDPL `uid` named `name` (it is being deleted).
    pub async fn remove_status(
        &self,
        mirrors: &Mirrors,
        name: &str,
        uid: &str,
    ) -> Result<(), Error> {
        let owned = mirrors
            .statuses
            .find(|s| s.name_any() == name && s.owner_references().iter().any(|o| o.uid == uid));
        if let Some(status) = owned {
            self.writer
                .delete(uid, &status)
                .await
                .map_err(Error::Report)?;
        }
        Ok(())
    }

    /// An object the types cannot read (no status can be written for it).
    pub async fn unreadable(&self, object: &ObjectReference, error: &Error) {
        self.events
            .warning(object, "InvalidSpec", &error.to_string())
            .await;
    }

    /// Unusable inputs (a credential emptied by hand, Ceph keys in the wrong format): logged
    /// and, when they change, a Warning event `UnusableInput` naming Secret and key (never the
    /// value). Whatever needs them waits.
    pub async fn notes(&self, osdpl: &OpenStackDeployment, notes: &[String]) {
        let name = osdpl.name_any();
        for note in notes {
            tracing::warn!(osdpl = %name, problem = %note, "unusable input");
        }
        let uid = osdpl.uid().unwrap_or_default();
        let changed = lock(&self.noted)
            .insert(uid, notes.to_vec())
            .unwrap_or_default()
            != notes;
        if changed && !notes.is_empty() {
            let note = notes.join("; ");
            self.events
                .warning(&osdpl.object_ref(&()), "UnusableInput", &note)
                .await;
        }
    }

    /// Events for services whose state changed since `previous`, and the state metrics.
    async fn transitions(
        &self,
        osdpl: &OpenStackDeployment,
        previous: &Reported,
        states: &BTreeMap<String, ServiceState>,
        installed: &BTreeMap<String, Installed>,
    ) {
        let words = words(states);
        lock(&self.reported).insert(osdpl.uid().unwrap_or_default(), words.clone());
        if previous != &words {
            for (kind, reason, note) in transition_events(previous, states) {
                self.events
                    .publish(&osdpl.object_ref(&()), kind, reason, &note)
                    .await;
            }
        }
        self.metrics
            .set_services(states.values().map(ServiceState::word));
        self.metrics.set_releases(
            installed
                .values()
                .filter(|r| r.osdpl.is_some())
                .map(|r| r.status.as_str()),
        );
    }

    /// Releases whose stored values were changed outside osdpl (their labels still said
    /// converged): a Warning event `Drift` per release, which is then upgraded back.
    pub async fn drift(&self, osdpl: &OpenStackDeployment, releases: &[String]) {
        for release in releases {
            tracing::warn!(osdpl = %osdpl.name_any(), %release, "release drifted from the render");
            let note = format!(
                "release {release} holds values other than rendered (changed outside osdpl); upgrading it back"
            );
            self.events
                .warning(&osdpl.object_ref(&()), "Drift", &note)
                .await;
        }
    }

    /// A release that could not be uninstalled while deleting the OSDPL.
    pub async fn uninstall_failed(&self, object: &ObjectReference, message: &str) {
        self.events
            .warning(object, "UninstallFailed", message)
            .await;
    }

    /// What was last reported for this OSDPL: remembered, or read from its status after a
    /// restart so a restart repeats no events.
    pub fn previous(&self, mirrors: &Mirrors, osdpl: &OpenStackDeployment) -> Reported {
        let uid = osdpl.uid().unwrap_or_default();
        if let Some(known) = lock(&self.reported).get(&uid) {
            return known.clone();
        }
        let services = mirrors
            .status_of(osdpl)
            .and_then(|s| s.status.as_ref()?.services.clone())
            .unwrap_or_default();
        services
            .into_iter()
            .filter_map(|(service, s)| {
                let state = match (s.state.as_deref()?, s.cause) {
                    ("APPLIED", _) => ServiceState::Applied,
                    ("FAILED", Some(cause)) => ServiceState::Failed(cause),
                    ("WAITING", Some(cause)) => ServiceState::Waiting(cause),
                    ("UNSUPPORTED", Some(cause)) => ServiceState::Unsupported(cause),
                    _ => return None,
                };
                Some((service, format!("{state:?}")))
            })
            .collect()
    }

    /// The latest `status.upgrade` of `osdpl`: as last written, or as its osdplst shows it
    /// (after a restart).
    pub fn upgrade_record(
        &self,
        mirrors: &Mirrors,
        osdpl: &OpenStackDeployment,
    ) -> Option<UpgradeStatus> {
        let uid = osdpl.uid().unwrap_or_default();
        if let Some(known) = lock(&self.upgrades).get(&uid) {
            return Some(known.clone());
        }
        mirrors
            .status_of(osdpl)
            .and_then(|s| s.status.as_ref()?.upgrade.clone())
    }

    /// Makes `record` the `status.upgrade` the next status write of `osdpl` starts from.
    pub fn set_upgrade(&self, osdpl: &OpenStackDeployment, record: UpgradeStatus) {
        lock(&self.upgrades).insert(osdpl.uid().unwrap_or_default(), record);
    }

    /// Events for an upgrade pass (`UpgradeStep`, `UpgradeStalled`, `UpgradeResumed`).
    pub async fn upgrade_events(
        &self,
        osdpl: &OpenStackDeployment,
        before: &UpgradeStatus,
        after: &UpgradeStatus,
    ) {
        for (warning, reason, note) in upgrade::execute::events(before, after) {
            tracing::info!(osdpl = %osdpl.name_any(), reason, %note, "upgrade");
            let kind = if warning {
                EventType::Warning
            } else {
                EventType::Normal
            };
            self.events
                .publish(&osdpl.object_ref(&()), kind, reason, &note)
                .await;
        }
    }

    /// Forgets an OSDPL that is gone.
    pub fn forget(&self, uid: &str) {
        self.writer.forget(uid);
        lock(&self.reported).remove(uid);
        lock(&self.upgrades).remove(uid);
    }

    /// Records `words` as the reported state; returns whether it differs from before.
    fn transition(&self, mirrors: &Mirrors, osdpl: &OpenStackDeployment, words: Reported) -> bool {
        let previous = self.previous(mirrors, osdpl);
        let changed = previous != words;
        lock(&self.reported).insert(osdpl.uid().unwrap_or_default(), words);
        changed
    }
}

/// What the rollout reports as it goes: the status of one OSDPL.
pub struct Progressing<'a> {
    /// The report.
    pub report: &'a Report,
    /// The caches (the osdplst as it is).
    pub mirrors: &'a Mirrors,
    /// The OSDPL.
    pub osdpl: &'a OpenStackDeployment,
    /// Fingerprint of the render being applied.
    pub fingerprint: &'a str,
    /// Spec settings no chart takes (the `UnsupportedSettings` condition).
    pub unsupported: &'a [String],
    /// Held main releases, one line each (the `MainReleasesHeld` condition).
    pub held: &'a [String],
    /// Enabled services this version cannot render, with why (`UNSUPPORTED` entries, the
    /// `UnsupportedServices` condition).
    pub unsupported_services: &'a BTreeMap<String, String>,
}

impl Progressing<'_> {
    /// The rollout's states with the unsupported services added.
    fn with_unsupported(
        &self,
        states: &BTreeMap<String, ServiceState>,
    ) -> BTreeMap<String, ServiceState> {
        let mut all = states.clone();
        for (service, why) in self.unsupported_services {
            all.insert(service.clone(), ServiceState::Unsupported(why.clone()));
        }
        all
    }
}

impl Progressing<'_> {
    /// The rollout's end: events for the transitions since `previous`, the state metrics (with
    /// Helm's storage as it is now), and the final status.
    pub async fn finished(
        &self,
        previous: &Reported,
        states: &BTreeMap<String, ServiceState>,
    ) -> Result<(), Error> {
        let installed = self.mirrors.installed();
        let states = &self.with_unsupported(states);
        self.report
            .transitions(self.osdpl, previous, states, &installed)
            .await;
        self.states(states).await
    }
}

impl Progress for Progressing<'_> {
    async fn states(&self, states: &BTreeMap<String, ServiceState>) -> Result<(), Error> {
        let overall = Overall::Services(self.with_unsupported(states));
        let notes = Notes {
            unsupported: self.unsupported,
            held: self.held,
        };
        self.report
            .status(
                self.mirrors,
                self.osdpl,
                &overall,
                Some(self.fingerprint),
                Some(notes),
            )
            .await
    }

    async fn uninstalled(&self, release: &Installed) {
        let note = format!(
            "uninstalled {} (service {} is no longer enabled or renders it no more)",
            release.name,
            release.service.as_deref().unwrap_or("?")
        );
        self.report
            .events
            .normal(&self.osdpl.object_ref(&()), "Uninstalled", &note)
            .await;
    }
}

fn words(states: &BTreeMap<String, ServiceState>) -> Reported {
    states
        .iter()
        .map(|(service, state)| (service.clone(), format!("{state:?}")))
        .collect()
}

/// The events for services whose state differs from `previous`: `Applied`, `ApplyFailed` and
/// `Waiting` (applying and deleting are passing states, not worth an event).
fn transition_events(
    previous: &Reported,
    states: &BTreeMap<String, ServiceState>,
) -> Vec<(EventType, &'static str, String)> {
    states
        .iter()
        .filter(|(service, state)| previous.get(*service) != Some(&format!("{state:?}")))
        .filter_map(|(service, state)| match state {
            ServiceState::Applied => Some((
                EventType::Normal,
                "Applied",
                format!("{service}: releases installed as rendered"),
            )),
            ServiceState::Failed(cause) => Some((
                EventType::Warning,
                "ApplyFailed",
                format!("{service}: {cause}"),
            )),
            ServiceState::Waiting(cause) => {
                Some((EventType::Normal, "Waiting", format!("{service}: {cause}")))
            }
            ServiceState::Unsupported(cause) => Some((
                EventType::Warning,
                "Unsupported",
                format!("{service}: {cause}"),
            )),
            ServiceState::Applying | ServiceState::Deleting => None,
        })
        .collect()
}

/// Both maps only ever hold names and states: a panicking holder leaves them usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
