//! A pass that waits inside itself (`apply`): the release goes from nothing to Ready in one
//! pass, reading each object once but for the polls of long operations, and a pass whose budget
//! runs out ends waiting and the next one carries on.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use agentrelease::engine::{InlineWait, Mode};
use agentrelease_api::conditions::types;

const PAUSE: Duration = Duration::from_secs(5);

/// Reads of the same object that only a long operation (or the lock's read-back) explains.
fn polled(path: &str) -> bool {
    path.starts_with("/api/2.0/apps/")
        || path.starts_with("/api/2.0/serving-endpoints/")
        || path.contains("/aliases/")
}

#[tokio::test]
async fn a_fresh_release_is_ready_after_one_pass_that_reads_each_gate_input_once() {
    let mut h = support::harness().await;
    let c = h.control();
    c.clear_calls();
    let (outcome, live) = h
        .pass_waiting(InlineWait::new(Duration::from_secs(60), PAUSE))
        .await;
    assert!(outcome.is_ready(), "{:?}", outcome.status.conditions);

    // The progress followed the pass: the app was seen waiting for its compute, then done.
    let app: Vec<&str> = live
        .iter()
        .filter(|r| r.condition == types::APP_PROVISIONED)
        .map(|r| r.outcome)
        .collect();
    assert_eq!(app.first(), Some(&"waiting"), "{live:?}");
    assert_eq!(app.last(), Some(&"done"), "{live:?}");

    let calls = c.calls();
    let mut reads: HashMap<(String, Option<String>), usize> = HashMap::new();
    for r in calls.iter().filter(|r| r.method == "GET") {
        *reads.entry((r.path.clone(), r.query.clone())).or_default() += 1;
    }
    // Every gate input once: the eval summary, the signoff, the model version, the prompt.
    for (path, _) in reads.keys() {
        let count = reads
            .iter()
            .filter(|((p, _), _)| p == path)
            .map(|(_, n)| *n)
            .sum::<usize>();
        if path.ends_with("/summary.json")
            || path.ends_with("/decision.md")
            || path.contains("/versions/")
        {
            assert!(
                count <= 2,
                "{path} read {count} times in one pass (the gate and, for maxRegression, once more)"
            );
        }
    }
    let repeated: Vec<_> = reads
        .iter()
        .filter(|((p, q), n)| {
            **n > 1
                && !polled(p)
                && !q.as_deref().unwrap_or("").contains("locks")
                && !p.contains("/deployments/")
        })
        .collect();
    assert!(
        repeated.len() <= 2,
        "objects read more than once in the pass (other than polls and the lock): {repeated:?}"
    );
    // The budget: at most 1.3 times the calls of reading each object once.
    let distinct = calls.iter().filter(|r| r.method != "GET").count() + reads.len();
    assert!(
        calls.len() * 10 <= distinct * 13,
        "{} calls for a fresh release, {distinct} if each object were read once",
        calls.len()
    );

    // Converged: the next pass writes nothing.
    c.clear_calls();
    let again = h.pass(Mode::Apply).await;
    assert!(again.is_ready());
    assert!(again.changes.is_empty(), "{:?}", again.changes);
    assert_eq!(c.calls().iter().filter(|r| r.is_write()).count(), 0);
}

#[tokio::test]
async fn a_pass_whose_budget_runs_out_ends_waiting_and_the_next_one_carries_on() {
    let mut h = support::harness().await;
    // Two pauses of a second: not enough for the app's compute to start.
    let (first, _) = h
        .pass_waiting(InlineWait::new(
            Duration::from_secs(2),
            Duration::from_secs(1),
        ))
        .await;
    assert!(!first.is_ready());
    assert_eq!(
        support::reason(&first, types::ALIAS_PROMOTED),
        "Promoted",
        "{:?}",
        first.status.conditions
    );
    let waiting = first
        .steps
        .iter()
        .find(|s| s.outcome != "done")
        .map(|s| s.condition);
    assert!(
        matches!(
            waiting,
            Some(types::APP_PROVISIONED) | Some(types::ENDPOINT_READY)
        ),
        "{waiting:?}"
    );
    // The lock was given back: another writer is not held up until it expires.
    let lock = agentrelease::engine::Workspace::read_workspace_file(
        &h.ws,
        "/Workspace/Shared/agentrelease/ledger/locks/alias/main.agents.skyloyalty@champion.json",
        16 * 1024,
    )
    .await
    .expect("read the lock");
    assert!(lock.is_none(), "the release lock is still held");
    // (The same naming finds the alias's ledger record, written by the claim.)
    let record = agentrelease::engine::Workspace::read_workspace_file(
        &h.ws,
        "/Workspace/Shared/agentrelease/ledger/alias/main.agents.skyloyalty@champion.json",
        64 * 1024,
    )
    .await
    .expect("read the record");
    assert!(
        record.is_some(),
        "no ledger record where the lock's naming says"
    );

    let (second, _) = h
        .pass_waiting(InlineWait::new(Duration::from_secs(60), PAUSE))
        .await;
    assert!(second.is_ready(), "{:?}", second.status.conditions);
    assert_eq!(support::deployments_created(&h.control()), 1);
}

#[tokio::test]
async fn plan_never_waits_inside_the_pass() {
    let mut h = support::harness().await;
    let c = h.control();
    let before = c.now_ms();
    let outcome = agentrelease::engine::reconcile_with(
        &h.release,
        &h.target.spec,
        h.identity.clone(),
        &h.ws,
        &support::SimPause(c.clone()),
        Mode::Plan,
        &agentrelease::engine::Inputs {
            waiting: Some(agentrelease::engine::Waiting {
                wait: InlineWait::new(Duration::from_secs(60), PAUSE),
                observe: &|_| {},
            }),
            ..Default::default()
        },
    )
    .await;
    assert!(!outcome.changes.is_empty());
    assert_eq!(c.now_ms(), before, "plan paused");
    assert_eq!(c.calls().iter().filter(|r| r.is_write()).count(), 0);
    h.release.status = None;
}
