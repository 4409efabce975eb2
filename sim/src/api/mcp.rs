//! Managed MCP servers (`/api/2.0/mcp/functions/{catalog}/{schema}`): JSON-RPC 2.0 over
//! streamable HTTP, each `POST` answered with one `application/json` response (no SSE stream, no
//! session id). The tools are the schema's Unity Catalog functions, named
//! `<catalog>__<schema>__<function>`; `tools/call` answers a text naming the function and its
//! arguments. A schema that does not exist is a 404, as on the workspace.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::shared::SharedState;

/// The protocol version answered when the client names none.
const PROTOCOL_VERSION: &str = "2025-06-18";

fn rpc_result(id: &Value, result: Value) -> Response {
    axum::Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response()
}

fn rpc_error(status: StatusCode, id: &Value, code: i64, message: &str) -> Response {
    (
        status,
        axum::Json(
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
        ),
    )
        .into_response()
}

/// `POST /api/2.0/mcp/functions/{catalog}/{schema}`.
pub async fn functions(
    State(s): State<SharedState>,
    Path((catalog, schema)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let full = format!("{catalog}.{schema}");
    let tools: Vec<(String, String)> = {
        let world = s.world();
        if !world.schemas.contains(&full) {
            return Err(ApiError::not_found(format!(
                "Schema '{full}' does not exist."
            )));
        }
        world
            .functions
            .iter()
            .filter_map(|f| {
                let name = f.strip_prefix(&format!("{full}."))?;
                Some((format!("{catalog}__{schema}__{name}"), f.clone()))
            })
            .collect()
    };
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return Ok(rpc_error(
            StatusCode::BAD_REQUEST,
            &Value::Null,
            -32700,
            "Parse error",
        ));
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let method = req.get("method").and_then(Value::as_str).unwrap_or("");
    if req.get("id").is_none() {
        // A notification (e.g. notifications/initialized): accepted, no answer.
        return Ok(StatusCode::ACCEPTED.into_response());
    }
    let params = req.get("params").cloned().unwrap_or(json!({}));
    Ok(match method {
        "initialize" => rpc_result(
            &id,
            json!({
                "protocolVersion": params.get("protocolVersion").cloned().unwrap_or(json!(PROTOCOL_VERSION)),
                "capabilities": {"tools": {"listChanged": false}},
                "serverInfo": {"name": format!("uc-functions-{catalog}-{schema}"), "version": "1.0.0"},
            }),
        ),
        "ping" => rpc_result(&id, json!({})),
        "tools/list" => rpc_result(
            &id,
            json!({"tools": tools.iter().map(|(name, f)| json!({
                "name": name,
                "description": format!("Unity Catalog function {f}"),
                "inputSchema": {"type": "object", "properties": {}},
            })).collect::<Vec<_>>()}),
        ),
        "tools/call" => {
            let name = params.get("name").and_then(Value::as_str).unwrap_or("");
            match tools.iter().find(|(n, _)| n == name) {
                None => rpc_error(
                    StatusCode::OK,
                    &id,
                    -32602,
                    &format!("Unknown tool: {name}"),
                ),
                Some((_, f)) => {
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
    })
}
