//! The Masakari implementation of [`InstanceHa`]: Rockoon's safety checks, then one
//! `COMPUTE_HOST` notification per outage of a compute node.
//!
//! Order, cheapest and most decisive first: instance HA enabled ([`Mode`]) → the Kubernetes
//! checks (lock `active`, not cordoned) → the OpenStack login ([`crate::openstack`], cloud
//! read from the clouds.yaml Secret at each outage, so a changed password is picked up) →
//! Masakari present and the host in a segment → no notification for this outage yet → Nova
//! servers on the host, `nova-compute` down, Neutron agents dead → the host refusing TCP on
//! the probe port → `POST /notifications`.
//!
//! At most one notification per outage, across restarts: the reconcile marks the outage
//! handled after [`Handled::Done`], a restart between the POST and the mark finds the
//! notification (`generated-since` the outage start) and skips, and the notification's
//! generated time is the outage start, so Masakari's own duplicate check refuses a second
//! body even if the listing raced.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Secret};
use kube::api::ListParams;
use kube::{Api, Client, Resource, ResourceExt};
use rockoon_core::crd::{NodeWorkloadLock, OpenStackDeployment};
use rockoon_runtime::events::Events;
use rockoon_runtime::mirror::Mirror;
use tokio::sync::Mutex;

use crate::instance_ha::{self, Alive, Handled, InstanceHa, Mode, Skip};
use crate::lock;
use crate::metrics::NodeMetrics;
use crate::openstack::clouds::{self, Cloud};
use crate::openstack::http::Http;
use crate::openstack::keystone::Session;
use crate::openstack::services::{self, Posted};

/// Settings of [`Masakari`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// When instance HA is on.
    pub mode: Mode,
    /// Namespace of the OpenStackDeployment (mode `auto`).
    pub namespace: String,
    /// Namespace of the clouds.yaml Secret.
    pub secret_namespace: String,
    /// Name of the clouds.yaml Secret.
    pub secret: String,
    /// Cloud of the clouds.yaml to log in as.
    pub cloud: String,
    /// Endpoint interface overriding the cloud's.
    pub interface: Option<String>,
    /// TCP port whose answer means the host is alive (Rockoon: SSH, 22).
    pub probe_port: u16,
    /// How long the probe waits for a connection.
    pub probe_timeout: Duration,
    /// Delay before checking again a host OpenStack still sees alive.
    pub recheck: Duration,
}

/// Sends Masakari notifications for dead compute nodes.
pub struct Masakari {
    settings: Settings,
    client: Client,
    locks: Mirror<NodeWorkloadLock>,
    events: Arc<Events>,
    metrics: NodeMetrics,
    // Made on first use: a missing CA bundle fails that outage's step, not the binary.
    http: OnceLock<Http>,
    session: Mutex<Option<Arc<Session>>>,
}

/// How one attempt ended before it is counted.
enum Outcome {
    Sent(String),
    Skipped(Skip, Option<String>),
    Alive(Alive),
}

impl Masakari {
    /// The implementation with its clients.
    pub fn new(
        settings: Settings,
        client: Client,
        locks: Mirror<NodeWorkloadLock>,
        events: Arc<Events>,
        metrics: NodeMetrics,
    ) -> Self {
        Self {
            settings,
            client,
            locks,
            events,
            metrics,
            http: OnceLock::new(),
            session: Mutex::new(None),
        }
    }

    /// Whether the namespace's OpenStackDeployment enables `instance-ha`.
    async fn enabled(&self) -> Result<bool, String> {
        match self.settings.mode {
            Mode::Enabled => return Ok(true),
            Mode::Disabled => return Ok(false),
            Mode::Auto => {}
        }
        let api: Api<OpenStackDeployment> =
            Api::namespaced(self.client.clone(), &self.settings.namespace);
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|e| format!("listing OpenStackDeployments: {e}"))?;
        Ok(list.items.iter().any(|osdpl| {
            rockoon_core::enabled::enabled_services(&osdpl.spec)
                .is_ok_and(|services| services.iter().any(|s| s.name == "instance-ha"))
        }))
    }

    /// The session of the cloud the Secret names now (kept while the cloud is unchanged).
    async fn session(&self) -> Result<Arc<Session>, String> {
        let s = &self.settings;
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &s.secret_namespace);
        let secret = api
            .get(&s.secret)
            .await
            .map_err(|e| format!("reading Secret {}/{}: {e}", s.secret_namespace, s.secret))?;
        let text = secret
            .data
            .as_ref()
            .and_then(|d| d.get(clouds::KEY))
            .map(|b| String::from_utf8_lossy(&b.0).into_owned())
            .ok_or_else(|| {
                format!(
                    "Secret {}/{} has no {} key",
                    s.secret_namespace,
                    s.secret,
                    clouds::KEY
                )
            })?;
        let cloud = Cloud::parse(&text, &s.cloud)
            .map_err(|e| format!("Secret {}/{}: {e}", s.secret_namespace, s.secret))?;
        let mut kept = self.session.lock().await;
        if let Some(session) = kept.as_ref().filter(|k| *k.cloud() == cloud) {
            return Ok(session.clone());
        }
        let http = match self.http.get() {
            Some(http) => http.clone(),
            None => {
                let http = Http::new()?;
                self.http.get_or_init(|| http).clone()
            }
        };
        let session = Arc::new(Session::new(http, cloud, s.interface.as_deref()));
        *kept = Some(session.clone());
        Ok(session)
    }

    /// Whether the node answers TCP on the probe port at its InternalIP. A node without an
    /// address cannot be reached.
    async fn reachable(&self, node: &Node) -> bool {
        let Some(address) = internal_ip(node) else {
            return false;
        };
        let port = self.settings.probe_port;
        let connect = tokio::net::TcpStream::connect((address.as_str(), port));
        matches!(
            tokio::time::timeout(self.settings.probe_timeout, connect).await,
            Ok(Ok(_))
        )
    }

    async fn attempt(&self, node: &Node, since: &str) -> Result<Outcome, (&'static str, String)> {
        let name = node.name_any();
        if !self.enabled().await.map_err(|e| ("osdpl", e))? {
            return Ok(Outcome::Skipped(Skip::NotEnabled, None));
        }
        let lock_name = lock::lock_name(&name);
        let lock = self.locks.find(|l| l.name_any() == lock_name);
        if let Err(skip) = instance_ha::kubernetes_checks(node, lock.as_deref()) {
            return Ok(Outcome::Skipped(skip, None));
        }
        let session = self.session().await.map_err(|e| ("clouds", e))?;
        let hosts = services::segment_hosts(&session, &name)
            .await
            .map_err(|e| ("masakari", e))?;
        let sent = match hosts.as_deref() {
            Some(hosts) if !hosts.is_empty() => {
                services::notifications_since(&session, hosts, since)
                    .await
                    .map_err(|e| ("masakari", e))?
            }
            _ => 0,
        };
        if let Err(skip) = instance_ha::masakari_checks(hosts.as_deref(), sent) {
            return Ok(Outcome::Skipped(skip, None));
        }
        let servers = services::servers_on(&session, &name)
            .await
            .map_err(|e| ("nova", e))?;
        let compute_up = if servers > 0 {
            services::compute_services_up(&session, &name)
                .await
                .map_err(|e| ("nova", e))?
        } else {
            0
        };
        let agents = if servers > 0 && compute_up == 0 {
            services::agents_alive(&session, &name)
                .await
                .map_err(|e| ("neutron", e))?
        } else {
            0
        };
        match instance_ha::openstack_checks(servers, compute_up, agents) {
            Err(skip) => return Ok(Outcome::Skipped(skip, None)),
            Ok(Some(alive)) => return Ok(Outcome::Alive(alive)),
            Ok(None) => {}
        }
        if self.reachable(node).await {
            return Ok(Outcome::Alive(Alive::Reachable));
        }
        match services::notify(&session, &name, since)
            .await
            .map_err(|e| ("masakari", e))?
        {
            None => Ok(Outcome::Skipped(Skip::NoMasakari, None)),
            Some(Posted::Created(uuid)) => Ok(Outcome::Sent(uuid)),
            Some(Posted::UnknownHost(message)) => {
                Ok(Outcome::Skipped(Skip::NotInSegment, Some(message)))
            }
            Some(Posted::Conflict(message)) => Ok(Outcome::Skipped(Skip::Conflict, Some(message))),
        }
    }
}

impl InstanceHa for Masakari {
    async fn compute_host_down(&self, node: &Node, since: &str) -> Result<Handled, String> {
        let name = node.name_any();
        let reference = node.object_ref(&());
        match self.attempt(node, since).await {
            Ok(Outcome::Sent(uuid)) => {
                self.metrics.instance_ha("sent", "notified");
                tracing::warn!(node = %name, since, notification = %uuid, "Masakari COMPUTE_HOST notification sent");
                let note = format!(
                    "NotReady since {since}: Masakari COMPUTE_HOST notification {uuid} sent"
                );
                self.events
                    .warning(&reference, "InstanceHaNotified", &note)
                    .await;
                Ok(Handled::Done)
            }
            Ok(Outcome::Skipped(skip, message)) => {
                self.metrics.instance_ha("skipped", skip.reason());
                let detail = message.map(|m| format!(" ({m})")).unwrap_or_default();
                tracing::info!(node = %name, since, reason = skip.reason(), "no Masakari notification: {}{detail}", skip.describe());
                let note = format!(
                    "NotReady since {since}: no Masakari notification, {}{detail}",
                    skip.describe()
                );
                self.events
                    .normal(&reference, "InstanceHaSkipped", &note)
                    .await;
                Ok(Handled::Done)
            }
            Ok(Outcome::Alive(alive)) => {
                self.metrics.instance_ha("recheck", alive.reason());
                tracing::info!(node = %name, since, reason = alive.reason(), recheck_seconds = self.settings.recheck.as_secs(), "host still looks alive; Masakari notification deferred");
                Ok(Handled::Recheck {
                    after: self.settings.recheck,
                })
            }
            Err((step, message)) => {
                self.metrics.instance_ha("failed", step);
                Err(message)
            }
        }
    }
}

/// The instance HA `--instance-ha` chose.
pub enum Choice {
    /// `disabled`.
    Off(instance_ha::Disabled),
    /// `auto` or `enabled`.
    On(Box<Masakari>),
}

impl InstanceHa for Choice {
    async fn compute_host_down(&self, node: &Node, since: &str) -> Result<Handled, String> {
        match self {
            Choice::Off(off) => off.compute_host_down(node, since).await,
            Choice::On(masakari) => masakari.compute_host_down(node, since).await,
        }
    }
}

/// The node's first `InternalIP`.
fn internal_ip(node: &Node) -> Option<String> {
    node.status
        .as_ref()?
        .addresses
        .as_ref()?
        .iter()
        .find(|a| a.type_ == "InternalIP")
        .map(|a| a.address.clone())
}
