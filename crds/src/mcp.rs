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
    /// (`/api/2.0/mcp/functions/{catalog}/{schema}[/{function}]`,
    /// `/api/2.0/mcp/vector-search/{catalog}/{schema}[/{index}]`, `/api/2.0/mcp/genie/{space_id}`)
    /// or the `https://` URL of a custom MCP server hosted as an app (ending in its MCP path,
    /// usually `/mcp`). The schema, function, index or Genie space a managed path names must
    /// exist and be readable by the operator, or the release blocks before any write
    /// (`ObjectMissing`, `PermissionDenied`). A custom server must be a Databricks app of the
    /// target's workspace or on an origin listed in the target's `spec.trustedOrigins`;
    /// otherwise the release blocks before any write (`UntrustedOrigin`).
    #[x_kube(validation = Rule::new("self.matches('^/api/2[.]0/mcp/(functions|vector-search)/[^/?#]+/[^/?#]+(/[^/?#]+)?$') || self.matches('^/api/2[.]0/mcp/genie/[^/?#]+$') || self.startsWith('https://')").message("mcpServers[].url must be a managed MCP path (/api/2.0/mcp/functions/{catalog}/{schema}[/{function}], /api/2.0/mcp/vector-search/{catalog}/{schema}[/{index}], /api/2.0/mcp/genie/{space_id}) or an https:// URL"))]
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

/// A Databricks managed MCP server, as its path on the workspace names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManagedServer {
    /// `/api/2.0/mcp/functions/{catalog}/{schema}[/{function}]`: the schema's Unity Catalog
    /// functions, or the one function named.
    Functions {
        /// The catalog.
        catalog: String,
        /// The schema within the catalog.
        schema: String,
        /// The one function the server exposes, when the path names it.
        function: Option<String>,
    },
    /// `/api/2.0/mcp/vector-search/{catalog}/{schema}[/{index}]`: the schema's vector search
    /// indexes, or the one index named.
    VectorSearch {
        /// The catalog.
        catalog: String,
        /// The schema within the catalog.
        schema: String,
        /// The one index the server exposes, when the path names it.
        index: Option<String>,
    },
    /// `/api/2.0/mcp/genie/{space_id}`: one Genie space.
    Genie {
        /// The space's id.
        space_id: String,
    },
}

impl ManagedServer {
    /// The managed server a URL names (pure); `None` for an `https://` URL of a custom server or
    /// anything that is not a managed path as the CRD accepts it.
    pub fn parse(url: &str) -> Option<ManagedServer> {
        let rest = url.strip_prefix("/api/2.0/mcp/")?;
        let segments: Vec<&str> = rest.split('/').collect();
        let plain = |s: &&str| !s.is_empty() && !s.contains(['?', '#']);
        if !segments.iter().all(plain) {
            return None;
        }
        let owned = |s: &str| s.to_string();
        match segments.as_slice() {
            ["functions", catalog, schema, tail @ ..] if tail.len() <= 1 => {
                Some(ManagedServer::Functions {
                    catalog: owned(catalog),
                    schema: owned(schema),
                    function: tail.first().map(|f| owned(f)),
                })
            }
            ["vector-search", catalog, schema, tail @ ..] if tail.len() <= 1 => {
                Some(ManagedServer::VectorSearch {
                    catalog: owned(catalog),
                    schema: owned(schema),
                    index: tail.first().map(|i| owned(i)),
                })
            }
            ["genie", space_id] => Some(ManagedServer::Genie {
                space_id: owned(space_id),
            }),
            _ => None,
        }
    }
}

impl McpServerCheck {
    /// The managed server the check's URL names, when it names one.
    pub fn managed(&self) -> Option<ManagedServer> {
        ManagedServer::parse(&self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_paths_name_their_schema_function_index_or_space() {
        assert_eq!(
            ManagedServer::parse("/api/2.0/mcp/functions/main/agents"),
            Some(ManagedServer::Functions {
                catalog: "main".into(),
                schema: "agents".into(),
                function: None
            })
        );
        assert_eq!(
            ManagedServer::parse("/api/2.0/mcp/functions/main/agents/lookup"),
            Some(ManagedServer::Functions {
                catalog: "main".into(),
                schema: "agents".into(),
                function: Some("lookup".into())
            })
        );
        assert_eq!(
            ManagedServer::parse("/api/2.0/mcp/vector-search/main/agents/faq_index"),
            Some(ManagedServer::VectorSearch {
                catalog: "main".into(),
                schema: "agents".into(),
                index: Some("faq_index".into())
            })
        );
        assert_eq!(
            ManagedServer::parse("/api/2.0/mcp/genie/01f0aa11bb22"),
            Some(ManagedServer::Genie {
                space_id: "01f0aa11bb22".into()
            })
        );
    }

    #[test]
    fn custom_servers_and_malformed_paths_name_no_managed_server() {
        for url in [
            "https://mcp.example.com/mcp",
            "/api/2.0/mcp/functions/main",
            "/api/2.0/mcp/functions/main/agents/a/b",
            "/api/2.0/mcp/functions/main//x",
            "/api/2.0/mcp/genie/a/b",
            "/api/2.0/mcp/genie/a?x=1",
            "/api/2.0/mcp/sql",
        ] {
            assert_eq!(ManagedServer::parse(url), None, "{url}");
        }
    }
}
