//! The MCP tool check (`ToolsReachable`): for each declared MCP server, `initialize`, then
//! `tools/list`, which must name every required tool, then the declared read-only `tools/call`,
//! which must not answer with an error. It runs once per deployment (a passed check is kept in
//! status and not repeated); a failure rolls the release back as a failed verification does.
//!
//! The requests carry the app's service principal's OAuth credentials when the ReleaseTarget
//! names a Secret with them for the app (`spec.appCredentials`), so the check sees what the app
//! may see and call; otherwise the operator's, and a Warning Event says whose view of the tools
//! was checked. Each server's requests form one streamable HTTP session: the `Mcp-Session-Id`
//! and protocol version `initialize` answered go with `tools/list` and `tools/call`.

use std::time::Duration;

use agentrelease_api::conditions::reasons;
use agentrelease_api::mcp::McpServerCheck;
use agentrelease_api::status::VerificationRecord;
use serde_json::{Value, json};

use crate::engine::change::Change;
use crate::engine::effects::{Applied, Cause, Effect};
use crate::engine::pass::{Clock, EventType, Pass, StepResult};
use crate::engine::rollback;
use crate::engine::workspace::{McpReply, McpSession, RpcFailure, Workspace};

/// The protocol version the check announces in `initialize`.
pub const PROTOCOL_VERSION: &str = "2025-06-18";
/// How long each JSON-RPC request may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Pause before asking again after a transient failure.
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// The longest tool answer kept in a message.
const SHOWN: usize = 120;

/// Why one server's check could not see its tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeFailure {
    /// The request got no JSON-RPC answer (HTTP error, connection, timeout, not JSON-RPC).
    Unreachable {
        /// The JSON-RPC method.
        method: &'static str,
        /// What went wrong.
        error: String,
        /// Whether asking again later may succeed (5xx, throttling, a lost connection).
        transient: bool,
    },
    /// The server answered with a JSON-RPC error.
    Refused {
        /// The JSON-RPC method.
        method: &'static str,
        /// The server's error.
        failure: RpcFailure,
    },
}

/// What a declared tool call answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallAnswer {
    /// The result's `isError`.
    pub is_error: bool,
    /// The result's text content, joined.
    pub text: String,
}

/// What one server showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Tool names from `tools/list`, in the server's order.
    pub tools: Vec<String>,
    /// The declared call's answer (`None` when no call is declared or a required tool is
    /// missing, so the call was not sent).
    pub call: Option<Result<CallAnswer, ProbeFailure>>,
}

/// One server's observations.
pub type Probe = Result<Listed, ProbeFailure>;

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let servers = match pass.ctx.spec.verification.as_ref() {
        Some(v) if !v.mcp_servers.is_empty() && pass.ctx.spec.app.is_some() => {
            v.mcp_servers.clone()
        }
        _ => return StepResult::NotApplicable,
    };
    let deployment_id = pass.status.deployment_id.clone().unwrap_or_default();
    let identity = pass.identity_digest();
    if let Some(v) = pass
        .status
        .tools_check
        .as_ref()
        .filter(|v| v.is_for(&deployment_id, identity.as_deref()) && v.passed)
    {
        return StepResult::done(
            reasons::TOOLS_REACHABLE,
            v.last_result.clone().unwrap_or_default(),
        );
    }
    // As the app's service principal when the target holds its credentials.
    let as_app = pass.app_ws.is_some();
    let ws = pass.app_ws.unwrap_or(pass.ws);
    if let Some(stop) = super::origins::mcp_servers(ws, &servers).await {
        return stop;
    }
    let probes = match pass
        .effects
        .make(
            ws,
            Change::McpCheck {
                servers: servers.clone(),
            },
            Cause::Progress,
        )
        .await
    {
        Ok(Effect::Applied(Applied::Mcp(probes))) => probes,
        Ok(_) => return StepResult::done(reasons::TOOLS_REACHABLE, "would check the MCP tools"),
        Err(e) => return StepResult::from_workspace(&e),
    };
    if probes.iter().any(is_transient) {
        return StepResult::waiting(
            reasons::TRANSIENT_ERROR,
            "an MCP server answered with a transient error; asking again",
            RETRY_AFTER,
        );
    }
    if !as_app {
        pass.event(
            EventType::Warning,
            reasons::TOOLS_CHECKED_AS_OPERATOR,
            "MCP tools were checked as the operator's principal, not the app's service principal \
             (the controller runs the check as the app when the ReleaseTarget's appCredentials \
             name a Secret for it): a tool the app may not use can still pass",
        );
    }
    let who = match (as_app, pass.artifacts.app.as_ref()) {
        (true, Some(app)) => format!(
            "as the app's service principal {}",
            app.service_principal_client_id
                .as_deref()
                .unwrap_or("(unknown)")
        ),
        (true, None) => "as the app's service principal".to_string(),
        (false, _) => "as the operator".to_string(),
    };
    let verdict = judge_all(&servers, &probes).map(|m| format!("{m} ({who})"));
    let (passed, result) = match &verdict {
        Ok(m) => (true, m.clone()),
        Err(m) => (false, m.clone()),
    };
    pass.status.tools_check = Some(VerificationRecord {
        deployment_id: deployment_id.clone(),
        attempts: 1,
        passed,
        last_result: Some(result.clone()),
        chat: None,
        task: None,
        identity,
    });
    match verdict {
        Ok(m) => StepResult::done(reasons::TOOLS_REACHABLE, m),
        Err(m) => {
            rollback::on_failure(
                pass,
                reasons::TOOLS_CHECK_FAILED,
                format!("MCP check of deployment {deployment_id} failed: {m}"),
            )
            .await
        }
    }
}

/// Whether a server's failure may clear by itself (the check is then asked again, not failed).
pub fn is_transient(probe: &Probe) -> bool {
    let transient = |f: &ProbeFailure| {
        matches!(
            f,
            ProbeFailure::Unreachable {
                transient: true,
                ..
            }
        )
    };
    match probe {
        Err(f) => transient(f),
        Ok(l) => matches!(&l.call, Some(Err(f)) if transient(f)),
    }
}

/// Sends one server's requests (the effect module calls it; `plan` never does).
pub async fn probe<W: Workspace>(ws: &W, check: &McpServerCheck) -> Probe {
    let init = json!({
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": "agentrelease-operator", "version": env!("CARGO_PKG_VERSION")},
    });
    let mut session = McpSession::default();
    let (answer, id) = rpc(ws, &check.url, "initialize", init, &session).await?;
    session = McpSession {
        id,
        protocol_version: answer
            .get("protocolVersion")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    let (listed, _) = rpc(ws, &check.url, "tools/list", json!({}), &session).await?;
    let tools = tool_names(&listed);
    let call = match &check.call {
        Some(c) if missing(&check.required_tools, &tools).is_empty() => {
            Some(match arguments(c.arguments.as_deref()) {
                Err(error) => Err(ProbeFailure::Unreachable {
                    method: "tools/call",
                    error,
                    transient: false,
                }),
                Ok(args) => rpc(
                    ws,
                    &check.url,
                    "tools/call",
                    json!({"name": c.tool, "arguments": args}),
                    &session,
                )
                .await
                .map(|(v, _)| call_answer(&v)),
            })
        }
        _ => None,
    };
    Ok(Listed { tools, call })
}

/// One request within the session; the result and the session id the answer carried.
async fn rpc<W: Workspace>(
    ws: &W,
    server: &str,
    method: &'static str,
    params: Value,
    session: &McpSession,
) -> Result<(Value, Option<String>), ProbeFailure> {
    match ws
        .mcp_request(server, method, params, session, TIMEOUT)
        .await
    {
        Err(e) => Err(ProbeFailure::Unreachable {
            method,
            error: e.to_string(),
            transient: e.kind.is_transient(),
        }),
        Ok(McpReply {
            result: Err(failure),
            ..
        }) => Err(ProbeFailure::Refused { method, failure }),
        Ok(McpReply {
            result: Ok(v),
            session_id,
        }) => Ok((v, session_id)),
    }
}

/// The declared arguments as a JSON object (absent: `{}`).
pub fn arguments(raw: Option<&str>) -> Result<Value, String> {
    let Some(raw) = raw else {
        return Ok(json!({}));
    };
    match serde_json::from_str::<Value>(raw) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err("call.arguments must be a JSON object".into()),
        Err(e) => Err(format!("call.arguments is not JSON: {e}")),
    }
}

/// The names in a `tools/list` result.
pub fn tool_names(result: &Value) -> Vec<String> {
    result
        .get("tools")
        .and_then(Value::as_array)
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t.get("name").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn call_answer(result: &Value) -> CallAnswer {
    let text = result
        .get("content")
        .and_then(Value::as_array)
        .map(|c| {
            c.iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    CallAnswer {
        is_error: result
            .get("isError")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        text,
    }
}

/// The required tools not listed.
pub fn missing<'a>(required: &'a [String], listed: &[String]) -> Vec<&'a str> {
    required
        .iter()
        .filter(|r| !listed.contains(r))
        .map(String::as_str)
        .collect()
}

/// One server's verdict: what passed, or what was expected and what was seen.
pub fn judge(check: &McpServerCheck, probe: &Probe) -> Result<String, String> {
    let url = &check.url;
    let listed = match probe {
        Err(ProbeFailure::Unreachable { method, error, .. }) => {
            return Err(format!("{url}: {method} got no answer: {error}"));
        }
        Err(ProbeFailure::Refused { method, failure }) => {
            return Err(format!(
                "{url}: {method} answered error {}: {}",
                failure.code, failure.message
            ));
        }
        Ok(l) => l,
    };
    let absent = missing(&check.required_tools, &listed.tools);
    if !absent.is_empty() {
        return Err(format!(
            "{url}: expected tools [{}], missing [{}]; tools/list shows [{}]",
            check.required_tools.join(", "),
            absent.join(", "),
            listed.tools.join(", ")
        ));
    }
    let tool = check.call.as_ref().map(|c| c.tool.as_str()).unwrap_or("");
    match &listed.call {
        None => Ok(format!("{url}: {} tools listed", listed.tools.len())),
        Some(Err(ProbeFailure::Unreachable { error, .. })) => {
            Err(format!("{url}: tools/call {tool} got no answer: {error}"))
        }
        Some(Err(ProbeFailure::Refused { failure, .. })) => Err(format!(
            "{url}: tools/call {tool} answered error {}: {}",
            failure.code, failure.message
        )),
        Some(Ok(a)) if a.is_error => Err(format!(
            "{url}: tools/call {tool} expected a result, saw isError: {}",
            shown(&a.text)
        )),
        Some(Ok(a)) => Ok(format!(
            "{url}: {} tools listed, {tool} answered {}",
            listed.tools.len(),
            shown(&a.text)
        )),
    }
}

/// Every server's verdict together: the first failure, or all passes joined.
pub fn judge_all(checks: &[McpServerCheck], probes: &[Probe]) -> Result<String, String> {
    let mut passed = Vec::new();
    for (check, probe) in checks.iter().zip(probes) {
        passed.push(judge(check, probe)?);
    }
    Ok(passed.join("; "))
}

fn shown(text: &str) -> String {
    let t: String = text.chars().take(SHOWN).collect();
    format!("{t:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentrelease_api::mcp::McpToolCall;

    fn check(required: &[&str], call: Option<&str>) -> McpServerCheck {
        McpServerCheck {
            url: "/api/2.0/mcp/functions/main/agents".into(),
            required_tools: required.iter().map(|s| s.to_string()).collect(),
            call: call.map(|t| McpToolCall {
                tool: t.into(),
                arguments: None,
            }),
        }
    }

    fn listed(tools: &[&str], call: Option<CallAnswer>) -> Probe {
        Ok(Listed {
            tools: tools.iter().map(|s| s.to_string()).collect(),
            call: call.map(Ok),
        })
    }

    #[test]
    fn a_missing_tool_names_what_was_expected_and_seen() {
        let e = judge(&check(&["a", "b"], None), &listed(&["a", "c"], None)).unwrap_err();
        assert!(
            e.contains("missing [b]") && e.contains("shows [a, c]"),
            "{e}"
        );
    }

    #[test]
    fn an_error_result_of_the_call_fails() {
        let answer = CallAnswer {
            is_error: true,
            text: "boom".into(),
        };
        let e = judge(&check(&["a"], Some("a")), &listed(&["a"], Some(answer))).unwrap_err();
        assert!(e.contains("isError") && e.contains("boom"), "{e}");
    }

    #[test]
    fn arguments_must_be_an_object() {
        assert_eq!(arguments(None), Ok(json!({})));
        assert!(arguments(Some("[1]")).is_err());
        assert!(arguments(Some("{")).is_err());
        assert_eq!(arguments(Some(r#"{"q":1}"#)), Ok(json!({"q": 1})));
    }

    #[test]
    fn tool_names_ignore_entries_without_a_name() {
        let v = json!({"tools": [{"name": "x"}, {"description": "y"}]});
        assert_eq!(tool_names(&v), vec!["x".to_string()]);
        assert!(tool_names(&json!({})).is_empty());
    }
}
