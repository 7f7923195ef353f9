//! Checks of a running binary of the suite through its admin endpoints.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{Api, Client};

use crate::devcluster::{Component, http_get, ports::free_port, tail};
use crate::harness::ClusterInfo;

/// A binary of the suite started for a test, with its admin port.
pub struct RunningBinary {
    /// The process.
    pub component: Component,
    /// Its admin port on 127.0.0.1.
    pub port: u16,
    /// When it was spawned.
    pub started: Instant,
    /// Run folder of the cluster it talks to.
    dir: std::path::PathBuf,
}

impl RunningBinary {
    /// Starts `rockoon-<name>` against the cluster with a free admin port.
    pub fn start(cluster: &ClusterInfo, name: &str, env: &[(&str, String)]) -> Result<Self> {
        let port = free_port()?;
        let target = crate::suite::current_target_dir()?;
        let started = Instant::now();
        let component = crate::suite::start_binary(
            &target,
            name,
            &cluster.dir,
            &cluster.kubeconfig,
            port,
            env,
        )?;
        Ok(Self {
            component,
            port,
            started,
            dir: cluster.dir.clone(),
        })
    }

    /// GET on the admin server: (status code, body); `None` while it does not answer.
    pub async fn get(&self, path: &str) -> Option<(u16, String)> {
        let response = http_get(self.port, path).await.ok()?;
        let status = response.split_whitespace().nth(1)?.parse().ok()?;
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        Some((status, body))
    }

    /// Polls `/readyz` until it answers 200, collecting every earlier answer.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<Vec<(u16, String)>> {
        let deadline = Instant::now() + timeout;
        let mut before = Vec::new();
        loop {
            self.component.check_alive()?;
            match self.get("/readyz").await {
                Some((200, _)) => return Ok(before),
                Some(answer) if before.last() != Some(&answer) => before.push(answer),
                Some(_) | None => {}
            }
            if Instant::now() > deadline {
                bail!(
                    "/readyz not 200 after {timeout:?}; answers: {before:?}; log:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGTERM and returns the exit code once the process ends.
    pub async fn terminate(&mut self, timeout: Duration) -> Result<Option<i32>> {
        let pid = self.component.pid().context("process already reaped")?;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        )?;
        let status = tokio::time::timeout(timeout, self.component.child.wait())
            .await
            .with_context(|| format!("still running {timeout:?} after SIGTERM"))??;
        crate::devcluster::stray::unregister(&self.dir, crate::devcluster::stray::BINARIES, pid);
        Ok(status.code())
    }

    /// SIGKILL: no shutdown path runs (a crash, an OOM kill, a node loss).
    pub async fn kill(&mut self) -> Result<()> {
        let pid = self.component.pid().context("process already reaped")?;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )?;
        self.component.child.wait().await?;
        crate::devcluster::stray::unregister(&self.dir, crate::devcluster::stray::BINARIES, pid);
        Ok(())
    }

    /// The log of the binary so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.component.log).unwrap_or_default()
    }

    /// The last lines of the log.
    pub fn log_tail(&self) -> String {
        tail(&self.component.log, 30)
    }

    /// Path of the log.
    pub fn log_path(&self) -> &Path {
        &self.component.log
    }
}

/// Result of [`osdpl_waits_for_missing_crd`].
pub enum CrdProbe {
    /// The CRD was missing and the behaviour was checked.
    Checked(Result<(), String>),
    /// The cluster already had the CRD; nothing to check.
    AlreadyInstalled,
}

/// Starts `rockoon-osdpl` while its CRD is missing and checks it says so in `/readyz`.
/// The caller installs the CRDs right after; this waits for `/readyz` to turn 200 and for a
/// clean exit on SIGTERM.
pub async fn osdpl_waits_for_missing_crd(cluster: &ClusterInfo, client: &Client) -> CrdProbe {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    match crds.get_opt(rockoon_osdpl_crd()).await {
        Ok(Some(_)) => return CrdProbe::AlreadyInstalled,
        Ok(None) => {}
        Err(error) => return CrdProbe::Checked(Err(error.to_string())),
    }
    CrdProbe::Checked(
        check_missing_crd(cluster, client)
            .await
            .map_err(|e| format!("{e:#}")),
    )
}

fn rockoon_osdpl_crd() -> &'static str {
    "openstackdeployments.lcm.mirantis.com"
}

async fn check_missing_crd(cluster: &ClusterInfo, client: &Client) -> Result<()> {
    let mut osdpl = RunningBinary::start(cluster, "osdpl", &[])?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        osdpl.component.check_alive()?;
        if let Some((status, body)) = osdpl.get("/readyz").await
            && body.contains(rockoon_osdpl_crd())
        {
            if status != 503 {
                bail!("/readyz answered {status} while the CRD is missing: {body}");
            }
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "/readyz never named the missing CRD; log:\n{}",
                osdpl.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !osdpl.log().contains("CRD is not installed") {
        bail!(
            "the log does not say the CRD is missing:\n{}",
            osdpl.log_tail()
        );
    }
    crate::suite::install_crds(client).await?;
    osdpl.wait_ready(Duration::from_secs(30)).await?;
    match osdpl.terminate(Duration::from_secs(15)).await? {
        Some(0) => Ok(()),
        code => bail!(
            "exit code {code:?} after SIGTERM; log:\n{}",
            osdpl.log_tail()
        ),
    }
}
