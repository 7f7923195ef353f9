//! One dev cluster per test run, shared by every integration test, and a namespace per test.
//!
//! The first test that asks for the cluster starts `devcluster up --exit-on-stdin-eof` as a
//! child process and keeps its stdin open for the life of the test process: however the test
//! process ends (success, panic, Ctrl-C, SIGKILL), the pipe closes and the supervisor tears
//! the cluster down. `ROCKOON_TEST_KUBECONFIG` points the tests at an existing cluster instead.

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use anyhow::{Context as _, Result, bail};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client};

/// What a test needs to reach the shared cluster.
#[derive(Debug, Clone)]
pub struct ClusterInfo {
    /// Admin kubeconfig.
    pub kubeconfig: PathBuf,
    /// Run folder with the components' logs.
    pub dir: PathBuf,
}

static CLUSTER: OnceLock<Result<ClusterInfo, String>> = OnceLock::new();

/// One whole OpenStack deployment at a time on the shared cluster. The upstream nova and ovn
/// charts create ClusterRoles with fixed names (`nova-bootstrap`, `nova-cell-setup`,
/// `ovn-controller`), so a second deployment in another namespace cannot install those
/// releases while the first holds them (helm: "exists and cannot be imported"); this is an
/// upstream limit of one such deployment per cluster, not something a test should race on.
static DEPLOYMENT_SLOT: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Waits for the deployment slot; hold the permit until the test's releases are uninstalled
/// (or its namespace is gone).
pub async fn deployment_slot() -> tokio::sync::SemaphorePermit<'static> {
    DEPLOYMENT_SLOT
        .acquire()
        .await
        .expect("the deployment slot is never closed")
}
static SUPERVISOR: Mutex<Option<Child>> = Mutex::new(None);

/// Whether the suite runs under CI, where a missing component is a failure, never a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The shared cluster, started on first use. `None` (with a printed reason) means the test
/// should return early; under CI that case panics instead.
pub fn cluster() -> Option<ClusterInfo> {
    let result = CLUSTER.get_or_init(|| start_shared().map_err(|e| format!("{e:#}")));
    match result {
        Ok(info) => Some(info.clone()),
        Err(reason) if in_ci() => panic!("CI=true and no dev cluster: {reason}"),
        Err(reason) => {
            eprintln!(
                "SKIPPED: no dev cluster ({reason}).\n  Get one with `make cluster-up` and \
                 `export ROCKOON_TEST_KUBECONFIG=$PWD/.run/cluster/kubeconfig`, or let the tests \
                 build it: `tests/cluster/build.sh` (needs Go and the Go module proxy)."
            );
            None
        }
    }
}

fn start_shared() -> Result<ClusterInfo> {
    if let Some(path) = std::env::var_os("ROCKOON_TEST_KUBECONFIG") {
        let kubeconfig = PathBuf::from(path);
        let dir = kubeconfig.parent().map(PathBuf::from).unwrap_or_default();
        return Ok(ClusterInfo { kubeconfig, dir });
    }
    let target_dir = crate::suite::current_target_dir()?;
    let devcluster = target_dir.join("devcluster");
    if !devcluster.exists() {
        bail!(
            "step 'find devcluster': {} is not built (cargo build -p rockoon-tests --bins)",
            devcluster.display()
        );
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let dir = target_dir
        .join("test-cluster")
        .join(format!("run-{stamp}-{}", std::process::id()));
    let mut child = Command::new(&devcluster)
        .args([
            "--dir",
            &dir.display().to_string(),
            "up",
            "--exit-on-stdin-eof",
            // One real node per run when the host can; its tests say why when it cannot.
            "--real-node=auto",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("step 'start devcluster'")?;
    let stdout = child.stdout.take().context("devcluster stdout")?;
    let line = match first_line(stdout, &mut child, STARTUP_TIMEOUT) {
        Ok(line) if line.starts_with("ready ") => line,
        outcome => {
            // Whatever went wrong, the supervisor must not outlive us holding the host:
            // SIGTERM lets it tear down what it started, SIGKILL if it does not end.
            let status = stop_child(&mut child, std::time::Duration::from_secs(60))?;
            let reason = match outcome {
                Ok(_) => format!("devcluster exited ({status}) before the cluster was ready"),
                Err(reason) => reason,
            };
            bail!("{reason}; logs in {}", dir.join("logs").display());
        }
    };
    eprintln!("dev cluster: {}", line.trim());
    // Keep the child (and so its stdin) alive until the process exits.
    *SUPERVISOR.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
    Ok(ClusterInfo {
        kubeconfig: dir.join("kubeconfig"),
        dir,
    })
}

/// How long the shared cluster may take to come up (about a minute on this kind of machine)
/// before the run fails instead of waiting forever.
const STARTUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// The supervisor's first stdout line; an error when it exits without one or prints nothing
/// in `timeout`. Read on a thread: a process the supervisor started (and leaked) may hold
/// the pipe open after the supervisor itself exited, so EOF alone cannot be relied on.
fn first_line(
    stdout: std::process::ChildStdout,
    child: &mut Child,
    timeout: std::time::Duration,
) -> std::result::Result<String, String> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = sender.send(line);
    });
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match receiver.recv_timeout(std::time::Duration::from_millis(500)) {
            Ok(line) => return Ok(line),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(String::new()),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "devcluster exited ({status}) before the cluster was ready"
            ));
        }
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "devcluster printed nothing in {timeout:?}: the cluster did not come up"
            ));
        }
    }
}

/// SIGTERM, then SIGKILL after `grace`; the exit status.
fn stop_child(child: &mut Child, grace: std::time::Duration) -> Result<std::process::ExitStatus> {
    if let Some(status) = child.try_wait()? {
        return Ok(status);
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id())?);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let deadline = std::time::Instant::now() + grace;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = child.kill();
    Ok(child.wait()?)
}

impl ClusterInfo {
    /// A fresh client (one per test: clients are bound to the runtime that made them).
    pub async fn client(&self) -> Result<Client> {
        crate::devcluster::client_for(&self.kubeconfig).await
    }
}

/// A namespace of one test, deleted by [`TestNamespace::delete`].
pub struct TestNamespace {
    /// Its name.
    pub name: String,
    client: Client,
}

impl TestNamespace {
    /// Creates `t-<prefix>-<suffix>` and waits for its default ServiceAccount (pods need it).
    pub async fn create(client: &Client, prefix: &str) -> Result<Self> {
        let suffix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .subsec_nanos();
        let name = format!("t-{prefix}-{suffix:x}");
        let api: Api<Namespace> = Api::all(client.clone());
        let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        api.patch(
            &name,
            &PatchParams::apply("rockoon-tests"),
            &Patch::Apply(&ns),
        )
        .await?;
        let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), &name);
        tokio::time::timeout(
            std::time::Duration::from_secs(30),
            kube::runtime::wait::await_condition(
                accounts,
                "default",
                |sa: Option<&ServiceAccount>| sa.is_some(),
            ),
        )
        .await
        .context("no default ServiceAccount in the test namespace after 30s")??;
        Ok(Self {
            name,
            client: client.clone(),
        })
    }

    /// Deletes the namespace (its objects go with it).
    pub async fn delete(self) -> Result<()> {
        let api: Api<Namespace> = Api::all(self.client);
        api.delete(&self.name, &DeleteParams::background()).await?;
        Ok(())
    }
}

/// Whether an osdplst status (as JSON) shows the deployment and every service APPLIED. An
/// UNSUPPORTED service (one this version cannot render) is settled: it is never applied.
pub fn all_applied(status: &serde_json::Value) -> bool {
    status["osdpl"]["state"] == "APPLIED"
        && status["services"].as_object().is_some_and(|m| {
            !m.is_empty()
                && m.values()
                    .all(|v| v["state"] == "APPLIED" || v["state"] == "UNSUPPORTED")
        })
}

/// Outcome of the one-time check that `rockoon-osdpl` waits for its missing CRD.
static CRDS: tokio::sync::OnceCell<Result<String, String>> = tokio::sync::OnceCell::const_new();

/// Installs the CRDs once per run. The first caller, before installing, starts `rockoon-osdpl`
/// and checks that it stays unready, naming the missing CRD, then turns ready once the CRD is
/// there and exits 0 on SIGTERM. Returns that check's outcome (a note when it could not run
/// because the CRDs were already installed on an existing cluster).
pub async fn ensure_crds(cluster: &ClusterInfo) -> Result<String, String> {
    CRDS.get_or_init(|| async {
        let client = cluster.client().await.map_err(|e| format!("{e:#}"))?;
        let outcome = crate::probe::osdpl_waits_for_missing_crd(cluster, &client).await;
        crate::suite::install_crds(&client)
            .await
            .map_err(|e| format!("installing CRDs: {e:#}"))?;
        match outcome {
            crate::probe::CrdProbe::Checked(result) => result.map(|()| "checked".to_owned()),
            crate::probe::CrdProbe::AlreadyInstalled => {
                Ok("CRDs were already installed".to_owned())
            }
        }
    })
    .await
    .clone()
}
