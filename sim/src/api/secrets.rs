//! Secret scopes (`GET /api/2.0/secrets/list?scope=`): the keys of a seeded scope, never their
//! values.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::json;

use super::{Query, ok};
use crate::error::{ApiError, ApiResult};
use crate::shared::SharedState;

/// `GET /api/2.0/secrets/list?scope=`.
pub async fn list(State(s): State<SharedState>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let scope = q.required("scope")?;
    let world = s.world();
    let keys = world
        .secret_scopes
        .get(scope)
        .ok_or_else(|| ApiError::not_found(format!("Scope {scope} does not exist!")))?;
    let secrets: Vec<_> = keys
        .iter()
        .map(|(key, at)| json!({"key": key, "last_updated_timestamp": at}))
        .collect();
    Ok(ok(json!({ "secrets": secrets })))
}
