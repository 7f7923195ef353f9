//! The OpenStackDeployments of the watched namespace, and where one of them stands by the
//! namespace-ownership rule of [`rockoon_core::ownership`]. osdpl, secrets and health each keep
//! one, so all three decide with the same rule on the same kind of view.
//!
//! Whole objects through [`Guarded`], not a metadata-only watch: `metadata.managedFields`
//! mirror the spec's shape, so an OSDPL with values nested deeper than the decoder reads would
//! fail a metadata list as a whole (and kube's client would log the response); the guard drops
//! the managed fields and keeps an unreadable object's metadata, which is all this needs.
//!
//! Its trigger fires only when OSDPLs appear or go (not on their status writes), so the
//! OSDPL that becomes the owner when the old owner is gone is reconciled at once.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::runtime::watcher;
use kube::{Api, Resource};
use rockoon_core::crd::OpenStackDeployment;
use rockoon_core::ownership::{self, Standing};

use crate::controller::Trigger;
use crate::guard::Guarded;
use crate::mirror::{self, Mirror};
use crate::runtime::Runtime;

/// How long a reconcile waits for the cache to show the OSDPL it works on (the cache and the
/// controller watch the same objects through two watches, so one may be a moment ahead).
const CATCH_UP: Duration = Duration::from_secs(10);

/// The OSDPLs of the namespace.
#[derive(Clone)]
pub struct Osdpls {
    mirror: Mirror<Guarded<OpenStackDeployment>>,
}

impl Osdpls {
    /// Starts the cache of the namespace's OSDPLs; returns it and its membership trigger.
    pub fn start(runtime: &Runtime, namespace: &str) -> (Self, Trigger) {
        let api: Api<Guarded<OpenStackDeployment>> =
            Api::namespaced(runtime.client.clone(), namespace);
        let (mirror, trigger) = mirror::objects(
            "osdpl-metadata",
            api,
            watcher::Config::default(),
            &runtime.readiness,
        );
        let trigger = mirror::membership(&mirror, trigger);
        (Self { mirror }, trigger)
    }

    /// Where the OSDPL of `meta` stands in its namespace. Once the cache shows this OSDPL, it
    /// also shows every OSDPL created before it (one watch delivers them in order).
    pub async fn standing(&self, meta: &ObjectMeta) -> Standing {
        self.mirror.synced().await;
        let uid = meta.uid.clone();
        let shown = self
            .mirror
            .wait_until(CATCH_UP, |all| all.iter().any(|o| o.meta().uid == uid))
            .await;
        if !shown {
            tracing::debug!(osdpl = ?meta.name, "OSDPL not in the namespace cache yet");
        }
        let all = self.mirror.state();
        ownership::standing(
            meta.name.as_deref().unwrap_or_default(),
            meta.creation_timestamp.as_ref(),
            all.iter().map(|o| o.meta()),
        )
    }

    /// Whether the OSDPL with `uid` (or, without one, named `name`) exists and owns its
    /// namespace, as cached now: an OSDPL not cached yet does not (the membership trigger
    /// asks again when it appears).
    pub async fn owns_namespace(&self, name: &str, uid: Option<&str>) -> bool {
        self.mirror.synced().await;
        let all = self.mirror.state();
        let found = all.iter().find(|o| match uid {
            Some(uid) => o.meta().uid.as_deref() == Some(uid),
            None => o.meta().name.as_deref() == Some(name),
        });
        found.is_some_and(|meta| {
            let standing = ownership::standing(
                meta.meta().name.as_deref().unwrap_or_default(),
                meta.meta().creation_timestamp.as_ref(),
                all.iter().map(|o| o.meta()),
            );
            standing == Standing::Owner
        })
    }

    /// Whether an OSDPL named `name` exists in the namespace (as cached).
    pub fn exists(&self, name: &str) -> bool {
        self.mirror
            .find(|o| o.meta().name.as_deref() == Some(name))
            .is_some()
    }
}
