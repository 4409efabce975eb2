//! Passes that read time from the simulator's clock instead of the wall clock, for checks whose
//! deadlines the tests move past by advancing the simulated clock.

use agentrelease::engine::{self, Clock, Mode, Outcome};
use jiff::Timestamp;

use super::Harness;
use agentrelease_sim::SimControl;

/// The simulator's clock as the engine's.
pub struct SimTime(pub SimControl);

impl Clock for SimTime {
    fn now(&self) -> Timestamp {
        Timestamp::from_millisecond(self.0.now_ms()).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

impl Harness {
    /// One apply pass on the simulated clock; the status is kept as [`Harness::pass`] does.
    pub async fn pass_on_sim_clock(&mut self) -> Outcome {
        let clock = SimTime(self.control());
        let outcome = engine::reconcile(
            &self.release,
            &self.target.spec,
            self.identity.clone(),
            &self.ws,
            &clock,
            Mode::Apply,
        )
        .await;
        self.release.status = Some(outcome.status.clone());
        outcome
    }

    /// Passes on the simulated clock until Ready or Stalled (or `max` passes), the clock moved
    /// on by what each pass asked to wait.
    pub async fn run_on_sim_clock(&mut self, max: usize) -> (Outcome, Vec<engine::Event>) {
        let mut events = Vec::new();
        for _ in 0..max {
            let outcome = self.pass_on_sim_clock().await;
            events.extend(outcome.events.clone());
            if outcome.is_ready() || outcome.needs_human() {
                return (outcome, events);
            }
            self.wait(&outcome);
        }
        let outcome = self.pass_on_sim_clock().await;
        events.extend(outcome.events.clone());
        (outcome, events)
    }
}
