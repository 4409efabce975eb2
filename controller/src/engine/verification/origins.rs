//! The origin check of the URLs verification sends to off the workspace's paths — custom MCP
//! servers (in the preflight, before anything is written, and again before the tool check) and
//! the app's URL the Apps API answers (before the smoke, chat and task requests and the log
//! read). A refused URL stops the step with `UntrustedOrigin`, naming the field, the origin,
//! why and what to set; the client refuses the same URLs again before sending anything.

use agentrelease_api::conditions::reasons;
use agentrelease_api::mcp::McpServerCheck;

use crate::engine::pass::StepResult;
use crate::engine::workspace::{Workspace, WorkspaceError, WorkspaceErrorKind};

/// The custom MCP servers (full URLs; managed paths are on the workspace) checked; the first
/// refusal stops the step.
pub async fn mcp_servers<W: Workspace>(ws: &W, servers: &[McpServerCheck]) -> Option<StepResult> {
    for (i, server) in servers.iter().enumerate() {
        if server.url.starts_with('/') {
            continue;
        }
        if let Err(e) = ws.check_origin(&server.url).await {
            return Some(stop(&format!("spec.verification.mcpServers[{i}].url"), &e));
        }
    }
    None
}

/// The app's URL checked before the verification sends to it.
pub async fn app_url<W: Workspace>(ws: &W, url: &str) -> Option<StepResult> {
    ws.check_origin(url).await.err().map(|e| {
        stop(
            "the app's URL (status.appUrl, as the Apps API answers it)",
            &e,
        )
    })
}

/// A refusal blocks with [`reasons::UNTRUSTED_ORIGIN`]; any other failure (asking the workspace
/// its id) is judged as a workspace error.
fn stop(what: &str, e: &WorkspaceError) -> StepResult {
    if e.kind == WorkspaceErrorKind::UntrustedOrigin {
        StepResult::blocked(reasons::UNTRUSTED_ORIGIN, format!("{what}: {}", e.message))
    } else {
        StepResult::from_workspace(e)
    }
}
