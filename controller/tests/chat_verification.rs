//! The chat check on the simulator: a chat completion through the app's OpenAI-compatible API
//! after the smoke request; its trace request id and latency go into status; an empty answer or
//! a broken rule fails verification (naming what was expected and seen) and rolls back.

mod support;

use agentrelease::engine::Mode;
use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::release::ChatExpect;
use support::*;

fn last_result(outcome: &agentrelease::engine::Outcome) -> String {
    outcome
        .status
        .verification
        .as_ref()
        .and_then(|v| v.last_result.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_chat_check_passes_and_records_the_trace_request_id() {
    let mut h = harness().await;
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    let v = outcome.status.verification.clone().expect("verification");
    let chat = v.chat.expect("chat record");
    assert!(chat.passed);
    let trace = chat.trace_request_id.expect("trace request id");
    assert!(trace.starts_with("tr-"), "{trace}");
    assert!(chat.latency_ms >= 0);
    assert!(
        v.last_result
            .unwrap_or_default()
            .contains("You asked: Which tier am I in?"),
        "the answer is shown"
    );

    // Converged: the check does not run again.
    let c = h.control();
    c.clear_calls();
    assert!(h.pass(Mode::Apply).await.is_ready());
    assert!(
        c.calls().iter().all(|r| !r.route.contains("_apps")),
        "{:?}",
        c.calls()
    );
}

#[tokio::test]
async fn an_empty_assistant_message_fails_and_rolls_back() {
    let mut h = harness().await;
    let c = h.control();
    c.set_chat_reply("skyloyalty-agent", None);
    let (outcome, _) = h.run(200).await;
    assert!(outcome.needs_human());
    assert_eq!(
        reason(&outcome, types::VERIFIED),
        reasons::ROLLED_BACK,
        "{:?}",
        outcome.steps
    );
    assert_eq!(c.model_alias(MODEL, "champion"), Some(11), "rolled back");
    let result = last_result(&outcome);
    assert!(
        result.contains("expected a non-empty assistant message") && result.contains("saw \"\""),
        "{result}"
    );
    let chat = outcome
        .status
        .verification
        .and_then(|v| v.chat)
        .expect("chat record");
    assert!(!chat.passed);
    assert!(chat.trace_request_id.is_some(), "recorded even on failure");
}

#[tokio::test]
async fn an_answer_that_breaks_a_rule_names_the_rule_and_the_answer() {
    let mut h = harness().await;
    h.release.spec.policy.rollback_on_failure = false;
    if let Some(chat) = h
        .release
        .spec
        .verification
        .as_mut()
        .and_then(|v| v.chat.as_mut())
    {
        chat.expect.push(ChatExpect {
            contains: Some("Platinum".into()),
            regex: None,
            json_path: None,
            equals: None,
        });
    }
    let c = h.control();
    c.set_chat_reply("skyloyalty-agent", Some("You are in tier Gold"));
    let (outcome, _) = h.run(200).await;
    assert_eq!(
        reason(&outcome, types::VERIFIED),
        reasons::VERIFICATION_FAILED
    );
    let result = last_result(&outcome);
    assert!(
        result
            .contains("expected the answer to contain \"Platinum\", saw \"You are in tier Gold\""),
        "{result}"
    );
    assert_eq!(
        c.model_alias(MODEL, "champion"),
        Some(12),
        "no rollback by policy"
    );
}
