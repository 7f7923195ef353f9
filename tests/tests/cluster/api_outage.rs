//! An API outage as osdpl sees it: its only way to the API server (and helm's) is a TCP relay
//! the test owns; the test cuts the relay (every connection and the listener), waits until
//! osdpl's watches say so at warn, then restores it and changes the OSDPL. osdpl must converge
//! the change — its caches recover within seconds (a short watch backoff) rather than after
//! kube-runtime's default 30 s — and the time it took is printed, not asserted.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use rockoon_tests::harness::ClusterInfo;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::cluster_or_return;
use crate::small::{Small, WAIT};

/// A TCP relay from a local port to the API server; dropping it cuts every connection.
struct Relay {
    port: u16,
    target: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl Relay {
    fn new(target: SocketAddr) -> Self {
        let port = rockoon_tests::devcluster::ports::free_port().unwrap();
        Self {
            port,
            target,
            task: None,
        }
    }

    /// Accepts on the relay's port again (the port is reused).
    async fn open(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        let target = self.target;
        self.task = Some(tokio::spawn(async move {
            // Dropped with the task: aborting it cuts every relayed connection.
            let mut connections = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }

    /// Cuts the relay: the listener closes and every connection through it drops.
    async fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

/// The admin kubeconfig with its server moved to the relay, and the API server's address.
fn relayed_kubeconfig(cluster: &ClusterInfo, port: u16, into: &Path) -> SocketAddr {
    let text = std::fs::read_to_string(&cluster.kubeconfig).unwrap();
    let mut config: Value = serde_norway::from_str(&text).unwrap();
    let clusters = config["clusters"].as_array_mut().unwrap();
    let server = clusters[0]["cluster"]["server"]
        .as_str()
        .unwrap()
        .to_owned();
    let authority = server.trim_start_matches("https://").trim_end_matches('/');
    let target: SocketAddr = authority.parse().unwrap();
    for entry in clusters.iter_mut() {
        entry["cluster"]["server"] = json!(format!("https://127.0.0.1:{port}"));
    }
    std::fs::write(into, serde_norway::to_string(&config).unwrap()).unwrap();
    target
}

#[tokio::test]
async fn after_an_api_outage_a_change_converges_and_watch_errors_are_warnings() {
    let cluster = cluster_or_return!();
    // The binaries get a run folder of their own, so their logs are theirs alone.
    let run = std::env::temp_dir().join(format!("rockoon-api-outage-{}", std::process::id()));
    std::fs::create_dir_all(run.join("logs")).unwrap();
    let kubeconfig = run.join("kubeconfig");
    let mut relay = Relay::new("127.0.0.1:1".parse().unwrap());
    relay.target = relayed_kubeconfig(&cluster, relay.port, &kubeconfig);
    relay.open().await;
    let through = ClusterInfo {
        kubeconfig,
        dir: run.clone(),
    };
    let small = Small::applied_through(&cluster, &through, "api-outage", json!({})).await;
    let release = "openstack-memcached";
    let (before, _) = small.releases().await[release].clone();

    // The outage: cut until osdpl's watches have noticed (polling its log, with a deadline).
    relay.cut().await;
    let deadline = Instant::now() + WAIT;
    while !small
        .osdpl
        .log()
        .lines()
        .any(|l| l.contains("WARN") && l.contains("watch error; retrying"))
    {
        assert!(
            Instant::now() < deadline,
            "no watch error logged at warn during the outage; log:\n{}",
            small.osdpl.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The API is back; a change made now must converge.
    relay.open().await;
    let back = Instant::now();
    small
        .merge_spec(json!({"services": {"memcached": {"memcached": {"values":
            {"conf": {"memcached": {"max_connections": 4097}}}}}}}))
        .await;
    loop {
        if let Some((revision, status)) = small.releases().await.get(release)
            && *revision > before
            && status == "deployed"
        {
            break;
        }
        assert!(
            Instant::now() < back + WAIT,
            "the change made after the outage never converged; log:\n{}",
            small.osdpl.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    small.all_applied("APPLIED after the outage").await;
    println!(
        "api_outage: converged {:.1} s after the API returned",
        back.elapsed().as_secs_f64()
    );
    small.finish().await;
    relay.cut().await;
    let _ = std::fs::remove_dir_all(&run);
}
