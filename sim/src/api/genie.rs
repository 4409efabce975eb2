//! Genie spaces (`GET /api/2.0/genie/spaces/{space_id}`): read-only, seeded (`genie_spaces`);
//! each is also a managed MCP server (`/api/2.0/mcp/genie/{space_id}`).

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;

use super::ok;
use crate::error::{ApiError, ApiResult};
use crate::shared::SharedState;

/// `GET /api/2.0/genie/spaces/{space_id}`.
pub async fn get_space(
    State(s): State<SharedState>,
    Path(space_id): Path<String>,
) -> ApiResult<Response> {
    let title = s.world().mcp.genie_spaces.get(&space_id).cloned();
    let Some(title) = title else {
        return Err(ApiError::not_found(format!(
            "Genie space {space_id} does not exist."
        )));
    };
    Ok(ok(json!({"space_id": space_id, "title": title})))
}
