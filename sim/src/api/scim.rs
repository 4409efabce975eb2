//! SCIM (`/api/2.0/preview/scim/v2/...`): service principals by filter (paged by `startIndex`,
//! ending with an empty page as the SDK expects), by id, and the current user.

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Query, ok};
use crate::error::{ApiError, ApiResult};
use crate::server::Caller;
use crate::shared::SharedState;
use crate::world::ServicePrincipal;

const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

fn sp_json(application_id: &str, sp: &ServicePrincipal) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServicePrincipal"],
        "id": sp.id.to_string(),
        "applicationId": application_id,
        "displayName": sp.display_name,
        "active": sp.active,
        "entitlements": [],
        "groups": [],
    })
}

/// A parsed `attr eq "value"` filter.
fn parse_filter(filter: &str) -> ApiResult<(String, String)> {
    let bad = || {
        ApiError::invalid(format!(
            "Unsupported filter '{filter}': use attribute eq \"value\""
        ))
        .scim()
    };
    let mut parts = filter.trim().splitn(3, ' ');
    let (attr, op, value) = (
        parts.next().ok_or_else(bad)?,
        parts.next().ok_or_else(bad)?,
        parts.next().ok_or_else(bad)?,
    );
    if !op.eq_ignore_ascii_case("eq") {
        return Err(bad());
    }
    let value = value.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .ok_or_else(bad)?;
    Ok((attr.to_string(), value.to_string()))
}

/// `GET /api/2.0/preview/scim/v2/ServicePrincipals?filter=&startIndex=&count=`.
pub async fn list_service_principals(
    State(s): State<SharedState>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let filter = match q.get("filter").filter(|f| !f.trim().is_empty()) {
        Some(f) => Some(parse_filter(f)?),
        None => None,
    };
    let start = q
        .number("startIndex")
        .map_err(ApiError::scim)?
        .unwrap_or(1)
        .max(1) as usize;
    let count = q
        .number("count")
        .map_err(ApiError::scim)?
        .unwrap_or(10_000)
        .min(10_000) as usize;
    let world = s.world();
    let matching: Vec<Value> = world
        .service_principals
        .iter()
        .filter(|(app_id, sp)| match &filter {
            None => true,
            Some((attr, value)) => match attr.as_str() {
                "applicationId" => *app_id == value,
                "displayName" => sp.display_name == *value,
                "id" => sp.id.to_string() == *value,
                _ => false,
            },
        })
        .map(|(app_id, sp)| sp_json(app_id, sp))
        .collect();
    let total = matching.len();
    let page: Vec<Value> = matching.into_iter().skip(start - 1).take(count).collect();
    let mut v = json!({"schemas": [LIST_SCHEMA], "totalResults": total, "startIndex": start, "itemsPerPage": page.len()});
    if !page.is_empty() {
        v["Resources"] = Value::Array(page);
    }
    Ok(ok(v))
}

/// `GET /api/2.0/preview/scim/v2/ServicePrincipals/{id}`.
pub async fn get_service_principal(
    State(s): State<SharedState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let world = s.world();
    world
        .service_principals
        .iter()
        .find(|(_, sp)| sp.id.to_string() == id)
        .map(|(app_id, sp)| ok(sp_json(app_id, sp)))
        .ok_or_else(|| {
            ApiError::not_found(format!("Service Principal with id {id} not found.")).scim()
        })
}

/// `GET /api/2.0/preview/scim/v2/Me`.
pub async fn me(
    State(s): State<SharedState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Response> {
    let world = s.world();
    let mut resp = if let Some(sp) = world.service_principals.get(&caller.0) {
        ok(
            json!({"id": sp.id.to_string(), "userName": caller.0, "displayName": sp.display_name, "active": true,
                  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}),
        )
    } else {
        ok(
            json!({"id": "1000001", "userName": caller.0, "displayName": caller.0, "active": true,
                  "emails": [{"value": caller.0, "primary": true}],
                  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}),
        )
    };
    if let Ok(v) = HeaderValue::from_str(&world.workspace_id.to_string()) {
        resp.headers_mut()
            .insert(header::HeaderName::from_static("x-databricks-org-id"), v);
    }
    Ok(resp)
}
