//! `conformance`: the conformance check of `rockoon_tests::conformance` for any OSDPL file.
//!
//! - default: on a running dev cluster (`make run` / `make cluster-up`), applies the OSDPL in a
//!   namespace of its own with its own `rockoon-osdpl` and `rockoon-secrets`, waits until it is
//!   APPLIED, then checks that namespace;
//! - `--no-apply`: checks a namespace as it is (e.g. `openstack` of `make run`);
//! - `--manifests-only`: no cluster; renders the OSDPL and `helm template`s every release, then
//!   runs the checks that need no live object (collisions, images, credentials, network
//!   policies, messaging).
//!
//! Exit 0 without findings, 1 with findings (each printed), 2 when the check could not run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::Parser;
use rockoon_tests::conformance::{self, Report, run};
use rockoon_tests::devcluster::workspace_root;
use rockoon_tests::harness::ClusterInfo;
use serde_json::Value;

#[derive(Parser)]
#[command(
    name = "conformance",
    about = "Check what OpenStack-Helm releases of an OSDPL would trip over on a real cluster."
)]
struct Cli {
    /// The OpenStackDeployment file (YAML). Not needed with `--no-apply`.
    #[arg(long, env = "ROCKOON_CONFORMANCE_OSDPL")]
    osdpl: Option<PathBuf>,
    /// Kubeconfig of the dev cluster; its folder is the cluster's run folder (controller logs
    /// go to `<folder>/logs/`).
    #[arg(
        long,
        env = "ROCKOON_CONFORMANCE_KUBECONFIG",
        default_value = ".run/cluster/kubeconfig"
    )]
    kubeconfig: PathBuf,
    /// Namespace to deploy into (default `conformance-<OSDPL name>`) or, with `--no-apply`, to
    /// check (default `openstack`).
    #[arg(long, env = "ROCKOON_CONFORMANCE_NAMESPACE")]
    namespace: Option<String>,
    /// Registry prefix every image must start with (default: the OSDPL's
    /// `spec.artifacts.images_base_url`, if any).
    #[arg(long, env = "ROCKOON_CONFORMANCE_IMAGES_PREFIX")]
    images_prefix: Option<String>,
    /// Seconds to wait for APPLIED.
    #[arg(long, env = "ROCKOON_CONFORMANCE_TIMEOUT", default_value_t = 900)]
    timeout: u64,
    /// Check the namespace as it is: apply nothing, start no controller.
    #[arg(long, env = "ROCKOON_CONFORMANCE_NO_APPLY")]
    no_apply: bool,
    /// Delete the OSDPL (its releases are uninstalled) and the namespaces afterwards (default:
    /// kept for inspection; a rerun reuses them).
    #[arg(long, env = "ROCKOON_CONFORMANCE_DELETE")]
    delete: bool,
    /// No cluster: render and `helm template` only.
    #[arg(long, env = "ROCKOON_CONFORMANCE_MANIFESTS_ONLY")]
    manifests_only: bool,
    /// Chart directory for `--manifests-only` (both chart groups); default: what
    /// `tests/cluster/charts.sh` prepared.
    #[arg(long, env = "ROCKOON_CONFORMANCE_CHARTS")]
    charts: Option<PathBuf>,
    /// The helm binary (default: the dev cluster's pinned one).
    #[arg(long, env = "ROCKOON_CONFORMANCE_HELM")]
    helm: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run_cli(&cli).await {
        Ok(report) => {
            print!("{report}");
            if report.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => {
            eprintln!("conformance: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn script_output(script: &str, args: &[&str]) -> Result<PathBuf> {
    let path = workspace_root().join(script);
    let output = std::process::Command::new("bash")
        .arg(&path)
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", path.display()))?;
    if !output.status.success() {
        bail!("{} failed ({})", path.display(), output.status);
    }
    Ok(PathBuf::from(String::from_utf8(output.stdout)?.trim()))
}

fn helm_binary(cli: &Cli) -> Result<PathBuf> {
    if let Some(helm) = &cli.helm {
        return Ok(helm.clone());
    }
    let helm = script_output("tests/cluster/build.sh", &["--print"])?.join("helm");
    if !helm.exists() {
        bail!(
            "{} is missing: run `make components` (or pass --helm)",
            helm.display()
        );
    }
    Ok(helm)
}

fn read_osdpl(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_norway::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

async fn run_cli(cli: &Cli) -> Result<Report> {
    let helm = helm_binary(cli)?;
    if cli.manifests_only {
        let file = cli
            .osdpl
            .as_ref()
            .context("--manifests-only needs --osdpl")?;
        let charts = match &cli.charts {
            Some(dir) => dir.clone(),
            None => {
                let dir = script_output("tests/cluster/charts.sh", &["--print"])?;
                if !dir.join(".prepared").exists() {
                    bail!(
                        "{} is not prepared: run tests/cluster/charts.sh (or pass --charts)",
                        dir.display()
                    );
                }
                dir
            }
        };
        let osdpl_bin = rockoon_tests::suite::current_target_dir()?.join("rockoon-osdpl");
        let dirs = run::ChartDirs {
            openstack: charts.clone(),
            infra: charts,
        };
        let mut inventory = run::render_manifests(&osdpl_bin, file, &helm, &dirs).await?;
        if cli.images_prefix.is_some() {
            inventory.images_prefix.clone_from(&cli.images_prefix);
        }
        return Ok(inventory.check());
    }

    let kubeconfig = std::path::absolute(&cli.kubeconfig)?;
    if !kubeconfig.exists() {
        bail!(
            "{} does not exist: start the dev cluster first (`make run` or `make cluster-up`)",
            kubeconfig.display()
        );
    }
    let cluster = ClusterInfo {
        dir: kubeconfig
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        kubeconfig: kubeconfig.clone(),
    };
    let client = cluster.client().await?;
    if cli.no_apply {
        let namespace = cli.namespace.clone().unwrap_or_else(|| "openstack".into());
        let prefix = match (&cli.images_prefix, &cli.osdpl) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(file)) => run::images_prefix(&read_osdpl(file)?),
            (None, None) => None,
        };
        return conformance::check(&client, &namespace, &helm, &kubeconfig, prefix.as_deref())
            .await;
    }

    let file = cli
        .osdpl
        .as_ref()
        .context("--osdpl is needed (or --no-apply)")?;
    let osdpl = read_osdpl(file)?;
    let name = osdpl["metadata"]["name"]
        .as_str()
        .context("the OSDPL has no metadata.name")?;
    let namespace = cli
        .namespace
        .clone()
        .unwrap_or_else(|| format!("conformance-{name}"));
    let controller_namespace = format!("{namespace}-ctl");
    run::create_namespace(&client, &namespace).await?;
    run::create_namespace(&client, &controller_namespace).await?;
    let prefix = cli
        .images_prefix
        .clone()
        .or_else(|| run::images_prefix(&osdpl));
    eprintln!(
        "conformance: applying {} in namespace {namespace}",
        file.display()
    );
    let mut deployment =
        run::Deployment::start(&cluster, &namespace, &controller_namespace, osdpl).await?;
    let applied = deployment
        .wait_applied(Duration::from_secs(cli.timeout))
        .await;
    if applied.is_ok() {
        eprintln!("conformance: APPLIED; checking namespace {namespace}");
    }
    let report =
        conformance::check(&client, &namespace, &helm, &kubeconfig, prefix.as_deref()).await;
    if cli.delete {
        // Through the controller, which uninstalls every release (cluster-scoped objects too).
        deployment.delete(Duration::from_secs(300)).await?;
    }
    deployment.stop().await?;
    if cli.delete {
        for ns in [&namespace, &controller_namespace] {
            let api: kube::Api<k8s_openapi::api::core::v1::Namespace> =
                kube::Api::all(client.clone());
            api.delete(ns, &Default::default()).await?;
        }
    } else {
        eprintln!(
            "conformance: namespaces {namespace} and {controller_namespace} kept (--delete removes them)"
        );
    }
    let mut report = report?;
    if let Err(error) = applied {
        // The findings often explain why (a release helm refused); show both.
        eprintln!("conformance: {error:#}");
        report
            .notes
            .push(format!("the OSDPL was not APPLIED within {}s", cli.timeout));
        if report.is_empty() {
            bail!("the OSDPL was not APPLIED and the check found nothing to explain it");
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_a_valid_clap_definition_with_an_env_var_per_flag() {
        let command = super::Cli::command();
        command.clone().debug_assert();
        for arg in command.get_arguments() {
            if !matches!(arg.get_id().as_str(), "help" | "version") {
                assert!(arg.get_env().is_some(), "--{} has no env var", arg.get_id());
            }
        }
    }
}
