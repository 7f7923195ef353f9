//! Reconcile of one OpenStackDeployment, as a pipeline of small steps:
//!
//! 1. read: an object the suite's types cannot read gets a Warning event and waits for a change;
//! 2. deletion: the finalizer uninstalls our releases, latest stage first, then lets go;
//! 3. draft: nothing is applied, status says so;
//! 4. gather inputs from the caches and render (pure); a spec that cannot render is reported
//!    in status and nothing is applied or removed;
//! 5. plan against Helm's storage (skip unchanged, recover stuck, remove unwanted);
//! 6. apply stage by stage (infra, identity, the rest; concurrent within a stage); a stage
//!    starts once every release of the earlier stages is installed;
//! 7. uninstall releases no longer wanted; write status and events on transitions.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use k8s_openapi::api::core::v1::{ObjectReference, Secret};
use kube::api::{Patch, PatchParams};
use kube::core::{DeserializeGuard, PartialObjectMeta};
use kube::runtime::controller::Action as Requeue;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Api, Client, Resource, ResourceExt};
use rockoon_core::crd::{OpenStackDeployment, OpenStackDeploymentStatus};
use rockoon_core::render::{self, Templates};
use rockoon_runtime::controller::Reconciler;
use serde_json::json;

use crate::apply::Applier;
use crate::error::Error;
use crate::helm::installed::{Installed, installed};
use crate::inputs::{self, Defaults, scrub};
use crate::metrics::StateMetrics;
use crate::mirror::Mirror;
use crate::plan::{self, Action, Plan, Work};
use crate::status::{self, Overall, ServiceState, Writer};

/// Finalizer that makes deleting an OSDPL uninstall its releases first.
pub const FINALIZER: &str = "lcm.mirantis.com/rockoon-osdpl";

/// The caches a reconcile reads.
pub struct Mirrors {
    /// Generated credential Secrets.
    pub credentials: Mirror<Secret>,
    /// Secrets `value_from` may reference.
    pub referenced: Mirror<Secret>,
    /// Ceph's published keys.
    pub ceph: Mirror<Secret>,
    /// Helm's release storage, metadata only.
    pub releases: Mirror<PartialObjectMeta<Secret>>,
    /// The OpenStackDeploymentStatus objects.
    pub statuses: Mirror<OpenStackDeploymentStatus>,
}

impl Mirrors {
    async fn synced(&self) {
        self.credentials.synced().await;
        self.referenced.synced().await;
        self.ceph.synced().await;
        self.releases.synced().await;
        self.statuses.synced().await;
    }
}

/// Render settings from the command line.
pub struct RenderSettings {
    /// Templates (embedded, or with an override directory).
    pub templates: Templates,
    /// Registry prefix when the spec sets none.
    pub images_base_url: String,
    /// Binary artifacts prefix when the spec sets none.
    pub binary_base_url: String,
}

/// The osdpl reconciler.
pub struct Osdpl {
    client: Client,
    recorder: Recorder,
    applier: Arc<Applier>,
    mirrors: Mirrors,
    render: RenderSettings,
    writer: Writer,
    metrics: StateMetrics,
    /// Last reported state per OSDPL uid and service, for events on transitions only.
    reported: Mutex<HashMap<String, BTreeMap<String, String>>>,
    /// Last reported input problems per OSDPL uid, so each set is reported once.
    noted: Mutex<HashMap<String, Vec<String>>>,
}

impl Osdpl {
    /// A reconciler publishing events as `rockoon-osdpl`.
    pub fn new(
        client: Client,
        applier: Arc<Applier>,
        mirrors: Mirrors,
        render: RenderSettings,
        metrics: StateMetrics,
    ) -> Self {
        let reporter = Reporter {
            controller: "rockoon-osdpl".into(),
            instance: std::env::var("HOSTNAME").ok(),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            writer: Writer::new(client.clone()),
            client,
            applier,
            mirrors,
            render,
            metrics,
            reported: Mutex::default(),
            noted: Mutex::default(),
        }
    }
}

impl Reconciler<DeserializeGuard<OpenStackDeployment>> for Osdpl {
    type Error = Error;

    async fn reconcile(
        &self,
        object: Arc<DeserializeGuard<OpenStackDeployment>>,
    ) -> Result<Requeue, Error> {
        if object.meta().deletion_timestamp.is_some() {
            return self.delete(&object).await;
        }
        let osdpl = match readable(&object) {
            Ok(osdpl) => osdpl,
            Err(error) => {
                self.event(
                    &object.object_ref(&()),
                    EventType::Warning,
                    "InvalidSpec",
                    &error.to_string(),
                )
                .await;
                return Err(error);
            }
        };
        self.ensure_finalizer(&object).await?;
        self.mirrors.synced().await;
        if osdpl.spec.draft.unwrap_or(false) {
            self.write_status(osdpl, &Overall::Draft, None).await?;
            return Ok(Requeue::await_change());
        }
        self.converge(osdpl).await
    }
}

impl Osdpl {
    async fn converge(&self, osdpl: &OpenStackDeployment) -> Result<Requeue, Error> {
        let name = osdpl.name_any();
        let namespace = osdpl.namespace().unwrap_or_default();
        let defaults = Defaults {
            namespace: &namespace,
            images_base_url: &self.render.images_base_url,
            binary_base_url: &self.render.binary_base_url,
        };
        let ceph = self.mirrors.ceph.state();
        let inputs = inputs::gather(
            &defaults,
            &self.mirrors.credentials.state(),
            &self.mirrors.referenced.state(),
            ceph.first().map(AsRef::as_ref),
        );
        self.report_notes(osdpl, &inputs.notes).await;
        let spec =
            serde_json::to_value(&osdpl.spec).map_err(|e| Error::InvalidSpec(e.to_string()))?;
        let rendered = match render::render(&spec, &inputs.context, &self.render.templates) {
            Ok(rendered) => rendered,
            Err(error) => {
                let message = scrub(&error.to_string(), &inputs.secret_values);
                let overall = Overall::Invalid(message.clone());
                if self.transition(osdpl, &BTreeMap::from([("*".to_owned(), message.clone())])) {
                    self.event(
                        &osdpl.object_ref(&()),
                        EventType::Warning,
                        "InvalidSpec",
                        &message,
                    )
                    .await;
                }
                self.write_status(osdpl, &overall, None).await?;
                return Ok(Requeue::await_change());
            }
        };
        let all = self.mirrors.releases.state();
        let world = installed(all.iter().map(|m| &m.metadata));
        // A chart's identity (a digest of its directory) is the same for every release of it:
        // the four RabbitMQ releases share one.
        let identities = std::cell::RefCell::new(HashMap::new());
        let plan = plan::plan(&name, &rendered, &world, |r| {
            let key = (r.group, r.chart.clone(), r.version.clone());
            identities
                .borrow_mut()
                .entry(key)
                .or_insert_with(|| self.applier.identity(r))
                .clone()
        });
        let fingerprint = Some(rendered.fingerprint.as_str());

        // Read before this reconcile writes status: after a restart, the status is what was
        // last reported.
        let reported_before = self.previous(osdpl);
        let leaving: Vec<String> = plan
            .removals
            .iter()
            .filter_map(|r| r.service.clone())
            .filter(|service| !plan.services.iter().any(|s| &s.service == service))
            .collect();
        let mut states = initial_states(&plan, |desired| {
            self.applier
                .backing_off(&desired.release.name, &desired.hash)
                .map(|error| {
                    scrub(
                        &format!("{}: {error}", desired.release.name),
                        &inputs.secret_values,
                    )
                })
        });
        tracing::debug!(
            osdpl = %name,
            services = plan.services.len(),
            installed = world.len(),
            removals = plan.removals.len(),
            work = plan.has_work(),
            "planned"
        );
        // Services being removed show as DELETING until their releases are gone.
        for service in &leaving {
            states.insert(service.clone(), ServiceState::Deleting);
        }
        if plan.has_work() {
            tracing::info!(osdpl = %name, fingerprint = %rendered.fingerprint, "applying");
        }
        self.write_status(osdpl, &Overall::Services(states.clone()), fingerprint)
            .await?;
        for stage in 0..=2u8 {
            let in_stage: Vec<_> = plan.services.iter().filter(|s| s.stage == stage).collect();
            if in_stage.is_empty() {
                continue;
            }
            if let Some(blocker) = first_blocker(&plan, stage, &states, &world) {
                for service in &in_stage {
                    if !matches!(states.get(&service.service), Some(ServiceState::Waiting(_))) {
                        states.insert(
                            service.service.clone(),
                            ServiceState::Waiting(format!("waiting for {blocker} to be installed")),
                        );
                    }
                }
                continue;
            }
            let (name, secret_values) = (&name, &inputs.secret_values);
            let runs = in_stage.iter().filter_map(|service| match &service.work {
                Work::Releases(releases) if releases.iter().any(|d| d.action != Action::Skip) => {
                    Some(async move {
                        for desired in releases {
                            if let Err(error) =
                                self.applier.apply(name, &service.service, desired).await
                            {
                                let message = scrub(
                                    &format!("{}: {error}", desired.release.name),
                                    secret_values,
                                );
                                return (service.service.clone(), ServiceState::Failed(message));
                            }
                        }
                        (service.service.clone(), ServiceState::Applied)
                    })
                }
                _ => None,
            });
            for (service, state) in join_all(runs).await {
                states.insert(service, state);
            }
            self.write_status(osdpl, &Overall::Services(states.clone()), fingerprint)
                .await?;
        }
        let removal_errors = self.remove(osdpl, &plan).await;
        for service in &leaving {
            states.remove(service);
        }

        self.report_transitions(osdpl, &reported_before, &states)
            .await;
        self.metrics
            .set_services(states.values().map(ServiceState::word));
        let all = self.mirrors.releases.state();
        let releases = installed(all.iter().map(|m| &m.metadata));
        self.metrics.set_releases(
            releases
                .values()
                .filter(|r| r.osdpl.is_some())
                .map(|r| r.status.as_str()),
        );
        self.write_status(osdpl, &Overall::Services(states.clone()), fingerprint)
            .await?;
        if !removal_errors.is_empty() {
            return Err(Error::Uninstall(removal_errors.join("; ")));
        }
        let failed = states
            .values()
            .any(|s| matches!(s, ServiceState::Failed(_)));
        Ok(match self.applier.next_retry().filter(|_| failed) {
            Some(delay) => Requeue::requeue(delay.max(Duration::from_secs(1))),
            None => Requeue::await_change(),
        })
    }

    /// Uninstalls the plan's removals, latest stage first; returns what failed.
    async fn remove(&self, osdpl: &OpenStackDeployment, plan: &Plan) -> Vec<String> {
        let mut errors = Vec::new();
        for release in &plan.removals {
            match self
                .applier
                .uninstall(&release.name, &osdpl.namespace().unwrap_or_default())
                .await
            {
                Ok(()) => {
                    let note = format!(
                        "uninstalled {} (service {} is no longer enabled or renders it no more)",
                        release.name,
                        release.service.as_deref().unwrap_or("?")
                    );
                    self.event(
                        &osdpl.object_ref(&()),
                        EventType::Normal,
                        "Uninstalled",
                        &note,
                    )
                    .await;
                }
                Err(error) => errors.push(format!("uninstall {}: {error}", release.name)),
            }
        }
        errors
    }

    /// The finalizer: uninstall every release of this OSDPL (latest stage first), then let go.
    async fn delete(
        &self,
        object: &DeserializeGuard<OpenStackDeployment>,
    ) -> Result<Requeue, Error> {
        let meta = object.meta();
        let has_finalizer = meta.finalizers.iter().flatten().any(|f| f == FINALIZER);
        if !has_finalizer {
            return Ok(Requeue::await_change());
        }
        let name = object.name_any();
        self.mirrors.releases.synced().await;
        let all = self.mirrors.releases.state();
        let mut ours: Vec<Installed> = installed(all.iter().map(|m| &m.metadata))
            .into_values()
            .filter(|r| r.osdpl.as_deref() == Some(name.as_str()))
            .collect();
        ours.sort_by_key(|r| std::cmp::Reverse(plan::stage_of(r.service.as_deref().unwrap_or(""))));
        let namespace = object.namespace().unwrap_or_default();
        tracing::info!(osdpl = %name, releases = ours.len(), "deleting: uninstalling releases");
        for stage in (0..=2u8).rev() {
            let batch = ours
                .iter()
                .filter(|r| plan::stage_of(r.service.as_deref().unwrap_or("")) == stage)
                .map(|r| async {
                    (
                        r.name.clone(),
                        self.applier.uninstall(&r.name, &namespace).await,
                    )
                });
            for (release, result) in join_all(batch).await {
                if let Err(error) = result {
                    let message = format!("uninstall {release}: {error}");
                    self.event(
                        &object.object_ref(&()),
                        EventType::Warning,
                        "UninstallFailed",
                        &message,
                    )
                    .await;
                    return Err(Error::Uninstall(message));
                }
            }
        }
        self.patch_finalizers(object, false).await?;
        if let Some(uid) = object.uid() {
            self.writer.forget(&uid);
            self.reported_lock().remove(&uid);
        }
        tracing::info!(osdpl = %name, "deleted; generated credential Secrets are kept");
        Ok(Requeue::await_change())
    }

    async fn ensure_finalizer(
        &self,
        object: &DeserializeGuard<OpenStackDeployment>,
    ) -> Result<(), Error> {
        if object
            .meta()
            .finalizers
            .iter()
            .flatten()
            .any(|f| f == FINALIZER)
        {
            return Ok(());
        }
        self.patch_finalizers(object, true).await
    }

    /// Adds or removes our finalizer, keeping everyone else's, guarded by resourceVersion.
    async fn patch_finalizers(
        &self,
        object: &DeserializeGuard<OpenStackDeployment>,
        present: bool,
    ) -> Result<(), Error> {
        let meta = object.meta();
        let mut finalizers: Vec<String> = meta
            .finalizers
            .iter()
            .flatten()
            .filter(|f| *f != FINALIZER)
            .cloned()
            .collect();
        if present {
            finalizers.push(FINALIZER.to_owned());
        }
        let api: Api<DeserializeGuard<OpenStackDeployment>> =
            Api::namespaced(self.client.clone(), &object.namespace().unwrap_or_default());
        let patch = json!({"metadata": {
            "finalizers": finalizers,
            "resourceVersion": meta.resource_version,
        }});
        match api
            .patch(
                &object.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => Ok(()),
            // Gone already: nothing to hold.
            Err(kube::Error::Api(status)) if status.code == 404 && !present => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    async fn write_status(
        &self,
        osdpl: &OpenStackDeployment,
        overall: &Overall,
        fingerprint: Option<&str>,
    ) -> Result<(), Error> {
        let name = osdpl.name_any();
        let statuses = self.mirrors.statuses.state();
        let current = statuses.iter().find(|s| s.name_any() == name);
        let mut body = status::osdplst_status(osdpl, overall, fingerprint);
        // A spec that cannot render says nothing new about the services: keep what they were
        // (omitting them would remove them, as this writer owns them).
        if let (Overall::Invalid(_), Some(services)) = (
            overall,
            current.and_then(|c| c.status.as_ref()?.services.as_ref()),
        ) {
            body["services"] = json!(services);
        }
        // The OSDPL first: whoever sees the osdplst change then finds the conditions agree.
        self.writer
            .osdpl(osdpl, status::osdpl_status(osdpl, overall, fingerprint))
            .await?;
        self.writer
            .osdplst(osdpl, current.map(AsRef::as_ref), body)
            .await?;
        Ok(())
    }

    /// Unusable inputs (a credential emptied by hand, Ceph keys in the wrong format): logged
    /// and, when they change, a Warning event `UnusableInput` naming Secret and key (never the
    /// value). Whatever needs them waits.
    async fn report_notes(&self, osdpl: &OpenStackDeployment, notes: &[String]) {
        let name = osdpl.name_any();
        for note in notes {
            tracing::warn!(osdpl = %name, problem = %note, "unusable input");
        }
        let uid = osdpl.uid().unwrap_or_default();
        let changed = {
            let mut noted = self
                .noted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            noted.insert(uid, notes.to_vec()).unwrap_or_default() != notes
        };
        if changed && !notes.is_empty() {
            let note = notes.join("; ");
            self.event(
                &osdpl.object_ref(&()),
                EventType::Warning,
                "UnusableInput",
                &note,
            )
            .await;
        }
    }

    /// Events for services whose state changed since last reported.
    async fn report_transitions(
        &self,
        osdpl: &OpenStackDeployment,
        previous: &BTreeMap<String, String>,
        states: &BTreeMap<String, ServiceState>,
    ) {
        let words: BTreeMap<String, String> = states
            .iter()
            .map(|(service, state)| (service.clone(), format!("{state:?}")))
            .collect();
        let uid = osdpl.uid().unwrap_or_default();
        self.reported_lock().insert(uid, words.clone());
        if previous == &words {
            return;
        }
        for (service, state) in states {
            let before = previous.get(service);
            if before == Some(&format!("{state:?}")) {
                continue;
            }
            let (kind, reason, note) = match state {
                ServiceState::Applied => (
                    EventType::Normal,
                    "Applied",
                    format!("{service}: releases installed as rendered"),
                ),
                ServiceState::Failed(cause) => (
                    EventType::Warning,
                    "ApplyFailed",
                    format!("{service}: {cause}"),
                ),
                ServiceState::Waiting(cause) => {
                    (EventType::Normal, "Waiting", format!("{service}: {cause}"))
                }
                ServiceState::Applying | ServiceState::Deleting => continue,
            };
            self.event(&osdpl.object_ref(&()), kind, reason, &note)
                .await;
        }
    }

    /// What was last reported for this OSDPL: remembered, or read from its status after a
    /// restart so a restart repeats no events.
    fn previous(&self, osdpl: &OpenStackDeployment) -> BTreeMap<String, String> {
        let uid = osdpl.uid().unwrap_or_default();
        if let Some(known) = self.reported_lock().get(&uid) {
            return known.clone();
        }
        let name = osdpl.name_any();
        let statuses = self.mirrors.statuses.state();
        statuses
            .iter()
            .find(|s| s.name_any() == name)
            .and_then(|s| s.status.as_ref()?.services.clone())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(service, s)| {
                let state = match (s.state.as_deref()?, s.cause) {
                    ("APPLIED", _) => ServiceState::Applied,
                    ("FAILED", Some(cause)) => ServiceState::Failed(cause),
                    ("WAITING", Some(cause)) => ServiceState::Waiting(cause),
                    _ => return None,
                };
                Some((service, format!("{state:?}")))
            })
            .collect()
    }

    /// Records `words` as the reported state; returns whether it differs from before.
    fn transition(&self, osdpl: &OpenStackDeployment, words: &BTreeMap<String, String>) -> bool {
        let previous = self.previous(osdpl);
        let uid = osdpl.uid().unwrap_or_default();
        self.reported_lock().insert(uid, words.clone());
        &previous != words
    }

    fn reported_lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, BTreeMap<String, String>>> {
        self.reported
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn event(&self, reference: &ObjectReference, kind: EventType, reason: &str, note: &str) {
        let event = Event {
            type_: kind,
            reason: reason.into(),
            note: Some(truncate(note, 1024)),
            action: "Reconcile".into(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, reference).await {
            tracing::warn!(error = %error, "cannot publish event");
        }
    }
}

/// States before any helm command: waiting services wait, untouched ones are applied, those
/// with a release still backing off from a failure stay failed (`backing_off` gives its
/// error), the rest are about to be applied.
fn initial_states(
    plan: &Plan,
    backing_off: impl Fn(&plan::Desired) -> Option<String>,
) -> BTreeMap<String, ServiceState> {
    plan.services
        .iter()
        .map(|s| {
            let state = match &s.work {
                Work::Waiting(reason) => ServiceState::Waiting(reason.clone()),
                Work::Releases(releases) if releases.iter().all(|d| d.action == Action::Skip) => {
                    ServiceState::Applied
                }
                Work::Releases(releases) => match releases.iter().find_map(&backing_off) {
                    Some(error) => ServiceState::Failed(error),
                    None => ServiceState::Applying,
                },
            };
            (s.service.clone(), state)
        })
        .collect()
}

/// The first service of an earlier stage that has nothing installed to build on.
fn first_blocker(
    plan: &Plan,
    stage: u8,
    states: &BTreeMap<String, ServiceState>,
    world: &BTreeMap<String, Installed>,
) -> Option<String> {
    plan.services
        .iter()
        .filter(|s| s.stage < stage)
        .find(|s| {
            let installed_before = |name: &str| {
                world
                    .get(name)
                    .is_some_and(|r| r.revision > 1 || r.is_deployed())
            };
            match (&s.work, states.get(&s.service)) {
                (_, Some(ServiceState::Applied)) => false,
                (Work::Releases(releases), _) => {
                    !releases.iter().all(|d| installed_before(&d.release.name))
                }
                (Work::Waiting(_), _) => !world
                    .values()
                    .any(|r| r.service.as_deref() == Some(s.service.as_str())),
            }
        })
        .map(|s| s.service.clone())
}

/// The OSDPL, or why it cannot be read (it passed the API schema, e.g. under an older, looser
/// CRD, but does not match the suite's types).
fn readable(object: &DeserializeGuard<OpenStackDeployment>) -> Result<&OpenStackDeployment, Error> {
    object
        .0
        .as_ref()
        .map_err(|invalid| Error::InvalidSpec(invalid.error.clone()))
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rockoon_core::error::ErrorKind;

    fn guard(spec: serde_json::Value) -> DeserializeGuard<OpenStackDeployment> {
        let object = serde_json::json!({
            "apiVersion": "lcm.mirantis.com/v1alpha1",
            "kind": "OpenStackDeployment",
            "metadata": {"name": "osh-dev", "namespace": "openstack"},
            "spec": spec,
        });
        serde_json::from_value(object).unwrap()
    }

    #[test]
    fn an_osdpl_the_types_cannot_read_is_a_permanent_invalid_spec_error_naming_the_value() {
        let bad = guard(serde_json::json!({
            "openstack_version": "caracal", "preset": "hyperscale", "size": "tiny",
            "public_domain_name": "it.example.com",
        }));
        let error = readable(&bad).unwrap_err();
        assert_eq!(error.kind(), "invalid_spec");
        assert!(
            !error.is_transient(),
            "an invalid spec must wait for a change, not be retried"
        );
        assert!(error.to_string().contains("hyperscale"), "{error}");
    }

    #[test]
    fn a_valid_osdpl_is_readable() {
        let good = guard(serde_json::json!({
            "openstack_version": "caracal", "preset": "core", "size": "tiny",
            "public_domain_name": "it.example.com",
        }));
        assert_eq!(
            readable(&good).unwrap().spec.openstack_version.as_str(),
            "caracal"
        );
    }

    #[test]
    fn long_event_notes_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("ééé", 2), "éé…");
        assert_eq!(truncate("short", 10), "short");
    }

    fn service(name: &str, stage: u8, work: Work) -> plan::ServicePlan {
        plan::ServicePlan {
            service: name.into(),
            stage,
            work,
        }
    }

    #[test]
    fn a_later_stage_waits_for_an_earlier_service_with_nothing_installed() {
        let plan = Plan {
            services: vec![
                service("messaging", 0, Work::Waiting("credentials".into())),
                service("identity", 1, Work::Releases(vec![])),
            ],
            removals: vec![],
        };
        let states = initial_states(&plan, |_| None);
        assert_eq!(
            first_blocker(&plan, 1, &states, &BTreeMap::new()).as_deref(),
            Some("messaging")
        );
        let world = BTreeMap::from([(
            "openstack-rabbitmq".to_owned(),
            Installed {
                name: "openstack-rabbitmq".into(),
                revision: 1,
                status: "deployed".into(),
                hash: None,
                osdpl: Some("osh".into()),
                service: Some("messaging".into()),
            },
        )]);
        assert_eq!(
            first_blocker(&plan, 1, &states, &world),
            None,
            "installed before: go on"
        );
    }
}
