//! The suite on the dev cluster: CRDs, namespaces and the five binaries as local processes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Api, Client};

use crate::devcluster::Component;

/// The five binaries, by container name.
pub const BINARIES: &[&str] = &["osdpl", "secrets", "health", "node", "ceph-exchange"];

/// Namespaces the suite works in by default.
pub const NAMESPACES: &[&str] = &["openstack", "openstack-ceph-shared", "osh-system"];

/// Server-side applies every CRD from the Rust types and waits until each is established.
pub async fn install_crds(client: &Client) -> Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let params = PatchParams::apply("rockoon-devcluster").force();
    for (_, crd) in rockoon_core::crd::all_crds() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        api.patch(&name, &params, &Patch::Apply(&crd))
            .await
            .with_context(|| format!("applying CRD {name}"))?;
        tokio::time::timeout(
            Duration::from_secs(30),
            await_condition(api.clone(), &name, conditions::is_crd_established()),
        )
        .await
        .with_context(|| format!("CRD {name} not established after 30s"))??;
    }
    Ok(())
}

/// Creates the default namespaces if missing.
pub async fn create_namespaces(client: &Client) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let params = PatchParams::apply("rockoon-devcluster").force();
    for name in NAMESPACES {
        let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        api.patch(name, &params, &Patch::Apply(&ns)).await?;
    }
    Ok(())
}

/// Path of a binary of the suite built by cargo (`target/<profile>/rockoon-<name>`).
pub fn binary_path(target_dir: &Path, name: &str) -> PathBuf {
    target_dir.join(format!("rockoon-{name}"))
}

/// The cargo output folder the running test or tool was built into.
pub fn current_target_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    // target/<profile>/devcluster or target/<profile>/deps/<test>-<hash>
    let mut dir = exe
        .parent()
        .context("executable has no folder")?
        .to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    Ok(dir)
}

/// Starts one binary of the suite against `kubeconfig`, logging to `<dir>/logs/<name>.log`.
pub fn start_binary(
    target_dir: &Path,
    name: &str,
    dir: &Path,
    kubeconfig: &Path,
    admin_port: u16,
    extra_env: &[(&str, String)],
) -> Result<Component> {
    let path = binary_path(target_dir, name);
    if !path.exists() {
        bail!(
            "{} is not built; run `cargo build --bins` first",
            path.display()
        );
    }
    let mut env = vec![
        ("KUBECONFIG", kubeconfig.display().to_string()),
        ("OSCTL_ADMIN_ADDR", format!("127.0.0.1:{admin_port}")),
        ("OSCTL_LOG_LEVEL", "info".to_owned()),
        ("OSCTL_SHUTDOWN_GRACE_SECONDS", "10".to_owned()),
    ];
    if name == "osdpl" {
        env.extend(osdpl_env(dir, admin_port)?);
    }
    // Later entries win, so callers can override the defaults above.
    env.extend(extra_env.iter().cloned());
    std::fs::create_dir_all(dir.join("logs"))?;
    let mut component = Component::spawn(name, &path, &[], dir, &env)?;
    component.register_in(crate::devcluster::stray::BINARIES)?;
    Ok(component)
}

/// Where `rockoon-osdpl` finds helm and charts on the dev cluster: the pinned helm, the
/// upstream OpenStack-Helm charts (both chart groups live in one directory since upstream
/// merged its repositories), and a helm home of its own.
fn osdpl_env(dir: &Path, admin_port: u16) -> Result<Vec<(&'static str, String)>> {
    let bin = crate::devcluster::build_components()?;
    let charts = crate::devcluster::upstream_charts()?.display().to_string();
    Ok(vec![
        ("OSCTL_HELM_BINARY", bin.join("helm").display().to_string()),
        ("OSCTL_CHARTS_OPENSTACK", charts.clone()),
        ("OSCTL_CHARTS_INFRA", charts),
        (
            "OSCTL_HELM_HOME",
            dir.join(format!("helm-home-{admin_port}"))
                .display()
                .to_string(),
        ),
        // Retries of a failing release start fast on the dev cluster.
        ("OSCTL_ERROR_BACKOFF_BASE_SECONDS", "2".to_owned()),
        ("OSCTL_ERROR_BACKOFF_MAX_SECONDS", "30".to_owned()),
    ])
}
