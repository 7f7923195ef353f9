//! The leader gate: whether this process may write now, judged on the monotonic clock.
//!
//! The elector ([`super::elector`]) extends the gate after each successful renewal of the
//! Lease, to the moment the renewal *started* plus the renew deadline; everything that writes
//! (the fenced client of [`super::fence`], osdpl's helm runner, the controllers' reconciles)
//! asks [`LeaderGate::is_leading`] right before it writes. The answer is computed from
//! [`Instant::now`] at that moment, never from a flag some task has to flip: a process that
//! was paused (SIGSTOP, a frozen cgroup, a long GC-like stall) past its deadline sees on its
//! first instruction after resuming that its time has passed, before any timer or the elector
//! ran. `Instant` is `CLOCK_MONOTONIC` on Linux, which keeps counting while the process is
//! stopped and never jumps with the wall clock.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::stream::BoxStream;
use tokio::sync::watch;

/// Whether, and until when, this process leads. Cheap to clone; all clones share the state.
#[derive(Clone, Debug)]
pub struct LeaderGate {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// `false`: leader election is off and the process always leads.
    elected: bool,
    /// End of the current term (exclusive); `None` while standing by.
    until: Mutex<Option<Instant>>,
    /// Each start of a term bumps the generation (for [`LeaderGate::gained`]); each change of
    /// the term wakes [`LeaderGate::lost`].
    changes: watch::Sender<u64>,
}

impl LeaderGate {
    /// A gate that is always open: leader election is off.
    pub fn always() -> Self {
        Self::new(false)
    }

    /// A gate that opens only while the elector holds the Lease; closed at first.
    pub fn elected() -> Self {
        Self::new(true)
    }

    fn new(elected: bool) -> Self {
        Self {
            inner: Arc::new(Inner {
                elected,
                until: Mutex::new(None),
                changes: watch::channel(0).0,
            }),
        }
    }

    /// Whether leader election decides (false: this process always leads).
    pub fn is_elected(&self) -> bool {
        self.inner.elected
    }

    /// Whether this process may write at this instant.
    pub fn is_leading(&self) -> bool {
        self.is_leading_at(Instant::now())
    }

    /// Whether this process may write at `now`.
    pub fn is_leading_at(&self, now: Instant) -> bool {
        !self.inner.elected || self.until().is_some_and(|until| now < until)
    }

    /// End of the current term, if any (`None` also when election is off).
    pub fn until(&self) -> Option<Instant> {
        *self
            .inner
            .until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the end of the term to `until` (a renewal that started at `until - deadline`);
    /// the elector's call (and tests').
    /// Returns whether this starts a new term (the gate was closed at `now`).
    pub fn extend(&self, until: Instant, now: Instant) -> bool {
        let started = !self.is_leading_at(now) && now < until;
        *self
            .inner
            .until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(until);
        self.inner.changes.send_modify(|generation| {
            if started {
                *generation += 1;
            }
        });
        started
    }

    /// Closes the gate now (another holder was seen, or the process is releasing the Lease).
    pub fn revoke(&self) {
        *self
            .inner
            .until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        self.inner.changes.send_modify(|_| {});
    }

    /// Resolves once this process may no longer write: at once when it does not lead now,
    /// else when its term ends (by the clock) or is revoked. Never resolves when election is
    /// off.
    pub async fn lost(&self) {
        if !self.inner.elected {
            return futures::future::pending().await;
        }
        let mut changes = self.inner.changes.subscribe();
        loop {
            let Some(until) = self.until().filter(|until| Instant::now() < *until) else {
                return;
            };
            tokio::select! {
                () = tokio::time::sleep_until(until.into()) => {}
                changed = changes.changed() => {
                    if changed.is_err() {
                        // The gate itself is gone; nothing can extend the term any more.
                        tokio::time::sleep_until(until.into()).await;
                    }
                }
            }
        }
    }

    /// A stream with an item each time a term starts (for reconciling everything then). Ends
    /// never; yields nothing when election is off.
    pub fn gained(&self) -> BoxStream<'static, ()> {
        let mut changes = self.inner.changes.subscribe();
        let seen = *changes.borrow_and_update();
        Box::pin(futures::stream::unfold(
            (changes, seen),
            |(mut changes, seen)| async move {
                loop {
                    if changes.changed().await.is_err() {
                        return futures::future::pending().await;
                    }
                    let generation = *changes.borrow_and_update();
                    if generation != seen {
                        return Some(((), (changes, generation)));
                    }
                }
            },
        ))
    }
}

/// Lease timings, validated so a leader always stops writing before others may take over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timings {
    /// How long others wait after the last renewal they saw before taking the Lease.
    pub lease: Duration,
    /// How long after a renewal started the leader keeps writing without another one.
    pub renew_deadline: Duration,
    /// Pause between attempts (renewals by the leader, tries by a standby).
    pub retry: Duration,
}

impl Timings {
    /// Checks `0 < retry < renew deadline < lease`, so a leader renews several times per
    /// deadline, and stops writing at least `lease - renew deadline` before another process
    /// can count the Lease expired (room for a write already sent and a clock running slow).
    pub fn new(lease: Duration, renew_deadline: Duration, retry: Duration) -> Result<Self, String> {
        if retry.is_zero() || retry >= renew_deadline || renew_deadline >= lease {
            return Err(format!(
                "leader election needs 0 < retry ({retry:?}) < renew deadline \
                 ({renew_deadline:?}) < lease duration ({lease:?})"
            ));
        }
        Ok(Self {
            lease,
            renew_deadline,
            retry,
        })
    }

    /// The Lease's `leaseDurationSeconds`: whole seconds, rounded up, so others never wait less
    /// than [`Self::lease`].
    pub fn lease_seconds(&self) -> i32 {
        let millis = self.lease.as_millis().div_ceil(1000);
        i32::try_from(millis).unwrap_or(i32::MAX).max(1)
    }

    /// Time limit of one Lease request: an answer after the deadline is of no use.
    pub fn request_timeout(&self) -> Duration {
        self.renew_deadline
            .saturating_sub(self.retry)
            .max(self.retry)
    }
}

#[cfg(test)]
#[path = "gate_tests.rs"]
mod tests;
