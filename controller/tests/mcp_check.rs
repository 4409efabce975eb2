//! The MCP tool check on the simulator: the sample's tools pass; a missing tool or a server that
//! does not answer fails the check with what was expected and seen, and rolls the release back.
//! The schema, function, vector search index or Genie space a managed server's path names is
//! read by the preflight: missing (or unreadable) blocks the release before any write.

mod support;

use agentrelease::engine::Mode;
use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::mcp::McpServerCheck;
use agentrelease_sim::faults::{FaultAction, FaultRule};
use support::prewrite::{blocked_before_any_write, names_all};
use support::{Harness, MODEL, harness, reason};

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
    // The schema exists (the preflight passes), but the server does not answer.
    h.control()
        .add_fault(FaultRule {
            method: Some("POST".into()),
            path: "/api/2.0/mcp/functions/main/agents".into(),
            probability: 1.0,
            times: None,
            after: None,
            action: FaultAction::Status {
                status: 404,
                error_code: Some("RESOURCE_DOES_NOT_EXIST".into()),
            },
        })
        .expect("fault");
    if let Some(v) = h.release.spec.verification.as_mut() {
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

/// The release checks exactly `server` (no tool required, no call).
fn check_only(h: &mut Harness, url: &str) {
    if let Some(v) = h.release.spec.verification.as_mut() {
        v.mcp_servers = vec![McpServerCheck {
            url: url.into(),
            required_tools: Vec::new(),
            call: None,
        }];
    }
}

#[tokio::test]
async fn a_functions_server_on_a_missing_schema_blocks_before_any_write() {
    let mut h = harness().await;
    check_only(&mut h, "/api/2.0/mcp/functions/main/nowhere");
    let m = blocked_before_any_write(&mut h, reasons::OBJECT_MISSING).await;
    names_all(
        &m,
        &[
            "schema main.nowhere",
            "spec.verification.mcpServers[0].url",
            "Nothing was written",
        ],
    );
}

#[tokio::test]
async fn a_missing_uc_function_blocks_before_any_write() {
    let mut h = harness().await;
    check_only(&mut h, "/api/2.0/mcp/functions/main/agents/book_flight");
    let m = blocked_before_any_write(&mut h, reasons::OBJECT_MISSING).await;
    names_all(
        &m,
        &[
            "function main.agents.book_flight",
            "spec.verification.mcpServers[0].url",
        ],
    );
}

#[tokio::test]
async fn a_missing_vector_search_index_blocks_before_any_write() {
    let mut h = harness().await;
    check_only(&mut h, "/api/2.0/mcp/vector-search/main/agents/faq_index");
    let m = blocked_before_any_write(&mut h, reasons::OBJECT_MISSING).await;
    names_all(
        &m,
        &[
            "vector search index main.agents.faq_index",
            "spec.verification.mcpServers[0].url",
        ],
    );
}

#[tokio::test]
async fn an_unknown_genie_space_blocks_before_any_write() {
    let mut h = harness().await;
    check_only(&mut h, "/api/2.0/mcp/genie/nope");
    let m = blocked_before_any_write(&mut h, reasons::OBJECT_MISSING).await;
    names_all(
        &m,
        &["Genie space nope", "spec.verification.mcpServers[0].url"],
    );
}

#[tokio::test]
async fn a_genie_space_the_operator_may_not_read_blocks_as_permission_denied() {
    let mut h = harness().await;
    let c = h.control();
    c.add_genie_space("01f0aa11bb22", "Loyalty analytics");
    c.add_fault(FaultRule {
        method: Some("GET".into()),
        path: "/api/2.0/genie/spaces/*".into(),
        probability: 1.0,
        times: None,
        after: None,
        action: FaultAction::Status {
            status: 403,
            error_code: Some("PERMISSION_DENIED".into()),
        },
    })
    .expect("fault");
    check_only(&mut h, "/api/2.0/mcp/genie/01f0aa11bb22");
    let m = blocked_before_any_write(&mut h, reasons::PERMISSION_DENIED).await;
    names_all(
        &m,
        &[
            "may not read Genie space 01f0aa11bb22",
            "spec.verification.mcpServers[0].url",
        ],
    );
}

#[tokio::test]
async fn a_transient_failure_reading_a_genie_space_is_retried_and_then_passes() {
    let mut h = harness().await;
    let c = h.control();
    c.add_genie_space("01f0aa11bb22", "Loyalty analytics");
    c.add_fault(FaultRule {
        method: Some("GET".into()),
        path: "/api/2.0/genie/spaces/*".into(),
        probability: 1.0,
        times: None,
        after: None,
        action: FaultAction::Status {
            status: 503,
            error_code: Some("TEMPORARILY_UNAVAILABLE".into()),
        },
    })
    .expect("fault");
    check_only(&mut h, "/api/2.0/mcp/genie/01f0aa11bb22");
    let first = h.pass(Mode::Apply).await;
    assert_eq!(
        reason(&first, types::PREFLIGHT_PASSED),
        reasons::TRANSIENT_ERROR
    );
    assert!(!first.needs_human(), "retried, not stalled");
    let m = message(&first, types::PREFLIGHT_PASSED);
    assert!(m.contains("Genie space 01f0aa11bb22"), "{m}");
    assert!(c.writes().is_empty(), "{:?}", c.writes());
    c.clear_faults();
    h.wait(&first);
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12));
}

#[tokio::test]
async fn one_function_and_one_index_servers_list_only_that_tool() {
    let mut h = harness().await;
    h.control().add_vector_index("main.agents.faq_index");
    h.control().add_vector_index("main.agents.policy_index");
    if let Some(v) = h.release.spec.verification.as_mut() {
        v.mcp_servers = vec![
            McpServerCheck {
                url: "/api/2.0/mcp/functions/main/agents/lookup_member_tier".into(),
                required_tools: vec!["main__agents__lookup_member_tier".into()],
                call: None,
            },
            McpServerCheck {
                url: "/api/2.0/mcp/vector-search/main/agents/faq_index".into(),
                required_tools: vec!["main__agents__faq_index".into()],
                call: None,
            },
        ];
    }
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    let m = message(&outcome, types::TOOLS_REACHABLE);
    assert!(
        m.contains("/api/2.0/mcp/functions/main/agents/lookup_member_tier: 1 tools listed")
            && m.contains("/api/2.0/mcp/vector-search/main/agents/faq_index: 1 tools listed"),
        "{m}"
    );
}
