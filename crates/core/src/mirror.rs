//! Read-only caches of what a reconcile reads besides its watched object (osdpl: credential
//! Secrets, Ceph's keys, Helm's release storage; health: the workloads and MariaDB pods).
//! Each is a reflector whose changes also trigger a reconcile, so no reconcile polls the API,
//! and a reconcile waits for every cache's first list before acting on what it holds (an
//! empty cache would look like "nothing installed").

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use crate::admin::Readiness;
use crate::controller::Trigger;
use crate::metrics::ReconcileMetrics;

/// A cache of one kind of object, with a change counter to wait on.
#[derive(Clone)]
pub struct Mirror<K: Resource<DynamicType = ()> + 'static> {
    store: Store<K>,
    changes: watch::Receiver<u64>,
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
    let (store, writer) = reflector::store();
    let events = watcher(api, config).default_backoff().reflect(writer);
    build(gate, store, events, readiness, None)
}

/// [`objects`] that also keeps `rockoon_watched_objects{resource=<gate>}` at the cache's size,
/// for a mirror that is the binary's view of a kind (health's workloads).
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
    let (store, writer) = reflector::store();
    let events = watcher(api, config).default_backoff().reflect(writer);
    build(gate, store, events, readiness, Some(metrics.clone()))
}

fn build<K, S>(
    gate: &'static str,
    store: Store<K>,
    events: S,
    readiness: &Readiness,
    metrics: Option<ReconcileMetrics>,
) -> (Mirror<K>, Trigger)
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    S: futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
{
    let gate_name = format!("watch:{gate}");
    readiness.pending(&gate_name, "initial list in progress");
    let (sender, changes) = watch::channel::<Generation>(0);
    let readiness = readiness.clone();
    let counted = store.clone();
    let count = move || {
        if let Some(metrics) = &metrics {
            metrics.set_watched(gate, counted.len());
        }
    };
    // The cache runs as its own task: a controller polls its trigger streams only between
    // reconciles, and a reconcile waiting on this cache must see it move.
    tokio::spawn(async move {
        let mut events = std::pin::pin!(events);
        while let Some(event) = events.next().await {
            match event {
                Ok(watcher::Event::InitDone) => {
                    count();
                    if *sender.borrow() == 0 {
                        readiness.ready(&gate_name);
                        tracing::info!(resource = gate, "initial list complete");
                    }
                    sender.send_modify(|g| *g += 1);
                }
                Ok(watcher::Event::Apply(object) | watcher::Event::Delete(object)) => {
                    tracing::trace!(resource = gate, object = %object.name_any(), "changed");
                    // Changes during the first list are reported once, at InitDone.
                    if *sender.borrow() > 0 {
                        count();
                        sender.send_modify(|g| *g += 1);
                    }
                }
                Ok(_) => {}
                Err(error) => tracing::debug!(resource = gate, %error, "watch error; retrying"),
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
