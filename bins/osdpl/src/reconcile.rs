//! Reconcile of one OpenStackDeployment, as a pipeline:
//!
//! 1. **read**: an object the suite's types cannot read gets a Warning event and waits for a
//!    change; a deleted one goes to the [`finalizer`](crate::finalizer); one that does not own
//!    its namespace ([`rockoon_core::ownership`]) is reported `CONFLICT` and nothing else is
//!    done for it (not even the finalizer); the finalizer is added; a draft only says so in
//!    status;
//! 2. **fetch** ([`crate::fetch`]): render inputs and what Helm has installed, from caches;
//! 3. **upgrade guard** ([`crate::upgrade::guard`]): a change of `spec.openstack_version` the
//!    suite refuses is reported and nothing is applied or removed;
//! 4. **render** (pure, `rockoon_core::render`, typed spec in): a spec that cannot render is
//!    reported and nothing is applied or removed;
//! 5. **plan** (pure, [`crate::plan`]): chart identities first, then per release skip, apply
//!    or recover, and which releases to remove; during an upgrade ([`crate::upgrade::run`])
//!    the services of later steps are held;
//! 6. **rollout** ([`crate::rollout`]): stage by stage, then removals; returns an outcome;
//!    during an upgrade the current step is then judged on its workloads' health;
//! 7. **report** ([`crate::report`]): status, events on transitions, metrics — the only
//!    writer of status and events.

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::controller::Action as Requeue;
use kube::{Client, Resource, ResourceExt};
use rockoon_core::crd::OpenStackDeployment;
use rockoon_core::ownership::Standing;
use rockoon_core::render;
use rockoon_runtime::controller::Reconciler;
use rockoon_runtime::guard::Guarded;

use crate::apply::Applier;
use crate::error::Error;
use crate::fetch::{Mirrors, RenderSettings};
use crate::finalizer;
use crate::inputs::scrub;
use crate::plan::{self, Identities};
use crate::report::{Progressing, Report};
use crate::rollout::{Outcome, Rollout};
use crate::state::Overall;
use crate::upgrade::execute::{Next, POLL};
use crate::upgrade::guard::{self, Verdict};
use crate::upgrade::jobs;
use crate::upgrade::record;
use crate::upgrade::run::Pass;
use crate::upgrade::why;

/// The osdpl reconciler.
pub struct Osdpl {
    client: Client,
    applier: Arc<Applier>,
    mirrors: Mirrors,
    render: RenderSettings,
    report: Report,
}

impl Osdpl {
    /// A reconciler over `mirrors`, running helm through `applier`.
    pub fn new(
        client: Client,
        applier: Arc<Applier>,
        mirrors: Mirrors,
        render: RenderSettings,
        report: Report,
    ) -> Self {
        Self {
            client,
            applier,
            mirrors,
            render,
            report,
        }
    }
}

impl Reconciler<Guarded<OpenStackDeployment>> for Osdpl {
    type Error = Error;

    async fn reconcile(&self, object: Arc<Guarded<OpenStackDeployment>>) -> Result<Requeue, Error> {
        if object.meta().deletion_timestamp.is_some() {
            if finalizer::held(&object) {
                let applier = self.applier.as_ref();
                finalizer::cleanup(&self.client, applier, &self.mirrors, &self.report, &object)
                    .await?;
            }
            return Ok(Requeue::await_change());
        }
        let osdpl = match readable(&object) {
            Ok(osdpl) => osdpl,
            Err(error) => {
                self.report
                    .unreadable(&object.object_ref(&()), &error)
                    .await;
                return Err(error);
            }
        };
        self.mirrors.synced().await;
        if let Standing::Conflict { owner } = self.mirrors.osdpls.standing(osdpl.meta()).await {
            self.report.conflict(&self.mirrors, osdpl, &owner).await?;
            return Ok(Requeue::await_change());
        }
        finalizer::ensure(&self.client, &object).await?;
        if osdpl.spec.draft.unwrap_or(false) {
            let draft = &Overall::Draft;
            let report = self.report.status(&self.mirrors, osdpl, draft, None, None);
            report.await?;
            return Ok(Requeue::await_change());
        }
        self.converge(osdpl).await
    }
}

impl Osdpl {
    /// fetch → render → plan → rollout → report.
    async fn converge(&self, osdpl: &OpenStackDeployment) -> Result<Requeue, Error> {
        let (name, namespace) = (osdpl.name_any(), osdpl.namespace().unwrap_or_default());
        let verdict = self.upgrade_verdict(osdpl);
        if let Verdict::Refused { reason, message } = verdict {
            self.report
                .refused(&self.mirrors, osdpl, reason, message)
                .await?;
            return Ok(Requeue::await_change());
        }
        // Not APPLIED: the upgrade waits, and the spec is applied at the applied release (a
        // failing service can be fixed; the CEL rule would refuse setting the version back).
        let held;
        let osdpl = match &verdict {
            Verdict::Held { from, message } => {
                self.report.held(&self.mirrors, osdpl, message).await;
                let mut at_applied = osdpl.clone();
                at_applied.spec.openstack_version = *from;
                held = at_applied;
                &held
            }
            _ => osdpl,
        };
        let inputs = self.mirrors.inputs(osdpl, &self.render);
        self.report.notes(osdpl, &inputs.notes).await;
        let templates = &self.render.templates;
        let rendered = match render::render_spec(&osdpl.spec, &inputs.context, templates, None) {
            Ok(rendered) => rendered,
            Err(error) => {
                let message = scrub(&error.to_string(), &inputs.secret_values);
                let reason = invalid_reason(&error);
                let report = self.report.invalid(&self.mirrors, osdpl, reason, message);
                report.await?;
                return Ok(Requeue::await_change());
            }
        };
        let osdpls = &self.mirrors.osdpls;
        let world = plan::without_dead_owners(self.mirrors.installed(), |o| osdpls.exists(o));
        let identities = Identities::of(&rendered, |r| self.applier.identity(r));
        let mut plan = plan::plan(&name, &rendered, &world, &identities);
        let drifted = plan.undo_drift(&self.applier.drifted(&plan).await);
        self.report.drift(osdpl, &drifted).await;
        self.report
            .adopted(osdpl, &plan::adoptions(&plan, &world))
            .await;
        tracing::debug!(osdpl = %name, services = plan.services.len(), installed = world.len(),
            removals = plan.removals.len(), work = plan.has_work(), "planned");
        if plan.has_work() {
            tracing::info!(osdpl = %name, fingerprint = %rendered.fingerprint, "applying");
        }
        let health = || {
            let current = self.mirrors.status_of(osdpl);
            current
                .as_ref()
                .and_then(|c| c.status.as_ref()?.health.clone())
                .unwrap_or_default()
        };
        let pass = match &verdict {
            Verdict::Upgrade { from, to } => {
                let record = self.report.upgrade_record(&self.mirrors, osdpl);
                let versions = (from.as_str(), to.as_str());
                let mut pass = Pass::begin(record, &mut plan, versions, &health());
                pass.purge_jobs(&self.client, &namespace).await;
                self.report.set_upgrade(osdpl, pass.record().clone());
                Some(pass)
            }
            _ => None,
        };
        // Read before this reconcile writes status: after a restart, the status is what was
        // last reported.
        let previous = self.report.previous(&self.mirrors, osdpl);
        let rollout = Rollout {
            osdpl: &name,
            namespace: &namespace,
            plan: &plan,
            world: &world,
            secret_values: &inputs.secret_values,
        };
        let held: Vec<String> = rendered.held.iter().map(ToString::to_string).collect();
        let progress = Progressing {
            report: &self.report,
            mirrors: &self.mirrors,
            osdpl,
            fingerprint: &rendered.fingerprint,
            unsupported: &rendered.unsupported,
            held: &held,
            unsupported_services: &rendered
                .services
                .iter()
                .filter_map(|(name, outcome)| match outcome {
                    render::ServiceOutcome::Unsupported { reason } => {
                        Some((name.clone(), reason.clone()))
                    }
                    _ => None,
                })
                .collect(),
        };
        let outcome = rollout.run(self.applier.as_ref(), &progress).await?;
        let mut next = None;
        if let Some(pass) = pass {
            let health = health();
            let before = pass.record().clone();
            let unready = pass.unready(&health);
            let conditions = why::conditions(&self.client, &namespace, &unready).await;
            let jobs = jobs::list(&self.client, &namespace)
                .await
                .unwrap_or_else(|error| {
                    tracing::warn!(%error, "upgrade: listing Jobs failed");
                    Vec::new()
                });
            let (record, then) =
                pass.end(&osdpl.spec, &outcome.states, &health, &conditions, &jobs);
            self.report.upgrade_events(osdpl, &before, &record).await;
            self.report.set_upgrade(osdpl, record);
            next = Some(then);
        }
        progress.finished(&previous, &outcome.states).await?;
        let requeue = self.requeue(outcome)?;
        Ok(match next {
            // The step is done: the next one starts at once.
            Some(Next::Again) => Requeue::requeue(Duration::from_millis(200)),
            Some(Next::Wait(delay)) => Requeue::requeue(delay),
            // A held upgrade starts once this apply leaves every service APPLIED: look again.
            None if matches!(verdict, Verdict::Held { .. }) => Requeue::requeue(POLL),
            Some(Next::Done) | None => requeue,
        })
    }

    /// The guard's verdict on the spec's release against the last complete apply, as the
    /// osdplst records it.
    fn upgrade_verdict(&self, osdpl: &OpenStackDeployment) -> Verdict {
        let current = self.mirrors.status_of(osdpl);
        let status = current.as_ref().and_then(|c| c.status.as_ref());
        let record = self.report.upgrade_record(&self.mirrors, osdpl);
        let record = record.as_ref();
        let all_applied = status.and_then(|s| s.services.as_ref()).is_some_and(|m| {
            !m.is_empty() && m.values().all(|e| e.state.as_deref() == Some("APPLIED"))
        });
        let applied = record.and_then(|r| r.applied.as_ref());
        guard::check(&osdpl.spec, applied, all_applied, record::running(record))
    }

    /// The first failed removal is the reconcile's error; a failed service retries when its
    /// backoff ends; anything else waits for a change (or the periodic resync).
    fn requeue(&self, outcome: Outcome) -> Result<Requeue, Error> {
        let failed = outcome.failed();
        let mut failures = outcome.removal_failures.into_iter();
        if let Some((release, source)) = failures.next() {
            for (other, error) in failures {
                tracing::warn!(release = %other, error.kind = error.kind(), %error, "uninstall failed");
            }
            return Err(Error::Uninstall { release, source });
        }
        Ok(match self.applier.next_retry().filter(|_| failed) {
            Some(delay) => Requeue::requeue(delay.max(Duration::from_secs(1))),
            None => Requeue::await_change(),
        })
    }
}

/// The OSDPL, or why it cannot be read (it passed the API schema, e.g. under an older, looser
/// CRD, but does not match the suite's types).
fn readable(object: &Guarded<OpenStackDeployment>) -> Result<&OpenStackDeployment, Error> {
    object
        .0
        .as_ref()
        .map_err(|invalid| Error::InvalidSpec(invalid.error.clone()))
}

/// The status and event reason of a spec the render refuses: a release this version has no
/// images for is its own reason, so `kubectl get osdpl` tells it from a typo.
fn invalid_reason(error: &render::RenderError) -> &'static str {
    match error {
        render::RenderError::UnsupportedRelease { .. } => "UnsupportedRelease",
        _ => "InvalidSpec",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rockoon_core::error::ErrorKind;

    fn guard(spec: serde_json::Value) -> Guarded<OpenStackDeployment> {
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
    fn an_older_release_is_refused_with_its_own_reason_and_other_render_errors_as_invalid_spec() {
        let older = render::RenderError::UnsupportedRelease {
            version: "queens".into(),
            supported: vec!["antelope".into(), "caracal".into()],
        };
        assert_eq!(invalid_reason(&older), "UnsupportedRelease");
        let message = older.to_string();
        assert!(message.starts_with("spec.openstack_version: "), "{message}");
        assert!(message.contains("\"queens\""), "{message}");
        assert!(
            message.contains("(supported: antelope, caracal)"),
            "{message}"
        );
        let typo = render::RenderError::InvalidSpec {
            path: "spec.features.neutron".into(),
            message: "expected a mapping".into(),
        };
        assert_eq!(invalid_reason(&typo), "InvalidSpec");
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
}
