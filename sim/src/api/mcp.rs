//! Managed MCP servers: JSON-RPC 2.0 over streamable HTTP on
//! `/api/2.0/mcp/functions/{catalog}/{schema}` (the schema's Unity Catalog functions, named
//! `<catalog>__<schema>__<function>`; with `/{function}`, that one),
//! `/api/2.0/mcp/vector-search/{catalog}/{schema}` (its vector search indexes,
//! `<catalog>__<schema>__<index>`; with `/{index}`, that one) and `/api/2.0/mcp/genie/{space_id}`
//! (`query_space_<id>`, `poll_response_<id>`). `tools/call` answers a text naming what was
//! called and its arguments. A schema, function, index or space that does not exist is a 404,
//! as on the workspace. Each `POST` is answered with one `application/json` response, or — when
//! [`McpWorld::sse`] is on and the client accepts it — a `text/event-stream` carrying it as one
//! `message` event. `initialize` hands out a session id in the `Mcp-Session-Id` header; a
//! request naming an unknown one gets 404, and with [`McpWorld::require_sessions`] a request
//! without one gets 400.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::shared::SharedState;

/// The protocol version answered when the client names none.
const PROTOCOL_VERSION: &str = "2025-06-18";

fn rpc_result(id: &Value, result: Value) -> Response {
    let text = json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string();
    let mut resp = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        text.clone(),
    )
        .into_response();
    resp.extensions_mut().insert(RpcBody(text));
    resp
}

fn rpc_error(status: StatusCode, id: &Value, code: i64, message: &str) -> Response {
    let text = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
        .to_string();
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        text.clone(),
    )
        .into_response();
    resp.extensions_mut().insert(RpcBody(text));
    resp
}

/// How the managed MCP servers speak streamable HTTP (test controls; both off by default).
#[derive(Debug, Clone, Default)]
pub struct McpWorld {
    /// Vector search indexes (`catalog.schema.index`), the tools of
    /// `/api/2.0/mcp/vector-search/{catalog}/{schema}`.
    pub vector_indexes: std::collections::BTreeSet<String>,
    /// Genie spaces by id (their titles), each served at `/api/2.0/mcp/genie/{space_id}`.
    pub genie_spaces: std::collections::BTreeMap<String, String>,
    /// Answer as `text/event-stream` (one `message` event carrying the JSON-RPC response)
    /// whenever the client accepts it.
    pub sse: bool,
    /// Refuse every request but `initialize` that carries no session id `initialize` handed
    /// out (400), and unknown session ids (404).
    pub require_sessions: bool,
    /// Session ids handed out by `initialize`.
    pub sessions: std::collections::BTreeSet<String>,
}

/// The session header of streamable HTTP.
pub const SESSION_HEADER: &str = "mcp-session-id";

/// `POST /api/2.0/mcp/functions/{catalog}/{schema}`.
pub async fn functions(
    State(s): State<SharedState>,
    Path((catalog, schema)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let tools = function_tools(&s, &catalog, &schema, None)?;
    let server = format!("uc-functions-{catalog}-{schema}");
    Ok(serve(&s, &server, tools, &headers, &body))
}

/// `POST /api/2.0/mcp/functions/{catalog}/{schema}/{function}`: that function as the only
/// tool; a function that does not exist is a 404.
pub async fn function(
    State(s): State<SharedState>,
    Path((catalog, schema, function)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let tools = function_tools(&s, &catalog, &schema, Some(&function))?;
    let server = format!("uc-functions-{catalog}-{schema}-{function}");
    Ok(serve(&s, &server, tools, &headers, &body))
}

/// The tools of a functions server: the schema's functions, or only `only`.
fn function_tools(
    s: &SharedState,
    catalog: &str,
    schema: &str,
    only: Option<&str>,
) -> ApiResult<Vec<Tool>> {
    let full = format!("{catalog}.{schema}");
    let world = s.world();
    if !world.schemas.contains(&full) {
        return Err(ApiError::not_found(format!(
            "Schema '{full}' does not exist."
        )));
    }
    if let Some(f) = only
        && !world.functions.contains(&format!("{full}.{f}"))
    {
        return Err(ApiError::not_found(format!(
            "Function '{full}.{f}' does not exist."
        )));
    }
    Ok(world
        .functions
        .iter()
        .filter_map(|f| {
            let name = f.strip_prefix(&format!("{full}."))?;
            only.is_none_or(|o| o == name).then(|| Tool {
                name: format!("{catalog}__{schema}__{name}"),
                description: format!("Unity Catalog function {f}"),
                answer: f.clone(),
            })
        })
        .collect())
}

/// `POST /api/2.0/mcp/vector-search/{catalog}/{schema}`: one tool per vector search index of
/// the schema, named `<catalog>__<schema>__<index>`.
pub async fn vector_search(
    State(s): State<SharedState>,
    Path((catalog, schema)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let tools = index_tools(&s, &catalog, &schema, None)?;
    let server = format!("vector-search-{catalog}-{schema}");
    Ok(serve(&s, &server, tools, &headers, &body))
}

/// `POST /api/2.0/mcp/vector-search/{catalog}/{schema}/{index}`: that index as the only tool;
/// an index that does not exist is a 404.
pub async fn vector_index(
    State(s): State<SharedState>,
    Path((catalog, schema, index)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let tools = index_tools(&s, &catalog, &schema, Some(&index))?;
    let server = format!("vector-search-{catalog}-{schema}-{index}");
    Ok(serve(&s, &server, tools, &headers, &body))
}

/// The tools of a vector search server: the schema's indexes, or only `only`.
fn index_tools(
    s: &SharedState,
    catalog: &str,
    schema: &str,
    only: Option<&str>,
) -> ApiResult<Vec<Tool>> {
    let full = format!("{catalog}.{schema}");
    let world = s.world();
    if !world.schemas.contains(&full) {
        return Err(ApiError::not_found(format!(
            "Schema '{full}' does not exist."
        )));
    }
    if let Some(i) = only
        && !world.mcp.vector_indexes.contains(&format!("{full}.{i}"))
    {
        return Err(ApiError::not_found(format!(
            "Vector index {full}.{i} does not exist."
        )));
    }
    Ok(world
        .mcp
        .vector_indexes
        .iter()
        .filter_map(|i| {
            let name = i.strip_prefix(&format!("{full}."))?;
            only.is_none_or(|o| o == name).then(|| Tool {
                name: format!("{catalog}__{schema}__{name}"),
                description: format!("Vector search index {i}"),
                answer: format!("similarity search on {i}"),
            })
        })
        .collect())
}

/// `POST /api/2.0/mcp/genie/{space_id}`: the space's two tools, `query_space_<id>` and
/// `poll_response_<id>`. An unknown space is a 404.
pub async fn genie(
    State(s): State<SharedState>,
    Path(space): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let title = s.world().mcp.genie_spaces.get(&space).cloned();
    let Some(title) = title else {
        return Err(ApiError::not_found(format!(
            "Genie space '{space}' does not exist."
        )));
    };
    let tools = vec![
        Tool {
            name: format!("query_space_{space}"),
            description: format!("Ask the Genie space {title} a question"),
            answer: format!("genie space {title}"),
        },
        Tool {
            name: format!("poll_response_{space}"),
            description: format!("Poll a response of the Genie space {title}"),
            answer: format!("genie space {title} (poll)"),
        },
    ];
    Ok(serve(&s, &format!("genie-{space}"), tools, &headers, &body))
}

/// A tool of a managed server: its name, description, and what a call answers (with the
/// arguments appended).
struct Tool {
    name: String,
    description: String,
    answer: String,
}

fn wants_sse(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"))
}

/// Answers one JSON-RPC request: sessions, SSE framing, and the methods.
fn serve(
    s: &SharedState,
    server: &str,
    tools: Vec<Tool>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let session = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (sse, require, known) = {
        let world = s.world();
        let known = session
            .as_ref()
            .is_some_and(|id| world.mcp.sessions.contains(id));
        (
            world.mcp.sse && wants_sse(headers),
            world.mcp.require_sessions,
            known,
        )
    };
    let parsed = serde_json::from_slice::<Value>(body).ok();
    let method = parsed
        .as_ref()
        .and_then(|r| r.get("method"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if session.is_some() && !known {
        return rpc_error(
            StatusCode::NOT_FOUND,
            &Value::Null,
            -32001,
            "Session not found",
        );
    }
    if require && session.is_none() && method != "initialize" {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            &Value::Null,
            -32000,
            "Bad Request: No valid session ID provided",
        );
    }
    let mut resp = answer(server, &tools, parsed);
    if method == "initialize" && resp.status() == StatusCode::OK {
        let id = format!("mcp-{}", uuid::Uuid::new_v4().simple());
        s.world().mcp.sessions.insert(id.clone());
        if let Ok(v) = HeaderValue::from_str(&id) {
            resp.headers_mut().insert(SESSION_HEADER, v);
        }
    }
    if sse && resp.status() == StatusCode::OK {
        resp = into_sse(resp);
    }
    resp
}

/// Re-frames a JSON answer as one SSE `message` event.
fn into_sse(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let Some(json) = parts.extensions.remove::<RpcBody>() else {
        return Response::from_parts(parts, body);
    };
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    let text = format!(
        ": stream opened\n\nevent: message\nid: 1\ndata: {}\n\n",
        json.0
    );
    Response::from_parts(parts, axum::body::Body::from(text))
}

/// The JSON text of an answer, kept for SSE framing.
#[derive(Clone)]
struct RpcBody(String);

fn answer(server: &str, tools: &[Tool], parsed: Option<Value>) -> Response {
    let tools: Vec<(String, String, String)> = tools
        .iter()
        .map(|t| (t.name.clone(), t.description.clone(), t.answer.clone()))
        .collect();
    let Some(req) = parsed else {
        return rpc_error(StatusCode::BAD_REQUEST, &Value::Null, -32700, "Parse error");
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let method = req.get("method").and_then(Value::as_str).unwrap_or("");
    if req.get("id").is_none() {
        // A notification (e.g. notifications/initialized): accepted, no answer.
        return StatusCode::ACCEPTED.into_response();
    }
    let params = req.get("params").cloned().unwrap_or(json!({}));
    match method {
        "initialize" => rpc_result(
            &id,
            json!({
                "protocolVersion": params.get("protocolVersion").cloned().unwrap_or(json!(PROTOCOL_VERSION)),
                "capabilities": {"tools": {"listChanged": false}},
                "serverInfo": {"name": server, "version": "1.0.0"},
            }),
        ),
        "ping" => rpc_result(&id, json!({})),
        "tools/list" => rpc_result(
            &id,
            json!({"tools": tools.iter().map(|(name, description, _)| json!({
                "name": name,
                "description": description,
                "inputSchema": {"type": "object", "properties": {}},
            })).collect::<Vec<_>>()}),
        ),
        "tools/call" => {
            let name = params.get("name").and_then(Value::as_str).unwrap_or("");
            match tools.iter().find(|(n, _, _)| n == name) {
                None => rpc_error(
                    StatusCode::OK,
                    &id,
                    -32602,
                    &format!("Unknown tool: {name}"),
                ),
                Some((_, _, f)) => {
                    let args = params.get("arguments").cloned().unwrap_or(json!({}));
                    rpc_result(
                        &id,
                        json!({"content": [{"type": "text", "text": format!("{f}({args})")}], "isError": false}),
                    )
                }
            }
        }
        other => rpc_error(
            StatusCode::OK,
            &id,
            -32601,
            &format!("Method not found: {other}"),
        ),
    }
}
