//! The one retry policy of the suite: capped exponential backoff.
//!
//! [`delay`] is the rule (the first failure waits `base`, each further one doubles, never
//! beyond `max`); [`Backoff`] keeps failure counts per key for the controller's error policy
//! and forgets a key as soon as it reconciles successfully. osdpl's per-release helm backoff
//! counts failures per values hash and asks [`delay`] for the wait. [`WatchBackoff`] is the
//! same rule for watches, with a short cap: a watch that lost the API server retries every
//! few seconds, so caches catch up within seconds of its return.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// How long to wait after the `failures`-th failure in a row (1 = the first).
pub fn delay(base: Duration, max: Duration, failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(31);
    base.saturating_mul(1u32 << exponent).min(max.max(base))
}

/// Per-object capped exponential backoff.
#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    /// A policy whose first delay is `base`, doubling up to `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max: max.max(base),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Records one more failure of `key` and returns how long to wait before retrying it.
    pub fn next_delay(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let count = failures.entry(key.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
        delay(self.base, self.max, *count)
    }

    /// Forgets the failures of `key` after it reconciled successfully.
    pub fn reset(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// Number of objects currently backing off.
    pub fn len(&self) -> usize {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Whether no object is backing off.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The first retry of a broken watch.
const WATCH_BASE: Duration = Duration::from_millis(250);
/// The longest wait between retries of a broken watch. kube-runtime's default (30 s, reset
/// only after 120 s) left caches minutes behind an API server that came back.
const WATCH_MAX: Duration = Duration::from_secs(3);

/// Retry delays of a broken watch: [`delay`] from 250 ms up to 3 s, back to the start as
/// soon as the watch delivers again.
#[derive(Debug, Default)]
pub struct WatchBackoff {
    failures: u32,
}

impl Iterator for WatchBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.failures = self.failures.saturating_add(1);
        Some(delay(WATCH_BASE, WATCH_MAX, self.failures))
    }
}

impl kube::runtime::utils::Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_per_failure_up_to_the_cap() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
        let delays: Vec<u64> = (0..6).map(|_| backoff.next_delay("a").as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 10, 10]);
    }

    #[test]
    fn backoff_is_kept_per_object_and_reset_on_success() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        backoff.next_delay("a");
        backoff.next_delay("a");
        assert_eq!(backoff.next_delay("b"), Duration::from_secs(1));
        backoff.reset("a");
        assert_eq!(backoff.next_delay("a"), Duration::from_secs(1));
    }

    #[test]
    fn the_delay_rule_starts_at_base_and_never_passes_the_cap() {
        let (base, max) = (Duration::from_secs(2), Duration::from_secs(30));
        let delays: Vec<u64> = (1..=6).map(|n| delay(base, max, n).as_secs()).collect();
        assert_eq!(delays, vec![2, 4, 8, 16, 30, 30]);
        assert_eq!(delay(base, max, u32::MAX), max);
    }

    #[test]
    fn backoff_survives_very_many_failures() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(300));
        for _ in 0..100 {
            assert!(backoff.next_delay("a") <= Duration::from_secs(300));
        }
    }

    #[test]
    fn a_broken_watch_retries_within_seconds_and_starts_over_once_it_delivers() {
        use kube::runtime::utils::Backoff as _;
        let mut watch = WatchBackoff::default();
        let delays: Vec<u128> = watch.by_ref().take(6).map(|d| d.as_millis()).collect();
        assert_eq!(delays, vec![250, 500, 1000, 2000, 3000, 3000]);
        watch.reset();
        assert_eq!(watch.next(), Some(WATCH_BASE));
    }
}
