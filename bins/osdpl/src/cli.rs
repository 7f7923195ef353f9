//! Commands of `rockoon-osdpl` besides the controller: `render` shows, offline, what the
//! controller would apply; `diff` compares that with the releases installed in the cluster.
//!
//! `render` needs no cluster: credentials come from a file or are generated deterministically
//! and visibly marked `dry-run`; referenced Secrets come from a file. Bad input exits non-zero
//! with the path of the problem in the message.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use rockoon_core::crd::OpenStackDeployment;
use rockoon_core::render::{RenderContext, RenderError, Rendered, ServiceOutcome, Templates};

/// Offline subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Command {
    /// Render the Helm releases of an OpenStackDeployment file, offline.
    Render(RenderArgs),
    /// Compare the rendered values with the installed releases (`helm get values`); exit 0
    /// when nothing differs, 1 when something does, 2 on error. Secret values are never shown.
    Diff(DiffArgs),
}

/// Arguments of `diff`.
#[derive(clap::Args, Debug, Clone)]
pub struct DiffArgs {
    /// What to render, as for `render`.
    #[command(flatten)]
    pub render: RenderArgs,
    /// Helm binary used to read the installed values (uses `KUBECONFIG`).
    #[arg(long, default_value = "helm", env = "OSCTL_HELM_BINARY")]
    pub helm: PathBuf,
}

/// Arguments of `render`.
#[derive(clap::Args, Debug, Clone)]
pub struct RenderArgs {
    /// OpenStackDeployment manifest (YAML or JSON); `-` reads standard input.
    #[arg(short = 'f', long = "file", env = "OSCTL_RENDER_FILE")]
    pub file: PathBuf,
    /// Only this service (a `features.services` name).
    #[arg(long, env = "OSCTL_RENDER_SERVICE")]
    pub service: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Yaml, env = "OSCTL_RENDER_OUTPUT")]
    pub output: Format,
    /// Directory whose files replace the embedded templates of the same relative name.
    #[arg(long, env = "OSCTL_TEMPLATES_DIR")]
    pub templates: Option<PathBuf>,
    /// YAML/JSON file with generated credentials (`<service>.<credential>`); without it,
    /// deterministic `dry-run` credentials are used.
    #[arg(long, env = "OSCTL_RENDER_CREDENTIALS")]
    pub credentials: Option<PathBuf>,
    /// YAML/JSON file with the Secrets the spec references (`<secret>.<key>: value`); without
    /// it, references become visibly fake `dry-run-secret:<name>/<key>` values.
    #[arg(long, env = "OSCTL_RENDER_SECRETS")]
    pub secrets: Option<PathBuf>,
    /// YAML/JSON file with the Ceph data (`fsid`, `monitors`, `keys`, `pools`, `rgw`); without
    /// it, dry-run Ceph data is used.
    #[arg(long, env = "OSCTL_RENDER_CEPH")]
    pub ceph: Option<PathBuf>,
    /// Registry prefix for images when the spec sets none.
    #[arg(long, default_value = "", env = "OSCTL_IMAGES_BASE_URL")]
    pub images_base_url: String,
    /// Gateway the public HTTPRoutes attach to: `[<namespace>/]<name>[/<section>]`.
    #[arg(long, default_value = rockoon_core::render::routes::DEFAULT_GATEWAY, env = "OSCTL_GATEWAY_PARENT")]
    pub gateway_parent: rockoon_core::render::ParentRef,
    /// Render the Gateway itself (with this gatewayClassName) and its TLS Secret.
    #[arg(long, env = "OSCTL_GATEWAY_CLASS", value_parser = rockoon_core::render::routes::gateway_class)]
    pub gateway_class: Option<String>,
}

/// Output formats.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML documents.
    Yaml,
    /// One JSON document.
    Json,
}

/// Runs a command; prints the result or the error.
pub fn run(command: Command) -> ExitCode {
    let args = match command {
        Command::Render(args) => args,
        Command::Diff(args) => {
            return match diff(&args) {
                Ok((text, differs)) => {
                    print!("{text}");
                    if differs {
                        ExitCode::from(1)
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(message) => {
                    eprintln!("rockoon-osdpl diff: {message}");
                    ExitCode::from(2)
                }
            };
        }
    };
    match render(&args) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("rockoon-osdpl render: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Renders per the arguments; returns the text to print or the message to exit with.
pub fn render(args: &RenderArgs) -> Result<String, String> {
    format(&rendered(args)?, args.output)
}

/// Per release, the differences between installed and rendered values; and whether any.
pub fn diff(args: &DiffArgs) -> Result<(String, bool), String> {
    let rendered = rendered(&args.render)?;
    let mut out = String::new();
    let mut differs = false;
    for (service, outcome) in &rendered.services {
        let releases = match outcome {
            ServiceOutcome::Ready { releases } => releases,
            ServiceOutcome::Waiting { reason } => {
                out.push_str(&format!("=== {service}: WAITING: {reason}\n"));
                continue;
            }
            ServiceOutcome::Unsupported { reason } => {
                out.push_str(&format!("=== {service}: UNSUPPORTED: {reason}\n"));
                continue;
            }
        };
        for held in rendered.held.iter().filter(|h| &h.service == service) {
            out.push_str(&format!("=== {}: HELD: {held}\n", held.release));
        }
        for release in releases {
            out.push_str(&format!(
                "=== {} ({}, namespace {})\n",
                release.name, release.chart, release.namespace
            ));
            match installed_values(&args.helm, &release.name, &release.namespace)? {
                None => {
                    differs = true;
                    out.push_str("+ not installed\n");
                }
                Some(installed) => {
                    let changes = rockoon_core::values::diff::diff(&installed, &release.values);
                    differs |= !changes.is_empty();
                    if changes.is_empty() {
                        out.push_str("  (no changes)\n");
                    }
                    for change in changes {
                        out.push_str(&format!("{change}\n"));
                    }
                }
            }
        }
    }
    Ok((out, differs))
}

/// `helm get values` of a release, or `None` when it is not installed.
fn installed_values(
    helm: &PathBuf,
    release: &str,
    namespace: &str,
) -> Result<Option<serde_json::Value>, String> {
    let output = std::process::Command::new(helm)
        .args([
            "get",
            "values",
            release,
            "--namespace",
            namespace,
            "--output",
            "json",
        ])
        .output()
        .map_err(|e| format!("running {}: {e}", helm.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("release: not found") {
            return Ok(None);
        }
        return Err(format!("helm get values {release}: {}", stderr.trim()));
    }
    let values: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("helm get values {release}: not JSON: {e}"))?;
    Ok(Some(if values.is_null() {
        serde_json::json!({})
    } else {
        values
    }))
}

/// The render per the arguments.
fn rendered(args: &RenderArgs) -> Result<Rendered, String> {
    let text = read(&args.file)?;
    let osdpl: OpenStackDeployment = serde_norway::from_str(&text)
        .map_err(|e| format!("{}: not an OpenStackDeployment: {e}", args.file.display()))?;
    let templates = templates(args.templates.as_deref()).map_err(|e| e.to_string())?;
    let mut context = RenderContext::dry_run();
    context.namespace = osdpl
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "openstack".into());
    context.images_base_url = args.images_base_url.clone();
    context.confirmed_removals =
        rockoon_core::names::confirmed_removals(osdpl.metadata.annotations.as_ref());
    context.gateway = rockoon_core::render::GatewaySettings {
        parent: args.gateway_parent.clone(),
        class: args.gateway_class.clone(),
    };
    if let Some(path) = &args.credentials {
        context.credentials =
            serde_norway::from_str(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
        context.dry_run_credentials = false;
    }
    if let Some(path) = &args.secrets {
        let secrets: BTreeMap<String, BTreeMap<String, String>> =
            serde_norway::from_str(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
        context.secrets = secrets;
        context.dry_run_secrets = false;
    }
    if let Some(path) = &args.ceph {
        context.ceph = Some(
            serde_norway::from_str(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?,
        );
    }
    let only = args.service.as_deref();
    let rendered = rockoon_core::render::render_spec(&osdpl.spec, &context, &templates, only)
        .map_err(|e| e.to_string())?;
    if let Some(service) = only.filter(|_| rendered.services.is_empty()) {
        return Err(format!(
            "--service {service}: not enabled in {}",
            args.file.display()
        ));
    }
    Ok(rendered)
}

/// The templates the controller and the offline commands render with: the embedded set, with
/// the files of `overrides` replacing those of the same relative name.
pub fn templates(overrides: Option<&std::path::Path>) -> Result<Templates, RenderError> {
    match overrides {
        Some(dir) => Templates::with_overrides(dir),
        None => Ok(Templates::embedded()),
    }
}

fn read(path: &PathBuf) -> Result<String, String> {
    if path.as_os_str() == "-" {
        return std::io::read_to_string(std::io::stdin()).map_err(|e| format!("stdin: {e}"));
    }
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn format(rendered: &Rendered, format: Format) -> Result<String, String> {
    match format {
        Format::Json => serde_json::to_string_pretty(rendered)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string()),
        Format::Yaml => {
            let mut out = format!("# fingerprint: {}\n", rendered.fingerprint);
            for (service, outcome) in &rendered.services {
                match outcome {
                    ServiceOutcome::Ready { releases } => {
                        for release in releases {
                            out.push_str(&format!("---\n# service: {service}\n"));
                            out.push_str(
                                &serde_norway::to_string(release).map_err(|e| e.to_string())?,
                            );
                        }
                    }
                    ServiceOutcome::Waiting { reason } => {
                        out.push_str(&format!("---\n# service: {service}: WAITING: {reason}\n"));
                    }
                    ServiceOutcome::Unsupported { reason } => {
                        out.push_str(&format!(
                            "---\n# service: {service}: UNSUPPORTED: {reason}\n"
                        ));
                    }
                }
            }
            for setting in &rendered.unsupported {
                out.push_str(&format!("---\n# unsupported setting: {setting}\n"));
            }
            for held in &rendered.held {
                out.push_str(&format!("---\n# held release: {held}\n"));
            }
            for daemonset in &rendered.precache {
                out.push_str("---\n# image pre-caching\n");
                out.push_str(&serde_norway::to_string(daemonset).map_err(|e| e.to_string())?);
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn args(service: Option<&str>) -> RenderArgs {
        let sample = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/osdpl/compute.yaml"
        );
        RenderArgs {
            file: sample.into(),
            service: service.map(Into::into),
            output: Format::Yaml,
            templates: None,
            credentials: None,
            secrets: None,
            ceph: None,
            images_base_url: String::new(),
            gateway_parent: rockoon_core::render::routes::DEFAULT_GATEWAY
                .parse()
                .unwrap(),
            gateway_class: None,
        }
    }

    #[test]
    fn render_service_renders_that_service_only_with_the_whole_specs_fingerprint() {
        let all = rendered(&args(None)).unwrap();
        let one = rendered(&args(Some("identity"))).unwrap();
        let names: Vec<&str> = one.services.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(names, ["identity"]);
        assert_eq!(one.fingerprint, all.fingerprint);
        let identity = all.services.iter().find(|(s, _)| s == "identity").unwrap();
        assert_eq!(&one.services[0], identity);
    }

    #[test]
    fn render_lists_unsupported_services_and_settings() {
        let mut args = args(None);
        args.file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/osdpl/antelope-rockoon.yaml"
        )
        .into();
        let text = render(&args).unwrap();
        assert!(
            text.contains("# service: stepler: UNSUPPORTED: "),
            "{}",
            &text[text.len().saturating_sub(2000)..]
        );
        assert!(text.contains("# unsupported setting: spec.features.barbican.backends.vault: "));
    }

    #[test]
    fn render_shows_a_held_main_release_apart_from_the_releases_to_apply() {
        let mut args = args(None);
        args.file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/corpus/50-migration-main-services-held.yaml"
        )
        .into();
        let text = render(&args).unwrap();
        assert!(
            text.contains(
                "# held release: openstack-nova (service compute): \
                 spec.migration.nova.deploy_main_service is false"
            ),
            "{}",
            &text[text.len().saturating_sub(2000)..]
        );
        assert!(!text.contains("\nname: openstack-nova\n"));
        assert!(text.contains("\nname: openstack-libvirt\n"));
        args.output = Format::Json;
        let json: serde_json::Value = serde_json::from_str(&render(&args).unwrap()).unwrap();
        assert_eq!(json["held"][0]["release"], "openstack-nova");
    }

    #[test]
    fn render_service_of_a_service_not_enabled_names_the_file() {
        let error = rendered(&args(Some("tempest-of-doom"))).unwrap_err();
        assert!(
            error.contains("--service tempest-of-doom: not enabled in"),
            "{error}"
        );
        assert!(error.contains("compute.yaml"), "{error}");
    }
}
