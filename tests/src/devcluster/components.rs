//! Starting, checking and stopping the control-plane processes.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::{Api, Client};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::{Child, Command};

use super::files::Files;
use super::ports::Ports;

const START_TIMEOUT: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(100);

/// One running process with its log file.
pub struct Component {
    /// Short name (`etcd`, `kube-apiserver`, ...).
    pub name: String,
    /// The process.
    pub child: Child,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
    /// When the process was spawned (after its command line and environment were prepared).
    pub spawned: std::time::Instant,
    /// How it was started, so the supervisor can start it again the same way.
    launch: Launch,
}

/// A component's command line and environment.
#[derive(Clone)]
struct Launch {
    program: PathBuf,
    args: Vec<String>,
    dir: PathBuf,
    env: Vec<(String, String)>,
    /// The `stray` group its pids are registered in, if any.
    group: Option<&'static str>,
    /// Working directory, when the process needs one (Prometheus finds its web UI there).
    cwd: Option<PathBuf>,
}

impl Component {
    /// Spawns `program` with its output appended to `<dir>/logs/<name>.log`.
    ///
    /// Each child gets its own process group, so a Ctrl-C at the terminal reaches only the
    /// supervisor, which then stops the children in order; `kill_on_drop` covers panics.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        dir: &Path,
        env: &[(&str, String)],
    ) -> Result<Self> {
        Self::spawn_in(name, program, args, dir, env, None)
    }

    /// [`Component::spawn`] with `cwd` as the process's working directory (the caller's
    /// otherwise); a respawn keeps it.
    pub fn spawn_in(
        name: &str,
        program: &Path,
        args: &[String],
        dir: &Path,
        env: &[(&str, String)],
        cwd: Option<&Path>,
    ) -> Result<Self> {
        let launch = Launch {
            program: program.to_owned(),
            args: args.to_vec(),
            dir: dir.to_owned(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            group: None,
            cwd: cwd.map(Path::to_owned),
        };
        let log = dir.join("logs").join(format!("{name}.log"));
        let spawned = std::time::Instant::now();
        let child = launch.spawn(&log)?;
        Ok(Self {
            name: name.to_owned(),
            child,
            log,
            spawned,
            launch,
        })
    }

    /// Starts the process again with the same command line (after it exited); its log goes on
    /// in the same file.
    pub fn respawn(&mut self) -> Result<()> {
        self.spawned = std::time::Instant::now();
        self.child = self.launch.spawn(&self.log)?;
        self.register()
    }

    /// Registers the process in `stray` `group` (now and after every respawn), so a teardown
    /// finds it even if its supervisor dies.
    pub fn register_in(&mut self, group: &'static str) -> Result<()> {
        self.launch.group = Some(group);
        self.register()
    }

    fn register(&self) -> Result<()> {
        if let (Some(group), Some(pid)) = (self.launch.group, self.pid()) {
            super::stray::register(&self.launch.dir, group, pid, &self.launch.program)?;
        }
        Ok(())
    }

    /// The exit status, once the process has exited (reaping it, so no zombie is left).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Pid of the process, if it is still known.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Fails with the log's tail if the process already exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited ({status}); last log lines:\n{}",
                self.name,
                tail(&self.log, 20)
            );
        }
        Ok(())
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub async fn stop(&mut self, grace: Duration) {
        if let Some(pid) = self.child.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            if tokio::time::timeout(grace, self.child.wait())
                .await
                .is_err()
            {
                let _ = self.child.kill().await;
            }
        }
    }
}

impl Launch {
    fn spawn(&self, log: &Path) -> Result<Child> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let err = out.try_clone()?;
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .kill_on_drop(true);
        for (key, value) in &self.env {
            command.env(key, value);
        }
        if let Some(cwd) = &self.cwd {
            command.current_dir(cwd);
        }
        command
            .spawn()
            .with_context(|| format!("spawning {}", self.program.display()))
    }
}

/// The last `lines` lines of a log file.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Builds the command lines of the components.
#[allow(missing_docs)]
pub struct Launcher<'a> {
    pub bin_dir: &'a Path,
    pub dir: &'a Path,
}

impl Launcher<'_> {
    fn spawn(&self, name: &str, args: Vec<String>) -> Result<Component> {
        let program = self.bin_dir.join(name);
        let mut component = Component::spawn(name, &program, &args, self.dir, &[])?;
        // Recorded at once, so `devcluster down` finds it even if the supervisor dies early.
        component.register_in(super::stray::COMPONENTS)?;
        Ok(component)
    }

    pub fn etcd(&self, ports: &Ports) -> Result<Component> {
        let client = format!("http://127.0.0.1:{}", ports.etcd_client);
        let peer = format!("http://127.0.0.1:{}", ports.etcd_peer);
        self.spawn(
            "etcd",
            vec![
                "--name=dev".into(),
                format!("--data-dir={}", self.dir.join("etcd").display()),
                format!("--listen-client-urls={client}"),
                format!("--advertise-client-urls={client}"),
                format!("--listen-peer-urls={peer}"),
                format!("--initial-advertise-peer-urls={peer}"),
                format!("--initial-cluster=dev={peer}"),
                "--initial-cluster-state=new".into(),
                // A disposable cluster: durability is not worth the fsync latency.
                "--unsafe-no-fsync".into(),
                "--log-level=warn".into(),
            ],
        )
    }

    pub fn apiserver(&self, ports: &Ports, files: &Files) -> Result<Component> {
        self.spawn(
            "kube-apiserver",
            vec![
                format!("--etcd-servers=http://127.0.0.1:{}", ports.etcd_client),
                "--bind-address=127.0.0.1".into(),
                "--advertise-address=127.0.0.1".into(),
                format!("--secure-port={}", ports.apiserver),
                format!("--cert-dir={}", files.cert_dir.display()),
                format!("--token-auth-file={}", files.token_file.display()),
                // Node: the real node's kubelet may act on its own node and pods only.
                "--authorization-mode=Node,RBAC".into(),
                format!(
                    "--kubelet-client-certificate={}",
                    files.kubelet_client_cert.display()
                ),
                format!(
                    "--kubelet-client-key={}",
                    files.kubelet_client_key.display()
                ),
                // The real node's name does not resolve; its InternalIP does.
                "--kubelet-preferred-address-types=InternalIP".into(),
                "--service-cluster-ip-range=10.96.0.0/16".into(),
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
                format!(
                    "--service-account-key-file={}",
                    files.service_account_pub.display()
                ),
                format!(
                    "--service-account-signing-key-file={}",
                    files.service_account_key.display()
                ),
                "--allow-privileged=true".into(),
                "--profiling=false".into(),
                "--enable-priority-and-fairness=false".into(),
                "--event-ttl=1h".into(),
                "--v=1".into(),
            ],
        )
    }

    fn client_flags(&self, files: &Files, port: u16) -> Vec<String> {
        let kubeconfig = files.kubeconfig.display().to_string();
        vec![
            format!("--kubeconfig={kubeconfig}"),
            format!("--authentication-kubeconfig={kubeconfig}"),
            format!("--authorization-kubeconfig={kubeconfig}"),
            "--bind-address=127.0.0.1".into(),
            format!("--secure-port={port}"),
            format!("--cert-dir={}", self.dir.join("certs").display()),
            "--leader-elect=false".into(),
            "--v=1".into(),
        ]
    }

    pub fn controller_manager(&self, ports: &Ports, files: &Files) -> Result<Component> {
        let mut args = self.client_flags(files, ports.controller_manager);
        args.extend([
            format!(
                "--service-account-private-key-file={}",
                files.service_account_key.display()
            ),
            format!(
                "--root-ca-file={}",
                files.cert_dir.join("apiserver.crt").display()
            ),
            "--use-service-account-credentials=false".into(),
            // Fake nodes have no cloud and no CIDRs to hand out.
            "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route".into(),
        ]);
        self.spawn("kube-controller-manager", args)
    }

    pub fn scheduler(&self, ports: &Ports, files: &Files) -> Result<Component> {
        self.spawn("kube-scheduler", self.client_flags(files, ports.scheduler))
    }

    pub fn kwok(&self, ports: &Ports, files: &Files) -> Result<Component> {
        self.spawn(
            "kwok",
            vec![
                format!("--kubeconfig={}", files.kubeconfig.display()),
                format!(
                    "--config={}",
                    self.bin_dir.join("kwok-stages.yaml").display()
                ),
                format!(
                    "--manage-nodes-with-annotation-selector={}=fake",
                    super::nodes::KWOK_ANNOTATION
                ),
                "--cidr=10.244.0.1/16".into(),
                "--node-ip=127.0.0.1".into(),
                format!("--server-address=127.0.0.1:{}", ports.kwok),
            ],
        )
    }
}

/// Waits until etcd answers `/health` with `"health":"true"`.
pub async fn wait_for_etcd(port: u16, etcd: &mut Component) -> Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        etcd.check_alive()?;
        if let Ok(body) = http_get(port, "/health").await
            && body.contains("\"health\":\"true\"")
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "etcd not healthy after {START_TIMEOUT:?}; log tail:\n{}",
                tail(&etcd.log, 20)
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// A plain HTTP/1.0 GET on loopback; returns the whole response (status line included).
pub async fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .await?;
    let mut body = String::new();
    stream.read_to_string(&mut body).await?;
    Ok(body)
}

/// Waits until kube-apiserver answers `/readyz` with 200; returns a client for it.
pub async fn wait_for_apiserver(kubeconfig: &Path, apiserver: &mut Component) -> Result<Client> {
    let deadline = Instant::now() + START_TIMEOUT;
    let mut last_error = String::new();
    loop {
        apiserver.check_alive()?;
        // The serving certificate (our kubeconfig's CA) appears only once the server started.
        if kubeconfig
            .parent()
            .is_some_and(|d| d.join("certs/apiserver.crt").exists())
        {
            match super::client_for(kubeconfig).await {
                Ok(client) => {
                    let request = http_request("/readyz")?;
                    match client.request_text(request).await {
                        Ok(body) if body.trim() == "ok" => return Ok(client),
                        Ok(body) => last_error = body,
                        Err(error) => last_error = error.to_string(),
                    }
                }
                Err(error) => last_error = error.to_string(),
            }
        }
        if Instant::now() > deadline {
            bail!(
                "kube-apiserver not ready after {START_TIMEOUT:?}: {last_error}; log tail:\n{}",
                tail(&apiserver.log, 20)
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

fn http_request(path: &str) -> Result<http::Request<Vec<u8>>> {
    Ok(http::Request::get(path).body(Vec::new())?)
}

/// Waits until the `default` ServiceAccount exists, i.e. kube-controller-manager works.
pub async fn wait_for_default_service_account(
    client: &Client,
    components: &mut [Component],
) -> Result<()> {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let wait =
        kube::runtime::wait::await_condition(accounts, "default", |sa: Option<&ServiceAccount>| {
            sa.is_some()
        });
    tokio::pin!(wait);
    let deadline = tokio::time::sleep(START_TIMEOUT);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            result = &mut wait => { result?; return Ok(()); }
            () = &mut deadline => bail!("no default ServiceAccount after {START_TIMEOUT:?}"),
            () = tokio::time::sleep(Duration::from_secs(1)) => {
                for component in components.iter_mut() {
                    component.check_alive()?;
                }
            }
        }
    }
}
