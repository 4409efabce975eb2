//! The Unity Catalog prompt registry (`/api/2.0/mlflow/unity-catalog/prompts/...`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::{empty, ok};
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult, parse_body};
use crate::shared::SharedState;
use crate::world::{Prompt, PromptVersion};

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("Prompt '{name}' does not exist."))
}

fn version_json(name: &str, prompt: &Prompt, version: i64, pv: &PromptVersion) -> Value {
    let aliases: Vec<Value> = prompt
        .aliases
        .iter()
        .filter(|(_, v)| **v == version)
        .map(|(a, v)| json!({"alias": a, "version": v.to_string()}))
        .collect();
    let mut v = json!({
        "name": name,
        "version": version.to_string(),
        "template": pv.template,
        "aliases": aliases,
        "tags": pv.tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
        "creation_timestamp": rfc3339(pv.created_ms),
        "last_updated_timestamp": rfc3339(pv.created_ms),
    });
    if let Some(d) = &pv.description {
        v["description"] = json!(d);
    }
    v
}

fn parse_version(raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| ApiError::invalid(format!("Invalid prompt version '{raw}'")))
}

/// `GET .../prompts/{name}`.
pub async fn get_prompt(
    State(s): State<SharedState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let world = s.world();
    let prompt = world.prompts.get(&name).ok_or_else(|| not_found(&name))?;
    let mut v = json!({
        "name": name,
        "aliases": prompt.aliases.iter().map(|(a, v)| json!({"alias": a, "version": v.to_string()})).collect::<Vec<_>>(),
        "tags": [],
        "creation_timestamp": rfc3339(prompt.created_ms),
        "last_updated_timestamp": rfc3339(prompt.created_ms),
    });
    if let Some(d) = &prompt.description {
        v["description"] = json!(d);
    }
    Ok(ok(v))
}

/// `GET .../prompts/{name}/versions/{version}`.
pub async fn get_version(
    State(s): State<SharedState>,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<Response> {
    let version = parse_version(&version)?;
    let world = s.world();
    let prompt = world.prompts.get(&name).ok_or_else(|| not_found(&name))?;
    let pv = prompt.versions.get(&version).ok_or_else(|| {
        ApiError::not_found(format!(
            "Prompt version '{name}' version {version} does not exist."
        ))
    })?;
    Ok(ok(version_json(&name, prompt, version, pv)))
}

/// `GET .../prompts/{name}/versions/by-alias/{alias}`.
pub async fn get_by_alias(
    State(s): State<SharedState>,
    Path((name, alias)): Path<(String, String)>,
) -> ApiResult<Response> {
    let world = s.world();
    let prompt = world.prompts.get(&name).ok_or_else(|| not_found(&name))?;
    let version = prompt.aliases.get(&alias).copied().ok_or_else(|| {
        ApiError::not_found(format!(
            "Alias '{alias}' does not exist on prompt '{name}'."
        ))
    })?;
    let pv = prompt.versions.get(&version).ok_or_else(|| {
        ApiError::not_found(format!(
            "Prompt version '{name}' version {version} does not exist."
        ))
    })?;
    Ok(ok(version_json(&name, prompt, version, pv)))
}

/// `POST .../prompts/{name}/aliases/{alias}` with `{name, alias, version}`.
pub async fn set_alias(
    State(s): State<SharedState>,
    Path((name, alias)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let version = match body.get("version") {
        Some(Value::String(v)) => parse_version(v)?,
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|v| *v >= 1)
            .ok_or_else(|| ApiError::invalid("Invalid version"))?,
        _ => return Err(ApiError::invalid("Missing required field: version")),
    };
    super::uc_models::validate_alias(&alias)?;
    let mut world = s.world();
    let prompt = world
        .prompts
        .get_mut(&name)
        .ok_or_else(|| not_found(&name))?;
    if !prompt.versions.contains_key(&version) {
        return Err(ApiError::not_found(format!(
            "Prompt version '{name}' version {version} does not exist."
        )));
    }
    prompt.aliases.insert(alias, version);
    Ok(empty())
}

/// `DELETE .../prompts/{name}/aliases/{alias}`.
pub async fn delete_alias(
    State(s): State<SharedState>,
    Path((name, alias)): Path<(String, String)>,
) -> ApiResult<Response> {
    let mut world = s.world();
    let prompt = world
        .prompts
        .get_mut(&name)
        .ok_or_else(|| not_found(&name))?;
    if prompt.aliases.remove(&alias).is_none() {
        return Err(ApiError::not_found(format!(
            "Alias '{alias}' does not exist on prompt '{name}'."
        )));
    }
    Ok(empty())
}
