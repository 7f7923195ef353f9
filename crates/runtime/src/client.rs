//! The Kubernetes client, and waiting for CRDs instead of crashing without them.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::wait::{Condition, await_condition, conditions};
use kube::{Api, Client, Config};

use crate::admin::Readiness;
use crate::error::RuntimeError;
use crate::leader::LeaderGate;
use crate::leader::fence::FenceLayer;
use crate::settings::CommonArgs;
use crate::shutdown::Shutdown;

/// Builds a client from `--kubeconfig`/`KUBECONFIG`, else the in-cluster config, else
/// `~/.kube/config`.
pub async fn connect(args: &CommonArgs) -> Result<Client, RuntimeError> {
    Client::try_from(config(args).await?).map_err(RuntimeError::Kube)
}

/// A client whose writes pass `gate` ([`crate::leader::fence`]): the one every binary uses.
pub fn fenced(config: Config, gate: LeaderGate) -> Result<Client, RuntimeError> {
    let builder = ClientBuilder::try_from(config).map_err(RuntimeError::Kube)?;
    Ok(builder.with_layer(&FenceLayer::new(gate)).build())
}

/// The client configuration from `--kubeconfig`/`KUBECONFIG`, else the in-cluster config,
/// else `~/.kube/config`.
pub async fn config(args: &CommonArgs) -> Result<Config, RuntimeError> {
    let options = KubeConfigOptions {
        context: args.kube_context.clone(),
        ..KubeConfigOptions::default()
    };
    let paths = args.kubeconfig_paths();
    let config = if paths.is_empty() {
        if args.kube_context.is_some() {
            Config::from_kubeconfig(&options)
                .await
                .map_err(|e| RuntimeError::KubeConfig(e.to_string()))?
        } else {
            Config::infer()
                .await
                .map_err(|e| RuntimeError::KubeConfig(e.to_string()))?
        }
    } else {
        let mut merged: Option<Kubeconfig> = None;
        for path in &paths {
            let file = Kubeconfig::read_from(path)
                .map_err(|e| RuntimeError::KubeConfig(format!("{}: {e}", path.display())))?;
            merged = Some(match merged {
                None => file,
                Some(base) => base
                    .merge(file)
                    .map_err(|e| RuntimeError::KubeConfig(e.to_string()))?,
            });
        }
        let kubeconfig = merged.unwrap_or_default();
        Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| RuntimeError::KubeConfig(e.to_string()))?
    };
    Ok(config)
}

/// Waits (by watching, not polling) until the CRD `name` is established.
///
/// While it waits, the readiness gate `gate` says which CRD is missing and how to install it.
/// API errors (the server restarting, RBAC being fixed) are logged and retried with a capped
/// backoff: a missing CRD is a reason to wait, never to crash. Returns `false` if shutdown
/// fired first.
pub async fn wait_for_crd(
    client: &Client,
    name: &str,
    readiness: &Readiness,
    gate: &str,
    shutdown: &Shutdown,
) -> bool {
    let mut retry = std::time::Duration::from_secs(1);
    loop {
        let attempt = async { wait_once(client, name, readiness, gate).await.err() };
        let failed = tokio::select! {
            failed = attempt => failed,
            () = shutdown.wait() => return false,
        };
        let Some(error) = failed else { return true };
        readiness.pending(gate, format!("cannot check CRD {name}: {error}"));
        tracing::warn!(crd = name, %error, retry_in_seconds = retry.as_secs(), "cannot check CRD; retrying");
        tokio::select! {
            () = tokio::time::sleep(retry) => {}
            () = shutdown.wait() => return false,
        }
        retry = (retry * 2).min(std::time::Duration::from_secs(30));
    }
}

async fn wait_once(
    client: &Client,
    name: &str,
    readiness: &Readiness,
    gate: &str,
) -> Result<(), RuntimeError> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let established =
        |crd: &CustomResourceDefinition| conditions::is_crd_established().matches_object(Some(crd));
    match crds.get_opt(name).await? {
        Some(crd) if established(&crd) => return Ok(()),
        Some(_) => {
            readiness.pending(gate, format!("CRD {name} is not established yet"));
            tracing::info!(crd = name, "waiting for CRD to be established");
        }
        None => {
            readiness.pending(
                gate,
                format!("CRD {name} is not installed (kubectl apply -f deploy/crds/)"),
            );
            tracing::warn!(
                crd = name,
                "CRD is not installed; waiting for it (kubectl apply -f deploy/crds/)"
            );
        }
    }
    await_condition(crds, name, conditions::is_crd_established())
        .await
        .map_err(|e| RuntimeError::CrdWait(name.to_owned(), e.to_string()))?;
    tracing::info!(crd = name, "CRD established");
    Ok(())
}
