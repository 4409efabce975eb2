//! Unity Catalog catalogs, schemas, volumes, tables, functions and the registered-model list
//! (read-only; they come from the seed).

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Query, ok};
use crate::error::{ApiError, ApiResult};
use crate::shared::SharedState;
use crate::world::{ADMIN_PRINCIPAL, World};

const METASTORE: &str = "00000000-0000-0000-0000-00000000cafe";

fn catalog_json(name: &str) -> Value {
    json!({"name": name, "full_name": name, "owner": ADMIN_PRINCIPAL, "catalog_type": "MANAGED_CATALOG", "metastore_id": METASTORE})
}

fn schema_json(full: &str) -> Value {
    let (catalog, name) = full.split_once('.').unwrap_or((full, ""));
    json!({"name": name, "catalog_name": catalog, "full_name": full, "owner": ADMIN_PRINCIPAL, "metastore_id": METASTORE})
}

fn volume_json(full: &str) -> Value {
    let mut parts = full.splitn(3, '.');
    let (c, s, v) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    json!({
        "name": v, "catalog_name": c, "schema_name": s, "full_name": full, "volume_type": "MANAGED",
        "owner": ADMIN_PRINCIPAL, "storage_location": format!("s3://sim-metastore/volumes/{full}"), "metastore_id": METASTORE,
    })
}

fn paged(key: &str, all: Vec<Value>, q: &Query) -> ApiResult<Response> {
    let size = q.number("max_results")?.filter(|n| *n > 0).unwrap_or(1000) as usize;
    let (items, next) = super::page(&all, q.get("page_token"), size)?;
    let mut v = json!({ key: items });
    if let Some(next) = next {
        v["next_page_token"] = json!(next);
    }
    Ok(ok(v))
}

fn require_schema(world: &World, catalog: &str, schema: &str) -> ApiResult<String> {
    if !world.catalogs.contains(catalog) {
        return Err(ApiError::not_found(format!(
            "Catalog '{catalog}' does not exist."
        )));
    }
    let full = format!("{catalog}.{schema}");
    if !world.schemas.contains(&full) {
        return Err(ApiError::not_found(format!(
            "Schema '{full}' does not exist."
        )));
    }
    Ok(full)
}

/// `GET /api/2.1/unity-catalog/catalogs`.
pub async fn list_catalogs(
    State(s): State<SharedState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let all = s.world().catalogs.iter().map(|c| catalog_json(c)).collect();
    paged("catalogs", all, &q)
}

/// `GET /api/2.1/unity-catalog/catalogs/{name}`.
pub async fn get_catalog(
    State(s): State<SharedState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    if !s.world().catalogs.contains(&name) {
        return Err(ApiError::not_found(format!(
            "Catalog '{name}' does not exist."
        )));
    }
    Ok(ok(catalog_json(&name)))
}

/// `GET /api/2.1/unity-catalog/schemas?catalog_name=`.
pub async fn list_schemas(
    State(s): State<SharedState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let catalog = q.required("catalog_name")?.to_string();
    let world = s.world();
    if !world.catalogs.contains(&catalog) {
        return Err(ApiError::not_found(format!(
            "Catalog '{catalog}' does not exist."
        )));
    }
    let prefix = format!("{catalog}.");
    let all = world
        .schemas
        .iter()
        .filter(|f| f.starts_with(&prefix))
        .map(|f| schema_json(f))
        .collect();
    paged("schemas", all, &q)
}

/// `GET /api/2.1/unity-catalog/schemas/{full_name}`.
pub async fn get_schema(
    State(s): State<SharedState>,
    Path(full): Path<String>,
) -> ApiResult<Response> {
    if !s.world().schemas.contains(&full) {
        return Err(ApiError::not_found(format!(
            "Schema '{full}' does not exist."
        )));
    }
    Ok(ok(schema_json(&full)))
}

fn three_parts(full: &str) -> (&str, &str, &str) {
    let mut parts = full.splitn(3, '.');
    (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    )
}

/// `GET /api/2.1/unity-catalog/tables/{full_name}`.
pub async fn get_table(
    State(s): State<SharedState>,
    Path(full): Path<String>,
) -> ApiResult<Response> {
    if !s.world().tables.contains(&full) {
        return Err(ApiError::not_found(format!(
            "Table '{full}' does not exist."
        )));
    }
    let (c, sc, t) = three_parts(&full);
    Ok(ok(json!({
        "name": t, "catalog_name": c, "schema_name": sc, "full_name": full,
        "table_type": "MANAGED", "data_source_format": "DELTA", "owner": ADMIN_PRINCIPAL,
        "storage_location": format!("s3://sim-metastore/tables/{full}"), "metastore_id": METASTORE,
    })))
}

/// `GET /api/2.1/unity-catalog/functions/{name}`.
pub async fn get_function(
    State(s): State<SharedState>,
    Path(full): Path<String>,
) -> ApiResult<Response> {
    if !s.world().functions.contains(&full) {
        return Err(ApiError::not_found(format!(
            "Routine or Model '{full}' does not exist."
        )));
    }
    let (c, sc, f) = three_parts(&full);
    Ok(ok(json!({
        "name": f, "catalog_name": c, "schema_name": sc, "full_name": full,
        "routine_body": "SQL", "data_type": "STRING", "full_data_type": "STRING",
        "parameter_style": "S", "is_deterministic": true, "sql_data_access": "READS_SQL_DATA",
        "is_null_call": false, "security_type": "DEFINER", "specific_name": f,
        "owner": ADMIN_PRINCIPAL, "metastore_id": METASTORE,
    })))
}

/// `GET /api/2.1/unity-catalog/volumes?catalog_name=&schema_name=`.
pub async fn list_volumes(
    State(s): State<SharedState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let world = s.world();
    let full = require_schema(
        &world,
        q.required("catalog_name")?,
        q.required("schema_name")?,
    )?;
    let prefix = format!("{full}.");
    let all = world
        .volumes
        .iter()
        .filter(|v| v.starts_with(&prefix))
        .map(|v| volume_json(v))
        .collect();
    paged("volumes", all, &q)
}

/// `GET /api/2.1/unity-catalog/volumes/{full_name}`.
pub async fn get_volume(
    State(s): State<SharedState>,
    Path(full): Path<String>,
) -> ApiResult<Response> {
    if !s.world().volumes.contains(&full) {
        return Err(ApiError::not_found(format!(
            "Volume '{full}' does not exist."
        )));
    }
    Ok(ok(volume_json(&full)))
}

/// `GET /api/2.1/unity-catalog/models?catalog_name=&schema_name=`.
pub async fn list_models(
    State(s): State<SharedState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let world = s.world();
    let prefix = match (q.get("catalog_name"), q.get("schema_name")) {
        (Some(c), Some(sc)) => format!("{}.", require_schema(&world, c, sc)?),
        (Some(c), None) => format!("{c}."),
        _ => String::new(),
    };
    let all = world
        .models
        .iter()
        .filter(|(name, _)| name.starts_with(&prefix))
        .map(|(name, m)| {
            let mut parts = name.splitn(3, '.');
            let (c, sc, n) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            json!({"full_name": name, "name": n, "catalog_name": c, "schema_name": sc, "owner": m.owner,
                   "created_at": m.created_ms, "updated_at": m.updated_ms, "metastore_id": METASTORE})
        })
        .collect();
    paged("registered_models", all, &q)
}
