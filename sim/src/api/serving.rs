//! Model Serving endpoints (`/api/2.0/serving-endpoints`). A new config rolls out over
//! simulated time (`config_update` IN_PROGRESS → NOT_UPDATING, `ready` NOT_READY → READY); a second
//! update while one is in progress is refused. The legacy `served_models` shape is accepted and
//! echoed back as the real API does (both `served_models` and `served_entities`).

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{empty, ok, opt_field};
use crate::error::{ApiError, ApiResult, parse_body};
use crate::server::Caller;
use crate::shared::SharedState;
use crate::world::{AclPrincipal, Endpoint, EndpointConfig, World};

const WORKLOAD_SIZES: [&str; 3] = ["Small", "Medium", "Large"];
const WORKLOAD_TYPES: [&str; 9] = [
    "CPU",
    "CPU_MEDIUM",
    "CPU_LARGE",
    "GPU_SMALL",
    "GPU_MEDIUM",
    "GPU_LARGE",
    "GPU_XLARGE",
    "GPU_XLARGE_8",
    "MULTIGPU_MEDIUM",
];

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("Endpoint with name '{name}' does not exist."))
}

fn validate_name(name: &str) -> ApiResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Invalid endpoint name '{name}': use at most 63 letters, digits, '-' and '_'"
        )))
    }
}

fn version_string(v: Option<&Value>, field: &str) -> ApiResult<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(ApiError::invalid(format!(
            "Missing required field: {field}"
        ))),
    }
}

fn check_model_version(world: &World, name: &str, version: &str) -> ApiResult<()> {
    let n: i64 = version.parse().map_err(|_| {
        ApiError::invalid(format!("Invalid model version '{version}' for '{name}'"))
    })?;
    let model = if name.split('.').count() == 3 {
        world.models.get(name)
    } else {
        world.registry.get(name)
    }
    .ok_or_else(|| ApiError::not_found(format!("Registered model '{name}' does not exist.")))?;
    let mv = model.versions.get(&n).ok_or_else(|| {
        ApiError::not_found(format!("Model version {name}/{version} does not exist."))
    })?;
    if mv.status != "READY" {
        return Err(ApiError::invalid(format!(
            "Model version {name}/{version} is {}; only READY versions can be served",
            mv.status
        )));
    }
    Ok(())
}

/// Normalises a config input (`served_entities` or legacy `served_models`, `traffic_config`).
fn parse_config(world: &World, input: &Value, version: i64) -> ApiResult<EndpointConfig> {
    let entities = input.get("served_entities").filter(|v| !v.is_null());
    let models = input.get("served_models").filter(|v| !v.is_null());
    let (list, legacy) = match (entities, models) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "Specify either served_entities or served_models, not both",
            ));
        }
        (Some(e), None) => (e, false),
        (None, Some(m)) => (m, true),
        (None, None) => return Err(ApiError::invalid("The config needs served_entities")),
    };
    let list = list
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::invalid("served_entities must be a non-empty list"))?;
    let mut served = Vec::new();
    for item in list {
        if !legacy && let Some(ext) = item.get("external_model").filter(|v| !v.is_null()) {
            let e = super::external_models::served_entity(item, ext)?;
            if served.iter().any(|s: &Value| s["name"] == e["name"]) {
                return Err(ApiError::invalid(format!(
                    "Duplicate served entity name '{}'",
                    e["name"].as_str().unwrap_or_default()
                )));
            }
            served.push(e);
            continue;
        }
        let (name_key, version_key) = if legacy {
            ("model_name", "model_version")
        } else {
            ("entity_name", "entity_version")
        };
        let entity_name = item
            .get(name_key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::invalid(format!("Missing required field: {name_key}")))?;
        let entity_version = version_string(item.get(version_key), version_key)?;
        check_model_version(world, entity_name, &entity_version)?;
        let size = item
            .get("workload_size")
            .and_then(Value::as_str)
            .unwrap_or("Small");
        if !WORKLOAD_SIZES.contains(&size) {
            return Err(ApiError::invalid(format!(
                "Invalid workload_size '{size}': expected one of {}",
                WORKLOAD_SIZES.join(", ")
            )));
        }
        if let Some(t) = opt_field(item, "workload_type")?
            && !WORKLOAD_TYPES.contains(&t)
        {
            return Err(ApiError::invalid(format!("Invalid workload_type '{t}'")));
        }
        let scale = match item.get("scale_to_zero_enabled") {
            None | Some(Value::Null) if legacy => {
                return Err(ApiError::invalid(
                    "Missing required field: scale_to_zero_enabled",
                ));
            }
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(ApiError::invalid("scale_to_zero_enabled must be a boolean")),
        };
        let short = entity_name.rsplit('.').next().unwrap_or(entity_name);
        let name = opt_field(item, "name")?
            .map(str::to_string)
            .unwrap_or_else(|| format!("{short}-{entity_version}"));
        if served
            .iter()
            .any(|s: &Value| s["name"].as_str() == Some(name.as_str()))
        {
            return Err(ApiError::invalid(format!(
                "Duplicate served entity name '{name}'"
            )));
        }
        let mut e = Map::new();
        e.insert("name".into(), json!(name));
        e.insert("entity_name".into(), json!(entity_name));
        e.insert("entity_version".into(), json!(entity_version));
        e.insert("workload_size".into(), json!(size));
        e.insert("scale_to_zero_enabled".into(), json!(scale));
        if let Some(t) = item.get("workload_type").filter(|v| !v.is_null()) {
            e.insert("workload_type".into(), t.clone());
        }
        if let Some(env) = item.get("environment_vars").filter(|v| !v.is_null()) {
            if !env
                .as_object()
                .is_some_and(|m| m.values().all(Value::is_string))
            {
                return Err(ApiError::invalid(
                    "environment_vars must map names to strings",
                ));
            }
            e.insert("environment_vars".into(), env.clone());
        }
        served.push(Value::Object(e));
    }
    let external = served
        .iter()
        .filter(|e| e.get("external_model").is_some())
        .count();
    if external != 0 && external != served.len() {
        return Err(ApiError::invalid(
            "An endpoint serving external models cannot also serve Unity Catalog models",
        ));
    }
    let routes = match input.get("traffic_config").and_then(|t| t.get("routes")) {
        None | Some(Value::Null) => {
            if served.len() == 1 {
                vec![json!({"served_entity_name": served[0]["name"], "traffic_percentage": 100})]
            } else {
                return Err(ApiError::invalid(
                    "traffic_config is required when serving more than one entity",
                ));
            }
        }
        Some(Value::Array(routes)) => {
            let mut out = Vec::new();
            for r in routes {
                let target = r
                    .get("served_entity_name")
                    .or_else(|| r.get("served_model_name"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| ApiError::invalid("Each route needs served_entity_name"))?;
                if !served.iter().any(|s| s["name"].as_str() == Some(target)) {
                    return Err(ApiError::invalid(format!(
                        "Route names served entity '{target}', which the config does not serve"
                    )));
                }
                let pct = r
                    .get("traffic_percentage")
                    .and_then(Value::as_i64)
                    .filter(|p| (0..=100).contains(p))
                    .ok_or_else(|| {
                        ApiError::invalid("traffic_percentage must be an integer from 0 to 100")
                    })?;
                out.push(json!({"served_entity_name": target, "traffic_percentage": pct}));
            }
            let sum: i64 = out
                .iter()
                .filter_map(|r| r["traffic_percentage"].as_i64())
                .sum();
            if sum != 100 {
                return Err(ApiError::invalid(format!(
                    "Traffic percentages must sum to 100, got {sum}"
                )));
            }
            out
        }
        Some(_) => return Err(ApiError::invalid("traffic_config.routes must be a list")),
    };
    Ok(EndpointConfig {
        version,
        served_entities: served,
        traffic_config: json!({"routes": routes}),
        legacy,
    })
}

fn config_json(c: &EndpointConfig, with_state: bool) -> Value {
    let entities: Vec<Value> = c
        .served_entities
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if with_state {
                e["state"] =
                    json!({"deployment": "DEPLOYMENT_READY", "deployment_state_message": ""});
            }
            e
        })
        .collect();
    let mut v = json!({"config_version": c.version, "served_entities": entities, "traffic_config": c.traffic_config});
    if c.legacy {
        v["served_models"] = Value::Array(
            c.served_entities
                .iter()
                .map(|e| json!({
                    "name": e["name"], "model_name": e["entity_name"], "model_version": e["entity_version"],
                    "workload_size": e["workload_size"], "scale_to_zero_enabled": e["scale_to_zero_enabled"],
                }))
                .collect(),
        );
    }
    v
}

/// An endpoint as the API renders it.
pub fn endpoint_json(world: &World, e: &Endpoint) -> Value {
    let config_update = if e.pending.is_some() {
        "IN_PROGRESS"
    } else if e.last_update_failed {
        "UPDATE_FAILED"
    } else {
        "NOT_UPDATING"
    };
    let ready = if e.config.is_some() {
        "READY"
    } else {
        "NOT_READY"
    };
    let mut v = json!({
        "id": e.id,
        "name": e.name,
        "creator": e.creator,
        "creation_timestamp": e.created_ms,
        "last_updated_timestamp": e.updated_ms,
        "state": {"ready": ready, "config_update": config_update},
        "task": "llm/v1/chat",
        "tags": e.tags,
        "permission_level": "CAN_MANAGE",
        "route_optimized": false,
        "endpoint_url": format!("{}/serving-endpoints/{}/invocations", world.base_url, e.name),
    });
    if let Some(c) = &e.config {
        v["config"] = config_json(c, true);
    }
    if let Some((p, _)) = &e.pending {
        let mut pc = config_json(p, false);
        pc["start_time"] = json!(e.updated_ms);
        v["pending_config"] = pc;
    }
    v
}

/// Creates an endpoint in the world (API and seeding).
pub fn create_in(
    world: &mut World,
    name: &str,
    config: &Value,
    tags: Vec<Value>,
    creator: &str,
    instant: bool,
) -> ApiResult<String> {
    validate_name(name)?;
    if world.endpoints.contains_key(name) {
        return Err(ApiError::conflict_exists(format!(
            "Endpoint with name '{name}' already exists."
        )));
    }
    let cfg = parse_config(world, config, 1)?;
    let id = world.next_hex();
    let now = world.now();
    let ready_at = world.after(world.timings.endpoint_update_seconds);
    let (active, pending) = if instant {
        (Some(cfg), None)
    } else {
        (None, Some((cfg, ready_at)))
    };
    world.endpoints.insert(
        name.to_string(),
        Endpoint {
            id: id.clone(),
            name: name.to_string(),
            creator: creator.to_string(),
            created_ms: now,
            updated_ms: now,
            config: active,
            pending,
            last_update_failed: false,
            fail_next_update: false,
            tags,
        },
    );
    world
        .acls
        .entry(format!("serving-endpoints/{id}"))
        .or_default()
        .insert(AclPrincipal::User(creator.to_string()), "CAN_MANAGE".into());
    Ok(id)
}

/// `POST /api/2.0/serving-endpoints`.
pub async fn create(
    State(s): State<SharedState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let name = super::field(&body, "name")?.to_string();
    let config = body
        .get("config")
        .filter(|c| c.is_object())
        .ok_or_else(|| ApiError::invalid("Missing required field: config"))?;
    let tags = body
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut world = s.world();
    create_in(&mut world, &name, config, tags, &caller.0, false)?;
    let e = world.endpoints.get(&name).ok_or_else(|| not_found(&name))?;
    Ok(ok(endpoint_json(&world, e)))
}

/// `GET /api/2.0/serving-endpoints/{name}`.
pub async fn get(State(s): State<SharedState>, Path(name): Path<String>) -> ApiResult<Response> {
    let world = s.world();
    let e = world.endpoints.get(&name).ok_or_else(|| not_found(&name))?;
    Ok(ok(endpoint_json(&world, e)))
}

/// `GET /api/2.0/serving-endpoints`.
pub async fn list(State(s): State<SharedState>) -> ApiResult<Response> {
    let world = s.world();
    let all: Vec<Value> = world
        .endpoints
        .values()
        .map(|e| endpoint_json(&world, e))
        .collect();
    Ok(ok(json!({"endpoints": all})))
}

/// `PUT /api/2.0/serving-endpoints/{name}/config`.
pub async fn update_config(
    State(s): State<SharedState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let mut world = s.world();
    let e = world.endpoints.get(&name).ok_or_else(|| not_found(&name))?;
    if e.pending.is_some() {
        return Err(ApiError::in_progress(format!(
            "Endpoint {name} is currently being updated; wait until the update finishes before sending another"
        )));
    }
    let next_version = e.config.as_ref().map_or(1, |c| c.version + 1);
    let cfg = parse_config(&world, &body, next_version)?;
    let at = world.after(world.timings.endpoint_update_seconds);
    let now = world.now();
    let e = world
        .endpoints
        .get_mut(&name)
        .ok_or_else(|| not_found(&name))?;
    e.pending = Some((cfg, at));
    e.updated_ms = now;
    let e = world.endpoints.get(&name).ok_or_else(|| not_found(&name))?;
    Ok(ok(endpoint_json(&world, e)))
}

/// `DELETE /api/2.0/serving-endpoints/{name}`.
pub async fn delete(State(s): State<SharedState>, Path(name): Path<String>) -> ApiResult<Response> {
    let mut world = s.world();
    let e = world
        .endpoints
        .remove(&name)
        .ok_or_else(|| not_found(&name))?;
    world.acls.remove(&format!("serving-endpoints/{}", e.id));
    Ok(empty())
}

/// `POST /api/2.0/serving-endpoints/{name}/invocations` (also `/serving-endpoints/{name}/invocations`):
/// a canned answer naming the served entity that took the request; 503 until the endpoint is READY.
pub async fn invocations(
    State(s): State<SharedState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let _: Value = parse_body(&body)?;
    let world = s.world();
    let e = world.endpoints.get(&name).ok_or_else(|| not_found(&name))?;
    let Some(config) = &e.config else {
        return Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "TEMPORARILY_UNAVAILABLE",
            format!("Endpoint {name} is not ready yet"),
        ));
    };
    let entity = config
        .served_entities
        .first()
        .cloned()
        .unwrap_or(Value::Null);
    let served = entity["name"].as_str().unwrap_or_default().to_string();
    let model = super::external_models::answered_by(&entity).unwrap_or_else(|| {
        format!(
            "{}/{}",
            entity["entity_name"].as_str().unwrap_or_default(),
            entity["entity_version"].as_str().unwrap_or_default()
        )
    });
    let mut resp = ok(json!({
        "predictions": [format!("simulated answer from {model}")],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": format!("simulated answer from {model}")}, "finish_reason": "stop"}],
        "object": "chat.completion",
    }));
    if let Ok(v) = axum::http::HeaderValue::from_str(&served) {
        resp.headers_mut().insert("served-model-name", v);
    }
    Ok(resp)
}
