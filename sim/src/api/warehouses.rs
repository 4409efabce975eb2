//! SQL warehouses (`/api/2.0/sql/warehouses`): read-only, seeded.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::ok;
use crate::error::{ApiError, ApiResult};
use crate::shared::SharedState;
use crate::world::Warehouse;

fn warehouse_json(id: &str, w: &Warehouse) -> Value {
    json!({"id": id, "name": w.name, "state": "RUNNING", "cluster_size": "Small", "creator_name": w.creator,
           "warehouse_type": "PRO", "enable_serverless_compute": true, "num_clusters": 1})
}

/// `GET /api/2.0/sql/warehouses/{id}`.
pub async fn get(State(s): State<SharedState>, Path(id): Path<String>) -> ApiResult<Response> {
    let world = s.world();
    let w = world
        .warehouses
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("SQL warehouse {id} does not exist.")))?;
    Ok(ok(warehouse_json(&id, w)))
}

/// `GET /api/2.0/sql/warehouses`.
pub async fn list(State(s): State<SharedState>) -> ApiResult<Response> {
    let world = s.world();
    let all: Vec<Value> = world
        .warehouses
        .iter()
        .map(|(id, w)| warehouse_json(id, w))
        .collect();
    Ok(ok(json!({"warehouses": all})))
}
