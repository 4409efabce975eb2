//! The MCP tool check on the simulator: the sample's tools pass; a missing tool or a server that
//! does not exist fails the check with what was expected and seen, and rolls the release back.

mod support;

use agentrelease_api::conditions::{reasons, types};
use support::{MODEL, harness, reason};

fn message(outcome: &agentrelease::engine::Outcome, type_: &str) -> String {
    agentrelease_api::condition::find(&outcome.status.conditions, type_)
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_sample_tools_are_listed_and_the_call_answers() {
    let mut h = harness().await;
    let (outcome, events) = h.run(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_eq!(
        reason(&outcome, types::TOOLS_REACHABLE),
        reasons::TOOLS_REACHABLE
    );
    assert!(
        events
            .iter()
            .any(|e| e.reason == reasons::TOOLS_CHECKED_AS_OPERATOR),
        "a Warning says whose view of the tools was checked"
    );
    let c = h.control();
    c.clear_calls();
    let again = h.pass(agentrelease::engine::Mode::Apply).await;
    assert!(again.is_ready());
    assert!(
        !c.calls().iter().any(|r| r.path.contains("/api/2.0/mcp/")),
        "a converged pass does not check the tools again"
    );
}

#[tokio::test]
async fn a_missing_tool_rolls_the_release_back_naming_expected_and_seen() {
    let mut h = harness().await;
    if let Some(v) = h.release.spec.verification.as_mut() {
        v.mcp_servers[0]
            .required_tools
            .push("main__agents__book_flight".into());
    }
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_stalled(), "{:?}", outcome.steps);
    assert_eq!(
        reason(&outcome, types::TOOLS_REACHABLE),
        reasons::ROLLED_BACK
    );
    let m = message(&outcome, types::TOOLS_REACHABLE);
    assert!(
        m.contains("missing [main__agents__book_flight]")
            && m.contains("main__agents__lookup_member_tier"),
        "{m}"
    );
    assert_eq!(h.control().model_alias(MODEL, "champion"), Some(11));
}

#[tokio::test]
async fn an_unreachable_server_fails_the_check() {
    let mut h = harness().await;
    if let Some(v) = h.release.spec.verification.as_mut() {
        v.mcp_servers[0].url = "/api/2.0/mcp/functions/main/nowhere".into();
        v.mcp_servers[0].call = None;
    }
    h.release.spec.policy.rollback_on_failure = false;
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_stalled(), "{:?}", outcome.steps);
    assert_eq!(
        reason(&outcome, types::TOOLS_REACHABLE),
        reasons::TOOLS_CHECK_FAILED
    );
    let m = message(&outcome, types::TOOLS_REACHABLE);
    assert!(m.contains("initialize got no answer"), "{m}");
}
