//! When to retry: 429 and 503 (honouring `Retry-After`), connection failures; with exponential
//! backoff and jitter, bounded by attempts and a total time budget. 500, 502 and 504 are not
//! retried, as the official SDKs do not (the operator's next pass retries them).

use std::time::Duration;

use rand::Rng;

/// The retry policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub max_attempts: u32,
    /// The first backoff.
    pub base_delay: Duration,
    /// The longest backoff.
    pub max_delay: Duration,
    /// The most time spent on one call, waits included.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            budget: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before attempt `next` (2 for the first retry), or `None` to give up.
    /// `retry_after` is the server's hint; `elapsed` the time spent so far.
    pub fn delay(
        &self,
        next: u32,
        retry_after: Option<Duration>,
        elapsed: Duration,
    ) -> Option<Duration> {
        if next > self.max_attempts {
            return None;
        }
        let remaining = self.budget.checked_sub(elapsed)?;
        let wait = match retry_after {
            Some(hint) => hint,
            None => {
                let exp = self
                    .base_delay
                    .saturating_mul(1u32 << (next.saturating_sub(2)).min(16));
                let capped = exp.min(self.max_delay);
                let jitter = rand::rng().random_range(0.5..=1.0);
                Duration::try_from_secs_f64(capped.as_secs_f64() * jitter).unwrap_or(capped)
            }
        };
        (wait <= remaining).then_some(wait)
    }
}

/// Whether a status is worth retrying.
pub fn retryable_status(status: u16) -> bool {
    status == 429 || status == 503
}

/// Parses an integer `Retry-After` (seconds); HTTP dates are not used by Databricks.
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s.min(3600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_honoured_within_the_budget() {
        let p = RetryPolicy {
            budget: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        assert_eq!(
            p.delay(2, Some(Duration::from_secs(2)), Duration::ZERO),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            p.delay(2, Some(Duration::from_secs(9)), Duration::ZERO),
            None,
            "beyond the budget"
        );
        assert_eq!(
            p.delay(6, None, Duration::ZERO),
            None,
            "beyond max attempts"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            max_attempts: 10,
            budget: Duration::from_secs(60),
        };
        let d2 = p.delay(2, None, Duration::ZERO).unwrap();
        let d6 = p.delay(6, None, Duration::ZERO).unwrap();
        assert!(d2 <= Duration::from_millis(100) && d2 >= Duration::from_millis(50));
        assert!(d6 <= Duration::from_millis(300) && d6 >= Duration::from_millis(150));
    }

    #[test]
    fn retry_after_parsing() {
        assert_eq!(parse_retry_after(Some("3")), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_retry_after(None), None);
        assert!(retryable_status(429) && retryable_status(503) && !retryable_status(500));
    }
}
