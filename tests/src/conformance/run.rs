//! Getting what the checks look at: the live inventory of a namespace ([`collect`]), an OSDPL
//! applied by its own `rockoon-osdpl` and `rockoon-secrets` in a namespace of its own
//! ([`Deployment`]), and a render without a cluster ([`render_manifests`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment as K8sDeployment, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, Client, Resource};
use rockoon_core::crd::OpenStackDeploymentStatus;
use serde_json::{Value, json};
use tokio::process::Command;

use super::{Inventory, Object, network_policy};
use crate::harness::ClusterInfo;
use crate::probe::RunningBinary;

/// A writable helm home of our own (helm's cache, config and data), so nothing touches `$HOME`.
fn helm_home() -> PathBuf {
    std::env::temp_dir().join(format!("rockoon-conformance-helm-{}", std::process::id()))
}

async fn helm(helm: &Path, kubeconfig: Option<&Path>, args: &[&str]) -> Result<String> {
    let home = helm_home();
    let mut command = Command::new(helm);
    command
        .args(args)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .kill_on_drop(true);
    if let Some(kubeconfig) = kubeconfig {
        command.env("KUBECONFIG", kubeconfig);
    }
    let output = command
        .output()
        .await
        .with_context(|| format!("running {} {}", helm.display(), args.join(" ")))?;
    if !output.status.success() {
        bail!(
            "helm {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

async fn list<K>(client: &Client, namespace: &str) -> Result<Vec<Object>>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
    <K as Resource>::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let kind = K::kind(&Default::default()).into_owned();
    let items = api
        .list(&ListParams::default())
        .await
        .with_context(|| format!("listing {kind}s in {namespace}"))?;
    items
        .items
        .into_iter()
        .map(|item| {
            let mut body = serde_json::to_value(&item)?;
            body["kind"] = json!(kind);
            Ok(Object::new(body, None))
        })
        .collect()
}

/// One release of `helm list`: its manifest and values.
struct ReleaseData {
    name: String,
    manifest: Vec<Value>,
    user_values: Value,
    all_values: Value,
}

async fn release_data(
    helm_bin: &Path,
    kubeconfig: &Path,
    namespace: &str,
    name: String,
) -> Result<ReleaseData> {
    let manifest = helm(
        helm_bin,
        Some(kubeconfig),
        &["get", "manifest", &name, "-n", namespace],
    )
    .await?;
    let user = helm(
        helm_bin,
        Some(kubeconfig),
        &["get", "values", &name, "-n", namespace, "-o", "json"],
    )
    .await?;
    let all = helm(
        helm_bin,
        Some(kubeconfig),
        &["get", "values", &name, "-n", namespace, "-a", "-o", "json"],
    )
    .await?;
    Ok(ReleaseData {
        manifest: super::parse_manifest(&manifest)
            .with_context(|| format!("manifest of release {name}"))?,
        user_values: serde_json::from_str(&user).unwrap_or(Value::Null),
        all_values: serde_json::from_str(&all).unwrap_or(Value::Null),
        name,
    })
}

/// The live inventory of `namespace`: every helm release (manifest, values), the workloads,
/// Secrets, ConfigMaps, Services and NetworkPolicies, the Namespace's labels and the Nodes.
pub async fn collect(
    client: &Client,
    namespace: &str,
    helm_bin: &Path,
    kubeconfig: &Path,
    images_prefix: Option<&str>,
) -> Result<Inventory> {
    let listed = helm(
        helm_bin,
        Some(kubeconfig),
        &["list", "-n", namespace, "-a", "-o", "json"],
    )
    .await?;
    let listed: Vec<Value> = serde_json::from_str(&listed).context("helm list output")?;
    let names: Vec<String> = listed
        .iter()
        .filter_map(|r| r["name"].as_str().map(str::to_owned))
        .collect();
    let mut failed_releases = Vec::new();
    for release in listed.iter().filter(|r| r["status"] != "deployed") {
        let name = release["name"].as_str().unwrap_or_default().to_owned();
        // helm's own account of the failure (e.g. an object another release owns).
        let description = helm(
            helm_bin,
            Some(kubeconfig),
            &["status", &name, "-n", namespace, "-o", "json"],
        )
        .await
        .ok()
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .and_then(|s| s.pointer("/info/description")?.as_str().map(str::to_owned))
        .unwrap_or_default();
        failed_releases.push((
            name,
            format!(
                "helm status {} at revision {}: {description}",
                release["status"].as_str().unwrap_or("unknown"),
                release["revision"]
            ),
        ));
    }
    let releases: Vec<ReleaseData> = futures::stream::iter(names)
        .map(|name| release_data(helm_bin, kubeconfig, namespace, name))
        .buffer_unordered(4)
        .try_collect()
        .await?;
    let mut inventory = Inventory {
        namespace: namespace.to_owned(),
        live: true,
        images_prefix: images_prefix.map(str::to_owned),
        failed_releases,
        ..Inventory::default()
    };
    for release in releases {
        inventory
            .user_values
            .insert(release.name.clone(), release.user_values);
        inventory
            .all_values
            .insert(release.name.clone(), release.all_values);
        inventory.rendered.push((release.name, release.manifest));
    }
    inventory.rendered.sort_by(|a, b| a.0.cmp(&b.0));
    let ns = Api::<Namespace>::all(client.clone())
        .get(namespace)
        .await
        .with_context(|| format!("reading Namespace {namespace}"))?;
    inventory.namespace_labels =
        network_policy::namespace_labels(&serde_json::to_value(&ns)?, namespace);
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .context("listing Nodes")?;
    inventory.nodes = Some(
        nodes
            .items
            .into_iter()
            .map(|n| {
                (
                    n.metadata.name.unwrap_or_default(),
                    n.metadata.labels.unwrap_or_default().into_iter().collect(),
                )
            })
            .collect(),
    );
    let objects = &mut inventory.objects;
    objects.extend(list::<Pod>(client, namespace).await?);
    objects.extend(list::<K8sDeployment>(client, namespace).await?);
    objects.extend(list::<StatefulSet>(client, namespace).await?);
    objects.extend(list::<DaemonSet>(client, namespace).await?);
    objects.extend(list::<Job>(client, namespace).await?);
    objects.extend(list::<CronJob>(client, namespace).await?);
    objects.extend(list::<Secret>(client, namespace).await?);
    objects.extend(list::<ConfigMap>(client, namespace).await?);
    objects.extend(list::<Service>(client, namespace).await?);
    objects.extend(list::<NetworkPolicy>(client, namespace).await?);
    Ok(inventory)
}

/// `spec.artifacts.images_base_url` of an OSDPL, when set.
pub fn images_prefix(osdpl: &Value) -> Option<String> {
    osdpl
        .pointer("/spec/artifacts/images_base_url")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Creates (or keeps) a namespace by name.
pub async fn create_namespace(client: &Client, name: &str) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    api.patch(
        name,
        &PatchParams::apply("rockoon-conformance"),
        &Patch::Apply(&ns),
    )
    .await
    .with_context(|| format!("creating Namespace {name}"))?;
    Ok(())
}

/// An OSDPL applied in a namespace of its own, with a `rockoon-secrets`, a
/// `rockoon-ceph-exchange` and a `rockoon-osdpl` watching only that namespace (Ceph's
/// namespace is the same one; the controllers' own namespace is apart, as in production).
pub struct Deployment {
    /// Namespace of the OSDPL and its releases.
    pub namespace: String,
    /// The OSDPL's name.
    pub name: String,
    client: Client,
    secrets: RunningBinary,
    ceph_exchange: RunningBinary,
    osdpl: RunningBinary,
    /// One deployment of the upstream charts at a time on a cluster
    /// ([`crate::harness::deployment_slot`]).
    _slot: tokio::sync::SemaphorePermit<'static>,
}

impl Deployment {
    /// Seeds the inputs the sample OSDPLs reference (TLS, OIDC, Vault and Ceph Secrets),
    /// starts the three controllers and applies `osdpl` (its namespace replaced).
    /// The namespaces must exist.
    pub async fn start(
        cluster: &ClusterInfo,
        namespace: &str,
        controller_namespace: &str,
        mut osdpl: Value,
    ) -> Result<Self> {
        let slot = crate::harness::deployment_slot().await;
        let client = cluster.client().await?;
        crate::sample::seed_external_inputs(&client, namespace, namespace)
            .await
            .context("step 'create the referenced and Ceph Secrets'")?;
        let env = [
            ("OSCTL_OS_DEPLOYMENT_NAMESPACE", namespace.to_owned()),
            ("OSCTL_CEPH_SHARED_NAMESPACE", namespace.to_owned()),
            (
                "OSCTL_CONTROLLER_NAMESPACE",
                controller_namespace.to_owned(),
            ),
        ];
        let mut secrets = RunningBinary::start(cluster, "secrets", &env)
            .context("step 'start rockoon-secrets'")?;
        secrets.wait_ready(Duration::from_secs(60)).await?;
        // ceph-etc and the keyring Secrets the Ceph-backed charts mount.
        let mut ceph_exchange = RunningBinary::start(cluster, "ceph-exchange", &env)
            .context("step 'start rockoon-ceph-exchange'")?;
        ceph_exchange.wait_ready(Duration::from_secs(60)).await?;
        let mut controller =
            RunningBinary::start(cluster, "osdpl", &env).context("step 'start rockoon-osdpl'")?;
        controller.wait_ready(Duration::from_secs(60)).await?;
        osdpl["metadata"]["namespace"] = json!(namespace);
        let name = osdpl["metadata"]["name"]
            .as_str()
            .context("the OSDPL has no metadata.name")?
            .to_owned();
        let api: Api<rockoon_core::crd::OpenStackDeployment> =
            Api::namespaced(client.clone(), namespace);
        api.patch(
            &name,
            &PatchParams::apply("rockoon-conformance").force(),
            &Patch::Apply(&osdpl),
        )
        .await
        .with_context(|| format!("applying OSDPL {namespace}/{name}"))?;
        Ok(Self {
            namespace: namespace.to_owned(),
            name,
            client,
            secrets,
            ceph_exchange,
            osdpl: controller,
            _slot: slot,
        })
    }

    /// The osdplst's status, as JSON.
    pub async fn status(&self) -> Value {
        let api: Api<OpenStackDeploymentStatus> =
            Api::namespaced(self.client.clone(), &self.namespace);
        match api.get_opt(&self.name).await {
            Ok(Some(s)) => json!(s.status),
            Ok(None) => json!(null),
            Err(e) => json!(format!("reading the osdplst: {e}")),
        }
    }

    /// Waits until the OSDPL and every service are APPLIED; the error carries the status and
    /// the controller's last log lines.
    pub async fn wait_applied(&mut self, timeout: Duration) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let status = self.status().await;
            if crate::harness::all_applied(&status) {
                return Ok(status);
            }
            if let Err(error) = self.osdpl.component.check_alive() {
                bail!(
                    "rockoon-osdpl exited: {error:#}; log:\n{}",
                    self.osdpl.log_tail()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "not APPLIED within {timeout:?}; osdplst status:\n{}\nrockoon-osdpl log ({}):\n{}",
                    serde_json::to_string_pretty(&status).unwrap_or_default(),
                    self.osdpl.log_path().display(),
                    self.osdpl.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Deletes the OSDPL and waits until it is gone: the controller uninstalls every release
    /// first, so no cluster-scoped object of the charts (ClusterRoles, CRDs) is left owned by
    /// this namespace's releases.
    pub async fn delete(&mut self, timeout: Duration) -> Result<()> {
        let api: Api<rockoon_core::crd::OpenStackDeployment> =
            Api::namespaced(self.client.clone(), &self.namespace);
        api.delete(&self.name, &kube::api::DeleteParams::default())
            .await
            .with_context(|| format!("deleting OSDPL {}/{}", self.namespace, self.name))?;
        let deadline = Instant::now() + timeout;
        while api.get_opt(&self.name).await?.is_some() {
            if Instant::now() > deadline {
                bail!(
                    "OSDPL {}/{} still there {timeout:?} after its deletion; rockoon-osdpl log:\n{}",
                    self.namespace,
                    self.name,
                    self.osdpl.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok(())
    }

    /// Stops the controllers (SIGTERM); the namespace and its releases stay.
    pub async fn stop(mut self) -> Result<()> {
        self.osdpl.terminate(Duration::from_secs(20)).await?;
        self.secrets.terminate(Duration::from_secs(20)).await?;
        self.ceph_exchange
            .terminate(Duration::from_secs(20))
            .await?;
        Ok(())
    }
}

/// Where the charts of each group are for a render without a cluster.
#[derive(Debug, Clone)]
pub struct ChartDirs {
    /// The `openstack` group.
    pub openstack: PathBuf,
    /// The `infra` group.
    pub infra: PathBuf,
}

/// Renders `osdpl_file` with `rockoon-osdpl render` (dry-run credentials) and each release
/// with `helm template` from `charts`, and builds the inventory of that render.
pub async fn render_manifests(
    osdpl_bin: &Path,
    osdpl_file: &Path,
    helm_bin: &Path,
    charts: &ChartDirs,
) -> Result<Inventory> {
    let output = Command::new(osdpl_bin)
        .args(["render", "-o", "json", "-f"])
        .arg(osdpl_file)
        .output()
        .await
        .with_context(|| format!("running {} render", osdpl_bin.display()))?;
    if !output.status.success() {
        bail!(
            "rockoon-osdpl render -f {} failed: {}",
            osdpl_file.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let rendered: Value = serde_json::from_slice(&output.stdout).context("render output")?;
    let osdpl: Value = serde_norway::from_str(
        &std::fs::read_to_string(osdpl_file)
            .with_context(|| format!("reading {}", osdpl_file.display()))?,
    )
    .with_context(|| format!("parsing {}", osdpl_file.display()))?;
    let namespace = osdpl["metadata"]["namespace"]
        .as_str()
        .unwrap_or("openstack")
        .to_owned();
    let dir = helm_home().join("values");
    std::fs::create_dir_all(&dir)?;
    let mut manifests = Vec::new();
    let mut failed = Vec::new();
    let mut values = BTreeMap::new();
    for service in rendered["services"].as_array().into_iter().flatten() {
        for release in service[1]["releases"].as_array().into_iter().flatten() {
            let name = release["name"].as_str().context("release without a name")?;
            let chart = release["chart"]
                .as_str()
                .context("release without a chart")?;
            let chart_dir = match release["group"].as_str() {
                Some("infra") => &charts.infra,
                _ => &charts.openstack,
            }
            .join(chart);
            let ns = release["namespace"].as_str().unwrap_or(&namespace);
            let file = dir.join(format!("{name}.json"));
            std::fs::write(&file, serde_json::to_vec(&release["values"])?)?;
            let text = helm(
                helm_bin,
                None,
                &[
                    "template",
                    name,
                    &chart_dir.display().to_string(),
                    "-n",
                    ns,
                    "-f",
                    &file.display().to_string(),
                ],
            )
            .await;
            values.insert(name.to_owned(), release["values"].clone());
            match text {
                Ok(text) => manifests.push((name.to_owned(), text)),
                Err(error) => failed.push((name.to_owned(), format!("{error:#}"))),
            }
        }
    }
    let precache: Vec<String> = rendered["precache"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| serde_norway::to_string(d).ok())
        .collect();
    if !precache.is_empty() {
        manifests.push(("(image pre-caching)".to_owned(), precache.join("\n---\n")));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut inventory =
        Inventory::from_manifests(&namespace, manifests, values, images_prefix(&osdpl))?;
    inventory.failed_releases = failed;
    Ok(inventory)
}
