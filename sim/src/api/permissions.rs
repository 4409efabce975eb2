//! The Permissions API for serving endpoints (keyed by the endpoint's hex id), apps, MLflow
//! experiments (by id; levels CAN_READ, CAN_EDIT, CAN_MANAGE) and SQL
//! warehouses (`/api/2.0/permissions/{type}/{id}`): GET shows direct entries plus the inherited
//! `admins` CAN_MANAGE; PUT replaces the direct entries; PATCH upserts the named principals.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::ok;
use crate::error::{ApiError, ApiResult, parse_body};
use crate::shared::SharedState;
use crate::world::{AclPrincipal, World};

/// An object kind with an ACL.
struct Kind {
    /// The path segment (`serving-endpoints`).
    segment: &'static str,
    /// The `object_type` the API reports.
    object_type: &'static str,
    /// The valid levels.
    levels: &'static [&'static str],
}

const KINDS: [Kind; 4] = [
    Kind {
        segment: "serving-endpoints",
        object_type: "serving-endpoint",
        levels: &["CAN_VIEW", "CAN_QUERY", "CAN_MANAGE"],
    },
    Kind {
        segment: "apps",
        object_type: "apps",
        levels: &["CAN_USE", "CAN_MANAGE"],
    },
    Kind {
        segment: "experiments",
        object_type: "mlflowExperiment",
        levels: &["CAN_READ", "CAN_EDIT", "CAN_MANAGE"],
    },
    Kind {
        segment: "warehouses",
        object_type: "warehouses",
        levels: &[
            "CAN_VIEW",
            "CAN_MONITOR",
            "CAN_USE",
            "CAN_MANAGE",
            "IS_OWNER",
        ],
    },
];

fn kind(segment: &str) -> ApiResult<&'static Kind> {
    let segment = if segment == "sql/warehouses" {
        "warehouses"
    } else {
        segment
    };
    KINDS.iter().find(|k| k.segment == segment).ok_or_else(|| {
        ApiError::invalid(format!(
            "Unsupported object type '{segment}': the simulator serves serving-endpoints, apps, experiments and warehouses"
        ))
    })
}

fn check_object(world: &World, kind: &Kind, id: &str) -> ApiResult<()> {
    let exists = match kind.segment {
        "serving-endpoints" => world.endpoints.values().any(|e| e.id == id),
        "apps" => world.apps.contains_key(id),
        "experiments" => world
            .experiments
            .get(id)
            .is_some_and(|e| e.lifecycle_stage == "active"),
        _ => world.warehouses.contains_key(id),
    };
    if exists {
        Ok(())
    } else if kind.segment == "serving-endpoints" && world.endpoints.contains_key(id) {
        Err(ApiError::not_found(format!(
            "Serving endpoint permissions are keyed by the endpoint id, not its name; no endpoint has id '{id}'"
        )))
    } else {
        Err(ApiError::not_found(format!(
            "{} {id} does not exist.",
            kind.object_type
        )))
    }
}

fn acl_json(world: &World, kind: &Kind, id: &str) -> Value {
    let mut list: Vec<Value> = world
        .acls
        .get(&format!("{}/{id}", kind.segment))
        .into_iter()
        .flatten()
        .map(|(p, level)| {
            let (key, name) = match p {
                AclPrincipal::User(n) => ("user_name", n),
                AclPrincipal::Group(n) => ("group_name", n),
                AclPrincipal::ServicePrincipal(n) => ("service_principal_name", n),
            };
            let display = match p {
                AclPrincipal::ServicePrincipal(n) => world.service_principals.get(n).map_or(n.clone(), |sp| sp.display_name.clone()),
                _ => name.clone(),
            };
            json!({key: name, "display_name": display, "all_permissions": [{"permission_level": level, "inherited": false}]})
        })
        .collect();
    list.push(json!({"group_name": "admins", "all_permissions": [{
        "permission_level": "CAN_MANAGE", "inherited": true, "inherited_from_object": [format!("/{}/", kind.segment)]
    }]}));
    json!({"object_id": format!("/{}/{id}", kind.segment), "object_type": kind.object_type, "access_control_list": list})
}

fn parse_acl(
    world: &World,
    kind: &Kind,
    body: &Value,
) -> ApiResult<BTreeMap<AclPrincipal, String>> {
    let list = match body.get("access_control_list") {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(ApiError::invalid("access_control_list must be a list")),
    };
    let mut out = BTreeMap::new();
    for entry in list {
        let keys: Vec<(&str, &str)> = ["user_name", "group_name", "service_principal_name"]
            .into_iter()
            .filter_map(|k| {
                entry
                    .get(k)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(|v| (k, v))
            })
            .collect();
        let [(key, name)] = keys.as_slice() else {
            return Err(ApiError::invalid(
                "Each access control entry needs exactly one of user_name, group_name, service_principal_name",
            ));
        };
        let principal = match *key {
            "user_name" if world.users.contains(*name) => AclPrincipal::User(name.to_string()),
            "group_name" if world.groups.contains(*name) => AclPrincipal::Group(name.to_string()),
            "service_principal_name" if world.service_principals.contains_key(*name) => {
                AclPrincipal::ServicePrincipal(name.to_string())
            }
            _ => {
                return Err(ApiError::invalid(format!(
                    "Principal {name} ({key}) does not exist in the workspace"
                )));
            }
        };
        let level = entry
            .get("permission_level")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::invalid("Missing required field: permission_level"))?;
        if !kind.levels.contains(&level) {
            return Err(ApiError::invalid(format!(
                "Permission level {level} is not valid for {}: expected one of {}",
                kind.object_type,
                kind.levels.join(", ")
            )));
        }
        if principal == AclPrincipal::Group("admins".into()) {
            return Err(ApiError::invalid(
                "The admins group's permissions cannot be changed",
            ));
        }
        out.insert(principal, level.to_string());
    }
    Ok(out)
}

fn split(path: &str) -> ApiResult<(&'static Kind, String)> {
    let (segment, id) = path
        .strip_prefix("sql/warehouses/")
        .map(|id| ("warehouses", id))
        .or_else(|| path.split_once('/'))
        .ok_or_else(|| ApiError::invalid(format!("Invalid permissions path '{path}'")))?;
    let id = id.trim_end_matches('/');
    if id.is_empty() || id.contains('/') {
        return Err(ApiError::invalid(format!(
            "Invalid permissions path '{path}'"
        )));
    }
    Ok((kind(segment)?, id.to_string()))
}

/// `GET /api/2.0/permissions/{type}/{id}` (and `.../permissionLevels`).
pub async fn get(State(s): State<SharedState>, Path(path): Path<String>) -> ApiResult<Response> {
    if let Some(base) = path.strip_suffix("/permissionLevels") {
        let (kind, id) = split(base)?;
        check_object(&s.world(), kind, &id)?;
        let levels: Vec<Value> = kind
            .levels
            .iter()
            .map(|l| json!({"permission_level": l, "description": ""}))
            .collect();
        return Ok(ok(json!({"permission_levels": levels})));
    }
    let (kind, id) = split(&path)?;
    let world = s.world();
    check_object(&world, kind, &id)?;
    Ok(ok(acl_json(&world, kind, &id)))
}

/// `PUT /api/2.0/permissions/{type}/{id}`: replaces the direct entries.
pub async fn set(
    State(s): State<SharedState>,
    Path(path): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let (kind, id) = split(&path)?;
    let mut world = s.world();
    check_object(&world, kind, &id)?;
    let acl = parse_acl(&world, kind, &body)?;
    world.acls.insert(format!("{}/{id}", kind.segment), acl);
    Ok(ok(acl_json(&world, kind, &id)))
}

/// `PATCH /api/2.0/permissions/{type}/{id}`: upserts the named principals.
pub async fn update(
    State(s): State<SharedState>,
    Path(path): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let (kind, id) = split(&path)?;
    let mut world = s.world();
    check_object(&world, kind, &id)?;
    let acl = parse_acl(&world, kind, &body)?;
    world
        .acls
        .entry(format!("{}/{id}", kind.segment))
        .or_default()
        .extend(acl);
    Ok(ok(acl_json(&world, kind, &id)))
}
