//! Unity Catalog registered models, versions and aliases (`/api/2.1/unity-catalog/models`).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Query, ok};
use crate::error::{ApiError, ApiResult, parse_body};
use crate::server::Caller;
use crate::shared::SharedState;
use crate::world::{Model, ModelVersion, World};

fn parts(full_name: &str) -> ApiResult<(&str, &str, &str)> {
    let mut it = full_name.split('.');
    match (it.next(), it.next(), it.next(), it.next()) {
        (Some(c), Some(s), Some(m), None) if !c.is_empty() && !s.is_empty() && !m.is_empty() => {
            Ok((c, s, m))
        }
        _ => Err(ApiError::invalid(format!(
            "Invalid registered model full name '{full_name}': expected catalog.schema.model"
        ))),
    }
}

fn model<'a>(world: &'a World, full_name: &str) -> ApiResult<&'a Model> {
    parts(full_name)?;
    world.models.get(full_name).ok_or_else(|| {
        ApiError::not_found(format!("Registered model '{full_name}' does not exist."))
    })
}

fn version_number(raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>().ok().filter(|v| *v >= 1).ok_or_else(|| {
        ApiError::invalid(format!(
            "Invalid model version '{raw}': expected a positive integer"
        ))
    })
}

fn alias_json(full_name: &str, alias: &str, version: i64) -> Value {
    let (c, s, m) = parts(full_name).unwrap_or(("", "", ""));
    json!({"alias_name": alias, "version_num": version, "catalog_name": c, "schema_name": s, "model_name": m})
}

/// Model version tags as `[{key, value}]`, the shape MLflow's registries report them in.
pub fn tags_json(tags: &std::collections::BTreeMap<String, String>) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect(),
    )
}

/// A model version as the API renders it.
pub fn version_json(
    full_name: &str,
    model: &Model,
    version: i64,
    mv: &ModelVersion,
    aliases: bool,
) -> Value {
    let (c, s, m) = parts(full_name).unwrap_or(("", "", ""));
    let mut v = json!({
        "model_name": m,
        "catalog_name": c,
        "schema_name": s,
        "version": version,
        "id": format!("{full_name}/{version}"),
        "source": mv.source,
        "status": mv.status,
        "storage_location": format!("s3://sim-metastore/models/{full_name}/versions/{version}"),
        "created_at": mv.created_ms,
        "created_by": model.owner,
        "updated_at": mv.created_ms,
        "updated_by": model.owner,
        "metastore_id": "00000000-0000-0000-0000-00000000cafe",
    });
    if let Some(run) = &mv.run_id {
        v["run_id"] = json!(run);
        v["run_workspace_id"] = json!(1_234_567_890_123_456_i64);
    }
    if let Some(id) = &mv.model_id {
        v["model_id"] = json!(id);
    }
    if let Some(comment) = &mv.comment {
        v["comment"] = json!(comment);
    }
    if !mv.tags.is_empty() {
        v["tags"] = tags_json(&mv.tags);
    }
    if aliases {
        v["aliases"] = Value::Array(
            model
                .aliases
                .iter()
                .filter(|(_, n)| **n == version)
                .map(|(a, n)| alias_json(full_name, a, *n))
                .collect(),
        );
    }
    v
}

/// `GET /api/2.1/unity-catalog/models/{full_name}`.
pub async fn get_model(
    State(s): State<SharedState>,
    Path(full_name): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let include_aliases = q.flag("include_aliases")?.unwrap_or(false);
    let world = s.world();
    let model = model(&world, &full_name)?;
    let (c, sch, m) = parts(&full_name)?;
    let mut v = json!({
        "full_name": full_name,
        "name": m,
        "catalog_name": c,
        "schema_name": sch,
        "owner": model.owner,
        "created_at": model.created_ms,
        "created_by": model.owner,
        "updated_at": model.updated_ms,
        "updated_by": model.owner,
        "storage_location": format!("s3://sim-metastore/models/{full_name}"),
        "metastore_id": "00000000-0000-0000-0000-00000000cafe",
    });
    if let Some(comment) = &model.comment {
        v["comment"] = json!(comment);
    }
    if include_aliases {
        v["aliases"] = Value::Array(
            model
                .aliases
                .iter()
                .map(|(a, n)| alias_json(&full_name, a, *n))
                .collect(),
        );
    }
    Ok(ok(v))
}

/// `GET /api/2.1/unity-catalog/models/{full_name}/versions`.
pub async fn list_versions(
    State(s): State<SharedState>,
    Path(full_name): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let world = s.world();
    let model = model(&world, &full_name)?;
    let all: Vec<Value> = model
        .versions
        .iter()
        .rev()
        .map(|(n, mv)| version_json(&full_name, model, *n, mv, false))
        .collect();
    let size = q.number("max_results")?.filter(|n| *n > 0).unwrap_or(100) as usize;
    let (items, next) = super::page(&all, q.get("page_token"), size)?;
    let mut v = json!({"model_versions": items});
    if let Some(next) = next {
        v["next_page_token"] = json!(next);
    }
    Ok(ok(v))
}

/// `GET /api/2.1/unity-catalog/models/{full_name}/versions/{version}`.
pub async fn get_version(
    State(s): State<SharedState>,
    Path((full_name, version)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let include_aliases = q.flag("include_aliases")?.unwrap_or(false);
    let version = version_number(&version)?;
    let world = s.world();
    version_answer(&world, &full_name, version, include_aliases)
}

/// `GET /api/2.1/unity-catalog/models/{full_name}/aliases/{alias}`: the version the alias names.
pub async fn get_by_alias(
    State(s): State<SharedState>,
    Path((full_name, alias)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let include_aliases = q.flag("include_aliases")?.unwrap_or(false);
    let world = s.world();
    let version = model(&world, &full_name)?
        .aliases
        .get(&alias)
        .copied()
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Alias '{alias}' does not exist on registered model '{full_name}'."
            ))
        })?;
    version_answer(&world, &full_name, version, include_aliases)
}

/// A model version as the answer of a GET.
fn version_answer(
    world: &World,
    full_name: &str,
    version: i64,
    include_aliases: bool,
) -> ApiResult<Response> {
    let model = model(world, full_name)?;
    let mv = model.versions.get(&version).ok_or_else(|| {
        ApiError::not_found(format!(
            "Model version {full_name}/{version} does not exist."
        ))
    })?;
    Ok(ok(version_json(
        full_name,
        model,
        version,
        mv,
        include_aliases,
    )))
}

/// `PUT /api/2.1/unity-catalog/models/{full_name}/aliases/{alias}` with `{"version_num"}`.
pub async fn set_alias(
    State(s): State<SharedState>,
    Path((full_name, alias)): Path<(String, String)>,
    Extension(_caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let version = match body.get("version_num") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .filter(|v| *v >= 1)
    .ok_or_else(|| ApiError::invalid("Missing required field: version_num (a positive integer)"))?;
    validate_alias(&alias)?;
    let mut world = s.world();
    let now = world.now();
    model(&world, &full_name)?;
    let model = world.models.get_mut(&full_name).ok_or_else(|| {
        ApiError::not_found(format!("Registered model '{full_name}' does not exist."))
    })?;
    if !model.versions.contains_key(&version) {
        return Err(ApiError::not_found(format!(
            "Model version {full_name}/{version} does not exist."
        )));
    }
    model.aliases.insert(alias.clone(), version);
    model.updated_ms = now;
    Ok(ok(alias_json(&full_name, &alias, version)))
}

/// `DELETE /api/2.1/unity-catalog/models/{full_name}/aliases/{alias}`.
pub async fn delete_alias(
    State(s): State<SharedState>,
    Path((full_name, alias)): Path<(String, String)>,
) -> ApiResult<Response> {
    let mut world = s.world();
    let now = world.now();
    model(&world, &full_name)?;
    let model = world.models.get_mut(&full_name).ok_or_else(|| {
        ApiError::not_found(format!("Registered model '{full_name}' does not exist."))
    })?;
    if model.aliases.remove(&alias).is_none() {
        return Err(ApiError::not_found(format!(
            "Alias '{alias}' does not exist on registered model '{full_name}'."
        )));
    }
    model.updated_ms = now;
    Ok(super::empty())
}

/// Alias names: letters, digits, underscores; not `latest`; not a version-like `v<digits>`.
pub fn validate_alias(alias: &str) -> ApiResult<()> {
    let ok_chars = !alias.is_empty()
        && alias.len() <= 255
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let reserved = alias.eq_ignore_ascii_case("latest")
        || (alias.len() > 1
            && (alias.starts_with('v') || alias.starts_with('V'))
            && alias
                .get(1..)
                .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit())));
    if !ok_chars || reserved {
        return Err(ApiError::invalid(format!(
            "Invalid alias name '{alias}': use letters, digits, '_' or '-'; 'latest' and 'v<number>' are reserved"
        )));
    }
    Ok(())
}
