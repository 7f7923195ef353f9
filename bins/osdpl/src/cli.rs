//! Offline commands of `rockoon-osdpl`: `render` shows what the controller would apply.
//!
//! `render` needs no cluster: credentials come from a file or are generated deterministically
//! and visibly marked `dry-run`; referenced Secrets come from a file. Bad input exits non-zero
//! with the path of the problem in the message.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use rockoon_core::crd::OpenStackDeployment;
use rockoon_core::render::{RenderContext, Rendered, ServiceOutcome, Templates};

/// Offline subcommands.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Command {
    /// Render the Helm releases of an OpenStackDeployment file, offline.
    Render(RenderArgs),
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
}

/// Output formats.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML documents.
    Yaml,
    /// One JSON document.
    Json,
}

/// Runs an offline command; prints the result or the error.
pub fn run(command: Command) -> ExitCode {
    let Command::Render(args) = command;
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
    let text = read(&args.file)?;
    let osdpl: OpenStackDeployment = serde_norway::from_str(&text)
        .map_err(|e| format!("{}: not an OpenStackDeployment: {e}", args.file.display()))?;
    let spec = serde_json::to_value(&osdpl.spec).map_err(|e| e.to_string())?;
    let templates = match &args.templates {
        Some(dir) => Templates::with_overrides(dir).map_err(|e| e.to_string())?,
        None => Templates::embedded(),
    };
    let mut context = RenderContext::dry_run();
    context.namespace = osdpl
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "openstack".into());
    context.images_base_url = args.images_base_url.clone();
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
    let mut rendered =
        rockoon_core::render::render(&spec, &context, &templates).map_err(|e| e.to_string())?;
    if let Some(service) = &args.service {
        rendered.services.retain(|(name, _)| name == service);
        if rendered.services.is_empty() {
            return Err(format!(
                "--service {service}: not enabled in {}",
                args.file.display()
            ));
        }
    }
    format(&rendered, args.output)
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
                }
            }
            Ok(out)
        }
    }
}
