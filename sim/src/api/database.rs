//! Lakebase database instances (`GET /api/2.0/database/instances/{name}`): read-only, seeded
//! (`database_instances`).

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;

use super::ok;
use crate::error::{ApiError, ApiResult};
use crate::shared::SharedState;
use crate::world::ADMIN_PRINCIPAL;

/// `GET /api/2.0/database/instances/{name}`.
pub async fn get_instance(
    State(s): State<SharedState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    if !s.world().database_instances.contains(&name) {
        return Err(ApiError::not_found(format!(
            "Database instance '{name}' does not exist."
        )));
    }
    Ok(ok(json!({
        "name": name,
        "uid": format!("{:032x}", name.bytes().fold(0u128, |h, b| h.wrapping_mul(31).wrapping_add(b.into()))),
        "state": "AVAILABLE",
        "capacity": "CU_1",
        "pg_version": "16",
        "creator": ADMIN_PRINCIPAL,
        "read_write_dns": format!("{name}.database.sim.local"),
    })))
}
