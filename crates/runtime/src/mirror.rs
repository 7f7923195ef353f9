//! Read-only caches of what a reconcile reads besides its watched object (osdpl: credential
//! Secrets, Ceph's keys, Helm's release storage; health: the workloads and MariaDB pods).
//! Each is a reflector whose changes also trigger a reconcile, so no reconcile polls the API,
//! and a reconcile waits for every cache's first list before acting on what it holds (an
//! empty cache would look like "nothing installed"). The watch itself is [`crate::watch`]'s.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use kube::{Api, Resource};
use serde::de::DeserializeOwned;

use crate::admin::Readiness;
use crate::controller::Trigger;
use crate::metrics::ReconcileMetrics;
use crate::watch;

/// A cache of one kind of object, with a change counter to wait on.
#[derive(Clone)]
pub struct Mirror<K: Resource<DynamicType = ()> + 'static> {
    store: Store<K>,
    changes: tokio::sync::watch::Receiver<u64>,
}

/// How often a mirror's watch has delivered a change; 0 means the first list is not done.
type Generation = u64;

impl<K: Resource<DynamicType = ()> + Clone + 'static> Mirror<K> {
    /// Everything in the cache.
    pub fn state(&self) -> Vec<Arc<K>> {
        self.store.state()
    }

    /// The first cached object for which `predicate` holds.
    pub fn find(&self, predicate: impl Fn(&K) -> bool) -> Option<Arc<K>> {
        self.store.find(predicate)
    }

    /// Waits for the first complete list.
    pub async fn synced(&self) {
        let mut changes = self.changes.clone();
        // A closed channel means the watch stream is gone (shutdown); nothing to wait for.
        let _ = changes.wait_for(|generation| *generation > 0).await;
    }

    /// Waits until `ready` holds for the cache's content, for at most `limit`; returns whether
    /// it held. Used to see our own writes before the next decision relies on them.
    pub async fn wait_until(&self, limit: Duration, ready: impl Fn(&[Arc<K>]) -> bool) -> bool {
        let mut changes = self.changes.clone();
        let check = async {
            loop {
                if ready(&self.store.state()) {
                    return true;
                }
                if changes.changed().await.is_err() {
                    return false;
                }
            }
        };
        tokio::time::timeout(limit, check).await.unwrap_or(false)
    }
}

/// A mirror and the trigger stream that feeds it. For big objects read by metadata only, use
/// an `Api<PartialObjectMeta<K>>`: the server then sends metadata only.
pub fn objects<K>(
    gate: &'static str,
    api: Api<K>,
    config: watcher::Config,
    readiness: &Readiness,
) -> (Mirror<K>, Trigger)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (store, events) = watch::observe(gate, api, config, readiness, None);
    build(store, events)
}

/// [`objects`] that also keeps `rockoon_watched_objects{resource=<gate>}` at the cache's size,
/// for a mirror that is the binary's view of a kind (health's workloads, secrets' Secrets).
pub fn counted_objects<K>(
    gate: &'static str,
    api: Api<K>,
    config: watcher::Config,
    readiness: &Readiness,
    metrics: &ReconcileMetrics,
) -> (Mirror<K>, Trigger)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (store, events) = watch::observe(gate, api, config, readiness, Some(metrics.clone()));
    build(store, events)
}

fn build<K>(
    store: Store<K>,
    mut events: std::pin::Pin<Box<watch::Events<K>>>,
) -> (Mirror<K>, Trigger)
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    let (sender, changes) = tokio::sync::watch::channel::<Generation>(0);
    // The cache runs as its own task: a controller polls its trigger streams only between
    // reconciles, and a reconcile waiting on this cache must see it move.
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            let listed = *sender.borrow() > 0;
            match event {
                Ok(watcher::Event::InitDone) => sender.send_modify(|g| *g += 1),
                // Changes during the first list are reported once, at InitDone.
                Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_)) if listed => {
                    sender.send_modify(|g| *g += 1);
                }
                _ => {}
            }
        }
    });
    // Each trigger item is "something changed since the last item": bursts coalesce.
    let trigger = futures::stream::unfold(changes.clone(), |mut changes| async move {
        changes.changed().await.ok()?;
        Some(((), changes))
    })
    .boxed();
    (Mirror { store, changes }, trigger)
}

/// `trigger` (of `mirror`) reduced to changes of which objects exist, by uid: edits and
/// status writes of the objects do not fire it. For a reconcile that depends on its
/// siblings (the namespace owner among the OSDPLs) without being woken by each of their
/// writes.
pub fn membership<K>(mirror: &Mirror<K>, trigger: Trigger) -> Trigger
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    let mirror = mirror.clone();
    let mut last: Option<Vec<String>> = None;
    trigger
        .filter_map(move |()| {
            let mut uids: Vec<String> = mirror
                .state()
                .iter()
                .filter_map(|o| o.meta().uid.clone())
                .collect();
            uids.sort();
            let changed = last.as_ref() != Some(&uids);
            last = Some(uids);
            futures::future::ready(changed.then_some(()))
        })
        .boxed()
}
