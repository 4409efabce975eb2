//! The MCP tool check of a release's verification: which MCP servers the agent depends on and
//! which of their tools must be there.

use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// An MCP server the agent calls, checked with `initialize` and `tools/list` (JSON-RPC over
/// streamable HTTP) after each new deployment.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct McpServerCheck {
    /// The server: a Databricks managed MCP path on the target's workspace
    /// (`/api/2.0/mcp/functions/{catalog}/{schema}`, `/api/2.0/mcp/vector-search/{catalog}/{schema}`,
    /// `/api/2.0/mcp/genie/{space_id}`) or the `https://` URL of a custom MCP server hosted as an
    /// app (ending in its MCP path, usually `/mcp`). A custom server must be a Databricks app of
    /// the target's workspace or on an origin listed in the target's `spec.trustedOrigins`;
    /// otherwise the release blocks before any write (`UntrustedOrigin`).
    #[x_kube(validation = Rule::new("self.matches('^/api/2[.]0/mcp/(functions|vector-search)/[^/?#]+/[^/?#]+$') || self.matches('^/api/2[.]0/mcp/genie/[^/?#]+$') || self.startsWith('https://')").message("mcpServers[].url must be a managed MCP path (/api/2.0/mcp/functions/{catalog}/{schema}, /api/2.0/mcp/vector-search/{catalog}/{schema}, /api/2.0/mcp/genie/{space_id}) or an https:// URL"))]
    #[schemars(length(min = 14, max = 2048))]
    pub url: String,
    /// Tool names `tools/list` must include (for Unity Catalog functions:
    /// `<catalog>__<schema>__<function>`).
    #[serde(default)]
    #[schemars(length(max = 100))]
    pub required_tools: Vec<String>,
    /// A read-only tool to call once; the check fails when the call answers with an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<McpToolCall>,
}

/// One `tools/call` of the MCP check. Only name a tool that reads: the operator calls it after
/// every new deployment.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct McpToolCall {
    /// The tool's name, as `tools/list` shows it.
    #[schemars(length(min = 1, max = 255))]
    pub tool: String,
    /// The call's arguments: a JSON object (default `{}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 16384))]
    pub arguments: Option<String>,
}
