//! The simulated REST API, one module per API family.

use std::collections::BTreeMap;

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

pub mod apps;
pub mod catalog;
pub mod database;
pub mod external_models;
pub mod files;
pub mod genie;
pub mod grants;
pub mod mcp;
pub mod mlflow;
pub mod oauth;
pub mod permissions;
pub mod prompts;
pub mod registry;
pub mod scim;
pub mod secrets;
pub mod serving;
pub mod smoke;
pub mod sql;
pub mod tasks;
pub mod token_exchange;
pub mod traces;
pub mod uc_models;
pub mod vector_search;
pub mod warehouses;
pub mod workspace;

/// Query parameters of a request (last value wins; repeated keys are kept in `all`).
#[derive(Debug, Default, Clone)]
pub struct Query {
    values: BTreeMap<String, Vec<String>>,
}

impl Query {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Self {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if let Some(raw) = raw {
            for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
                values
                    .entry(k.into_owned())
                    .or_default()
                    .push(v.into_owned());
            }
        }
        Query { values }
    }

    /// A parameter's last value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    /// Every value of a repeated parameter.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.values.get(key).cloned().unwrap_or_default()
    }

    /// A required parameter.
    pub fn required(&self, key: &str) -> ApiResult<&str> {
        self.get(key)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::invalid(format!("Missing required field: {key}")))
    }

    /// A boolean parameter (`true`/`false`, any case).
    pub fn flag(&self, key: &str) -> ApiResult<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::invalid(format!(
                "Invalid value '{v}' for boolean parameter {key}"
            ))),
        }
    }

    /// A non-negative integer parameter.
    pub fn number(&self, key: &str) -> ApiResult<Option<u64>> {
        self.get(key)
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    ApiError::invalid(format!("Invalid value '{v}' for integer parameter {key}"))
                })
            })
            .transpose()
    }
}

/// A 200 JSON answer.
pub fn ok(value: Value) -> Response {
    Json(value).into_response()
}

/// An empty JSON object answer (`{}`).
pub fn empty() -> Response {
    ok(serde_json::json!({}))
}

/// Splits a list into a page: `(items, next_page_token)`; tokens are offsets.
pub fn page<T: Clone>(
    items: &[T],
    token: Option<&str>,
    size: usize,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let start = match token.filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| ApiError::invalid(format!("Invalid page token '{t}'")))?,
    };
    let size = size.max(1);
    let end = start.saturating_add(size).min(items.len());
    let slice = items.get(start..end).map(<[T]>::to_vec).unwrap_or_default();
    let next = (end < items.len()).then(|| end.to_string());
    Ok((slice, next))
}

/// A required string field of a JSON body.
pub fn field<'a>(body: &'a Value, key: &str) -> ApiResult<&'a str> {
    body.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid(format!("Missing required field: {key}")))
}

/// An optional string field of a JSON body (a wrong type is refused).
pub fn opt_field<'a>(body: &'a Value, key: &str) -> ApiResult<Option<&'a str>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ApiError::invalid(format!(
            "Invalid value for {key}: expected a string, got {other}"
        ))),
    }
}

/// Tags `[{key, value}]` as a map.
pub fn tag_list(body: &Value, key: &str) -> ApiResult<Vec<(String, String)>> {
    let Some(list) = body.get(key) else {
        return Ok(Vec::new());
    };
    let Some(items) = list.as_array() else {
        return Err(ApiError::invalid(format!("{key} must be a list")));
    };
    items
        .iter()
        .map(|t| {
            let k = field(t, "key")?;
            let v = t.get("value").and_then(Value::as_str).unwrap_or("");
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

/// Tags as the API lists them.
pub fn tags_json(tags: &BTreeMap<String, String>) -> Value {
    Value::Array(
        tags.iter()
            .map(|(k, v)| serde_json::json!({"key": k, "value": v}))
            .collect(),
    )
}
