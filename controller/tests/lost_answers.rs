//! Exactly once under lost answers: for every write the sample release makes, the simulator
//! carries the request out and then drops the answer. The release must still end Ready with one
//! plan, one app deployment, the alias on its version and one FINISHED audit run — whether the
//! status of the pass that lost the answer is kept (the controller) or lost too (a fresh
//! `apply`, or a crash right after the write).

mod support;

use agentrelease::engine::Mode;
use agentrelease_sim::{FaultAction, FaultRule, SimControl};
use support::*;

/// The write routes of the sample release, as fault patterns.
const WRITES: [(&str, &str); 10] = [
    ("POST", "/api/2.0/workspace/import"),
    (
        "PUT",
        "/api/2.0/fs/files/Volumes/main/agents/deployment_plans/**",
    ),
    ("PUT", "/api/2.1/unity-catalog/models/*/aliases/*"),
    ("POST", "/api/2.0/apps"),
    ("POST", "/api/2.0/serving-endpoints"),
    ("PATCH", "/api/2.0/permissions/**"),
    ("PATCH", "/api/2.1/unity-catalog/permissions/**"),
    ("POST", "/api/2.0/apps/*/deployments"),
    ("POST", "/api/2.0/mlflow/runs/create"),
    ("POST", "/api/2.0/mlflow/runs/update"),
];

fn lose_answer_once(c: &SimControl, method: &str, path: &str) {
    c.add_fault(FaultRule {
        method: Some(method.into()),
        path: path.into(),
        probability: 1.0,
        times: Some(1),
        after: None,
        action: FaultAction::LoseAnswer,
    })
    .expect("fault");
}

fn deployments_made(c: &SimControl) -> usize {
    c.calls()
        .iter()
        .filter(|r| {
            r.method == "POST" && r.route == "/api/2.0/apps/{name}/deployments" && r.status == 200
        })
        .count()
}

fn assert_exactly_once(c: &SimControl, what: &str) {
    assert_eq!(plans(c).len(), 3, "{what}: one new plan: {:?}", plans(c));
    assert_eq!(deployments_made(c), 1, "{what}: one app deployment");
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12), "{what}");
    let runs = c.runs_of("/Shared/skyloyalty/deploy");
    assert_eq!(runs.len(), 1, "{what}: one audit run: {runs:?}");
    assert_eq!(
        runs[0]["info"]["status"], "FINISHED",
        "{what}: the audit run is finished: {runs:?}"
    );
}

#[tokio::test]
async fn a_lost_answer_on_any_write_is_settled_by_a_read_and_the_status_kept() {
    for (method, path) in WRITES {
        let mut h = harness().await;
        let c = h.control();
        lose_answer_once(&c, method, path);
        let (outcome, _) = h.run(300).await;
        let what = format!("{method} {path}");
        assert!(outcome.is_ready(), "{what}: {:?}", outcome.steps);
        assert!(
            c.calls().iter().any(|r| r.faulted),
            "{what}: the answer was lost"
        );
        assert_exactly_once(&c, &what);
        // And a converged pass afterwards writes nothing.
        c.clear_calls();
        assert!(h.pass(Mode::Apply).await.is_ready());
        assert!(c.writes().is_empty(), "{what}: {:?}", c.writes());
    }
}

#[tokio::test]
async fn a_lost_answer_and_a_lost_status_are_settled_by_a_read() {
    for (method, path) in WRITES {
        let mut h = harness().await;
        let c = h.control();
        lose_answer_once(&c, method, path);
        // Pass until the answer is lost, then forget the status (a crash right after the write).
        let mut lost = false;
        for _ in 0..300 {
            let outcome = h.pass(Mode::Apply).await;
            if c.calls().iter().any(|r| r.faulted) {
                lost = true;
                h.release.status = None;
                break;
            }
            if outcome.is_ready() {
                break;
            }
            h.wait(&outcome);
        }
        let what = format!("{method} {path} (status lost)");
        assert!(lost, "{what}: the fault fired");
        let (outcome, _) = h.run(300).await;
        assert!(outcome.is_ready(), "{what}: {:?}", outcome.steps);
        assert_exactly_once(&c, &what);
    }
}

#[tokio::test]
async fn an_error_on_ending_the_audit_run_leaves_no_run_open() {
    let mut h = harness().await;
    let c = h.control();
    c.add_fault(FaultRule {
        method: Some("POST".into()),
        path: "/api/2.0/mlflow/runs/update".into(),
        probability: 1.0,
        times: Some(1),
        after: None,
        action: FaultAction::Status {
            status: 500,
            error_code: None,
        },
    })
    .expect("fault");
    let (outcome, _) = h.run(300).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_exactly_once(&c, "500 on runs/update");
}

/// Passes as `writer` until Ready (or `max` passes), with its own copy of the status.
async fn run_as(h: &Harness, writer: &str, max: usize) -> agentrelease::engine::Outcome {
    let mut release = h.release.clone();
    let mut last = None;
    for _ in 0..max {
        let outcome = agentrelease::engine::reconcile_as(
            &release,
            &h.target.spec,
            h.identity.clone(),
            &h.ws,
            &agentrelease::engine::SystemClock,
            Mode::Apply,
            writer,
        )
        .await;
        release.status = Some(outcome.status.clone());
        if outcome.is_ready() || outcome.needs_human() {
            return outcome;
        }
        h.wait(&outcome);
        last = Some(outcome);
    }
    last.expect("at least one pass")
}

#[tokio::test]
async fn two_writers_at_once_make_one_of_everything() {
    let h = harness().await;
    let c = h.control();
    // Slow writes widen every read-decide-write window.
    for method in ["POST", "PUT", "PATCH"] {
        c.add_fault(FaultRule {
            method: Some(method.into()),
            path: "/api/**".into(),
            probability: 1.0,
            times: None,
            after: None,
            action: FaultAction::Latency {
                min_ms: 20,
                max_ms: Some(40),
            },
        })
        .expect("fault");
    }
    let (a, b) = tokio::join!(run_as(&h, "ci-run-a", 400), run_as(&h, "ci-run-b", 400));
    assert!(a.is_ready(), "{:?}", a.steps);
    assert!(b.is_ready(), "{:?}", b.steps);
    assert_exactly_once(&c, "two writers");
    assert!(
        c.calls()
            .iter()
            .any(|r| r.route == "/api/2.0/workspace/import"),
        "the release lock was taken"
    );
}
