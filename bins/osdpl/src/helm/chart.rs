//! Where charts come from: a local directory (`<dir>/<chart>`) or a Helm repository
//! (`https://…` with `--repo`, or `oci://…`), configured per chart group. Also each chart's
//! identity, part of a release's desired hash, so a changed chart is upgraded even when the
//! values are not.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The upstream Helm repository of the OpenStack-Helm charts (one repository for every chart
/// since upstream merged its repositories).
pub const UPSTREAM_REPOSITORY: &str = "https://tarballs.opendev.org/openstack/openstack-helm";

/// Chart versions taken from [`UPSTREAM_REPOSITORY`] when the spec pins none: the 2026.1
/// series, which the templates were checked against (the snapshot in `../shared/openstack-helm`
/// has Chart.yaml version 2026.1.0; the repository publishes each commit as
/// `2026.1.<n>+<commit>`). A spec's `common.charts.releases.version` wins.
pub const UPSTREAM_CHART_VERSIONS: &str = ">=2026.1.0 <2026.2.0";

/// A chart group's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartSource {
    /// Charts are sub-directories of this directory.
    Directory(PathBuf),
    /// A Helm repository (`http(s)://`) or an OCI registry prefix (`oci://`).
    Repository(String),
}

impl FromStr for ChartSource {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty chart source".into());
        }
        Ok(
            if ["http://", "https://", "oci://"]
                .iter()
                .any(|p| s.starts_with(p))
            {
                ChartSource::Repository(s.trim_end_matches('/').to_owned())
            } else {
                ChartSource::Directory(PathBuf::from(s))
            },
        )
    }
}

impl fmt::Display for ChartSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChartSource::Directory(dir) => write!(f, "{}", dir.display()),
            ChartSource::Repository(url) => f.write_str(url),
        }
    }
}

impl ChartSource {
    /// The chart arguments of `helm upgrade`: the chart reference and where to find it.
    pub fn helm_args(&self, chart: &str, version: Option<&str>) -> Vec<OsString> {
        let mut args: Vec<OsString> = match self {
            ChartSource::Directory(dir) => vec![dir.join(chart).into()],
            ChartSource::Repository(url) if url.starts_with("oci://") => {
                vec![format!("{url}/{chart}").into()]
            }
            ChartSource::Repository(url) => {
                vec![chart.into(), "--repo".into(), url.into()]
            }
        };
        if let Some(version) = self.version(version) {
            args.push("--version".into());
            args.push(version.into());
        }
        args
    }

    /// What identifies the chart that will be installed: for a directory, a digest of its
    /// files (so editing a local chart upgrades its releases); for a repository, the URL,
    /// chart and version asked for.
    pub fn identity(&self, chart: &str, version: Option<&str>) -> String {
        match self {
            ChartSource::Directory(dir) => {
                format!("dir:{}", super::chart_digest::digest(&dir.join(chart)))
            }
            ChartSource::Repository(url) => {
                format!("repo:{url}|{chart}|{}", self.version(version).unwrap_or(""))
            }
        }
    }

    /// The version asked of a repository: the spec's, else the pinned upstream series when
    /// this is the upstream repository. Directories have no versions.
    fn version<'a>(&self, version: Option<&'a str>) -> Option<&'a str> {
        match self {
            ChartSource::Directory(_) => None,
            ChartSource::Repository(url) => {
                version.or((url == UPSTREAM_REPOSITORY).then_some(UPSTREAM_CHART_VERSIONS))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls_are_repositories_and_anything_else_a_directory() {
        assert_eq!(
            "https://tarballs.opendev.org/openstack/openstack-helm/".parse::<ChartSource>(),
            Ok(ChartSource::Repository(
                "https://tarballs.opendev.org/openstack/openstack-helm".into()
            ))
        );
        assert_eq!(
            "/var/cache/charts".parse::<ChartSource>(),
            Ok(ChartSource::Directory("/var/cache/charts".into()))
        );
        assert!("  ".parse::<ChartSource>().is_err());
    }

    #[test]
    fn repository_charts_pass_repo_and_version_and_directories_ignore_the_version() {
        let repo = ChartSource::Repository("https://charts.example".into());
        assert_eq!(
            repo.helm_args("nova", Some("2025.1.0")),
            [
                "nova",
                "--repo",
                "https://charts.example",
                "--version",
                "2025.1.0"
            ]
            .map(OsString::from)
        );
        let oci = ChartSource::Repository("oci://registry.example/charts".into());
        assert_eq!(
            oci.helm_args("nova", None),
            [OsString::from("oci://registry.example/charts/nova")]
        );
        let dir = ChartSource::Directory("/charts".into());
        assert_eq!(
            dir.helm_args("nova", Some("1")),
            [OsString::from("/charts/nova")]
        );
    }

    #[test]
    fn the_upstream_repository_gets_the_pinned_series_unless_the_spec_names_a_version() {
        let upstream = UPSTREAM_REPOSITORY.parse::<ChartSource>().unwrap();
        let args = upstream.helm_args("nova", None);
        assert_eq!(
            args[args.len() - 2..],
            ["--version", UPSTREAM_CHART_VERSIONS].map(OsString::from)
        );
        let args = upstream.helm_args("nova", Some("2026.1.3"));
        assert_eq!(args.last(), Some(&OsString::from("2026.1.3")));
        let other = ChartSource::Repository("https://charts.example".into());
        assert_eq!(
            other.helm_args("nova", None).len(),
            3,
            "no pin for other repositories"
        );
    }

    #[test]
    fn a_directory_chart_identity_follows_its_content() {
        let root = std::env::temp_dir().join(format!("rockoon-chart-id-{}", std::process::id()));
        let chart = root.join("demo");
        std::fs::create_dir_all(chart.join("templates")).unwrap();
        std::fs::write(chart.join("Chart.yaml"), "name: demo\n").unwrap();
        let source = ChartSource::Directory(root.clone());
        let first = source.identity("demo", None);
        assert_eq!(first, source.identity("demo", None), "stable");
        std::fs::write(chart.join("templates/a.yaml"), "kind: ConfigMap\n").unwrap();
        assert_ne!(
            first,
            source.identity("demo", None),
            "a new file changes it"
        );
        std::fs::remove_dir_all(root).unwrap();
    }
}
