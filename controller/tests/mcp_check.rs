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
    assert!(outcome.needs_human(), "{:?}", outcome.steps);
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
    assert!(outcome.needs_human(), "{:?}", outcome.steps);
    assert_eq!(
        reason(&outcome, types::TOOLS_REACHABLE),
        reasons::TOOLS_CHECK_FAILED
    );
    let m = message(&outcome, types::TOOLS_REACHABLE);
    assert!(m.contains("initialize got no answer"), "{m}");
}

const APP: &str = "skyloyalty-agent";

fn mcp_calls(c: &agentrelease_sim::SimControl) -> Vec<agentrelease_sim::CallRecord> {
    c.calls()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/2.0/mcp/"))
        .collect()
}

#[tokio::test]
async fn with_the_apps_credentials_the_check_runs_as_its_service_principal() {
    let mut h = harness().await;
    let (outcome, events, sp) = h.run_with_app_identity(APP, 200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    let sp = sp.expect("the app's service principal");
    let calls = mcp_calls(&h.control());
    assert!(!calls.is_empty());
    for r in &calls {
        assert_eq!(
            r.principal.as_deref(),
            Some(sp.as_str()),
            "{} {} as {:?}, expected the app's service principal",
            r.method,
            r.path,
            r.principal
        );
    }
    assert!(
        !events
            .iter()
            .any(|e| e.reason == reasons::TOOLS_CHECKED_AS_OPERATOR),
        "no Warning when the check ran as the app"
    );
    let m = message(&outcome, types::TOOLS_REACHABLE);
    assert!(
        m.contains(&format!("as the app's service principal {sp}")),
        "{m}"
    );
}

#[tokio::test]
async fn event_stream_answers_are_parsed() {
    let mut h = harness().await;
    h.control().set_mcp_sse(true);
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    let m = message(&outcome, types::TOOLS_REACHABLE);
    assert!(
        m.contains("main__agents__lookup_member_tier answered"),
        "{m}"
    );
}

#[tokio::test]
async fn the_session_id_of_initialize_is_carried_to_later_calls() {
    let mut h = harness().await;
    let c = h.control();
    c.require_mcp_sessions(true);
    c.set_mcp_sse(true);
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    // Each of initialize, tools/list and tools/call was answered (a call without the session
    // would get 400).
    let calls = mcp_calls(&c);
    assert!(calls.len() >= 3, "{calls:?}");
    assert!(calls.iter().all(|r| r.status == 200), "{calls:?}");
}

#[tokio::test]
async fn vector_search_and_genie_servers_list_their_tools() {
    let mut h = harness().await;
    let c = h.control();
    c.add_vector_index("main.agents.faq_index");
    c.add_genie_space("01f0aa11bb22", "Loyalty analytics");
    if let Some(v) = h.release.spec.verification.as_mut() {
        v.mcp_servers.push(agentrelease_api::mcp::McpServerCheck {
            url: "/api/2.0/mcp/vector-search/main/agents".into(),
            required_tools: vec!["main__agents__faq_index".into()],
            call: None,
        });
        v.mcp_servers.push(agentrelease_api::mcp::McpServerCheck {
            url: "/api/2.0/mcp/genie/01f0aa11bb22".into(),
            required_tools: vec!["query_space_01f0aa11bb22".into()],
            call: Some(agentrelease_api::mcp::McpToolCall {
                tool: "query_space_01f0aa11bb22".into(),
                arguments: Some(r#"{"query": "How many gold members?"}"#.into()),
            }),
        });
    }
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    let m = message(&outcome, types::TOOLS_REACHABLE);
    assert!(
        m.contains("/api/2.0/mcp/vector-search/main/agents: 1 tools listed")
            && m.contains("query_space_01f0aa11bb22 answered"),
        "{m}"
    );
}

#[tokio::test]
async fn an_unknown_genie_space_fails_the_check_naming_the_server() {
    let mut h = harness().await;
    if let Some(v) = h.release.spec.verification.as_mut() {
        v.mcp_servers = vec![agentrelease_api::mcp::McpServerCheck {
            url: "/api/2.0/mcp/genie/nope".into(),
            required_tools: vec!["query_space_nope".into()],
            call: None,
        }];
    }
    h.release.spec.policy.rollback_on_failure = false;
    let (outcome, _) = h.run(200).await;
    assert!(outcome.needs_human(), "{:?}", outcome.steps);
    assert_eq!(
        reason(&outcome, types::TOOLS_REACHABLE),
        reasons::TOOLS_CHECK_FAILED
    );
    let m = message(&outcome, types::TOOLS_REACHABLE);
    assert!(
        m.contains("/api/2.0/mcp/genie/nope: initialize got no answer")
            && m.contains("does not exist"),
        "{m}"
    );
}
