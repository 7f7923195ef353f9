//! The one retry policy of the suite: capped exponential backoff.
//!
//! [`delay`] is the rule (the first failure waits `base`, each further one doubles, never
//! beyond `max`); [`Backoff`] keeps failure counts per key for the controller's error policy
//! and forgets a key as soon as it reconciles successfully. osdpl's per-release helm backoff
//! counts failures per values hash and asks [`delay`] for the wait.

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
}
