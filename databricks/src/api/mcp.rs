//! One JSON-RPC request to an MCP server over streamable HTTP (a `POST` whose answer is one
//! JSON-RPC response). Managed MCP servers live on the workspace (`/api/2.0/mcp/...`); custom
//! ones on an app's URL. The workspace credentials go with the request either way.

use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::client::{Body, Client, decode};
use crate::error::{Error, ErrorKind, Result};

/// The most of an MCP answer kept.
const MAX_MCP_BODY: u64 = 1024 * 1024;

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
    result: Option<Value>,
    #[serde(default)]
    error: Option<RpcError>,
}

impl Client {
    /// Sends JSON-RPC `method` with `params` to the MCP server at `server` (a path on the
    /// workspace or a full URL). `Ok(Err(_))` is the server's JSON-RPC error; an HTTP failure or
    /// an answer that is not a JSON-RPC response is an `Err`.
    pub async fn mcp_request(
        &self,
        server: &str,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<std::result::Result<Value, RpcError>> {
        let route = "{mcp_server}";
        let full = if server.starts_with('/') {
            format!("{}{server}", self.host().trim_end_matches('/'))
        } else {
            server.to_string()
        };
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let send = self.send_url(
            Method::POST,
            route,
            &full,
            &[],
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
        let env: Envelope = decode(route, &answer.body)?;
        match (env.result, env.error) {
            (_, Some(e)) => Ok(Err(e)),
            (Some(r), None) => Ok(Ok(r)),
            (None, None) => Err(Error::local(
                ErrorKind::Other,
                route,
                "a JSON-RPC answer with neither result nor error",
            )),
        }
    }
}
