//! The workspace MLflow model registry for bare model names (`/api/2.0/mlflow/...`), the same
//! REST as open-source MLflow's registry. Where open-source MLflow and Databricks differ, the
//! simulator follows Databricks: an unknown alias is 404 `RESOURCE_DOES_NOT_EXIST`.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Query, empty, field, ok};
use crate::error::{ApiError, ApiResult, parse_body};
use crate::shared::SharedState;
use crate::world::{Model, ModelVersion};

fn not_found_model(name: &str) -> ApiError {
    ApiError::not_found(format!("Registered Model with name={name} not found"))
}

fn version_json(name: &str, model: &Model, version: i64, mv: &ModelVersion) -> Value {
    let aliases: Vec<&String> = model
        .aliases
        .iter()
        .filter(|(_, v)| **v == version)
        .map(|(a, _)| a)
        .collect();
    let mut v = json!({
        "name": name,
        "version": version.to_string(),
        "creation_timestamp": mv.created_ms,
        "last_updated_timestamp": mv.created_ms,
        "user_id": model.owner,
        "current_stage": "None",
        "source": mv.source,
        "status": mv.status,
        "aliases": aliases,
    });
    if let Some(run) = &mv.run_id {
        v["run_id"] = json!(run);
    }
    if let Some(id) = &mv.model_id {
        v["model_id"] = json!(id);
    }
    if !mv.tags.is_empty() {
        v["tags"] = super::uc_models::tags_json(&mv.tags);
    }
    v
}

fn parse_version(raw: &str) -> ApiResult<i64> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "Model version must be a positive integer, got '{raw}'"
            ))
        })
}

/// `GET /api/2.0/mlflow/registered-models/get?name=`.
pub async fn get_model(State(s): State<SharedState>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let name = q.required("name")?;
    let world = s.world();
    let model = world
        .registry
        .get(name)
        .ok_or_else(|| not_found_model(name))?;
    let latest: Vec<Value> = model
        .versions
        .iter()
        .next_back()
        .map(|(n, mv)| version_json(name, model, *n, mv))
        .into_iter()
        .collect();
    Ok(ok(json!({"registered_model": {
        "name": name,
        "creation_timestamp": model.created_ms,
        "last_updated_timestamp": model.updated_ms,
        "user_id": model.owner,
        "latest_versions": latest,
        "aliases": model.aliases.iter().map(|(a, v)| json!({"alias": a, "version": v.to_string()})).collect::<Vec<_>>(),
    }})))
}

/// `GET /api/2.0/mlflow/model-versions/get?name=&version=`.
pub async fn get_version(
    State(s): State<SharedState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let name = q.required("name")?;
    let version = parse_version(q.required("version")?)?;
    let world = s.world();
    let model = world
        .registry
        .get(name)
        .ok_or_else(|| not_found_model(name))?;
    let mv = model.versions.get(&version).ok_or_else(|| {
        ApiError::not_found(format!(
            "Model Version (name={name}, version={version}) not found"
        ))
    })?;
    Ok(ok(
        json!({"model_version": version_json(name, model, version, mv)}),
    ))
}

/// `GET /api/2.0/mlflow/registered-models/alias?name=&alias=`.
pub async fn get_by_alias(
    State(s): State<SharedState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let name = q.required("name")?;
    let alias = q.required("alias")?;
    let world = s.world();
    let model = world
        .registry
        .get(name)
        .ok_or_else(|| not_found_model(name))?;
    let version =
        model.aliases.get(alias).copied().ok_or_else(|| {
            ApiError::not_found(format!("Registered model alias {alias} not found."))
        })?;
    let mv = model.versions.get(&version).ok_or_else(|| {
        ApiError::not_found(format!(
            "Model Version (name={name}, version={version}) not found"
        ))
    })?;
    Ok(ok(
        json!({"model_version": version_json(name, model, version, mv)}),
    ))
}

/// `POST /api/2.0/mlflow/registered-models/alias` with `{name, alias, version}`.
pub async fn set_alias(State(s): State<SharedState>, body: Bytes) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let name = field(&body, "name")?.to_string();
    let alias = field(&body, "alias")?.to_string();
    super::uc_models::validate_alias(&alias)?;
    let version = match body.get("version") {
        Some(Value::String(v)) => parse_version(v)?,
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|v| *v >= 1)
            .ok_or_else(|| ApiError::invalid("version must be a positive integer"))?,
        _ => return Err(ApiError::invalid("Missing required field: version")),
    };
    let mut world = s.world();
    let now = world.now();
    let model = world
        .registry
        .get_mut(&name)
        .ok_or_else(|| not_found_model(&name))?;
    if !model.versions.contains_key(&version) {
        return Err(ApiError::not_found(format!(
            "Model Version (name={name}, version={version}) not found"
        )));
    }
    model.aliases.insert(alias, version);
    model.updated_ms = now;
    Ok(empty())
}

/// `DELETE /api/2.0/mlflow/registered-models/alias` (name and alias in the query or the body).
pub async fn delete_alias(
    State(s): State<SharedState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let from_body: Value = if body.is_empty() {
        json!({})
    } else {
        parse_body(&body)?
    };
    let name = q
        .get("name")
        .map(str::to_string)
        .or_else(|| {
            from_body
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .ok_or_else(|| ApiError::invalid("Missing required field: name"))?;
    let alias = q
        .get("alias")
        .map(str::to_string)
        .or_else(|| {
            from_body
                .get("alias")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .ok_or_else(|| ApiError::invalid("Missing required field: alias"))?;
    let mut world = s.world();
    let now = world.now();
    let model = world
        .registry
        .get_mut(&name)
        .ok_or_else(|| not_found_model(&name))?;
    if model.aliases.remove(&alias).is_none() {
        return Err(ApiError::not_found(format!(
            "Registered model alias {alias} not found."
        )));
    }
    model.updated_ms = now;
    Ok(empty())
}
