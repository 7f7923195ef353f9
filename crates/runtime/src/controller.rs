//! Running one watch-driven controller with the suite's conventions.
//!
//! [`run`] waits for the kind's CRD (if it is one), keeps the readiness gate
//! `watch:<resource>` closed until the first list completes, times and counts every reconcile,
//! retries failures with per-object capped backoff, and stops taking new work on shutdown
//! while letting in-flight reconciles finish. With leader election, a standby watches (its
//! caches stay warm) but skips every reconcile, and reconciles every object when it starts
//! leading (`crate::leader`).

use std::collections::HashSet;
use std::fmt::Debug;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;

use crate::backoff::Backoff;
use crate::error::ErrorKind;
use crate::leader::LeaderGate;
use crate::metrics::ReconcileMetrics;
use crate::runtime::Runtime;

/// The per-object business logic of a controller.
pub trait Reconciler<K>: Send + Sync + 'static {
    /// This binary's error type.
    type Error: std::error::Error + ErrorKind + Send + Sync + 'static;

    /// Brings the world in line with `object`; must be idempotent.
    fn reconcile(&self, object: Arc<K>)
    -> impl Future<Output = Result<Action, Self::Error>> + Send;
}

/// What to watch.
pub struct Watch<K: Resource> {
    /// Label of the resource in metrics, logs and readiness gates (e.g. `Secret`).
    pub resource: &'static str,
    /// Where to list and watch.
    pub api: Api<K>,
    /// Label/field selectors and watch tuning.
    pub config: watcher::Config,
    /// CRD to wait for before watching, for custom kinds.
    pub crd: Option<&'static str>,
}

/// A reason to reconcile every watched object: a change of something the reconciler reads
/// besides the object itself (a Secret, a release). The stream must keep going.
pub type Trigger = BoxStream<'static, ()>;

/// Extra scheduling for [`task_with`].
#[derive(Default)]
pub struct Scheduling {
    /// Streams whose every item reconciles all watched objects.
    pub triggers: Vec<Trigger>,
    /// Quiet time before a reconcile starts, so bursts of changes make one reconcile.
    pub debounce: Duration,
}

struct Context<K: Resource<DynamicType = ()> + 'static, R> {
    reconciler: Arc<R>,
    metrics: ReconcileMetrics,
    backoff: Backoff,
    resource: &'static str,
    store: Store<K>,
    /// Reconciles run only while this opens.
    leader: LeaderGate,
    /// Objects with a trigger whose reconcile has not started yet (the queue depth).
    queued: Arc<Mutex<HashSet<String>>>,
}

/// [`run`] as a task for [`Runtime::run`].
pub fn task<K, R>(runtime: &Runtime, watch: Watch<K>, reconciler: R) -> crate::runtime::Task
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    R: Reconciler<K>,
{
    task_with(runtime, watch, reconciler, Scheduling::default())
}

/// [`task`] with extra triggers and a debounce.
pub fn task_with<K, R>(
    runtime: &Runtime,
    watch: Watch<K>,
    reconciler: R,
    scheduling: Scheduling,
) -> crate::runtime::Task
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    R: Reconciler<K>,
{
    Box::pin(run_with(
        runtime.clone(),
        watch,
        Arc::new(reconciler),
        scheduling,
    ))
}

/// Runs the controller until shutdown. Errors are logged and counted, never fatal.
pub async fn run<K, R>(runtime: Runtime, watch: Watch<K>, reconciler: Arc<R>)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    R: Reconciler<K>,
{
    run_with(runtime, watch, reconciler, Scheduling::default()).await;
}

/// [`run`] with extra triggers and a debounce.
pub async fn run_with<K, R>(
    runtime: Runtime,
    watch: Watch<K>,
    reconciler: Arc<R>,
    scheduling: Scheduling,
) where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    R: Reconciler<K>,
{
    let gate = format!("watch:{}", watch.resource);
    runtime.readiness.pending(&gate, "starting");
    if let Some(crd) = watch.crd {
        let (client, readiness) = (&runtime.client, &runtime.readiness);
        if !crate::client::wait_for_crd(client, crd, readiness, &gate, &runtime.shutdown).await {
            return;
        }
    }
    let queued: Arc<Mutex<HashSet<String>>> = Arc::default();
    let resource = watch.resource;
    let (store, controller) = controller(&runtime, watch, scheduling, &queued);
    let context = Arc::new(Context {
        reconciler,
        metrics: runtime.metrics.clone(),
        backoff: runtime.backoff(),
        resource,
        store: store.clone(),
        leader: runtime.leader.clone(),
        queued,
    });
    let resync = runtime.args.resync();
    controller
        .run(
            move |object, ctx| reconcile_measured(object, ctx, resync),
            error_policy,
            context.clone(),
        )
        .for_each(|result| {
            context
                .metrics
                .set_watched(context.resource, context.store.state().len());
            if let Err(error) = result {
                // Stream errors (watch restarts, objects gone before their turn) are expected
                // noise of a watch; reconcile failures were already logged by error_policy.
                tracing::debug!(resource = context.resource, %error, "controller event");
            }
            futures::future::ready(())
        })
        .await;
    tracing::info!(resource, "controller stopped");
}

/// The kube-runtime `Controller` over our own watch of `watch`, also reconciling everything
/// on each trigger; `queued` follows the objects waiting for their turn (the queue depth).
fn controller<K>(
    runtime: &Runtime,
    watch: Watch<K>,
    scheduling: Scheduling,
    queued: &Arc<Mutex<HashSet<String>>>,
) -> (Store<K>, Controller<K>)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    // Our own watch (not the controller's), so the first completed list can be seen as it
    // happens: the store's `wait_until_ready` wakes only one waiter, and the controller is
    // already that waiter.
    let resource = watch.resource;
    let (store, events) = crate::watch::observe(
        resource,
        watch.api,
        watch.config,
        &runtime.readiness,
        Some(runtime.metrics.clone()),
    );
    let queued_by_watch = queued.clone();
    let queue_metrics = runtime.metrics.clone();
    let events = events.touched_objects().inspect(move |object| {
        if let Ok(object) = object {
            let mut queued = lock(&queued_by_watch);
            queued.insert(ObjectRef::from_obj(object).to_string());
            queue_metrics.set_queue_depth(resource, queued.len());
        }
    });
    let shutdown = runtime.shutdown.clone();
    let mut controller = Controller::for_stream(events, store.clone())
        .with_config(Config::default().debounce(scheduling.debounce))
        .graceful_shutdown_on(async move { shutdown.wait().await });
    for trigger in scheduling.triggers {
        let (store, queued, metrics) = (store.clone(), queued.clone(), runtime.metrics.clone());
        let trigger = trigger.inspect(move |()| {
            let mut queued = lock(&queued);
            queued.extend(
                store
                    .state()
                    .iter()
                    .map(|o| ObjectRef::from_obj(o.as_ref()).to_string()),
            );
            metrics.set_queue_depth(resource, queued.len());
        });
        controller = controller.reconcile_all_on(trigger);
    }
    // A new term reconciles everything: what the standby skipped, and what the old leader
    // left half done.
    if runtime.leader.is_elected() {
        controller = controller.reconcile_all_on(runtime.leader.gained());
    }

    (store, controller)
}

async fn reconcile_measured<K, R>(
    object: Arc<K>,
    ctx: Arc<Context<K, R>>,
    resync: std::time::Duration,
) -> Result<Action, R::Error>
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    R: Reconciler<K>,
{
    let key = ObjectRef::from_obj(object.as_ref()).to_string();
    {
        let mut queued = lock(&ctx.queued);
        queued.remove(&key);
        ctx.metrics.set_queue_depth(ctx.resource, queued.len());
    }
    if !ctx.leader.is_leading() {
        // A standby: the leader does this work; the start of a term reconciles everything.
        tracing::debug!(resource = ctx.resource, object = %key, "not leading; reconcile skipped");
        return Ok(Action::await_change());
    }
    let _timer = ctx.metrics.start(ctx.resource);
    match ctx.reconciler.reconcile(object).await {
        Ok(action) => {
            ctx.backoff.reset(&key);
            // A reconciler that asks to wait for changes still gets the periodic safety net.
            Ok(if action == Action::await_change() {
                Action::requeue(resync)
            } else {
                action
            })
        }
        Err(error) => {
            ctx.metrics.failed(ctx.resource, error.kind());
            Err(error)
        }
    }
}

fn error_policy<K, R>(object: Arc<K>, error: &R::Error, ctx: Arc<Context<K, R>>) -> Action
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    R: Reconciler<K>,
{
    let key = ObjectRef::from_obj(object.as_ref()).to_string();
    if !ctx.leader.is_leading() {
        // The term ended during the reconcile (its writes were fenced); the next term
        // reconciles everything, so there is nothing to retry here.
        tracing::info!(
            resource = ctx.resource,
            object = %key,
            error.kind = error.kind(),
            error = %error,
            "reconcile stopped: no longer leading"
        );
        return Action::await_change();
    }
    if !error.is_transient() {
        tracing::warn!(
            resource = ctx.resource,
            object = %key,
            error.kind = error.kind(),
            error = %error,
            "reconcile failed; waiting for the object to change"
        );
        return Action::await_change();
    }
    let delay = ctx.backoff.next_delay(&key);
    tracing::warn!(
        resource = ctx.resource,
        object = %key,
        error.kind = error.kind(),
        error = %error,
        retry_in_seconds = delay.as_secs(),
        "reconcile failed"
    );
    Action::requeue(delay)
}

/// The queue set survives a panicking holder: it only ever holds names.
fn lock(set: &Mutex<HashSet<String>>) -> std::sync::MutexGuard<'_, HashSet<String>> {
    set.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
