//! How long `apply` waits between the passes of one release: what the engine asked for after a
//! long operation, and after a transient failure a backoff that doubles while nothing moves and
//! starts over as soon as the release makes progress (a step is done that was not, or another
//! step is the one in front).

use std::time::Duration;

use crate::engine::{Outcome, Requeue};

/// The first wait after a transient failure.
pub const BASE: Duration = Duration::from_millis(500);
/// The longest wait after transient failures.
pub const MAX: Duration = Duration::from_secs(30);

/// The longest pause inside a pass against the embedded simulator (its clock runs faster
/// than the wall clock, so a short pause is a long one there).
pub const SIMULATED_PAUSE: Duration = Duration::from_millis(250);
/// The longest pause inside a pass against a real workspace.
pub const PAUSE: Duration = Duration::from_secs(15);
/// How long one pass may wait inside itself on long operations.
pub const PASS_BUDGET: Duration = Duration::from_secs(50);

/// How a pass of `apply` waits inside itself (see [`crate::engine::InlineWait`]).
pub fn inline_wait(simulated: bool) -> crate::engine::InlineWait {
    let longest = if simulated { SIMULATED_PAUSE } else { PAUSE };
    crate::engine::InlineWait::new(PASS_BUDGET, longest)
}

/// Where a release stands, as far as progress goes: how many steps are done, and the step in
/// front with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    done: usize,
    front: Option<(&'static str, String)>,
}

impl Progress {
    /// Of a pass.
    pub fn of(outcome: &Outcome) -> Self {
        Progress {
            done: outcome.steps.iter().filter(|s| s.outcome == "done").count(),
            front: outcome
                .steps
                .iter()
                .find(|s| s.outcome != "done")
                .map(|s| (s.step, s.reason.clone())),
        }
    }
}

/// The pacing of one release.
#[derive(Debug)]
pub struct Pacing {
    backoff: Duration,
    last: Option<Progress>,
    simulated: bool,
}

impl Pacing {
    /// A release's pacing; against the embedded simulator the engine's waits are capped short.
    pub fn new(simulated: bool) -> Self {
        Pacing {
            backoff: BASE,
            last: None,
            simulated,
        }
    }

    /// The wait before the next pass (pure but for the state it keeps).
    pub fn next(&mut self, progress: Progress, requeue: Requeue) -> Duration {
        if self.last.as_ref() != Some(&progress) {
            self.backoff = BASE;
        }
        self.last = Some(progress);
        match requeue {
            Requeue::After(d) if self.simulated => d.min(SIMULATED_PAUSE),
            Requeue::After(d) => d,
            Requeue::Backoff => {
                let d = self.backoff;
                self.backoff = (self.backoff * 2).min(MAX);
                d
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(done: usize, step: &'static str) -> Progress {
        Progress {
            done,
            front: Some((step, "TransientError".into())),
        }
    }

    #[test]
    fn backoff_doubles_while_stuck_and_starts_over_on_progress() {
        let mut p = Pacing::new(false);
        assert_eq!(p.next(at(3, "plan"), Requeue::Backoff), BASE);
        assert_eq!(p.next(at(3, "plan"), Requeue::Backoff), BASE * 2);
        assert_eq!(p.next(at(3, "plan"), Requeue::Backoff), BASE * 4);
        // The plan got written: the next failure waits the base again.
        assert_eq!(p.next(at(4, "promote"), Requeue::Backoff), BASE);
        for _ in 0..20 {
            p.next(at(4, "promote"), Requeue::Backoff);
        }
        assert_eq!(p.next(at(4, "promote"), Requeue::Backoff), MAX);
    }

    #[test]
    fn engine_waits_are_kept_and_capped_on_the_simulator() {
        let long = Requeue::After(Duration::from_secs(10));
        assert_eq!(
            Pacing::new(false).next(at(1, "app"), long),
            Duration::from_secs(10)
        );
        assert_eq!(
            Pacing::new(true).next(at(1, "app"), long),
            Duration::from_millis(250)
        );
    }
}
