//! Per-object exponential backoff for failed reconciles, reset on success.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;

/// Tracks consecutive failures per object.
#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    /// Doubles from `base` up to `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        Backoff {
            base,
            max,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Records a failure of `key` and returns how long to wait (with ±10% jitter).
    pub fn failed(&self, key: &str) -> Duration {
        let n = match self.failures.lock() {
            Ok(mut map) => {
                let n = map.entry(key.to_string()).or_insert(0);
                *n = n.saturating_add(1);
                *n
            }
            Err(_) => 1,
        };
        let exp = n.saturating_sub(1).min(20);
        let delay = self.base.saturating_mul(1u32 << exp).min(self.max);
        let jitter = rand::rng().random_range(0.9..=1.1);
        delay.mul_f64(jitter).min(self.max)
    }

    /// Forgets the failures of `key`.
    pub fn reset(&self, key: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(key);
        }
    }

    /// Consecutive failures of `key`.
    pub fn failures(&self, key: &str) -> u32 {
        self.failures
            .lock()
            .ok()
            .and_then(|m| m.get(key).copied())
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_caps_and_resets() {
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
        let first = b.failed("a");
        assert!(first >= Duration::from_millis(900) && first <= Duration::from_millis(1100));
        let second = b.failed("a");
        assert!(second >= Duration::from_millis(1800) && second <= Duration::from_millis(2200));
        for _ in 0..10 {
            assert!(b.failed("a") <= Duration::from_secs(10));
        }
        assert_eq!(b.failures("b"), 0, "objects are independent");
        b.reset("a");
        assert_eq!(b.failures("a"), 0);
    }
}
