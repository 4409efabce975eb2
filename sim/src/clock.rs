//! The simulated clock: wall time at start plus scaled real time plus manual advances. Long
//! operations (app compute, deployments, endpoint updates, token expiry) are evaluated against it
//! when read, so tests make them finish by advancing or speeding up the clock.

use std::time::{Duration, Instant};

/// A clock whose speed and offset tests control.
#[derive(Debug, Clone)]
pub struct SimClock {
    /// Epoch milliseconds at the last rebase.
    base_ms: i64,
    /// Real instant of the last rebase.
    base_real: Instant,
    /// Simulated seconds per real second.
    scale: f64,
}

impl SimClock {
    /// A clock starting at the current wall time.
    pub fn new(scale: f64) -> Self {
        SimClock {
            base_ms: jiff::Timestamp::now().as_millisecond(),
            base_real: Instant::now(),
            scale: sanitize_scale(scale),
        }
    }

    /// Simulated epoch milliseconds now.
    pub fn now_ms(&self) -> i64 {
        let real = self.base_real.elapsed().as_secs_f64() * 1000.0 * self.scale;
        self.base_ms.saturating_add(real as i64)
    }

    /// Moves the clock forward.
    pub fn advance(&mut self, by: Duration) {
        let now = self.now_ms();
        self.base_ms = now.saturating_add(i64::try_from(by.as_millis()).unwrap_or(i64::MAX));
        self.base_real = Instant::now();
    }

    /// Changes the speed from now on.
    pub fn set_scale(&mut self, scale: f64) {
        let now = self.now_ms();
        self.base_ms = now;
        self.base_real = Instant::now();
        self.scale = sanitize_scale(scale);
    }

    /// The current speed.
    pub fn scale(&self) -> f64 {
        self.scale
    }
}

fn sanitize_scale(scale: f64) -> f64 {
    if scale.is_finite() && scale >= 0.0 {
        scale
    } else {
        1.0
    }
}

/// Renders epoch milliseconds as an RFC 3339 timestamp (Apps uses these).
pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_time_forward_by_exactly_that_much() {
        let mut clock = SimClock::new(0.0);
        let before = clock.now_ms();
        clock.advance(Duration::from_secs(30));
        assert_eq!(clock.now_ms() - before, 30_000);
    }

    #[test]
    fn a_frozen_clock_stands_still_and_bad_scales_fall_back_to_real_time() {
        let clock = SimClock::new(0.0);
        let a = clock.now_ms();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(clock.now_ms(), a);
        assert_eq!(SimClock::new(f64::NAN).scale(), 1.0);
        assert_eq!(SimClock::new(-2.0).scale(), 1.0);
    }
}
