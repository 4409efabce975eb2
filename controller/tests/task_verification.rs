//! Long-running verification (`verification.mode: task`) on the simulator: the task is started
//! once, its id and deadline go into status, later passes continue it until it ends; a failed
//! task or a passed deadline rolls back; a restarted controller continues the same task. The
//! simulated clock is frozen and only moved by what a pass asks to wait, so a pass that waited
//! for the task would never see it end.

mod support;

use std::time::Duration;

use agentrelease::databricks_adapter::ClientWorkspace;
use agentrelease::engine::{self, Mode, Requeue};
use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::task::{TaskCheck, VerificationMode};
use agentrelease_api::{AgentRelease, AgentReleaseStatus};
use agentrelease_sim::{SimControl, TaskOutcome, TaskScript};
use support::sim_time::SimTime;
use support::{Harness, MODEL, V12_MODEL_ID, harness, reason};

const APP: &str = "skyloyalty-agent";

fn message(outcome: &agentrelease::engine::Outcome, type_: &str) -> String {
    agentrelease_api::condition::find(&outcome.status.conditions, type_)
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

/// The sample release in task mode, its task expected to name the released model id.
async fn task_harness(script: TaskScript, deadline: &str) -> Harness {
    let mut h = harness().await;
    if let Some(v) = h.release.spec.verification.as_mut() {
        v.mode = VerificationMode::Task;
        v.deadline = deadline.into();
        v.task = Some(TaskCheck {
            expect_output: Some(V12_MODEL_ID.into()),
            ..TaskCheck::default()
        });
    }
    h.control().set_task_script(APP, script);
    h
}

fn task_calls(c: &SimControl, method: &str) -> Vec<String> {
    c.calls()
        .into_iter()
        .filter(|r| r.method == method && r.path.contains(&format!("/_apps/{APP}/api/tasks")))
        .map(|r| r.path)
        .collect()
}

fn stored_task(h: &Harness) -> agentrelease_api::task::TaskRecord {
    h.release
        .status
        .as_ref()
        .and_then(|s| s.verification.as_ref())
        .and_then(|v| v.task.clone())
        .expect("a task in status.verification")
}

#[tokio::test]
async fn a_task_started_once_is_continued_over_several_passes_until_it_succeeds() {
    let mut h = task_harness(
        TaskScript {
            seconds: 40,
            ..TaskScript::default()
        },
        "10m",
    )
    .await;
    let c = h.control();
    let mut running_passes = 0;
    let mut outcome = h.pass_on_sim_clock().await;
    for _ in 0..200 {
        if outcome.is_ready() || outcome.needs_human() {
            break;
        }
        if reason(&outcome, types::VERIFIED) == reasons::WAITING
            && message(&outcome, types::VERIFIED).contains("RUNNING")
        {
            running_passes += 1;
            // A pass never waits for the agent: it asks to be requeued shortly.
            assert!(
                matches!(outcome.requeue, Requeue::After(d) if d <= Duration::from_secs(30)),
                "{:?}",
                outcome.requeue
            );
        }
        h.wait(&outcome);
        outcome = h.pass_on_sim_clock().await;
    }
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert!(
        running_passes >= 2,
        "the task was seen RUNNING on {running_passes} pass(es)"
    );
    assert_eq!(c.tasks_started(), vec!["task-0001".to_string()]);
    assert_eq!(task_calls(&c, "POST").len(), 1, "one start");
    assert!(task_calls(&c, "GET").len() >= 3);
    let t = stored_task(&h);
    assert_eq!(t.started_id, "task-0001");
    assert_eq!(t.state.as_deref(), Some("SUCCEEDED"));
    let m = message(&outcome, types::VERIFIED);
    assert!(
        m.contains("task task-0001 SUCCEEDED") && m.contains(V12_MODEL_ID),
        "{m}"
    );

    c.clear_calls();
    let again = h.pass_on_sim_clock().await;
    assert!(again.is_ready());
    assert!(
        task_calls(&c, "POST").is_empty() && task_calls(&c, "GET").is_empty(),
        "a passed check is not run again"
    );
}

#[tokio::test]
async fn a_failed_task_rolls_the_release_back_naming_expected_and_seen() {
    let mut h = task_harness(
        TaskScript {
            seconds: 20,
            outcome: TaskOutcome::Fail("the loyalty tool backend is down".into()),
            continuations: false,
        },
        "10m",
    )
    .await;
    let (outcome, _) = h.run_on_sim_clock(200).await;
    assert!(outcome.needs_human(), "{:?}", outcome.steps);
    assert_eq!(reason(&outcome, types::VERIFIED), reasons::ROLLED_BACK);
    let m = message(&outcome, types::VERIFIED);
    assert!(
        m.contains("expected SUCCEEDED, ended FAILED") && m.contains("backend is down"),
        "{m}"
    );
    assert_eq!(h.control().model_alias(MODEL, "champion"), Some(11));
}

#[tokio::test]
async fn a_task_past_its_deadline_rolls_the_release_back() {
    let mut h = task_harness(
        TaskScript {
            outcome: TaskOutcome::Hang,
            ..TaskScript::default()
        },
        "2m",
    )
    .await;
    let (outcome, _) = h.run_on_sim_clock(200).await;
    assert!(outcome.needs_human(), "{:?}", outcome.steps);
    assert_eq!(reason(&outcome, types::VERIFIED), reasons::ROLLED_BACK);
    let m = message(&outcome, types::VERIFIED);
    assert!(
        m.contains("expected a terminal state within 2m")
            && m.contains("still RUNNING at the deadline"),
        "{m}"
    );
    assert_eq!(h.control().model_alias(MODEL, "champion"), Some(11));
    assert_eq!(h.control().tasks_started().len(), 1);
}

#[tokio::test]
async fn without_rollback_a_passed_deadline_blocks_with_its_own_reason() {
    let mut h = task_harness(
        TaskScript {
            outcome: TaskOutcome::Hang,
            ..TaskScript::default()
        },
        "1m",
    )
    .await;
    h.release.spec.policy.rollback_on_failure = false;
    let (outcome, _) = h.run_on_sim_clock(200).await;
    assert!(outcome.needs_human(), "{:?}", outcome.steps);
    assert_eq!(
        reason(&outcome, types::VERIFIED),
        reasons::VERIFICATION_DEADLINE_EXCEEDED
    );
}

#[tokio::test]
async fn a_restarted_controller_continues_the_same_task_from_status() {
    let mut h = task_harness(
        TaskScript {
            seconds: 60,
            ..TaskScript::default()
        },
        "10m",
    )
    .await;
    let c = h.control();
    // Run until the task has been started and continued once.
    for _ in 0..100 {
        let outcome = h.pass_on_sim_clock().await;
        assert!(!outcome.is_ready() && !outcome.needs_human());
        if h.release
            .status
            .as_ref()
            .and_then(|s| s.verification.as_ref())
            .and_then(|v| v.task.as_ref())
            .is_some_and(|t| t.polls >= 1)
        {
            break;
        }
        h.wait(&outcome);
    }
    let before = stored_task(&h);
    assert_eq!(before.state.as_deref(), Some("RUNNING"));

    // The controller restarts: a new engine with a new client, and nothing but the status
    // read back from the API server.
    let stored = serde_json::to_string(&h.release.status).expect("status");
    let read_back: Option<AgentReleaseStatus> = serde_json::from_str(&stored).expect("status");
    let mut release: AgentRelease = h.release.clone();
    release.status = read_back;
    let client = agentrelease_databricks::Client::builder(h.sim.url())
        .credentials(agentrelease_databricks::Credentials::Pat(
            agentrelease_databricks::SecretString::new("dapi-sample-token"),
        ))
        .allow_insecure_http(true)
        .rate_limit(10_000)
        .build()
        .expect("client");
    let ws = ClientWorkspace::new(client);
    let clock = SimTime(c.clone());
    c.clear_calls();
    let mut outcome = None;
    for _ in 0..100 {
        let o = engine::reconcile(
            &release,
            &h.target.spec,
            h.identity.clone(),
            &ws,
            &clock,
            Mode::Apply,
        )
        .await;
        release.status = Some(o.status.clone());
        if o.is_ready() || o.needs_human() {
            outcome = Some(o);
            break;
        }
        if let Requeue::After(d) = o.requeue {
            c.advance_clock(d);
        } else {
            c.advance_clock(Duration::from_secs(1));
        }
    }
    let outcome = outcome.expect("the restarted engine finished");
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert!(
        task_calls(&c, "POST").is_empty(),
        "no second start: {:?}",
        task_calls(&c, "POST")
    );
    assert_eq!(c.tasks_started(), vec![before.started_id.clone()]);
    let gets = task_calls(&c, "GET");
    assert!(
        !gets.is_empty()
            && gets
                .iter()
                .all(|p| p.ends_with(&format!("/api/tasks/{}", before.started_id))),
        "{gets:?}"
    );
    let after = release
        .status
        .as_ref()
        .and_then(|s| s.verification.as_ref())
        .and_then(|v| v.task.clone())
        .expect("task");
    assert_eq!(after.started_id, before.started_id);
    assert!(after.polls > before.polls);
}

#[tokio::test]
async fn continuation_ids_handed_back_are_used_for_the_next_call() {
    let mut h = task_harness(
        TaskScript {
            seconds: 30,
            continuations: true,
            ..TaskScript::default()
        },
        "10m",
    )
    .await;
    let c = h.control();
    let (outcome, _) = h.run_on_sim_clock(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    let gets = task_calls(&c, "GET");
    assert!(gets.len() >= 2, "{gets:?}");
    assert!(gets[0].ends_with("/api/tasks/task-0001"), "{gets:?}");
    assert!(gets[1].ends_with("/api/tasks/task-0001-c1"), "{gets:?}");
    let t = stored_task(&h);
    assert_eq!(t.started_id, "task-0001");
    assert!(t.id.starts_with("task-0001-c"), "{}", t.id);
}

#[tokio::test]
async fn plan_lists_the_check_without_starting_a_task() {
    let mut h = task_harness(TaskScript::default(), "10m").await;
    let outcome = h.pass(Mode::Plan).await;
    assert!(
        outcome.changes.iter().any(|c| c.step == "verify"),
        "{:?}",
        outcome.changes
    );
    assert!(h.control().tasks_started().is_empty());
}

#[tokio::test]
async fn a_start_whose_answer_is_lost_does_not_start_a_second_task() {
    let mut h = task_harness(TaskScript::default(), "10m").await;
    let c = h.control();
    c.add_fault(agentrelease_sim::FaultRule {
        method: Some("POST".into()),
        path: format!("/_apps/{APP}/api/tasks"),
        probability: 1.0,
        times: Some(1),
        after: None,
        action: agentrelease_sim::FaultAction::LoseAnswer,
    })
    .expect("fault");
    let (outcome, _) = h.run_on_sim_clock(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_eq!(task_calls(&c, "POST").len(), 2, "the start was sent again");
    assert_eq!(
        c.tasks_started(),
        vec!["task-0001".to_string()],
        "the repeated start named the same request, so the app answered the same task"
    );
    assert_eq!(stored_task(&h).started_id, "task-0001");
}

#[tokio::test]
async fn a_transient_failure_while_continuing_is_asked_again() {
    let mut h = task_harness(TaskScript::default(), "10m").await;
    let c = h.control();
    c.add_fault(agentrelease_sim::FaultRule {
        method: Some("GET".into()),
        path: format!("/_apps/{APP}/api/tasks/*"),
        probability: 1.0,
        times: Some(2),
        after: None,
        action: agentrelease_sim::FaultAction::Status {
            status: 503,
            error_code: None,
        },
    })
    .expect("fault");
    let (outcome, _) = h.run_on_sim_clock(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_eq!(c.tasks_started().len(), 1);
}

#[tokio::test]
async fn an_app_that_crashes_while_its_task_runs_fails_as_unhealthy() {
    let mut h = task_harness(
        TaskScript {
            outcome: TaskOutcome::Hang,
            ..TaskScript::default()
        },
        "10m",
    )
    .await;
    let c = h.control();
    for _ in 0..100 {
        let outcome = h.pass_on_sim_clock().await;
        if h.release
            .status
            .as_ref()
            .and_then(|s| s.verification.as_ref())
            .is_some_and(|v| v.task.is_some())
        {
            break;
        }
        h.wait(&outcome);
    }
    c.crash_app(APP, "Killed: out of memory", false)
        .expect("crash");
    let (outcome, events) = h.run_on_sim_clock(100).await;
    assert!(outcome.needs_human(), "{:?}", outcome.steps);
    assert_eq!(reason(&outcome, types::VERIFIED), reasons::ROLLED_BACK);
    assert!(
        events.iter().any(|e| e.reason == reasons::APP_UNHEALTHY
            && e.message.contains("app status CRASHED")
            && e.message.contains("Killed: out of memory")),
        "{events:?}"
    );
}
