//! OpenStack version upgrades, between the render and the rollout of the osdpl reconcile.
//!
//! - [`guard`] (pure): a change of `spec.openstack_version` is accepted or refused before
//!   anything is applied (what the CRD's CEL rule cannot see: APPLIED, nothing else changed,
//!   no pinned image tags);
//! - [`record`] (pure): `status.upgrade` of the osdplst — the last complete apply the guard
//!   compares with, the upgrade's state, from/to, steps — and the OSDPL's `Upgrading`
//!   condition;
//! - [`steps`] (pure): the plan — infra, the OpenStack services in Rockoon's order, the final
//!   apply;
//! - [`execute`] (pure): one step per pass — later steps held, the current one applied, then
//!   gated on its workloads' health, stalled past its time;
//! - [`jobs`]: the charts' Jobs of a step — finished non-hook Jobs deleted before its helm
//!   upgrade so they run again, then awaited and recorded;
//! - [`run`]: that pass around the rollout;
//! - [`why`]: the failing condition of a workload that holds a step, for the blocker.

pub mod execute;
pub mod guard;
pub mod jobs;
pub mod record;
pub mod run;
pub mod steps;
pub mod why;
