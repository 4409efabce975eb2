//! A token-bucket rate limit per client (shared by its clones), which also holds every
//! request of the client back when the workspace says it is overloaded (429, `Retry-After`):
//! one client is one workspace, so a throttling workspace slows only its own requests.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// The longest hold a workspace's `Retry-After` can impose on its client (a hostile or
/// mistaken `Retry-After: 86400` does not stop a workspace's releases for a day).
pub const MAX_HOLD: Duration = Duration::from_secs(60);

/// Requests per second with a burst of one second's worth. Each request is given its own
/// slot when it asks (first come, first served) and sleeps once until it, so a thousand
/// requests waiting on one client neither starve one another nor all wake up for every token.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    burst: Duration,
    /// When the next request may go; up to `burst` in the past (tokens saved while idle).
    next: Mutex<Instant>,
}

impl RateLimiter {
    /// A limiter admitting `per_second` requests per second (at least 1).
    pub fn new(per_second: u32) -> Self {
        let rate = per_second.max(1);
        let burst = Duration::from_secs(1);
        let now = Instant::now();
        RateLimiter {
            interval: Duration::from_secs(1) / rate,
            burst,
            next: Mutex::new(now.checked_sub(burst).unwrap_or(now)),
        }
    }

    /// Waits for this request's slot.
    pub async fn acquire(&self) {
        let now = Instant::now();
        let at = {
            let mut next = self.next.lock().await;
            if let Some(earliest) = now.checked_sub(self.burst)
                && *next < earliest
            {
                *next = earliest;
            }
            let at = *next;
            *next = at + self.interval;
            at
        };
        if at > now {
            tokio::time::sleep_until(at).await;
        }
    }

    /// Holds every request not yet given a slot until `wait` from now (at most [`MAX_HOLD`]);
    /// the burst saved while idle is gone. A hold never shortens the queue already waiting.
    pub async fn hold(&self, wait: Duration) {
        let until = Instant::now() + wait.min(MAX_HOLD);
        let mut next = self.next.lock().await;
        if *next < until {
            *next = until;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_beyond_the_rate_waits() {
        let limiter = RateLimiter::new(10);
        let start = tokio::time::Instant::now();
        for _ in 0..20 {
            limiter.acquire().await;
        }
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(900), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_stops_every_request_until_it_ends_then_the_rate_resumes() {
        let limiter = RateLimiter::new(10);
        let start = tokio::time::Instant::now();
        limiter.hold(Duration::from_secs(2)).await;
        // The burst saved while idle does not jump the hold.
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(2100));
        // A shorter hold does not let anyone ahead of the queue.
        limiter.hold(Duration::from_millis(10)).await;
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(2200));
    }

    #[tokio::test(start_paused = true)]
    async fn a_huge_retry_after_holds_at_most_a_minute() {
        let limiter = RateLimiter::new(10);
        let start = tokio::time::Instant::now();
        limiter.hold(Duration::from_secs(86_400)).await;
        limiter.acquire().await;
        assert_eq!(start.elapsed(), MAX_HOLD);
    }

    #[tokio::test(start_paused = true)]
    async fn many_waiters_are_served_in_order_at_the_rate() {
        let limiter = std::sync::Arc::new(RateLimiter::new(100));
        let start = tokio::time::Instant::now();
        // 100 go at once (the burst), the next 400 at 10 ms each, in the order they asked.
        let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let tasks: Vec<_> = (0..500)
            .map(|i| {
                let (limiter, order) = (limiter.clone(), order.clone());
                tokio::spawn(async move {
                    limiter.acquire().await;
                    order.lock().expect("lock").push(i);
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(3990) && waited <= Duration::from_millis(4100),
            "{waited:?}"
        );
        let order = order.lock().expect("lock").clone();
        assert_eq!(order.len(), 500);
        assert!(order.windows(2).skip(100).all(|w| w[0] < w[1]), "{order:?}");
    }
}
