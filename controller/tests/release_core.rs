//! The engine core on the simulator, through the real client: a rollback restores the last good
//! release whole and the hold survives a fresh run; one owner per alias, app and endpoint (a
//! higher N supersedes, the same N is refused before any write, no drift fights); the logged
//! model id is bound to the promoted version; nothing moves before every check passed; and
//! `plan` lists exactly the changes `apply` then makes.

mod support;

use std::collections::BTreeSet;

use agentrelease::engine::Mode;
use agentrelease_api::conditions::{Phase, reasons, types};
use agentrelease_sim::SmokeReply;
use serde_json::Value;
use support::*;

fn served(endpoint: &Value) -> Vec<(String, String)> {
    let config = if endpoint["pending_config"].is_object() {
        &endpoint["pending_config"]
    } else {
        &endpoint["config"]
    };
    config["served_entities"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["name"].as_str().unwrap_or_default().to_string(),
                        e["entity_version"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_failed_verification_restores_the_last_good_release_whole_and_a_fresh_run_keeps_holding()
{
    let mut h = harness().await;
    let c = h.control();
    assert!(h.run(200).await.0.is_ready(), "v7 reaches Ready first");
    assert_eq!(
        served(&c.endpoint("skyloyalty-endpoint").expect("endpoint")),
        vec![("skyloyalty-12".to_string(), "12".to_string())]
    );

    // N=8 as its own release; its app answers 500, so verification fails.
    seed_v8_artifacts(&c);
    let (mut v8, id8) = other_release(&h, "skyloyalty-v8");
    as_v8(&mut v8);
    c.set_app_reply(
        "skyloyalty-agent",
        SmokeReply {
            status: 500,
            body: "internal error".into(),
        },
    )
    .expect("reply");
    let outcome = h.run_other(&mut v8, &id8, 300).await;
    assert!(outcome.needs_human(), "{:?}", outcome.steps);
    assert_eq!(
        reason(&outcome, types::VERIFIED),
        reasons::ROLLED_BACK,
        "{:?}",
        outcome.steps
    );
    assert_eq!(outcome.status.phase, Some(Phase::RolledBack));

    // Alias, endpoint and app deployment are v7's again.
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12));
    assert_eq!(
        served(&c.endpoint("skyloyalty-endpoint").expect("endpoint")),
        vec![("skyloyalty-12".to_string(), "12".to_string())],
        "the endpoint serves the last good entities again"
    );
    assert_eq!(
        deployed_model_id(&c.app("skyloyalty-agent").expect("app")).as_deref(),
        Some(V12_MODEL_ID),
        "the app runs the last good deployment's MLFLOW_ACTIVE_MODEL_ID again"
    );
    let record = outcome.status.rollback.clone().expect("rollback record");
    assert!(
        record
            .restored_release
            .as_deref()
            .is_some_and(|r| r.contains("skyloyalty-v7")),
        "{record:?}"
    );
    assert!(!record.in_progress);
    assert_eq!(record.to_version, Some(12));

    // A fresh run (a new `apply`: no status) keeps holding, from the workspace's record.
    c.clear_calls();
    v8.status = None;
    for _ in 0..2 {
        let again = h.pass_other(&mut v8, &id8, Mode::Apply).await;
        assert!(again.needs_human(), "{:?}", again.steps);
        assert_eq!(
            reason(&again, types::PREFLIGHT_PASSED),
            reasons::ROLLED_BACK
        );
    }
    assert!(c.writes().is_empty(), "held: {:?}", c.writes());

    // The restored release owns its objects again: once the app answers, it verifies the
    // restored deployment and is Ready, writing nothing to the workspace.
    c.set_app_reply(
        "skyloyalty-agent",
        SmokeReply {
            status: 200,
            body: "{\"model_id\": \"{{env.MLFLOW_ACTIVE_MODEL_ID}}\"}".into(),
        },
    )
    .expect("reply");
    c.advance_clock(std::time::Duration::from_secs(600));
    let v7 = h.run(50).await.0;
    assert!(v7.is_ready(), "{:?}", v7.steps);
    let writes: Vec<_> = c
        .writes()
        .into_iter()
        // The MCP check's JSON-RPC calls are POSTs that change nothing.
        .filter(|r| r.route.starts_with("/api/") && !r.route.starts_with("/api/2.0/mcp/"))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

#[tokio::test]
async fn one_owner_per_alias_a_higher_n_supersedes_and_the_same_n_is_refused_before_any_write() {
    let mut h = harness().await;
    let c = h.control();
    assert!(h.run(200).await.0.is_ready());

    // The same N, another release: refused, nothing written.
    let (mut twin, twin_id) = other_release(&h, "skyloyalty-v7-again");
    c.clear_calls();
    let refused = h.pass_other(&mut twin, &twin_id, Mode::Apply).await;
    assert!(refused.needs_human());
    assert_eq!(
        reason(&refused, types::PREFLIGHT_PASSED),
        reasons::OWNERSHIP_CONFLICT,
        "{:?}",
        refused.steps
    );
    let message = agentrelease_api::condition::find(&refused.status.conditions, types::READY)
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert!(message.contains("agents/skyloyalty-v7"), "{message}");
    assert!(c.writes().is_empty(), "{:?}", c.writes());

    // A higher N of the same agent supersedes.
    seed_v8_artifacts(&c);
    let (mut v8, id8) = other_release(&h, "skyloyalty-v8");
    as_v8(&mut v8);
    let ready = h.run_other(&mut v8, &id8, 300).await;
    assert!(ready.is_ready(), "{:?}", ready.steps);
    assert_eq!(c.model_alias(MODEL, "champion"), Some(10));
    let old = h.pass(Mode::Apply).await;
    assert_eq!(old.status.phase, Some(Phase::Superseded), "{:?}", old.steps);
    assert!(!old.is_ready() && !old.needs_human());

    // As the controller resyncs both, neither writes: no drift fight.
    c.clear_calls();
    for _ in 0..3 {
        let a = h.pass(Mode::Apply).await;
        assert_eq!(a.status.phase, Some(Phase::Superseded));
        let b = h.pass_other(&mut v8, &id8, Mode::Apply).await;
        assert!(b.is_ready(), "{:?}", b.steps);
    }
    assert!(c.writes().is_empty(), "{:?}", c.writes());
    assert_eq!(c.model_alias(MODEL, "champion"), Some(10));

    // The old release's artifacts go away: it reads as superseded, not as blocked.
    assert!(c.delete_file(SIGNOFF));
    let old = h.pass(Mode::Apply).await;
    assert_eq!(old.status.phase, Some(Phase::Superseded), "{:?}", old.steps);
    assert!(!old.needs_human());

    // A release of another agent on the same app is refused.
    let (mut stranger, stranger_id) = other_release(&h, "other-agent");
    stranger.spec.model.name = "main.agents.other".into();
    stranger.spec.model.alias = "prod".into();
    let refused = h.pass_other(&mut stranger, &stranger_id, Mode::Apply).await;
    assert!(refused.needs_human());
    assert!(c.writes().is_empty(), "{:?}", c.writes());
}

#[tokio::test]
async fn the_logged_model_id_is_bound_to_the_promoted_version() {
    let mut h = harness().await;
    let c = h.control();
    // Version 11's logged model while promoting version 12: blocked before any write.
    h.release.spec.model.logged_model_id = Some("m-5a6b7c8d9e0f4a1b2c3d4e5f6a7b8c9d".into());
    let outcome = h.run(20).await.0;
    assert!(outcome.needs_human());
    assert_eq!(
        reason(&outcome, types::PREFLIGHT_PASSED),
        reasons::MODEL_ID_MISMATCH
    );
    assert!(c.writes().is_empty(), "{:?}", c.writes());
    assert_eq!(c.model_alias(MODEL, "champion"), Some(11));

    // Omitted: taken from the version.
    let mut h = harness().await;
    let c = h.control();
    h.release.spec.model.logged_model_id = None;
    assert!(h.run(200).await.0.is_ready());
    assert_eq!(
        deployed_model_id(&c.app("skyloyalty-agent").expect("app")).as_deref(),
        Some(V12_MODEL_ID)
    );
}

#[tokio::test]
async fn a_grant_on_a_missing_securable_blocks_before_the_alias_moves() {
    let mut h = harness().await;
    let c = h.control();
    let mut grant = h.release.spec.grants[0].clone();
    grant.securable_type = serde_json::from_value(serde_json::json!("TABLE")).expect("type");
    grant.full_name = "main.agents.no_such_table".into();
    grant.privileges = vec![serde_json::from_value(serde_json::json!("SELECT")).expect("p")];
    h.release.spec.grants.push(grant);
    let traces: agentrelease_api::release::AppResource = serde_json::from_value(
        serde_json::json!({"name": "traces", "experiment": {"experimentId": "999999", "permission": "CAN_EDIT"}}),
    )
    .expect("resource");
    if let Some(app) = h.release.spec.app.as_mut() {
        app.resources.push(traces);
    }
    let outcome = h.run(20).await.0;
    assert!(outcome.needs_human());
    assert_eq!(
        reason(&outcome, types::PREFLIGHT_PASSED),
        reasons::OBJECT_MISSING
    );
    let message = agentrelease_api::condition::find(&outcome.status.conditions, types::READY)
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert!(message.contains("main.agents.no_such_table"), "{message}");
    assert!(message.contains("experiment 999999"), "{message}");
    assert!(c.writes().is_empty(), "{:?}", c.writes());
    assert_eq!(c.model_alias(MODEL, "champion"), Some(11), "untouched");
}

#[tokio::test]
async fn plan_lists_each_change_once_and_apply_then_makes_exactly_those() {
    let mut h = harness().await;
    let c = h.control();
    assert!(h.run(200).await.0.is_ready());
    seed_v8_artifacts(&c);
    as_v8(&mut h.release);
    h.identity.generation = 2;

    let planned = h.pass(Mode::Plan).await.changes;
    let planned: Vec<(String, String)> = planned
        .iter()
        .map(|c| (c.step.to_string(), c.summary.clone()))
        .collect();
    let unique: BTreeSet<_> = planned.iter().cloned().collect();
    assert_eq!(unique.len(), planned.len(), "listed twice: {planned:?}");
    assert!(!planned.is_empty());

    let mut applied = Vec::new();
    for _ in 0..300 {
        let outcome = h.pass(Mode::Apply).await;
        applied.extend(
            outcome
                .changes
                .iter()
                .map(|c| (c.step.to_string(), c.summary.clone())),
        );
        if outcome.is_ready() || outcome.needs_human() {
            assert!(outcome.is_ready(), "{:?}", outcome.steps);
            break;
        }
        h.wait(&outcome);
    }
    let normalise = |list: &[(String, String)]| -> Vec<(String, String)> {
        // Run names carry the time; everything else must match exactly.
        let mut v: Vec<_> = list.to_vec();
        v.sort();
        v
    };
    assert_eq!(
        normalise(&planned),
        normalise(&applied),
        "plan and apply disagree"
    );
    assert!(
        planned
            .iter()
            .any(|(s, m)| s == "promote" && m.contains("12 -> 10")),
        "{planned:?}"
    );
}

#[tokio::test]
async fn new_gate_inputs_within_a_generation_are_a_new_plan_version_never_an_overwrite() {
    let mut h = harness().await;
    let c = h.control();
    let ready = h.run(200).await.0;
    assert!(ready.is_ready());
    let first = ready.status.plan.clone().expect("plan");
    assert_eq!(first.version, 3);
    let before = c.read_file(&first.path).expect("plan v3");

    // The same decisions, a new signoff document (a reviewer added a note).
    let signoff = c.read_file(SIGNOFF).expect("signoff");
    let mut text = String::from_utf8(signoff.to_vec()).expect("utf8");
    text.push_str("\nReviewed again after the latency fix.\n");
    c.put_file(SIGNOFF, text).expect("new signoff");
    let outcome = h.run(50).await.0;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_eq!(outcome.status.plan.as_ref().map(|p| p.version), Some(4));
    assert_eq!(
        c.read_file(&first.path),
        Some(before),
        "v3 is never overwritten"
    );
    assert_eq!(plans(&c).len(), 4);

    // Unchanged inputs: no further plan.
    let again = h.run(5).await.0;
    assert!(again.is_ready());
    assert_eq!(plans(&c).len(), 4);
}

#[tokio::test]
async fn a_release_finds_its_own_plan_however_many_plans_the_target_holds() {
    let mut h = harness().await;
    let c = h.control();
    assert!(h.run(200).await.0.is_ready());
    // 120 plans of other releases after ours.
    for m in 4..124 {
        c.put_file(
            &format!("/Volumes/main/agents/deployment_plans/v{m}/plan.md"),
            format!("---\nagentrelease_marker: manifest:other/r{m}/1/abc\n---\n"),
        )
        .expect("plan");
    }
    // A fresh run (no status, as a new `apply`) over the converged release.
    h.release.status = None;
    c.clear_calls();
    let outcome = h.run(50).await.0;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_eq!(outcome.status.plan.as_ref().map(|p| p.version), Some(3));
    assert_eq!(plans(&c).len(), 123, "no new plan");
    assert!(
        !c.calls()
            .iter()
            .any(|r| r.path.contains("deployment_plans/v1")),
        "no other release's plan was read"
    );
}

#[tokio::test]
async fn plan_numbering_counts_plans_not_folders() {
    let mut h = harness().await;
    let c = h.control();
    // An empty v3 folder (an upload that failed once): the next plan fills it.
    c.put_file("/Volumes/main/agents/deployment_plans/v3/plan.md", "x")
        .expect("put");
    assert!(c.delete_file("/Volumes/main/agents/deployment_plans/v3/plan.md"));
    let outcome = h.run(200).await.0;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_eq!(outcome.status.plan.as_ref().map(|p| p.version), Some(3));
    assert_eq!(plans(&c).len(), 3);
}

#[tokio::test]
async fn a_converged_release_taken_over_by_a_newer_one_of_the_same_model_version_leaves_ready_at_its_next_look()
 {
    let mut h = harness().await;
    let c = h.control();
    assert!(h.run(200).await.0.is_ready());
    // Converged: the next look is the quick check.
    let quick = h.pass(Mode::Apply).await;
    assert!(quick.is_ready());
    assert!(quick.status.full_check.is_some());

    // N=8 of the same agent and the same model version takes the alias, app and endpoint over
    // (the alias does not move: only the ledger's owner changes).
    seed_v8_artifacts_of_version_12(&c);
    let (mut v8, id8) = other_release(&h, "skyloyalty-v8");
    v8.spec.version = 8;
    let mut superseded = Vec::new();
    let mut outcome = h.pass_other(&mut v8, &id8, Mode::Apply).await;
    for _ in 0..300 {
        superseded.extend(outcome.superseded.clone());
        if outcome.is_ready() || outcome.needs_human() {
            break;
        }
        h.wait(&outcome);
        outcome = h.pass_other(&mut v8, &id8, Mode::Apply).await;
    }
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12));
    // The takeover names the release it superseded (the controller looks at it at once).
    assert_eq!(superseded, vec!["agents/skyloyalty-v7".to_string()]);

    // v7's next look, though its alias, app and endpoint read as before, is no longer Ready.
    let old = h.pass(Mode::Apply).await;
    assert_eq!(old.status.phase, Some(Phase::Superseded), "{:?}", old.steps);
    assert!(!old.is_ready() && !old.needs_human());
}

/// The app's compute state as the simulator holds it.
fn compute(c: &agentrelease_sim::SimControl, app: &str) -> String {
    c.app(app)
        .and_then(|a| a["compute_status"]["state"].as_str().map(str::to_string))
        .unwrap_or_default()
}

#[tokio::test]
async fn a_changed_expected_substring_verifies_again_before_ready() {
    let mut h = harness().await;
    let c = h.control();
    assert!(h.run(200).await.0.is_ready());
    // Only the verification spec changes (the deployment does not): the result recorded for
    // the old identity does not count for the new one.
    h.release
        .spec
        .verification
        .as_mut()
        .expect("verification")
        .expect_substring = Some("a string the app never answers".into());
    h.identity.generation = 2;
    c.clear_calls();
    let (outcome, _) = h.run(200).await;
    assert!(!outcome.is_ready(), "{:?}", outcome.status.conditions);
    let smoke_requests = c
        .calls()
        .iter()
        .filter(|r| r.path.contains("/_apps/skyloyalty-agent"))
        .count();
    assert!(smoke_requests >= 1, "verified again: {:?}", c.calls());
    let verified = agentrelease_api::condition::find(&outcome.status.conditions, types::VERIFIED)
        .cloned()
        .expect("Verified");
    assert_ne!(verified.status, agentrelease_api::ConditionStatus::True);
    assert!(
        verified.message.contains("a string the app never answers"),
        "{}",
        verified.message
    );
    // Nothing was redeployed for it: the deployment did not change.
    assert_eq!(deployments_created(&c), 0);
}

#[tokio::test]
async fn a_release_killed_mid_way_then_edited_is_put_back_and_says_so() {
    let mut h = harness().await;
    let c = h.control();
    // The deployment never goes out: the pass stops after the alias moved (as a killed apply
    // would leave it).
    c.add_fault(agentrelease_sim::FaultRule {
        method: Some("POST".into()),
        path: "/api/2.0/apps/*/deployments".into(),
        probability: 1.0,
        times: None,
        after: None,
        action: agentrelease_sim::FaultAction::Status {
            status: 503,
            error_code: None,
        },
    })
    .expect("fault");
    let (stuck, _) = h.run(12).await;
    assert!(!stuck.is_ready());
    assert_eq!(
        c.model_alias(MODEL, "champion"),
        Some(12),
        "the alias moved"
    );
    assert!(c.endpoint("skyloyalty-endpoint").is_some());
    c.clear_faults();

    // Edited to N=9 (no artifacts for it): its gates block; the half-done N=7 is put back first.
    h.release.spec.version = 9;
    h.identity.generation = 2;
    c.clear_calls();
    let outcome = h.pass(Mode::Apply).await;
    assert_eq!(
        reason(&outcome, types::EVALUATION_PASSED),
        reasons::EVALUATION_MISSING
    );
    assert_eq!(
        c.model_alias(MODEL, "champion"),
        Some(11),
        "back where the release found it"
    );
    assert_eq!(
        compute(&c, "skyloyalty-agent"),
        "STOPPING",
        "the app it created serves nothing"
    );
    assert!(
        c.endpoint("skyloyalty-endpoint").is_none()
            || c.endpoint("skyloyalty-endpoint")
                .is_some_and(|e| e["state"]["ready"] == "NOT_READY"),
        "the endpoint it created is deleted"
    );
    let recovery = outcome.status.recovery.clone().expect("status.recovery");
    assert!(recovery.unfinished.contains("N=7"), "{recovery:?}");
    assert!(
        recovery.restored_to.contains("before the release"),
        "{recovery:?}"
    );
    assert!(
        outcome
            .events
            .iter()
            .any(|e| e.reason == reasons::UNFINISHED_RESTORED),
        "{:?}",
        outcome.events
    );
    let ready = agentrelease_api::condition::find(&outcome.status.conditions, types::READY)
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert!(ready.contains("meanwhile"), "{ready}");

    // Put back once: the next pass writes nothing and raises no Event again.
    c.clear_calls();
    let again = h.pass(Mode::Apply).await;
    assert!(c.writes().is_empty(), "{:?}", c.writes());
    assert!(
        !again
            .events
            .iter()
            .any(|e| e.reason == reasons::UNFINISHED_RESTORED)
    );
}

#[tokio::test]
async fn a_first_release_that_fails_goes_back_to_what_it_found() {
    let mut h = harness().await;
    let c = h.control();
    c.apply_seed(
        &agentrelease_sim::Seed::from_yaml_str(
            "app_reply:\n  status: 500\n  body: internal error\n",
            None,
        )
        .expect("seed"),
    )
    .expect("apply");
    let (outcome, _) = h.run(200).await;
    assert_eq!(
        outcome.status.phase,
        Some(Phase::RolledBack),
        "{:?}",
        outcome.steps
    );
    assert_eq!(c.model_alias(MODEL, "champion"), Some(11));
    // No release before it: the app it created is stopped and the endpoint it created is
    // deleted, so neither serves the failed version.
    let compute = compute(&c, "skyloyalty-agent");
    assert!(compute == "STOPPING" || compute == "STOPPED", "{compute}");
    assert!(
        c.endpoint("skyloyalty-endpoint").is_none(),
        "{:?}",
        c.endpoint("skyloyalty-endpoint")
    );
    let message = agentrelease_api::condition::find(&outcome.status.conditions, types::READY)
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert!(
        message.contains("went back to what the release found"),
        "{message}"
    );
}

#[tokio::test]
async fn an_endpoint_serving_another_version_than_the_alias_is_not_ready() {
    // Declared so: refused before anything is written.
    let mut h = harness().await;
    let c = h.control();
    h.release
        .spec
        .serving_endpoint
        .as_mut()
        .expect("endpoint")
        .served_entities[0]
        .entity_version = Some("11".into());
    let outcome = h.pass(Mode::Apply).await;
    assert!(outcome.needs_human());
    assert_eq!(
        reason(&outcome, types::TARGET_RESOLVED),
        reasons::SERVED_VERSION_MISMATCH
    );
    assert!(c.writes().is_empty(), "{:?}", c.writes());

    // Left so by drift policy Report: the alias moved back by hand, the endpoint on 12.
    let mut h = harness().await;
    let c = h.control();
    h.release.spec.policy.drift =
        serde_json::from_value(serde_json::json!("Report")).expect("policy");
    assert!(h.run(200).await.0.is_ready());
    c.set_model_alias(MODEL, "champion", 11).expect("drift");
    let outcome = h.pass(Mode::Apply).await;
    assert!(!outcome.is_ready());
    assert_eq!(
        reason(&outcome, types::ENDPOINT_READY),
        reasons::SERVED_VERSION_MISMATCH
    );
    let message = agentrelease_api::condition::find(&outcome.status.conditions, types::READY)
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert!(
        message.contains("points at version 11 but serving endpoint skyloyalty-endpoint serves main.agents.skyloyalty version 12"),
        "{message}"
    );
}

#[tokio::test]
async fn a_newer_release_taking_over_an_unfinished_one_puts_the_workspace_back_first() {
    let mut h = harness().await;
    let c = h.control();
    c.add_fault(agentrelease_sim::FaultRule {
        method: Some("POST".into()),
        path: "/api/2.0/apps/*/deployments".into(),
        probability: 1.0,
        times: None,
        after: None,
        action: agentrelease_sim::FaultAction::Status {
            status: 503,
            error_code: None,
        },
    })
    .expect("fault");
    let (stuck, _) = h.run(12).await;
    assert!(!stuck.is_ready());
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12));
    c.clear_faults();

    seed_v8_artifacts(&c);
    let (mut v8, id8) = other_release(&h, "skyloyalty-v8");
    as_v8(&mut v8);
    let mut recovered = None;
    let mut events = Vec::new();
    let mut outcome = h.pass_other(&mut v8, &id8, Mode::Apply).await;
    for _ in 0..300 {
        events.extend(outcome.events.clone());
        recovered = recovered.or(outcome.status.recovery.clone());
        if outcome.is_ready() || outcome.needs_human() {
            break;
        }
        h.wait(&outcome);
        outcome = h.pass_other(&mut v8, &id8, Mode::Apply).await;
    }
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_eq!(c.model_alias(MODEL, "champion"), Some(10));
    let recovered = recovered.expect("status.recovery");
    assert!(
        recovered.unfinished.contains("agents/skyloyalty-v7 N=7"),
        "{recovered:?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.reason == reasons::UNFINISHED_RESTORED)
            .count(),
        1,
        "{events:?}"
    );
    // v7 is superseded, not Ready.
    let old = h.pass(Mode::Apply).await;
    assert_eq!(old.status.phase, Some(Phase::Superseded), "{:?}", old.steps);
}
