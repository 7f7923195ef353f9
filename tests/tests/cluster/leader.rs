//! Leader election on the dev cluster: two `rockoon-osdpl` processes with `--leader-elect` on
//! one namespace, the memcached-only OSDPL (one real release of the upstream charts).
//!
//! Exactly one applies while the other stands by Ready; a leader killed with SIGKILL mid-apply
//! (its helm with it, as a pod's death takes every process of the container) is replaced by
//! the standby, which finishes the apply with no release left `pending-*` and none upgraded
//! twice, and two fresh processes converge without upgrading anything; a leader paused
//! (SIGSTOP) longer than the lease writes nothing after it resumes until it leads again. The
//! tests use short timings (lease 3 s, renew deadline 2 s, retry 0.5 s) through the flags'
//! environment variables. `failover_time_over_ten_kills` (ignored; run by `make bench`, see
//! docs/benchmarks.md) measures failover with the default timings.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::{Api, Client, ResourceExt};
use rockoon_core::crd::{OpenStackDeployment, OpenStackDeploymentStatus};
use rockoon_tests::harness::{ClusterInfo, TestNamespace, ensure_crds};
use rockoon_tests::probe::RunningBinary;
use serde_json::json;

use crate::cluster_or_return;
use crate::memcached_only::{applied, memcached_osdpl, start_with};

const OSDPL: &str = "ha";
const LEASE: &str = "rockoon-osdpl";
const WAIT: Duration = Duration::from_secs(180);

/// Short timings so the tests take seconds: a standby takes over ~3 s after the last renewal.
fn short_timings() -> Vec<(&'static str, String)> {
    vec![
        ("OSCTL_LEADER_LEASE_SECONDS", "3".to_owned()),
        ("OSCTL_LEADER_RENEW_DEADLINE_SECONDS", "2".to_owned()),
        ("OSCTL_LEADER_RETRY_SECONDS", "0.5".to_owned()),
    ]
}

/// The namespaces, `rockoon-secrets` (no election: only osdpl is under test) and the osdpl
/// processes of one test, by identity.
struct Setup {
    cluster: ClusterInfo,
    client: Client,
    ns: TestNamespace,
    ctl: TestNamespace,
    secrets: RunningBinary,
    osdpls: Vec<(String, RunningBinary)>,
    timings: Vec<(&'static str, String)>,
}

impl Setup {
    async fn start(
        cluster: ClusterInfo,
        prefix: &str,
        timings: Vec<(&'static str, String)>,
    ) -> Self {
        ensure_crds(&cluster).await.unwrap();
        let client = cluster.client().await.unwrap();
        let ns = TestNamespace::create(&client, prefix).await.unwrap();
        let ctl = TestNamespace::create(&client, "ctl").await.unwrap();
        let secrets = start_with(&cluster, "secrets", &ns.name, &ctl.name, &[]).await;
        Self {
            cluster,
            client,
            ns,
            ctl,
            secrets,
            osdpls: Vec::new(),
            timings,
        }
    }

    /// Starts `rockoon-osdpl` with election as `identity` and waits until it is Ready (a
    /// standby is Ready too).
    async fn osdpl(&mut self, identity: &str) {
        let mut env = vec![
            ("OSCTL_LEADER_ELECT", "true".to_owned()),
            ("OSCTL_LEADER_IDENTITY", self.identity(identity)),
        ];
        env.extend(self.timings.iter().cloned());
        let binary = start_with(&self.cluster, "osdpl", &self.ns.name, &self.ctl.name, &env).await;
        self.osdpls.push((identity.to_owned(), binary));
    }

    /// The full identity of process `short`: unique in the run, whose tests share one log.
    fn identity(&self, short: &str) -> String {
        format!("{}-{short}", self.ns.name)
    }

    fn binary(&self, identity: &str) -> &RunningBinary {
        &self.osdpls.iter().find(|(id, _)| id == identity).unwrap().1
    }

    fn take(&mut self, identity: &str) -> RunningBinary {
        let at = self
            .osdpls
            .iter()
            .position(|(id, _)| id == identity)
            .unwrap();
        self.osdpls.remove(at).1
    }

    fn logs(&self) -> String {
        self.osdpls
            .iter()
            .map(|(id, b)| format!("--- {id}:\n{}\n", b.log_tail()))
            .collect()
    }

    /// The Lease's holder (by short identity), if any.
    async fn holder(&self) -> Option<String> {
        let leases: Api<Lease> = Api::namespaced(self.client.clone(), &self.ctl.name);
        let lease = leases.get_opt(LEASE).await.unwrap()?;
        let holder = lease.spec?.holder_identity.filter(|h| !h.is_empty())?;
        let prefix = self.identity("");
        Some(
            holder
                .strip_prefix(&prefix)
                .map(str::to_owned)
                .unwrap_or(holder),
        )
    }

    /// Waits until one of `candidates` holds the Lease and returns it.
    async fn leader_among(&self, candidates: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(holder) = self.holder().await
                && candidates.contains(&holder.as_str())
            {
                return holder;
            }
            assert!(
                Instant::now() < deadline,
                "none of {candidates:?} leads (holder {:?}); logs:\n{}",
                self.holder().await,
                self.logs()
            );
            // The Lease's holder is what we wait for; a watch would see the same object.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn create_osdpl(&self) {
        let api: Api<OpenStackDeployment> = Api::namespaced(self.client.clone(), &self.ns.name);
        api.create(
            &PostParams::default(),
            &memcached_osdpl(OSDPL, &self.ns.name),
        )
        .await
        .unwrap();
    }

    async fn applied(&self, what: &str) {
        let statuses: Api<OpenStackDeploymentStatus> =
            Api::namespaced(self.client.clone(), &self.ns.name);
        let done = tokio::time::timeout(
            WAIT,
            await_condition(statuses, OSDPL, |s: Option<&OpenStackDeploymentStatus>| {
                s.is_some_and(|s| applied(&json!(s.status)))
            }),
        )
        .await;
        assert!(done.is_ok(), "{what}: not APPLIED; logs:\n{}", self.logs());
    }

    /// Every revision of every helm release in the namespace: (release, revision, status).
    async fn revisions(&self) -> Vec<(String, u32, String)> {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.ns.name);
        let storage = secrets
            .list_metadata(&ListParams::default().labels("owner=helm"))
            .await
            .unwrap();
        let mut revisions: Vec<(String, u32, String)> = storage
            .into_iter()
            .map(|s| {
                let labels = s.labels();
                (
                    labels["name"].clone(),
                    labels["version"].parse().unwrap(),
                    labels["status"].clone(),
                )
            })
            .collect();
        revisions.sort();
        revisions
    }

    /// Deletes the OSDPL through whichever process leads, stops every process and deletes the
    /// namespaces.
    async fn finish(mut self) {
        let api: Api<OpenStackDeployment> = Api::namespaced(self.client.clone(), &self.ns.name);
        let _ = api.delete(OSDPL, &DeleteParams::default()).await;
        let gone = tokio::time::timeout(
            WAIT,
            await_condition(api, OSDPL, |o: Option<&OpenStackDeployment>| o.is_none()),
        )
        .await;
        assert!(gone.is_ok(), "OSDPL not deleted; logs:\n{}", self.logs());
        for (_, mut binary) in self.osdpls.drain(..) {
            binary.terminate(Duration::from_secs(30)).await.unwrap();
        }
        self.secrets
            .terminate(Duration::from_secs(30))
            .await
            .unwrap();
        self.ns.delete().await.unwrap();
        self.ctl.delete().await.unwrap();
    }
}

/// Sum of the samples of `name` (optionally only lines containing `filter`) on `/metrics`.
async fn metric(binary: &RunningBinary, name: &str, filter: &str) -> f64 {
    let (_, body) = binary.get("/metrics").await.expect("metrics answer");
    body.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| l.contains(filter))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Waits until `binary` has finished every reconcile it started and has none queued, on ten
/// looks in a row (its own counters: "nothing happens" has no object to watch).
async fn idle(binary: &RunningBinary) {
    let deadline = Instant::now() + WAIT;
    let mut quiet = 0;
    while quiet < 10 {
        let started = metric(binary, "rockoon_reconcile_total", "").await;
        let finished = metric(binary, "rockoon_reconcile_duration_seconds_count", "").await;
        let queued = metric(binary, "rockoon_reconcile_queue_depth", "").await;
        quiet = if started == finished && queued == 0.0 {
            quiet + 1
        } else {
            0
        };
        assert!(
            Instant::now() < deadline,
            "never idle:\n{}",
            binary.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Pids of the processes whose parent is `parent` and whose command is `helm`.
fn helm_children(parent: u32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // pid (comm) state ppid ...
            let Some((comm, rest)) = stat.split_once(") ") else {
                return false;
            };
            let ppid = rest.split(' ').nth(1).and_then(|p| p.parse::<u32>().ok());
            comm.ends_with("(helm") && ppid == Some(parent)
        })
        .collect()
}

/// Whether a line of `log` says `what` about the elector of `identity` (the processes of a
/// test share one log file).
fn says(log: &str, identity: &str, what: &str) -> bool {
    let named = format!("identity={identity}");
    log.lines()
        .any(|line| line.contains(what) && line.split_whitespace().any(|field| field == named))
}

fn signal(pid: u32, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal).unwrap();
}

#[tokio::test]
async fn two_osdpl_processes_at_once_exactly_one_applies_and_the_other_stands_by_ready() {
    let cluster = cluster_or_return!();
    let mut setup = Setup::start(cluster, "ha-two", short_timings()).await;
    setup.osdpl("a").await;
    setup.osdpl("b").await;
    setup.create_osdpl().await;
    setup.applied("two processes").await;

    let leader = setup.leader_among(&["a", "b"]).await;
    let standby = if leader == "a" { "b" } else { "a" };
    let (lead, stand) = (setup.binary(&leader), setup.binary(standby));
    assert_eq!(metric(lead, "rockoon_leader", "").await, 1.0);
    assert_eq!(metric(stand, "rockoon_leader", "").await, 0.0);
    assert!(metric(lead, "rockoon_helm_operations_total", "").await >= 1.0);
    assert_eq!(
        metric(stand, "rockoon_helm_operations_total", "").await,
        0.0,
        "the standby ran helm; its log:\n{}",
        stand.log_tail()
    );
    assert_eq!(
        metric(stand, "rockoon_reconcile_total", "").await,
        0.0,
        "the standby reconciled; its log:\n{}",
        stand.log_tail()
    );
    assert_eq!(stand.get("/readyz").await.map(|(code, _)| code), Some(200));
    // The processes share one log file; the elector's lines name the identity.
    let log = stand.log();
    let (leader, standby) = (setup.identity(&leader), setup.identity(standby));
    assert!(says(&log, &standby, "standing by"), "{log}");
    assert!(
        !says(&log, &standby, "leading: this process holds"),
        "{log}"
    );
    assert!(says(&log, &leader, "leading: this process holds"), "{log}");
    setup.finish().await;
}

#[tokio::test]
async fn the_standby_finishes_an_apply_whose_leader_was_killed_and_a_restart_of_both_converges() {
    let cluster = cluster_or_return!();
    let mut setup = Setup::start(cluster, "ha-kill", short_timings()).await;
    setup.osdpl("a").await;
    setup.leader_among(&["a"]).await;
    setup.osdpl("b").await;
    setup.create_osdpl().await;

    // Kill the leader while its helm runs: the pod dies with every process in it.
    let pid = setup.binary("a").component.pid().unwrap();
    let deadline = Instant::now() + WAIT;
    let helms = loop {
        let helms = helm_children(pid);
        if !helms.is_empty() {
            break helms;
        }
        assert!(
            Instant::now() < deadline,
            "a never ran helm; logs:\n{}",
            setup.logs()
        );
        // Nothing to watch for a child process; /proc is polled.
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut killed = setup.take("a");
    killed.kill().await.unwrap();
    for helm in helms {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(helm),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let before = setup.revisions().await;

    assert_eq!(setup.leader_among(&["b"]).await, "b");
    setup.applied("after the leader's death").await;
    let after = setup.revisions().await;
    assert!(
        after
            .iter()
            .all(|(_, _, status)| !status.starts_with("pending")),
        "a release was left pending: {after:?}"
    );
    let upgrades = metric(
        setup.binary("b"),
        "rockoon_helm_operations_total",
        "op=\"upgrade\"",
    )
    .await;
    assert!(
        upgrades <= 1.0,
        "the standby upgraded {upgrades} times one release (before {before:?}, after {after:?})"
    );
    for (release, revision, status) in &before {
        if status == "deployed" {
            assert!(
                after.contains(&(release.clone(), *revision, status.clone())),
                "{release} {revision} finished before the kill and was upgraded again: {after:?}"
            );
        }
    }

    // Both restarted: the one that leads reconciles everything and upgrades nothing.
    let mut b = setup.take("b");
    assert_eq!(b.terminate(Duration::from_secs(30)).await.unwrap(), Some(0));
    setup.osdpl("c").await;
    setup.osdpl("d").await;
    let leader = setup.leader_among(&["c", "d"]).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let binary = setup.binary(&leader);
        let done = metric(binary, "rockoon_reconcile_duration_seconds_count", "").await;
        let started = metric(binary, "rockoon_reconcile_total", "").await;
        if done >= 1.0 && done == started {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{leader} never reconciled; logs:\n{}",
            setup.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    setup.applied("after restarting both").await;
    assert_eq!(
        setup.revisions().await,
        after,
        "a restart changed a release"
    );
    for identity in ["c", "d"] {
        let upgrades = metric(setup.binary(identity), "rockoon_helm_operations_total", "").await;
        assert_eq!(
            upgrades,
            0.0,
            "{identity} ran helm after a restart; logs:\n{}",
            setup.logs()
        );
    }
    setup.finish().await;
}

#[tokio::test]
async fn a_leader_paused_longer_than_its_lease_writes_nothing_after_resuming_until_it_leads_again()
{
    let cluster = cluster_or_return!();
    let mut setup = Setup::start(cluster, "ha-pause", short_timings()).await;
    setup.osdpl("a").await;
    setup.leader_among(&["a"]).await;
    setup.osdpl("b").await;
    setup.create_osdpl().await;
    setup.applied("first apply").await;

    // Pause a while it is idle, so every reconcile it counts later started after resuming
    // (one in flight at SIGSTOP would go on after SIGCONT, its writes refused by the fence).
    idle(setup.binary("a")).await;
    let a = setup.binary("a");
    let pid = a.component.pid().unwrap();
    let reconciles = metric(a, "rockoon_reconcile_total", "").await;
    let helm = metric(a, "rockoon_helm_operations_total", "").await;
    signal(pid, nix::sys::signal::Signal::SIGSTOP);
    let paused = Instant::now();
    assert_eq!(setup.leader_among(&["b"]).await, "b");
    // While a sleeps, the OSDPL changes: on resuming a's watch delivers the change at once.
    let api: Api<OpenStackDeployment> = Api::namespaced(setup.client.clone(), &setup.ns.name);
    let patch = json!({"metadata": {"labels": {"ha-test": "changed-while-paused"}}});
    api.patch(OSDPL, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5).saturating_sub(paused.elapsed())).await;
    let log_before = setup.binary("a").log().len();
    signal(pid, nix::sys::signal::Signal::SIGCONT);
    // Long enough for a's watch to catch up, its elector to look, and a reconcile to run.
    tokio::time::sleep(Duration::from_secs(4)).await;

    let a = setup.binary("a");
    assert_eq!(setup.holder().await.as_deref(), Some("b"));
    assert_eq!(metric(a, "rockoon_leader", "").await, 0.0);
    assert_eq!(
        metric(a, "rockoon_reconcile_total", "").await,
        reconciles,
        "a reconciled after resuming; its log:\n{}",
        a.log_tail()
    );
    assert_eq!(metric(a, "rockoon_helm_operations_total", "").await, helm);
    let resumed_log = a.log()[log_before..].to_owned();
    assert!(
        says(&resumed_log, &setup.identity("a"), "no longer leading"),
        "a did not say it stopped: {resumed_log}"
    );
    // Once b is gone, a leads again and works.
    let mut b = setup.take("b");
    assert_eq!(b.terminate(Duration::from_secs(30)).await.unwrap(), Some(0));
    assert_eq!(setup.leader_among(&["a"]).await, "a");
    let deadline = Instant::now() + WAIT;
    while metric(setup.binary("a"), "rockoon_reconcile_total", "").await <= reconciles {
        assert!(
            Instant::now() < deadline,
            "a never reconciled again; logs:\n{}",
            setup.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(metric(setup.binary("a"), "rockoon_leader", "").await, 1.0);
    setup.finish().await;
}

/// Failover with the default timings (lease 10 s, renew deadline 7 s, retry 2 s): ten times,
/// SIGKILL the leader and time until the standby's first reconcile starts. Also prints the
/// standby's RSS and the leader's Lease writes. Ignored: it takes about three minutes; `make
/// bench` runs it (docs/benchmarks.md).
#[tokio::test]
#[ignore = "benchmark: run by make bench, see docs/benchmarks.md"]
async fn failover_time_over_ten_kills() {
    let cluster = cluster_or_return!();
    let mut setup = Setup::start(cluster, "ha-bench", Vec::new()).await;
    setup.osdpl("r0").await;
    setup.leader_among(&["r0"]).await;
    setup.osdpl("r1").await;
    setup.create_osdpl().await;
    setup.applied("first apply").await;
    // Renewals: each one writes the Lease, so its resourceVersion moves once per renewal.
    let leases: Api<Lease> = Api::namespaced(setup.client.clone(), &setup.ctl.name);
    let version = |l: Lease| l.metadata.resource_version.unwrap_or_default();
    let mut last = version(leases.get(LEASE).await.unwrap());
    let (mut renewals, window) = (0, Instant::now());
    while window.elapsed() < Duration::from_secs(30) {
        let now = version(leases.get(LEASE).await.unwrap());
        if now != last {
            renewals += 1;
            last = now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("Lease writes by the leader in 30 s: {renewals}");
    let mut times = Vec::new();
    let mut rss = Vec::new();
    for run in 0..10 {
        let leader = format!("r{run}");
        let standby = format!("r{}", run + 1);
        let binary = setup.binary(&standby);
        rss.push(vm_rss_kib(binary.component.pid().unwrap()));
        let before = metric(binary, "rockoon_reconcile_total", "").await;
        // A renewal has just happened at most one retry ago, as at any moment.
        let mut killed = setup.take(&leader);
        let t0 = Instant::now();
        killed.kill().await.unwrap();
        let binary = setup.binary(&standby);
        while metric(binary, "rockoon_reconcile_total", "").await <= before {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "no failover; {}",
                setup.logs()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        times.push(t0.elapsed());
        setup.osdpl(&format!("r{}", run + 2)).await;
        // Let the new standby settle into its rhythm before the next kill.
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    times.sort();
    rss.sort_unstable();
    println!(
        "failover (SIGKILL of the leader → first reconcile of the standby), 10 runs: \
         p50 {:.1} s, max {:.1} s, all {:?}; standby VmRSS p50 {} KiB",
        times[times.len() / 2].as_secs_f64(),
        times[times.len() - 1].as_secs_f64(),
        times
            .iter()
            .map(|t| format!("{:.1}", t.as_secs_f64()))
            .collect::<Vec<_>>(),
        rss[rss.len() / 2],
    );
    setup.finish().await;
}

fn vm_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn every_other_writing_binary_elects_one_leader_and_hands_over_at_once_on_sigterm() {
    let cluster = cluster_or_return!();
    ensure_crds(&cluster).await.unwrap();
    let client = cluster.client().await.unwrap();
    let ns = TestNamespace::create(&client, "ha-all").await.unwrap();
    let ctl = TestNamespace::create(&client, "ctl").await.unwrap();
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ctl.name);
    let mut pairs = Vec::new();
    for name in ["secrets", "health", "node", "ceph-exchange"] {
        let mut pair = Vec::new();
        for replica in ["x", "y"] {
            let identity = format!("{}-{name}-{replica}", ns.name);
            let mut env = vec![
                ("OSCTL_LEADER_ELECT", "true".to_owned()),
                ("OSCTL_LEADER_IDENTITY", identity.clone()),
                // node: no Node of the shared cluster is this test's business.
                ("OSCTL_NODE_SELECTOR", "rockoon-test/none=none".to_owned()),
            ];
            env.extend(short_timings());
            let binary = start_with(&cluster, name, &ns.name, &ctl.name, &env).await;
            pair.push((identity, binary));
        }
        pairs.push((name, pair));
    }
    // Work for secrets and ceph-exchange: an OSDPL.
    let osdpls: Api<OpenStackDeployment> = Api::namespaced(client.clone(), &ns.name);
    osdpls
        .create(&PostParams::default(), &memcached_osdpl(OSDPL, &ns.name))
        .await
        .unwrap();

    for (name, pair) in &mut pairs {
        let lease = format!("rockoon-{name}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let holder = loop {
            let holder = leases
                .get_opt(&lease)
                .await
                .unwrap()
                .and_then(|l| l.spec?.holder_identity);
            if let Some(holder) = holder.filter(|h| pair.iter().any(|(id, _)| id == h)) {
                break holder;
            }
            assert!(
                Instant::now() < deadline,
                "{lease} has no holder of the pair"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        // Let the leader do its work (health and node have none here: no osdplst, no Node in
        // scope), then look at both.
        if matches!(*name, "secrets" | "ceph-exchange") {
            let leader = &pair.iter().find(|(id, _)| *id == holder).unwrap().1;
            while metric(leader, "rockoon_reconcile_total", "").await < 1.0 {
                assert!(
                    Instant::now() < deadline,
                    "{name}: the leader never reconciled"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        for (identity, binary) in pair.iter() {
            let leading = *identity == holder;
            assert_eq!(
                metric(binary, "rockoon_leader", "").await,
                if leading { 1.0 } else { 0.0 },
                "{identity}"
            );
            assert_eq!(
                binary.get("/readyz").await.map(|(c, _)| c),
                Some(200),
                "{identity}"
            );
            if !leading {
                assert_eq!(
                    metric(binary, "rockoon_reconcile_total", "").await,
                    0.0,
                    "the {name} standby reconciled"
                );
            }
        }
        // SIGTERM to the leader: it releases the Lease and the standby leads at its next try.
        let at = pair.iter().position(|(id, _)| *id == holder).unwrap();
        let (_, mut leader) = pair.remove(at);
        assert_eq!(
            leader.terminate(Duration::from_secs(30)).await.unwrap(),
            Some(0)
        );
        let stopped = Instant::now();
        let (standby_id, standby) = &pair[0];
        while metric(standby, "rockoon_leader", "").await < 1.0 {
            assert!(
                stopped.elapsed() < Duration::from_secs(2),
                "{standby_id} did not take over within 2 s of a released Lease (lease 3 s)"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    let _ = osdpls.delete(OSDPL, &DeleteParams::default()).await;
    for (_, pair) in &mut pairs {
        for (_, binary) in pair.iter_mut() {
            binary.terminate(Duration::from_secs(30)).await.unwrap();
        }
    }
    // No osdpl runs here, so nothing removes its finalizer: the namespace goes with the OSDPL.
    ns.delete().await.unwrap();
    ctl.delete().await.unwrap();
}
