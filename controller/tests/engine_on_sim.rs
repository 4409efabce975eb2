//! The release engine against the workspace simulator, through the real typed client: the whole
//! pipeline, idempotency, read budgets, plan mode, gates that block, transient faults, a crash
//! after the plan write, rollback on a failed verification, and drift.

mod support;

use agentrelease::engine::Mode;
use agentrelease_api::AgentRelease;
use agentrelease_api::conditions::{reasons, types};
use agentrelease_sim::{FaultAction, FaultRule, Seed};
use support::*;

#[tokio::test]
async fn the_sample_release_reaches_ready_and_the_workspace_shows_it() {
    let mut h = harness().await;
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_ready(), "not ready: {:?}", outcome.steps);
    let c = h.control();
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12));
    assert_eq!(outcome.status.previous_version, Some(11));
    assert_eq!(outcome.status.promoted_version, Some(12));
    let plan = outcome.status.plan.clone().expect("plan recorded");
    assert_eq!(
        plan.path,
        "/Volumes/main/agents/deployment_plans/v3/plan.md"
    );
    let text =
        String::from_utf8(c.read_file(&plan.path).expect("plan file").to_vec()).expect("utf8");
    assert!(
        text.contains("uid-skyloyalty-v7"),
        "the plan carries the release marker:\n{text}"
    );
    let app = c.app("skyloyalty-agent").expect("app");
    assert_eq!(app["compute_status"]["state"], "ACTIVE");
    let env = app["active_deployment"]["env_vars"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        env.iter().any(|e| e["name"] == "MLFLOW_ACTIVE_MODEL_ID"
            && e["value"] == "m-7f3c1a9e5b2d4c6f8a0b1c2d3e4f5a6b"),
        "{env:?}"
    );
    let endpoint = c.endpoint("skyloyalty-endpoint").expect("endpoint");
    assert_eq!(endpoint["state"]["ready"], "READY");
    assert_eq!(
        endpoint["config"]["served_entities"][0]["entity_version"],
        "12"
    );
    let sp = app["service_principal_client_id"]
        .as_str()
        .expect("sp")
        .to_string();
    assert_eq!(
        c.grants_of("FUNCTION", MODEL, &sp),
        vec!["EXECUTE".to_string()]
    );
    let endpoint_id = endpoint["id"].as_str().expect("id");
    assert!(
        c.permissions(&format!("serving-endpoints/{endpoint_id}"))
            .contains(&(sp.clone(), "CAN_QUERY".to_string()))
    );
    let runs = c.runs_of("/Shared/skyloyalty/deploy");
    assert_eq!(runs.len(), 1, "one audit run");
    assert_eq!(runs[0]["info"]["status"], "FINISHED");
}

#[tokio::test]
async fn a_pass_after_ready_writes_nothing_and_reads_within_budget() {
    let mut h = harness().await;
    assert!(h.run(200).await.0.is_ready());
    let c = h.control();
    c.clear_calls();
    let outcome = h.pass(Mode::Apply).await;
    assert!(outcome.is_ready());
    assert!(
        c.writes().is_empty(),
        "steady state must not write: {:?}",
        c.writes()
    );
    let reads = c.calls().len();
    assert!(
        reads <= 40,
        "steady-state pass used {reads} calls: {:?}",
        c.calls().iter().map(|r| &r.route).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn plan_reads_only_and_lists_the_changes() {
    let mut h = harness().await;
    let c = h.control();
    c.clear_calls();
    let outcome = h.pass(Mode::Plan).await;
    assert!(c.writes().is_empty(), "plan wrote: {:?}", c.writes());
    assert!(
        outcome.changes.iter().any(|ch| ch.step == "promote"),
        "{:?}",
        outcome.changes
    );
    assert_eq!(c.model_alias(MODEL, "champion"), Some(11));
    assert_eq!(plans(&c).len(), 2);
}

#[tokio::test]
async fn a_rejected_signoff_blocks_before_anything_is_written() {
    let mut h = harness().await;
    let c = h.control();
    c.put_file(
        SIGNOFF,
        "---\nversion: 7\nengineering_signoff:\n  decision: REJECTED\nstakeholder_signoff:\n  decision: APPROVED\n---\n",
    )
    .expect("put");
    c.clear_calls();
    let (outcome, _) = h.run(5).await;
    assert!(outcome.needs_human());
    assert_eq!(
        reason(&outcome, types::SIGNOFF_APPROVED),
        reasons::SIGNOFF_REJECTED
    );
    assert!(c.writes().is_empty(), "{:?}", c.writes());
    assert_eq!(c.model_alias(MODEL, "champion"), Some(11));
}

#[tokio::test]
async fn a_missing_signoff_and_a_failing_metric_block_with_their_reasons() {
    let mut h = harness().await;
    let c = h.control();
    assert!(c.delete_file(SIGNOFF));
    let (outcome, _) = h.run(5).await;
    assert!(!outcome.is_ready());
    assert_eq!(
        reason(&outcome, types::SIGNOFF_APPROVED),
        reasons::SIGNOFF_MISSING
    );

    let mut h = harness().await;
    let c = h.control();
    c.put_file(
        SUMMARY,
        r#"{"version": 7, "model_version": 12, "run_id": "b1f3c0d2e4a54b6c8d9e0f1a2b3c4d5e", "metrics": {"answer_correctness": 0.5, "groundedness": 0.88, "safety": 0.99, "latency_p95_ms": 1800}}"#,
    )
    .expect("put");
    let (outcome, _) = h.run(5).await;
    assert!(outcome.needs_human());
    assert_eq!(
        reason(&outcome, types::EVALUATION_PASSED),
        reasons::EVALUATION_FAILED
    );
    assert!(c.writes().is_empty());
}

#[tokio::test]
async fn transient_faults_delay_but_do_not_break_or_duplicate_the_release() {
    let mut h = harness().await;
    let c = h.control();
    // About 20% of API calls fail: 500 (not retried by the client), 503 and 429 (retried).
    for (probability, action) in [
        (
            0.07,
            FaultAction::Status {
                status: 500,
                error_code: None,
            },
        ),
        (
            0.08,
            FaultAction::Status {
                status: 503,
                error_code: None,
            },
        ),
        (
            0.07,
            FaultAction::RateLimit {
                retry_after_secs: 0,
            },
        ),
    ] {
        c.add_fault(FaultRule {
            method: None,
            path: "/api/**".into(),
            probability,
            times: None,
            after: None,
            action,
        })
        .expect("fault");
    }
    let (outcome, _) = h.run(400).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12));
    let alias_moves = c
        .calls()
        .iter()
        .filter(|r| r.method == "PUT" && r.route.ends_with("/aliases/{alias}") && r.status == 200)
        .count();
    assert_eq!(alias_moves, 1, "the alias moved exactly once");
    assert_eq!(plans(&c).len(), 3, "exactly one new plan: {:?}", plans(&c));
    assert_eq!(
        c.runs_of("/Shared/skyloyalty/deploy").len(),
        1,
        "exactly one audit run"
    );
    assert!(c.calls().iter().any(|r| r.faulted), "faults were injected");
}

#[tokio::test]
async fn a_crash_after_the_plan_write_does_not_write_a_second_plan() {
    let mut h = harness().await;
    let c = h.control();
    // The alias write fails on every attempt of the first pass; the status of that pass is lost.
    c.add_fault(FaultRule {
        method: Some("PUT".into()),
        path: "/api/2.1/unity-catalog/models/*/aliases/*".into(),
        probability: 1.0,
        times: Some(3),
        after: None,
        action: FaultAction::Drop,
    })
    .expect("fault");
    let _ = h.pass(Mode::Apply).await;
    assert_eq!(plans(&c).len(), 3, "the plan was written before the crash");
    h.release.status = None;
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_eq!(plans(&c).len(), 3, "no second plan: {:?}", plans(&c));
    assert_eq!(outcome.status.plan.map(|p| p.version), Some(3));
}

#[tokio::test]
async fn a_failed_verification_rolls_the_alias_back() {
    let mut h = harness().await;
    let c = h.control();
    c.apply_seed(
        &Seed::from_yaml_str("app_reply:\n  status: 500\n  body: internal error\n", None)
            .expect("seed"),
    )
    .expect("apply");
    let (outcome, events) = h.run(200).await;
    assert!(!outcome.is_ready());
    assert!(
        outcome.needs_human(),
        "held until the spec or the artifacts change"
    );
    assert_eq!(
        reason(&outcome, types::VERIFIED),
        reasons::ROLLED_BACK,
        "{:?}",
        outcome.steps
    );
    assert_eq!(
        c.model_alias(MODEL, "champion"),
        Some(11),
        "rolled back to the previous champion"
    );
    assert_eq!(
        outcome.status.rollback.as_ref().map(|r| r.to_version),
        Some(Some(11)),
        "{:?}",
        outcome.status.rollback
    );
    assert!(!events.is_empty());
}

#[tokio::test]
async fn drift_is_corrected_or_reported_as_the_policy_says() {
    let mut h = harness().await;
    assert!(h.run(200).await.0.is_ready());
    let c = h.control();
    c.set_model_alias(MODEL, "champion", 11).expect("drift");
    let (outcome, events) = h.run(20).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12), "corrected");
    assert!(
        events.iter().any(|e| e.reason.starts_with("Drift")),
        "{events:?}"
    );

    let mut h = harness().await;
    h.release.spec.policy.drift =
        serde_json::from_value(serde_json::json!("Report")).expect("policy");
    assert!(h.run(200).await.0.is_ready());
    let c = h.control();
    c.set_model_alias(MODEL, "champion", 11).expect("drift");
    let outcome = h.pass(Mode::Apply).await;
    assert_eq!(
        c.model_alias(MODEL, "champion"),
        Some(11),
        "reported, not corrected"
    );
    let drift =
        agentrelease_api::condition::find(&outcome.status.conditions, types::DRIFT_DETECTED)
            .cloned();
    assert!(
        drift.is_some_and(|d| d.status == agentrelease_api::ConditionStatus::True),
        "{:?}",
        outcome.status.conditions
    );
}

#[tokio::test]
async fn a_smoke_reply_without_the_expected_substring_fails_verification() {
    let mut h = harness().await;
    h.release.spec.policy.rollback_on_failure = false;
    let c = h.control();
    c.apply_seed(
        &Seed::from_yaml_str(
            "app_reply:\n  status: 200\n  body: '{\"model_id\": \"m-somethingelse\"}'\n",
            None,
        )
        .expect("seed"),
    )
    .expect("apply");
    let (outcome, _) = h.run(200).await;
    assert!(!outcome.is_ready());
    assert_eq!(
        reason(&outcome, types::VERIFIED),
        reasons::VERIFICATION_FAILED
    );
    assert_eq!(
        c.model_alias(MODEL, "champion"),
        Some(12),
        "no rollback when the policy says so"
    );
}

/// One way a gate can block (or pass with a warning), set up on the simulator or in the spec.
struct GateCase {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    delete: &'static [&'static str],
    spec: fn(&mut AgentRelease),
    condition: &'static str,
    reason: &'static str,
    blocks: bool,
}

fn unchanged(_: &mut AgentRelease) {}

fn other_prompt(r: &mut AgentRelease) {
    r.spec.artifacts = Some(
        serde_json::from_value(serde_json::json!({"promptName": "main.agents.other_prompt"}))
            .expect("artifacts"),
    );
}

const V7_APPROVED: &str = "---\nversion: 7\nengineering_signoff:\n  decision: APPROVED\nstakeholder_signoff:\n  decision: APPROVED\n---\n";

const GATE_CASES: [GateCase; 10] = [
    GateCase {
        name: "summary missing",
        files: &[],
        delete: &[SUMMARY],
        spec: unchanged,
        condition: types::EVALUATION_PASSED,
        reason: reasons::EVALUATION_MISSING,
        blocks: true,
    },
    GateCase {
        name: "summary not JSON",
        files: &[(SUMMARY, "{not json")],
        delete: &[],
        spec: unchanged,
        condition: types::EVALUATION_PASSED,
        reason: reasons::EVALUATION_UNPARSEABLE,
        blocks: true,
    },
    GateCase {
        name: "metric as a string",
        files: &[(
            SUMMARY,
            r#"{"version": 7, "model_version": 12, "run_id": "b1f3c0d2e4a54b6c8d9e0f1a2b3c4d5e", "metrics": {"answer_correctness": "0.91", "groundedness": 0.88, "safety": 0.99, "latency_p95_ms": 1800}}"#,
        )],
        delete: &[],
        spec: unchanged,
        condition: types::EVALUATION_PASSED,
        reason: reasons::EVALUATION_FAILED,
        blocks: true,
    },
    GateCase {
        name: "evaluation run without lineage",
        files: &[(
            SUMMARY,
            r#"{"version": 7, "model_version": 12, "run_id": "0000000000000000000000000000dead", "metrics": {"answer_correctness": 0.91, "groundedness": 0.88, "safety": 0.99, "latency_p95_ms": 1800}}"#,
        )],
        delete: &[],
        spec: unchanged,
        condition: types::EVALUATION_PASSED,
        reason: reasons::LINEAGE_MISSING,
        blocks: true,
    },
    GateCase {
        name: "signoff without front matter",
        files: &[(SIGNOFF, "# Approved\nAPPROVED\n")],
        delete: &[],
        spec: unchanged,
        condition: types::SIGNOFF_APPROVED,
        reason: reasons::SIGNOFF_UNPARSEABLE,
        blocks: true,
    },
    GateCase {
        name: "stakeholder decision missing",
        files: &[(
            SIGNOFF,
            "---\nversion: 7\nengineering_signoff:\n  decision: APPROVED\nstakeholder_signoff:\n  approver: someone\n---\n",
        )],
        delete: &[],
        spec: unchanged,
        condition: types::SIGNOFF_APPROVED,
        reason: reasons::SIGNOFF_INCOMPLETE,
        blocks: true,
    },
    GateCase {
        name: "override captured verbatim",
        files: &[(
            SIGNOFF,
            "---\nversion: 7\nengineering_signoff:\n  decision: REJECTED\nstakeholder_signoff:\n  decision: APPROVED\nstate_override:\n  engineering_signoff:\n    decision: REJECTED\n  stakeholder_signoff:\n    decision: APPROVED\n  approved_by: cto@example.com\n  reason: hotfix\n---\n",
        )],
        delete: &[],
        spec: unchanged,
        condition: types::SIGNOFF_APPROVED,
        reason: reasons::SIGNOFF_OVERRIDDEN,
        blocks: false,
    },
    GateCase {
        name: "override capturing only the rejected decision",
        files: &[(
            SIGNOFF,
            "---\nversion: 7\nengineering_signoff:\n  decision: REJECTED\nstakeholder_signoff:\n  decision: APPROVED\nstate_override:\n  engineering_signoff:\n    decision: REJECTED\n  approved_by: cto@example.com\n  reason: hotfix\n---\n",
        )],
        delete: &[],
        spec: unchanged,
        condition: types::SIGNOFF_APPROVED,
        reason: reasons::SIGNOFF_REJECTED,
        blocks: true,
    },
    GateCase {
        name: "signoff of another version",
        files: &[(
            SIGNOFF,
            "---\nversion: 6\nengineering_signoff:\n  decision: APPROVED\nstakeholder_signoff:\n  decision: APPROVED\n---\n",
        )],
        delete: &[],
        spec: unchanged,
        condition: types::VERSIONS_CONSISTENT,
        reason: reasons::VERSION_MISMATCH,
        blocks: true,
    },
    GateCase {
        name: "prompt without the candidate alias",
        files: &[(SIGNOFF, V7_APPROVED)],
        delete: &[],
        spec: other_prompt,
        condition: types::VERSIONS_CONSISTENT,
        reason: reasons::VERSION_MISMATCH,
        blocks: true,
    },
];

#[tokio::test]
async fn every_gate_blocks_with_its_own_reason_and_writes_nothing() {
    for case in GATE_CASES {
        let mut h = harness().await;
        let c = h.control();
        for (path, text) in case.files {
            c.put_file(path, *text).expect("put");
        }
        for path in case.delete {
            assert!(c.delete_file(path), "{}: {path} existed", case.name);
        }
        (case.spec)(&mut h.release);
        c.clear_calls();
        let outcome = h.pass(Mode::Apply).await;
        let cond =
            agentrelease_api::condition::find(&outcome.status.conditions, case.condition).cloned();
        assert_eq!(
            cond.as_ref().map(|c| c.reason.as_str()),
            Some(case.reason),
            "{}: {:?}",
            case.name,
            outcome.steps
        );
        if case.blocks {
            assert!(
                outcome.needs_human(),
                "{}: blocked means Stalled",
                case.name
            );
            assert!(
                c.writes().is_empty(),
                "{}: a blocked gate writes nothing: {:?}",
                case.name,
                c.writes()
            );
            assert_eq!(c.model_alias(MODEL, "champion"), Some(11), "{}", case.name);
        } else {
            assert_eq!(
                cond.map(|c| c.status),
                Some(agentrelease_api::ConditionStatus::True),
                "{}",
                case.name
            );
        }
    }
}

#[tokio::test]
async fn a_model_version_that_does_not_exist_is_never_promoted() {
    let mut h = harness().await;
    h.release.spec.model.version = 13;
    // Artifacts about version 13 (no run to check), so the gates pass and the preflight decides.
    if let Some(e) = h.release.spec.evaluation.as_mut() {
        e.require_dataset_lineage = false;
        e.run = None;
    }
    let c = h.control();
    c.put_file(
        SUMMARY,
        r#"{"version": 7, "model_version": 13, "metrics": {"answer_correctness": 0.91, "groundedness": 0.88, "safety": 0.99, "latency_p95_ms": 1800}}"#,
    )
    .expect("summary");
    c.put_file(SIGNOFF, V7_APPROVED).expect("signoff");
    let (outcome, _) = h.run(20).await;
    assert!(!outcome.is_ready());
    assert_eq!(
        reason(&outcome, types::PREFLIGHT_PASSED),
        reasons::MODEL_VERSION_MISSING,
        "{:?}",
        outcome.steps
    );
    assert_eq!(h.control().model_alias(MODEL, "champion"), Some(11));
}

#[tokio::test]
async fn a_release_from_scratch_makes_one_of_everything_and_n_plus_1_moves_the_alias_again() {
    let mut h = harness().await;
    let c = h.control();
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_ready());
    assert_eq!(deployments_created(&c), 1, "one deployment");
    assert_eq!(plans(&c).len(), 3, "one plan");
    assert_eq!(
        c.runs_of("/Shared/skyloyalty/deploy").len(),
        1,
        "one audit run"
    );

    // Release N=8 of model version 10 (an existing version) with its own artifacts.
    seed_v8_artifacts(&c);
    as_v8(&mut h.release);
    h.identity.generation = 2;
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_eq!(c.model_alias(MODEL, "champion"), Some(10));
    assert_eq!(
        outcome.status.previous_version,
        Some(12),
        "the previous champion is recorded"
    );
    assert_eq!(outcome.status.plan.as_ref().map(|p| p.version), Some(4));
    assert_eq!(deployments_created(&c), 2);
    assert_eq!(c.runs_of("/Shared/skyloyalty/deploy").len(), 2);
}

#[tokio::test]
async fn a_move_to_a_lower_version_is_planned_as_a_downgrade_written_in_the_plan_and_raised_once() {
    let mut h = harness().await;
    let c = h.control();
    assert!(h.run(200).await.0.is_ready(), "version 12 is champion");

    // N=8 releases version 10: a revert, gated like any release.
    seed_v8_artifacts(&c);
    as_v8(&mut h.release);
    h.identity.generation = 2;
    let planned = h.pass(Mode::Plan).await.changes;
    let marked: Vec<_> = planned.iter().filter(|c| c.downgrade).collect();
    assert_eq!(marked.len(), 1, "{planned:?}");
    assert_eq!(marked[0].step, "promote");
    assert!(
        marked[0]
            .summary
            .contains("move main.agents.skyloyalty@champion: 12 -> 10 (DOWNGRADE"),
        "{}",
        marked[0].summary
    );
    let json = serde_json::to_value(marked[0]).expect("json");
    assert_eq!(json["downgrade"], true);

    let (outcome, events) = h.run(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_eq!(c.model_alias(MODEL, "champion"), Some(10));
    let downgrades: Vec<_> = events
        .iter()
        .filter(|e| e.reason == reasons::ALIAS_DOWNGRADE)
        .collect();
    assert_eq!(downgrades.len(), 1, "{events:?}");
    assert_eq!(
        downgrades[0].type_,
        agentrelease::engine::EventType::Warning
    );
    assert!(
        downgrades[0]
            .message
            .contains("main.agents.skyloyalty@champion moved down from version 12 to version 10"),
        "{}",
        downgrades[0].message
    );
    let path = outcome.status.plan.as_ref().map(|p| p.path.clone());
    let plan = path
        .and_then(|p| c.read_file(&p))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    assert!(plan.contains("\nalias_downgrade: true\n"), "{plan}");
    assert!(
        plan.contains("- **downgrade**: the alias moves from version 12 to the lower version 10"),
        "{plan}"
    );

    // Converged: no further move, no further Event.
    let again = h.pass(Mode::Apply).await;
    assert!(again.is_ready());
    assert!(
        again
            .events
            .iter()
            .all(|e| e.reason != reasons::ALIAS_DOWNGRADE),
        "{:?}",
        again.events
    );
}

#[tokio::test]
async fn a_failed_deployment_rolls_back_and_holds() {
    let mut h = harness().await;
    if let Some(app) = h.release.spec.app.as_mut() {
        app.source_code_path = "/Workspace/Shared/skyloyalty/missing".into();
    }
    let (outcome, _) = h.run(200).await;
    assert!(outcome.needs_human(), "{:?}", outcome.steps);
    assert_eq!(
        reason(&outcome, types::APP_DEPLOYED),
        reasons::ROLLED_BACK,
        "{:?}",
        outcome.steps
    );
    let c = h.control();
    assert_eq!(c.model_alias(MODEL, "champion"), Some(11));
    // Held: more passes neither redeploy nor move the alias again.
    c.clear_calls();
    for _ in 0..3 {
        let again = h.pass(Mode::Apply).await;
        assert!(again.needs_human());
    }
    assert!(c.writes().is_empty(), "{:?}", c.writes());
}

#[tokio::test]
async fn env_and_grant_drift_are_corrected() {
    let mut h = harness().await;
    assert!(h.run(200).await.0.is_ready());
    let c = h.control();
    let sp = c
        .app("skyloyalty-agent")
        .and_then(|a| {
            a["service_principal_client_id"]
                .as_str()
                .map(str::to_string)
        })
        .expect("sp");
    c.set_app_deployment_env(
        "skyloyalty-agent",
        vec![("LOG_LEVEL".into(), "DEBUG".into())],
    )
    .expect("env drift");
    assert!(c.revoke_grant("FUNCTION", MODEL, &sp, "EXECUTE"));
    let (outcome, events) = h.run(50).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_eq!(
        c.grants_of("FUNCTION", MODEL, &sp),
        vec!["EXECUTE".to_string()],
        "grant restored"
    );
    let env = c
        .app("skyloyalty-agent")
        .map(|a| a["active_deployment"]["env_vars"].clone())
        .unwrap_or_default();
    assert!(
        env.to_string().contains("MLFLOW_ACTIVE_MODEL_ID"),
        "redeployed with the release env: {env}"
    );
    assert!(
        events.iter().any(|e| e.reason.starts_with("Drift")),
        "{events:?}"
    );
}

#[tokio::test]
async fn the_steady_state_read_budget() {
    let mut h = harness().await;
    assert!(h.run(200).await.0.is_ready());
    let c = h.control();
    c.clear_calls();
    assert!(h.pass(Mode::Apply).await.is_ready());
    let calls = c.calls();
    assert!(calls.iter().all(|r| !r.is_write()));
    // The budget of a full pass over a converged release (measured: 23 GETs — artifacts, the
    // three ledger records, model version, alias, app, endpoint, ACLs, grants, experiment, and
    // for the evaluation gate's sample checks the alias ledger record (`maxRegression`) and the
    // evaluation experiment (`requireEvaluationExperiment`), and the deployment experiment's ACL
    // (the app's CAN_EDIT for its traces), and the gateway's payload and usage tables (that they
    // still exist; its warehouse is known from its ACL, the MCP server's schema from its
    // grants); the gateway and trace checks passed for this deployment are not repeated); a
    // change that adds reads must raise it knowingly.
    const FULL_CHECK_READS: usize = 23;
    let routes = |calls: &[agentrelease_sim::calls::CallRecord]| {
        calls
            .iter()
            .map(|r| format!("{} {}", r.method, r.route))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        calls.len(),
        FULL_CHECK_READS,
        "{} reads (budget {FULL_CHECK_READS}): {:?}",
        calls.len(),
        routes(&calls)
    );
    // That pass recorded a full check; until `policy.fullCheckInterval` passes, a resync reads
    // the alias, the app, the endpoint and the alias's ledger record only, writes nothing and
    // leaves the status as it was.
    let before = h.release.status.clone();
    assert!(
        before
            .as_ref()
            .and_then(|s| s.full_check.as_ref())
            .is_some()
    );
    c.clear_calls();
    let outcome = h.pass(Mode::Apply).await;
    assert!(outcome.is_ready());
    assert_eq!(Some(outcome.status), before, "the status is left as it was");
    assert!(outcome.events.is_empty(), "{:?}", outcome.events);
    const QUICK_CHECK_READS: usize = 4;
    let calls = c.calls();
    assert_eq!(
        calls.len(),
        QUICK_CHECK_READS,
        "{} reads (budget {QUICK_CHECK_READS}): {:?}",
        calls.len(),
        routes(&calls)
    );
    assert!(calls.iter().all(|r| !r.is_write()));
}

/// The sample released, and one more pass that finds it converged and records a full check.
async fn converged_with_a_full_check() -> Harness {
    let mut h = harness().await;
    assert!(h.run(200).await.0.is_ready());
    assert!(
        h.pass(Mode::Apply).await.is_ready(),
        "records the full check"
    );
    h
}

#[tokio::test]
async fn a_quick_check_that_sees_a_change_runs_the_full_pass_at_once() {
    let mut h = converged_with_a_full_check().await;
    let c = h.control();
    c.set_model_alias(MODEL, "champion", 11).expect("drift");
    c.clear_calls();
    let outcome = h.pass(Mode::Apply).await;
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12), "corrected");
    assert!(
        outcome.events.iter().any(|e| e.reason == "DriftCorrected"),
        "{:?}",
        outcome.events
    );
    assert!(c.calls().len() > 3, "the full pass ran");
}

#[tokio::test]
async fn drift_outside_the_quick_check_is_found_by_the_next_full_check() {
    let mut h = converged_with_a_full_check().await;
    let c = h.control();
    let sp = c
        .app("skyloyalty-agent")
        .and_then(|a| a["service_principal_client_id"].as_str().map(String::from))
        .expect("app service principal");
    assert!(c.revoke_grant("FUNCTION", MODEL, &sp, "EXECUTE"));
    // A quick check does not read grants: nothing is corrected yet.
    c.clear_calls();
    h.pass(Mode::Apply).await;
    assert!(c.writes().is_empty(), "{:?}", c.writes());
    assert!(c.grants_of("FUNCTION", MODEL, &sp).is_empty());
    // A reconcile request makes the next pass a full check, which corrects the grant.
    h.request_reconcile("2026-12-02T10:00:00Z");
    let outcome = h.pass(Mode::Apply).await;
    assert!(
        outcome.events.iter().any(|e| e.reason == "DriftCorrected"),
        "{:?}",
        outcome.events
    );
    assert_eq!(
        c.grants_of("FUNCTION", MODEL, &sp),
        vec!["EXECUTE".to_string()]
    );
    // The request is handled: the pass after the next full check is quick again.
    assert!(
        h.pass(Mode::Apply).await.is_ready(),
        "a full check with nothing to do"
    );
    c.clear_calls();
    h.pass(Mode::Apply).await;
    assert_eq!(c.calls().len(), 4, "{:?}", c.calls());

    // Once `policy.fullCheckInterval` has passed since the last full check, so does a resync.
    assert!(c.revoke_grant("FUNCTION", MODEL, &sp, "EXECUTE"));
    let status = h.release.status.as_mut().expect("status");
    let record = status.full_check.as_mut().expect("full check recorded");
    record.at -= jiff::SignedDuration::from_secs(31 * 60);
    h.pass(Mode::Apply).await;
    assert_eq!(
        c.grants_of("FUNCTION", MODEL, &sp),
        vec!["EXECUTE".to_string()]
    );
}

#[tokio::test]
async fn plan_on_a_converged_release_finds_nothing_to_change() {
    let mut h = harness().await;
    assert!(h.run(200).await.0.is_ready());
    let c = h.control();
    c.clear_calls();
    let outcome = h.pass(Mode::Plan).await;
    assert!(outcome.changes.is_empty(), "{:?}", outcome.changes);
    assert!(c.writes().is_empty());
    // A hand-made change shows up in the plan, and still nothing is written.
    c.set_model_alias(MODEL, "champion", 11).expect("drift");
    let outcome = h.pass(Mode::Plan).await;
    assert!(
        outcome.changes.iter().any(|ch| ch.step == "promote"),
        "{:?}",
        outcome.changes
    );
    assert!(c.writes().is_empty());
    assert_eq!(c.model_alias(MODEL, "champion"), Some(11));
}
