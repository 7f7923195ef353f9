//! Running one watch-driven controller with the suite's conventions.
//!
//! [`run`] waits for the kind's CRD (if it is one), keeps the readiness gate
//! `watch:<resource>` closed until the first list completes, times and counts every reconcile,
//! retries failures with per-object capped backoff, and stops taking new work on shutdown
//! while letting in-flight reconciles finish.

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use futures::StreamExt;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;

use crate::error::{Backoff, ErrorKind};
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

struct Context<K: Resource<DynamicType = ()> + 'static, R> {
    reconciler: Arc<R>,
    metrics: ReconcileMetrics,
    backoff: Backoff,
    resource: &'static str,
    store: Store<K>,
}

/// [`run`] as a task for [`Runtime::run`].
pub fn task<K, R>(runtime: &Runtime, watch: Watch<K>, reconciler: R) -> crate::runtime::Task
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    R: Reconciler<K>,
{
    Box::pin(run(runtime.clone(), watch, Arc::new(reconciler)))
}

/// Runs the controller until shutdown. Errors are logged and counted, never fatal.
pub async fn run<K, R>(runtime: Runtime, watch: Watch<K>, reconciler: Arc<R>)
where
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
    runtime.readiness.pending(&gate, "initial list in progress");

    // Our own reflector, so the first completed list can be seen as it happens: the store's
    // `wait_until_ready` wakes only one waiter, and the controller is already that waiter.
    let (store, writer) = reflector::store();
    let readiness = runtime.readiness.clone();
    let metrics = runtime.metrics.clone();
    let resource = watch.resource;
    let reader = store.clone();
    let mut listed = false;
    let events = watcher(watch.api, watch.config)
        .default_backoff()
        .reflect(writer)
        .inspect(move |event| {
            if !listed && matches!(event, Ok(watcher::Event::InitDone)) {
                listed = true;
                let count = reader.state().len();
                metrics.set_watched(resource, count);
                readiness.ready(&gate);
                tracing::info!(resource, objects = count, "initial list complete");
            }
        })
        .touched_objects();
    let shutdown = runtime.shutdown.clone();
    let controller = Controller::for_stream(events, store.clone())
        .graceful_shutdown_on(async move { shutdown.wait().await });

    let context = Arc::new(Context {
        reconciler,
        metrics: runtime.metrics.clone(),
        backoff: runtime.backoff(),
        resource: watch.resource,
        store: store.clone(),
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
    tracing::info!(resource = watch.resource, "controller stopped");
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
    let _timer = ctx.metrics.start(ctx.resource);
    let key = ObjectRef::from_obj(object.as_ref()).to_string();
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
