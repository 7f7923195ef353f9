//! Command-line settings shared by every binary, flattened into each binary's own `Args`.
//!
//! Every flag can also be set from an environment variable; where Rockoon had one, its
//! `OSCTL_*` name is kept so the existing chart environment keeps working. Each binary has its
//! own default admin port, injected with [`command`] so `--help` shows the real default.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgMatches, CommandFactory, FromArgMatches};

/// Id of the admin address argument, whose default each binary sets.
pub const ADMIN_ADDR_ARG: &str = "admin_addr";

/// Settings every binary has.
#[derive(clap::Args, Debug, Clone)]
pub struct CommonArgs {
    /// Namespace of the OpenStackDeployment and of the OpenStack workloads.
    #[arg(
        long,
        env = "OSCTL_OS_DEPLOYMENT_NAMESPACE",
        default_value = "openstack"
    )]
    pub namespace: String,

    /// Namespace the controllers run in (where shared files such as clouds.yaml are kept).
    #[arg(long, env = "OSCTL_CONTROLLER_NAMESPACE", default_value = "osh-system")]
    pub controller_namespace: String,

    /// Listen address of the admin HTTP server (/metrics, /livez, /readyz).
    #[arg(long = "admin-addr", id = ADMIN_ADDR_ARG, value_name = "ADDR", env = "OSCTL_ADMIN_ADDR")]
    pub admin_addr: SocketAddr,

    /// Log filter: a level (error, warn, info, debug, trace) or tracing directives
    /// such as `info,kube=debug`.
    #[arg(long, env = "OSCTL_LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Log line format.
    #[arg(long, env = "OSCTL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Plain)]
    pub log_format: LogFormat,

    /// Kubeconfig file(s), colon-separated; without it the in-cluster config is used.
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<String>,

    /// Kubeconfig context to use instead of the current one.
    #[arg(long, env = "OSCTL_KUBE_CONTEXT")]
    pub kube_context: Option<String>,

    /// Seconds in-flight work may take to finish after SIGTERM before the process exits.
    #[arg(long, env = "OSCTL_SHUTDOWN_GRACE_SECONDS", default_value_t = 30)]
    pub shutdown_grace_seconds: u64,

    /// First retry delay, in seconds, after a failed reconcile; doubles on each failure.
    #[arg(long, env = "OSCTL_ERROR_BACKOFF_BASE_SECONDS", default_value_t = 1)]
    pub error_backoff_base_seconds: u64,

    /// Upper bound, in seconds, of the retry delay after failed reconciles.
    #[arg(long, env = "OSCTL_ERROR_BACKOFF_MAX_SECONDS", default_value_t = 300)]
    pub error_backoff_max_seconds: u64,

    /// Seconds after which a successfully reconciled object is reconciled again (safety net
    /// against missed events).
    #[arg(long, env = "OSCTL_RESYNC_SECONDS", default_value_t = 600)]
    pub resync_seconds: u64,

    /// Leader election (`--leader-elect` and its timings).
    #[command(flatten)]
    pub leader: crate::leader::LeaderArgs,
}

impl CommonArgs {
    /// Grace period after a shutdown signal.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_seconds)
    }

    /// Periodic re-reconcile interval.
    pub fn resync(&self) -> Duration {
        Duration::from_secs(self.resync_seconds.max(1))
    }

    /// Kubeconfig paths given by flag or `KUBECONFIG`, in order.
    pub fn kubeconfig_paths(&self) -> Vec<PathBuf> {
        self.kubeconfig
            .as_deref()
            .unwrap_or_default()
            .split(':')
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .collect()
    }
}

/// Format of log lines.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Plain,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Implemented by each binary's `Args`: its own default admin port, and parsing with it.
pub trait BinaryArgs: CommandFactory + FromArgMatches + Sized {
    /// Admin port used when `--admin-addr` is not given.
    const DEFAULT_ADMIN_PORT: u16;

    /// Parses the process arguments and environment, exiting with clap's message on bad input.
    fn load() -> Self {
        parse(Self::DEFAULT_ADMIN_PORT)
    }

    /// The complete clap command, for `--help` and definition checks.
    fn full_command() -> clap::Command {
        command::<Self>(Self::DEFAULT_ADMIN_PORT)
    }
}

/// The clap command of `A` with this binary's default admin port filled in.
pub fn command<A: CommandFactory>(default_admin_port: u16) -> clap::Command {
    A::command().mut_arg(ADMIN_ADDR_ARG, |arg| {
        arg.required(false)
            .default_value(format!("0.0.0.0:{default_admin_port}"))
    })
}

/// Parses the process arguments into `A`, exiting with clap's message on bad input.
pub fn parse<A: CommandFactory + FromArgMatches>(default_admin_port: u16) -> A {
    parse_from(default_admin_port, std::env::args_os())
}

/// Parses the given arguments into `A`, exiting with clap's message on bad input.
pub fn parse_from<A, I, T>(default_admin_port: u16, args: I) -> A
where
    A: CommandFactory + FromArgMatches,
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let mut cmd = command::<A>(default_admin_port);
    let matches: ArgMatches = cmd
        .try_get_matches_from_mut(args)
        .unwrap_or_else(|e| e.exit());
    A::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut cmd).exit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser, Debug)]
    struct TestArgs {
        #[command(flatten)]
        common: CommonArgs,
    }

    #[test]
    fn admin_port_default_comes_from_the_binary() {
        let args: TestArgs = parse_from(28768, ["test"]);
        assert_eq!(args.common.admin_addr.port(), 28768);
        assert_eq!(args.common.namespace, "openstack");
    }

    #[test]
    fn every_common_flag_has_an_environment_variable() {
        let cmd = command::<TestArgs>(1);
        for arg in cmd.get_arguments() {
            if matches!(arg.get_id().as_str(), "help" | "version") {
                continue;
            }
            assert!(arg.get_env().is_some(), "--{} has no env var", arg.get_id());
        }
    }

    #[test]
    fn kubeconfig_lists_are_split_on_colons() {
        let args: TestArgs = parse_from(1, ["test", "--kubeconfig", "/a:/b::"]);
        assert_eq!(
            args.common.kubeconfig_paths(),
            vec![PathBuf::from("/a"), "/b".into()]
        );
    }
}
