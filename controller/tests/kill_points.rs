//! Kill points between every pair of writes: the release runs until the process "dies" right
//! after one of its writes (every later request of that process fails, and its status is lost),
//! then a new process (another writer, minutes later, when the dead one's lock has lapsed) picks
//! the release up from the workspace alone. Whatever the kill point, the release ends Ready with
//! one plan, one app deployment, the alias on its version and one FINISHED audit run.

mod support;

use std::time::Duration;

use agentrelease::engine::{self, Clock, Mode, Outcome};
use agentrelease_sim::{FaultAction, FaultRule, SimControl};
use jiff::Timestamp;
use support::*;

/// The wall clock, some minutes on (the restarted process comes after the dead one's lock).
struct Later(Duration);

impl Clock for Later {
    fn now(&self) -> Timestamp {
        let d = jiff::SignedDuration::try_from(self.0).unwrap_or_default();
        Timestamp::now()
            .checked_add(d)
            .unwrap_or_else(|_| Timestamp::now())
    }
}

async fn run_as<C: Clock>(h: &mut Harness, writer: &str, clock: &C, max: usize) -> Outcome {
    let mut last = None;
    for _ in 0..max {
        let outcome = engine::reconcile_as(
            &h.release,
            &h.target.spec,
            h.identity.clone(),
            &h.ws,
            clock,
            Mode::Apply,
            writer,
        )
        .await;
        h.release.status = Some(outcome.status.clone());
        if outcome.is_ready() || outcome.needs_human() {
            return outcome;
        }
        h.wait(&outcome);
        last = Some(outcome);
    }
    last.expect("a pass")
}

fn once(c: &SimControl, what: &str) {
    assert_eq!(plans(c).len(), 3, "{what}: one plan: {:?}", plans(c));
    let deployments = c
        .calls()
        .iter()
        .filter(|r| {
            r.method == "POST" && r.route == "/api/2.0/apps/{name}/deployments" && r.status == 200
        })
        .count();
    assert_eq!(deployments, 1, "{what}: one deployment");
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12), "{what}");
    let runs = c.runs_of("/Shared/skyloyalty/deploy");
    assert_eq!(runs.len(), 1, "{what}: one audit run");
    assert_eq!(runs[0]["info"]["status"], "FINISHED", "{what}: {runs:?}");
}

#[tokio::test]
async fn a_crash_after_any_write_is_picked_up_from_the_workspace_alone() {
    // Where the writes fall in a release's calls.
    let mut reference = harness().await;
    let c = reference.control();
    let done = run_as(&mut reference, "reference", &engine::SystemClock, 300).await;
    assert!(done.is_ready(), "{:?}", done.steps);
    let calls = c.calls();
    let kill_points: Vec<u64> = calls
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_write() && r.route.starts_with("/api/"))
        .map(|(i, _)| i as u64 + 1)
        .collect();
    assert!(kill_points.len() >= 10, "{kill_points:?}");

    for k in kill_points {
        let mut h = harness().await;
        let c = h.control();
        c.add_fault(FaultRule {
            method: None,
            path: "/api/**".into(),
            probability: 1.0,
            times: None,
            after: Some(k),
            action: FaultAction::Drop,
        })
        .expect("fault");
        let _ = run_as(&mut h, "dead-process", &engine::SystemClock, 5).await;
        // The process is gone: its status with it.
        c.clear_faults();
        h.release.status = None;
        let what = format!("killed after call {k}");
        let outcome = run_as(&mut h, "new-process", &Later(Duration::from_secs(180)), 300).await;
        assert!(outcome.is_ready(), "{what}: {:?}", outcome.steps);
        once(&c, &what);
    }
}
