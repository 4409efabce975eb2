//! At most `--workspace-concurrency` reconciles talk to one workspace at a time. A release whose
//! workspace is full does not wait inside the controller's global concurrency (which would let a
//! slow or throttled workspace fill every slot); it is requeued after a short delay and the slot
//! goes to a release of another workspace.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a release whose workspace is full waits before it is looked at again.
pub const RETRY_WHEN_FULL: Duration = Duration::from_secs(2);

/// The slots of every workspace, keyed by the workspace's origin.
#[derive(Debug)]
pub struct WorkspaceSlots {
    per_workspace: usize,
    slots: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl WorkspaceSlots {
    /// `per_workspace` reconciles at once per workspace (at least 1).
    pub fn new(per_workspace: u16) -> WorkspaceSlots {
        WorkspaceSlots {
            per_workspace: usize::from(per_workspace.max(1)),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// A slot of `workspace`, or `None` when all of them are taken. The slot is given back when
    /// the permit is dropped.
    pub fn try_take(&self, workspace: &str) -> Option<OwnedSemaphorePermit> {
        let semaphore = {
            let mut slots = self
                .slots
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            slots
                .entry(workspace.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_workspace)))
                .clone()
        };
        semaphore.try_acquire_owned().ok()
    }

    /// How many reconciles are talking to `workspace` now.
    pub fn busy(&self, workspace: &str) -> usize {
        let slots = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        slots
            .get(workspace)
            .map_or(0, |s| self.per_workspace - s.available_permits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_workspace_refuses_without_touching_the_others() {
        let slots = WorkspaceSlots::new(2);
        let a1 = slots.try_take("https://a").expect("first");
        let _a2 = slots.try_take("https://a").expect("second");
        assert!(slots.try_take("https://a").is_none(), "a is full");
        let _b = slots.try_take("https://b").expect("b has its own slots");
        assert_eq!(slots.busy("https://a"), 2);
        drop(a1);
        assert_eq!(slots.busy("https://a"), 1);
        assert!(slots.try_take("https://a").is_some(), "a slot came back");
    }

    #[test]
    fn zero_means_one() {
        let slots = WorkspaceSlots::new(0);
        let _one = slots.try_take("w").expect("one slot");
        assert!(slots.try_take("w").is_none());
    }
}
