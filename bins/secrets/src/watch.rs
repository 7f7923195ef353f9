//! The Secret watches behind the OSDPL reconcile: each keeps a store the reconcile reads
//! instead of calling the API, and ticks a trigger on every change, which reconciles the
//! OSDPL (a credential edited by hand, a referenced Secret changed, the clouds.yaml copy
//! touched).
//!
//! Each watch has its readiness gate `watch:<resource>` and its `rockoon_watched_objects`
//! series, like the controller's own watch. The first completed list also ticks the trigger:
//! reconciles wait for every store to be listed (see [`Stores::listed`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use futures::channel::mpsc;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use rockoon_core::runtime::{Runtime, Task};

/// Stores of the watched Secrets, and how many finished their first list.
#[derive(Clone)]
pub struct Stores {
    /// Credential Secrets of the OpenStack namespace (label `lcm.mirantis.com/credentials`).
    pub credentials: Store<Secret>,
    /// Secrets an OSDPL may reference (label `openstack.lcm.mirantis.com/osdpl_secret=true`).
    pub referenced: Store<Secret>,
    /// The clouds.yaml copy in the controller namespace.
    pub clouds: Store<Secret>,
    listed: Arc<AtomicUsize>,
}

/// Number of watches in [`Stores`].
const WATCHES: usize = 3;

impl Stores {
    /// Whether every store has completed its first list.
    pub fn listed(&self) -> bool {
        self.listed.load(Ordering::Acquire) >= WATCHES
    }
}

/// One Secret watch to start.
pub struct SecretWatch {
    /// Label in metrics, logs and the readiness gate.
    pub resource: &'static str,
    /// Where to list and watch.
    pub api: Api<Secret>,
    /// Selectors.
    pub config: watcher::Config,
}

/// Starts the three watches (credentials, referenced, clouds, in that order); returns their
/// stores, the tasks that drive them and the trigger stream they tick.
pub fn start(
    runtime: &Runtime,
    watches: [SecretWatch; WATCHES],
) -> (Stores, Vec<Task>, mpsc::Receiver<()>) {
    // A full channel already holds a pending tick, which reconciles with the newest stores;
    // dropping further ticks loses nothing.
    let (trigger, ticks) = mpsc::channel(1);
    let listed = Arc::new(AtomicUsize::new(0));
    let mut stores = Vec::new();
    let mut tasks = Vec::new();
    for watch in watches {
        let (store, writer) = reflector::store();
        stores.push(store.clone());
        tasks.push(drive(
            runtime,
            watch,
            store,
            writer,
            trigger.clone(),
            listed.clone(),
        ));
    }
    let [credentials, referenced, clouds]: [Store<Secret>; WATCHES] = match stores.try_into() {
        Ok(stores) => stores,
        Err(_) => unreachable!("one store per watch"),
    };
    let stores = Stores {
        credentials,
        referenced,
        clouds,
        listed,
    };
    (stores, tasks, ticks)
}

fn drive(
    runtime: &Runtime,
    watch: SecretWatch,
    store: Store<Secret>,
    writer: reflector::store::Writer<Secret>,
    mut trigger: mpsc::Sender<()>,
    listed: Arc<AtomicUsize>,
) -> Task {
    let runtime = runtime.clone();
    Box::pin(async move {
        let SecretWatch {
            resource,
            api,
            config,
        } = watch;
        let gate = format!("watch:{resource}");
        runtime.readiness.pending(&gate, "initial list in progress");
        let mut initialised = false;
        let shutdown = runtime.shutdown.clone();
        let events = watcher(api, config)
            .default_backoff()
            .reflect(writer)
            .take_until(async move { shutdown.wait().await });
        futures::pin_mut!(events);
        while let Some(event) = events.next().await {
            match event {
                Ok(watcher::Event::InitDone) if !initialised => {
                    initialised = true;
                    listed.fetch_add(1, Ordering::AcqRel);
                    runtime.readiness.ready(&gate);
                    tracing::info!(
                        resource,
                        objects = store.state().len(),
                        "initial list complete"
                    );
                }
                Ok(
                    watcher::Event::Apply(_) | watcher::Event::Delete(_) | watcher::Event::InitDone,
                ) => {}
                Ok(_) => continue,
                // The watcher retries with backoff; an error is worth a line, not a stop.
                Err(error) => {
                    tracing::warn!(resource, %error, "watch error; retrying");
                    continue;
                }
            }
            runtime.metrics.set_watched(resource, store.state().len());
            let _ = trigger.try_send(());
        }
        tracing::info!(resource, "watch stopped");
    })
}
