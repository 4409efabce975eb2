//! State shared by the server, the handlers and the in-process controls.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::calls::CallLog;
use crate::faults::FaultSet;
use crate::world::World;

/// Everything behind the simulator.
#[derive(Debug)]
pub struct Shared {
    /// The workspace.
    pub world: Mutex<World>,
    /// The call log.
    pub calls: Mutex<CallLog>,
    /// Fault rules.
    pub faults: Mutex<FaultSet>,
    /// The always-valid admin token.
    pub admin_token: String,
    /// The seed of the fault random source.
    pub fault_seed: u64,
    /// The seed the simulator started with (what a reset returns to).
    pub initial_seed: Option<crate::seed::Seed>,
    /// Extra tokens given at start.
    pub extra_tokens: Vec<String>,
}

/// The handle handlers get.
pub type SharedState = Arc<Shared>;

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    /// The workspace, with every long operation advanced to now.
    pub fn world(&self) -> MutexGuard<'_, World> {
        let mut w = relock(&self.world);
        w.settle();
        w
    }

    /// The call log.
    pub fn calls(&self) -> MutexGuard<'_, CallLog> {
        relock(&self.calls)
    }

    /// The fault rules.
    pub fn faults(&self) -> MutexGuard<'_, FaultSet> {
        relock(&self.faults)
    }
}
