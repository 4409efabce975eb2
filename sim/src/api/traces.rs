//! MLflow traces: one trace's info (`GET /api/2.0/mlflow/traces/{request_id}/info`) and the
//! search (`GET /api/2.0/mlflow/traces`) over the traces the apps' chat calls log
//! (see [`crate::gateway`]). Each trace carries the app's logged model as request metadata
//! `mlflow.modelId` (and the tag of the same name). Filters: none, or `request_id = '<id>'`
//! (also `attributes.request_id`); others are refused rather than ignored.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Query, ok, page};
use crate::error::{ApiError, ApiResult};
use crate::gateway::Trace;
use crate::shared::SharedState;

fn trace_json(t: &Trace) -> Value {
    let mut metadata = vec![json!({"key": "mlflow.trace_schema.version", "value": "2"})];
    let mut tags = vec![
        json!({"key": "mlflow.traceName", "value": "chat"}),
        json!({"key": "mlflow.source.name", "value": t.app}),
    ];
    if let Some(m) = &t.model_id {
        metadata.push(json!({"key": "mlflow.modelId", "value": m}));
        tags.push(json!({"key": "mlflow.modelId", "value": m}));
    }
    json!({
        "request_id": t.request_id,
        "experiment_id": t.experiment_id,
        "timestamp_ms": t.timestamp_ms,
        "execution_time_ms": 120,
        "status": "OK",
        "request_metadata": metadata,
        "tags": tags,
    })
}

fn request_id_filter(filter: &str) -> ApiResult<String> {
    let re = regex::Regex::new(r"^\s*(?:attributes\.)?request_id\s*=\s*'([^']*)'\s*$")
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    re.captures(filter)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "Unsupported filter '{filter}': the simulator filters traces by request_id only"
            ))
        })
}

/// `GET /api/2.0/mlflow/traces?experiment_ids=&filter=&max_results=&order_by=&page_token=`.
pub async fn search(State(s): State<SharedState>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let ids = q.all("experiment_ids");
    if ids.is_empty() {
        return Err(ApiError::invalid("Missing required field: experiment_ids"));
    }
    let wanted = q
        .get("filter")
        .filter(|f| !f.trim().is_empty())
        .map(request_id_filter)
        .transpose()?;
    let max = q.number("max_results")?.unwrap_or(100).clamp(1, 500) as usize;
    let ascending = q
        .get("order_by")
        .is_some_and(|o| o.to_ascii_uppercase().ends_with("ASC"));
    let world = s.world();
    for id in &ids {
        if id != "0" && !world.experiments.contains_key(id) {
            return Err(ApiError::not_found(format!(
                "Could not find experiment with ID {id}"
            )));
        }
    }
    let mut traces: Vec<&Trace> = world
        .observability
        .traces
        .iter()
        .filter(|t| ids.contains(&t.experiment_id))
        .filter(|t| wanted.as_ref().is_none_or(|w| &t.request_id == w))
        .collect();
    traces.sort_by_key(|t| (t.timestamp_ms, t.request_id.clone()));
    if !ascending {
        traces.reverse();
    }
    let (items, next) = page(&traces, q.get("page_token"), max)?;
    let mut answer = json!({"traces": items.iter().map(|t| trace_json(t)).collect::<Vec<_>>()});
    if let Some(n) = next {
        answer["next_page_token"] = json!(n);
    }
    Ok(ok(answer))
}

/// `GET /api/2.0/mlflow/traces/{request_id}/info`: 404 `RESOURCE_DOES_NOT_EXIST` for a trace
/// not logged (yet).
pub async fn info(
    State(s): State<SharedState>,
    Path(request_id): Path<String>,
) -> ApiResult<Response> {
    let world = s.world();
    let trace = world
        .observability
        .traces
        .iter()
        .find(|t| t.request_id == request_id)
        .ok_or_else(|| ApiError::not_found(format!("Trace with ID {request_id} not found.")))?;
    Ok(ok(json!({"trace_info": trace_json(trace)})))
}
