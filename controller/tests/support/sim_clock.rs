//! The engine on the simulator's clock: passes whose "now" is the simulated workspace's, so a
//! check that polls for a bounded time sees that time pass when a test advances the simulator
//! (and never waits for the machine).

use agentrelease::engine::{self, Clock, Mode, Outcome};
use agentrelease_sim::SimControl;

use super::Harness;

/// Now is the simulator's now.
pub struct SimTime(pub SimControl);

impl Clock for SimTime {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(self.0.now_ms()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }
}

impl Harness {
    /// One pass on the simulator's clock (status kept as [`Harness::pass`] does).
    pub async fn pass_on_sim_time(&mut self, mode: Mode) -> Outcome {
        let clock = SimTime(self.control());
        let outcome = engine::reconcile(
            &self.release,
            &self.target.spec,
            self.identity.clone(),
            &self.ws,
            &clock,
            mode,
        )
        .await;
        if mode == Mode::Apply {
            self.release.status = Some(outcome.status.clone());
        }
        outcome
    }

    /// Passes on the simulator's clock until Ready or Stalled (or `max` passes), the clock
    /// moving on by what each pass asked to wait; the Events of all passes.
    pub async fn run_on_sim_time(&mut self, max: usize) -> (Outcome, Vec<engine::Event>) {
        let mut events = Vec::new();
        let mut outcome = self.pass_on_sim_time(Mode::Apply).await;
        events.extend(outcome.events.clone());
        for _ in 0..max {
            if outcome.is_ready() || outcome.needs_human() {
                break;
            }
            self.wait(&outcome);
            outcome = self.pass_on_sim_time(Mode::Apply).await;
            events.extend(outcome.events.clone());
        }
        (outcome, events)
    }
}
