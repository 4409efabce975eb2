//! Vector search indexes (`GET /api/2.0/vector-search/indexes/{index_name}`): read-only, seeded
//! (`vector_indexes` of a schema); each is also a tool of its schema's managed MCP server.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;

use super::ok;
use crate::error::{ApiError, ApiResult};
use crate::shared::SharedState;
use crate::world::ADMIN_PRINCIPAL;

/// The vector search endpoint every simulated index is served by.
const ENDPOINT: &str = "sim-vector-search";

/// `GET /api/2.0/vector-search/indexes/{index_name}`.
pub async fn get_index(
    State(s): State<SharedState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    if !s.world().mcp.vector_indexes.contains(&name) {
        return Err(ApiError::not_found(format!(
            "Vector index {name} does not exist."
        )));
    }
    Ok(ok(json!({
        "name": name,
        "endpoint_name": ENDPOINT,
        "primary_key": "id",
        "index_type": "DELTA_SYNC",
        "creator": ADMIN_PRINCIPAL,
        "status": {"ready": true, "indexed_row_count": 0, "message": "Index is ready",
                   "index_url": format!("sim-vector-search/{name}")},
    })))
}
