//! The elector: takes, renews and releases this binary's `coordination.k8s.io/v1` Lease.
//!
//! One loop per process. Every `retry` it reads the Lease (a leader within its term renews
//! straight from the copy it wrote last, one request instead of two) and decides with
//! [`decide`]: renew its own, take one that is free or expired, or stand by. Every write is a
//! `replace` carrying the `resourceVersion` it read (a `create` for a missing Lease), so of
//! two processes racing for a Lease exactly one wins; the other gets a conflict and stands by.
//!
//! Expiry is judged the way client-go judges it: not from the `renewTime` written by another
//! machine's clock, but from when *this* process last saw the record change, on its own
//! monotonic clock. The leader extends its [`LeaderGate`] to the moment a successful renewal
//! started plus the renew deadline, which is shorter than the lease duration: a leader that
//! cannot renew (API away, process paused) stops writing at least `lease - renew deadline`
//! before any other process can count the Lease expired.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;
use prometheus::IntGauge;
use tokio::sync::watch;

use super::{LeaderGate, Timings};

/// What to do with a Lease as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// It is ours: renew it.
    Renew,
    /// Nobody holds it, or its holder stopped renewing: take it.
    Take,
    /// Someone else holds it (named): stand by.
    Wait(String),
}

/// Decides about a Lease whose current record (`spec`) this process first saw at `seen`.
pub fn decide(spec: &LeaseSpec, identity: &str, seen: Instant, now: Instant) -> Decision {
    let holder = spec.holder_identity.as_deref().unwrap_or_default();
    if holder.is_empty() {
        return Decision::Take;
    }
    if holder == identity {
        return Decision::Renew;
    }
    let seconds = spec.lease_duration_seconds.unwrap_or(0).max(0);
    let duration = Duration::from_secs(u64::try_from(seconds).unwrap_or(0));
    if now.duration_since(seen) >= duration {
        Decision::Take
    } else {
        Decision::Wait(holder.to_owned())
    }
}

/// The outcome of one attempt.
#[derive(Debug)]
enum Outcome {
    /// The Lease is ours, renewed by a request that started at the attempt's start.
    Leading,
    /// Another process holds it (`None`: it won a race we just lost).
    Standby(Option<String>),
}

/// Takes part in the election for one Lease.
pub struct Elector {
    pub(super) api: Api<Lease>,
    pub(super) name: String,
    pub(super) identity: String,
    pub(super) timings: Timings,
    pub(super) gate: LeaderGate,
    pub(super) metric: IntGauge,
    /// The last record read and when this process first saw it.
    observed: Option<(LeaseSpec, Instant)>,
    /// The Lease as our last successful write left it.
    own: Option<Lease>,
    /// Whether the last look at the gate said leading (for logging transitions once).
    was_leading: bool,
}

impl Elector {
    /// An elector for Lease `name` of `api`'s namespace, as `identity`.
    pub fn new(
        api: Api<Lease>,
        name: String,
        identity: String,
        timings: Timings,
        gate: LeaderGate,
        metric: IntGauge,
    ) -> Self {
        Self {
            api,
            name,
            identity,
            timings,
            gate,
            metric,
            observed: None,
            own: None,
            was_leading: false,
        }
    }

    /// Runs until `stop` fires, then releases the Lease if this process holds it.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        tracing::info!(
            lease = %self.name,
            identity = %self.identity,
            lease_seconds = self.timings.lease.as_secs_f64(),
            renew_deadline_seconds = self.timings.renew_deadline.as_secs_f64(),
            retry_seconds = self.timings.retry.as_secs_f64(),
            "leader election: standing by until the Lease is ours"
        );
        loop {
            let started = Instant::now();
            let attempt = tokio::time::timeout(self.timings.request_timeout(), self.attempt());
            match attempt.await {
                Ok(Ok(Outcome::Leading)) => {
                    self.gate
                        .extend(started + self.timings.renew_deadline, Instant::now());
                }
                Ok(Ok(Outcome::Standby(holder))) => {
                    if self.gate.is_leading() {
                        tracing::warn!(lease = %self.name, holder = holder.as_deref().unwrap_or("?"), "the Lease has another holder");
                    }
                    self.gate.revoke();
                }
                Ok(Err(error)) => {
                    self.own = None;
                    tracing::warn!(lease = %self.name, %error, "cannot read or renew the Lease");
                }
                Err(_) => {
                    self.own = None;
                    tracing::warn!(lease = %self.name, timeout_seconds = self.timings.request_timeout().as_secs_f64(), "Lease request timed out");
                }
            }
            self.note_transition();
            let mut wake = Instant::now() + self.timings.retry;
            if let Some(until) = self.gate.until().filter(|_| self.gate.is_leading()) {
                // Wake at the end of the term too, so its loss is logged and counted on time.
                wake = wake.min(until);
            }
            tokio::select! {
                () = tokio::time::sleep_until(wake.into()) => {}
                _ = stop.wait_for(|stop| *stop) => break,
            }
        }
        self.release().await;
    }

    /// Logs and counts a change of leadership (by the gate, which also ends by the clock).
    fn note_transition(&mut self) {
        let leading = self.gate.is_leading();
        if leading != self.was_leading {
            if leading {
                tracing::info!(lease = %self.name, identity = %self.identity, "leading: this process holds the Lease and writes");
            } else {
                tracing::warn!(lease = %self.name, identity = %self.identity, "no longer leading: writes stopped; standing by");
            }
            self.was_leading = leading;
        }
        self.metric.set(i64::from(leading));
    }

    async fn attempt(&mut self) -> kube::Result<Outcome> {
        if self.gate.is_leading()
            && let Some(own) = self.own.clone()
            && let Outcome::Leading = self.write(own, true).await?
        {
            return Ok(Outcome::Leading);
        }
        // No copy, or it was stale (someone touched the Lease): decide on a fresh read.
        let Some(lease) = self.api.get_opt(&self.name).await? else {
            return self.create().await;
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let now = Instant::now();
        let seen = match &self.observed {
            Some((record, at)) if *record == spec => *at,
            _ => now,
        };
        self.observed = Some((spec.clone(), seen));
        match decide(&spec, &self.identity, seen, now) {
            Decision::Renew => self.write(lease, true).await,
            Decision::Take => self.write(lease, false).await,
            Decision::Wait(holder) => Ok(Outcome::Standby(Some(holder))),
        }
    }

    /// The spec this process writes: holder, duration and a fresh renew time.
    fn spec(&self, previous: Option<&LeaseSpec>, renewing: bool) -> LeaseSpec {
        let now = MicroTime(Timestamp::now());
        let previous = previous.cloned().unwrap_or_default();
        let transitions = previous.lease_transitions.unwrap_or(0);
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.timings.lease_seconds()),
            acquire_time: if renewing {
                previous.acquire_time.or(Some(now.clone()))
            } else {
                Some(now.clone())
            },
            renew_time: Some(now),
            lease_transitions: Some(if renewing {
                transitions
            } else {
                transitions.saturating_add(1)
            }),
            ..previous
        }
    }

    async fn write(&mut self, mut lease: Lease, renewing: bool) -> kube::Result<Outcome> {
        lease.spec = Some(self.spec(lease.spec.as_ref(), renewing));
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(written) => self.wrote(written),
            Err(kube::Error::Api(status)) if status.code == 409 => {
                self.own = None;
                Ok(Outcome::Standby(None))
            }
            Err(error) => Err(error),
        }
    }

    async fn create(&mut self) -> kube::Result<Outcome> {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(self.spec(None, false)),
        };
        match self.api.create(&PostParams::default(), &lease).await {
            Ok(written) => self.wrote(written),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(Outcome::Standby(None)),
            Err(error) => Err(error),
        }
    }

    fn wrote(&mut self, written: Lease) -> kube::Result<Outcome> {
        self.observed = written.spec.clone().map(|spec| (spec, Instant::now()));
        self.own = Some(written);
        Ok(Outcome::Leading)
    }

    /// Gives the Lease up on a clean stop, so a standby takes over at its next try instead of
    /// waiting for the lease to expire: closes the gate first, then clears the holder.
    async fn release(&mut self) {
        let leading = self.gate.is_leading();
        self.gate.revoke();
        self.metric.set(0);
        let Some(mut lease) = self.own.take().filter(|_| leading) else {
            return;
        };
        let previous = lease.spec.clone().unwrap_or_default();
        lease.spec = Some(LeaseSpec {
            holder_identity: None,
            lease_duration_seconds: Some(1),
            renew_time: Some(MicroTime(Timestamp::now())),
            ..previous
        });
        let released = tokio::time::timeout(
            self.timings.request_timeout(),
            self.api.replace(&self.name, &PostParams::default(), &lease),
        )
        .await;
        match released {
            Ok(Ok(_)) => tracing::info!(lease = %self.name, "Lease released"),
            Ok(Err(error)) => {
                tracing::warn!(lease = %self.name, %error, "cannot release the Lease; it expires on its own")
            }
            Err(_) => {
                tracing::warn!(lease = %self.name, "releasing the Lease timed out; it expires on its own")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held_by(holder: &str, seconds: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(seconds),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn a_free_lease_is_taken_and_an_own_one_renewed() {
        let now = Instant::now();
        assert_eq!(decide(&LeaseSpec::default(), "a", now, now), Decision::Take);
        let released = LeaseSpec {
            holder_identity: Some(String::new()),
            ..held_by("", 10)
        };
        assert_eq!(decide(&released, "a", now, now), Decision::Take);
        assert_eq!(decide(&held_by("a", 10), "a", now, now), Decision::Renew);
    }

    #[test]
    fn another_holder_is_waited_for_a_full_lease_after_its_last_seen_renewal() {
        let seen = Instant::now();
        let spec = held_by("b", 10);
        assert_eq!(
            decide(&spec, "a", seen, seen + Duration::from_millis(9_999)),
            Decision::Wait("b".into())
        );
        assert_eq!(
            decide(&spec, "a", seen, seen + Duration::from_secs(10)),
            Decision::Take
        );
    }
}
