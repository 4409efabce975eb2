//! Waiting inside a pass. A pass that ends at every long operation starts over from the gates
//! the next time: the evaluation summary, the signoff, the model version, the lock and the
//! ledger are read again while an app's compute starts or a deployment runs. `apply` from CI
//! waits inside the pass instead, on the step that is waiting, within a budget that keeps the
//! release lock well inside its expiry; the controller does not (a reconcile never holds a
//! worker while another release could use it).

use std::time::Duration;

use super::lock;

/// How long a pass may wait inside itself, and how long each pause lasts at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InlineWait {
    left: Duration,
    longest: Duration,
}

impl InlineWait {
    /// Pauses of at most `longest` each, `budget` in all. The budget is held to half the release
    /// lock's expiry, so a pass that waits never outlives the lock it holds.
    pub fn new(budget: Duration, longest: Duration) -> Self {
        InlineWait {
            left: budget.min(lock::TTL / 2),
            longest,
        }
    }

    /// The pause before looking again at a step that asked to be looked at `after`, or `None`
    /// when the budget is spent (the pass ends and the caller paces the next one).
    pub fn take(&mut self, after: Duration) -> Option<Duration> {
        let pause = after.min(self.longest);
        if pause.is_zero() || pause > self.left {
            return None;
        }
        self.left -= pause;
        Some(pause)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn pauses_are_capped_and_add_up_to_the_budget_at_most() {
        let mut w = InlineWait::new(MS * 600, MS * 250);
        assert_eq!(w.take(Duration::from_secs(5)), Some(MS * 250));
        assert_eq!(w.take(MS * 100), Some(MS * 100));
        assert_eq!(w.take(MS * 200), Some(MS * 200));
        // 50 ms left: a pause of 250 ms does not fit, the pass ends.
        assert_eq!(w.take(Duration::from_secs(5)), None);
        assert_eq!(w.take(MS * 50), Some(MS * 50));
        assert_eq!(w.take(MS), None);
    }

    #[test]
    fn the_budget_stays_inside_the_lock_expiry() {
        let mut w = InlineWait::new(Duration::from_secs(3600), Duration::from_secs(3600));
        assert_eq!(w.take(Duration::from_secs(3600)), None);
        assert_eq!(w.take(lock::TTL / 2), Some(lock::TTL / 2));
    }

    #[test]
    fn a_step_that_asks_for_no_pause_is_not_waited_on() {
        let mut w = InlineWait::new(Duration::from_secs(10), Duration::from_secs(1));
        assert_eq!(w.take(Duration::ZERO), None);
    }
}
