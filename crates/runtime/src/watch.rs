//! The one watch cache of the suite: a reflector store fed by a watch with the suite's short
//! watch backoff ([`crate::backoff::WatchBackoff`]), its readiness gate `watch:<resource>` closed until the first list completes, and
//! the `rockoon_watched_objects{resource}` series kept at the store's size.
//!
//! Both users build on [`observe`]: [`crate::controller`] feeds the events to kube-runtime's
//! `Controller` (the watched kind), [`crate::mirror`] drives them in a task of its own and
//! counts changes (what a reconcile reads besides its object).

use std::fmt::Debug;

use futures::{Stream, StreamExt};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;

use crate::admin::Readiness;
use crate::backoff::WatchBackoff;
use crate::metrics::ReconcileMetrics;

/// The events of a reflected watch.
pub type Events<K> = dyn Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send;

/// Starts watching `api` into a new store: returns the store and the event stream that fills
/// it (nothing happens until the stream is polled). The gate `watch:<resource>` opens at the
/// first completed list; with `metrics`, the watched-objects series follows every change.
pub fn observe<K>(
    resource: &'static str,
    api: Api<K>,
    config: watcher::Config,
    readiness: &Readiness,
    metrics: Option<ReconcileMetrics>,
) -> (Store<K>, std::pin::Pin<Box<Events<K>>>)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let gate = format!("watch:{resource}");
    readiness.pending(&gate, "initial list in progress");
    let (store, writer) = reflector::store();
    let reader = store.clone();
    let readiness = readiness.clone();
    let mut listed = false;
    let events = watcher(api, config)
        .backoff(WatchBackoff::default())
        .reflect(writer)
        .inspect(move |event| {
            let count = || {
                if let Some(metrics) = &metrics {
                    metrics.set_watched(resource, reader.len());
                }
            };
            match event {
                Ok(watcher::Event::InitDone) => {
                    count();
                    if !listed {
                        listed = true;
                        readiness.ready(&gate);
                        tracing::info!(resource, objects = reader.len(), "initial list complete");
                    }
                }
                // Changes during the first list are counted once, at InitDone.
                Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_)) if listed => count(),
                Ok(_) => {}
                // The watcher retries with backoff; an error is worth a warning (the cache is
                // stale until it recovers), not a stop.
                Err(error) => tracing::warn!(resource, %error, "watch error; retrying"),
            }
        });
    (store, events.boxed())
}
