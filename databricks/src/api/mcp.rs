//! One JSON-RPC request to an MCP server over streamable HTTP: a `POST` that accepts either one
//! `application/json` response or a `text/event-stream` whose `data:` lines carry it. The
//! `Mcp-Session-Id` a server hands out on `initialize` goes with every later request of the
//! session, with the negotiated `MCP-Protocol-Version`. Managed MCP servers live on the
//! workspace (`/api/2.0/mcp/...`); custom ones on an app's URL or another origin, which the
//! origin policy must allow ([`agentrelease_api::origin`]: the credentials go only where it says
//! so, and a refused server gets no request).

use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::client::{Body, Client};
use crate::error::{Error, ErrorKind, Result};

/// The most of an MCP answer kept.
const MAX_MCP_BODY: u64 = 1024 * 1024;
/// The session header of streamable HTTP.
pub const SESSION_HEADER: &str = "mcp-session-id";
/// The protocol version header sent after `initialize`.
pub const PROTOCOL_HEADER: &str = "mcp-protocol-version";
/// What the client accepts.
const ACCEPT: &str = "application/json, text/event-stream";

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RpcError {
    /// The JSON-RPC error code (e.g. -32601 method not found).
    pub code: i64,
    /// What the server said.
    #[serde(default)]
    pub message: String,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error: Option<RpcError>,
}

/// The session a request belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct McpSession {
    /// The `Mcp-Session-Id` the server handed out (none: a stateless server).
    pub id: Option<String>,
    /// The protocol version `initialize` agreed on.
    pub protocol_version: Option<String>,
}

/// A request's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct McpAnswer {
    /// The result, or the server's JSON-RPC error.
    pub result: std::result::Result<Value, RpcError>,
    /// The session id the answer carried, when it carried one.
    pub session_id: Option<String>,
}

impl Client {
    /// Sends JSON-RPC `method` with `params` to the MCP server at `server` (a path on the
    /// workspace or a full URL), within `session`. An HTTP failure or an answer that is not a
    /// JSON-RPC response is an `Err`.
    pub async fn mcp_request(
        &self,
        server: &str,
        method: &str,
        params: Value,
        session: &McpSession,
        timeout: Duration,
    ) -> Result<McpAnswer> {
        let route = "{mcp_server}";
        let full = if server.starts_with('/') {
            format!("{}{server}", self.host().trim_end_matches('/'))
        } else {
            // A custom server: judged (and the workspace's id looked up, when an app domain
            // needs it) before anything goes there.
            self.check_origin(server).await?;
            server.to_string()
        };
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut headers = vec![("accept", ACCEPT.to_string())];
        if let Some(id) = &session.id {
            headers.push((SESSION_HEADER, id.clone()));
        }
        if let Some(v) = &session.protocol_version {
            headers.push((PROTOCOL_HEADER, v.clone()));
        }
        let send = self.send_url_with(
            Method::POST,
            route,
            &full,
            &[],
            &headers,
            Body::Json(body),
            MAX_MCP_BODY,
            false,
        );
        let answer = tokio::time::timeout(timeout, send).await.map_err(|_| {
            Error::local(
                ErrorKind::Transient,
                route,
                format!("no answer within {timeout:?}"),
            )
        })??;
        let session_id = answer
            .headers
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let is_sse = answer
            .headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let text = String::from_utf8_lossy(&answer.body);
        let env = if is_sse {
            from_event_stream(&text)
        } else {
            serde_json::from_str::<Envelope>(&text).ok()
        }
        .ok_or_else(|| {
            Error::local(
                ErrorKind::Other,
                route,
                if is_sse {
                    "the event stream carried no JSON-RPC response"
                } else {
                    "the answer is not a JSON-RPC response"
                },
            )
        })?;
        let result = match (env.result, env.error) {
            (_, Some(e)) => Err(e),
            (Some(r), None) => Ok(r),
            (None, None) => {
                return Err(Error::local(
                    ErrorKind::Other,
                    route,
                    "a JSON-RPC answer with neither result nor error",
                ));
            }
        };
        Ok(McpAnswer { result, session_id })
    }
}

/// The JSON-RPC response in an SSE body: the `data:` lines of each event joined, the first
/// event that parses as a response (a result or an error; requests and notifications the server
/// sends on the stream are skipped).
fn from_event_stream(text: &str) -> Option<Envelope> {
    let mut data: Vec<&str> = Vec::new();
    let mut events: Vec<String> = Vec::new();
    for line in text.lines().chain(std::iter::once("")) {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            if !data.is_empty() {
                events.push(data.join("\n"));
                data.clear();
            }
        } else if let Some(rest) = line.strip_prefix("data:") {
            data.push(rest.strip_prefix(' ').unwrap_or(rest));
        }
    }
    events
        .iter()
        .filter_map(|e| serde_json::from_str::<Envelope>(e).ok())
        .find(|e| e.id.is_some() && (e.result.is_some() || e.error.is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_response_is_found_among_the_events() {
        let text = ": comment\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\nevent: message\nid: 2\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\n\
                    data: \"result\":{\"tools\":[]}}\n\n";
        let env = from_event_stream(text).expect("response");
        assert_eq!(env.result, Some(json!({"tools": []})));
        assert!(from_event_stream("event: message\ndata: not json\n\n").is_none());
        let err = from_event_stream(
            "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32601,\"message\":\"no\"}}\r\n\r\n",
        )
        .expect("error");
        assert_eq!(err.error.map(|e| e.code), Some(-32601));
    }
}
