//! Databricks Apps (`/api/2.0/apps`): apps, compute lifecycle, deployments. Long operations
//! progress on the simulated clock (see `World::settle`).

use std::collections::BTreeMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{Query, ok, opt_field};
use crate::clock::rfc3339;
use crate::error::{ApiError, ApiResult, parse_body};
use crate::server::Caller;
use crate::shared::SharedState;
use crate::world::{AclPrincipal, App, Compute, Deployment, World, WsObject, workspace_key};

/// The resource kinds an app may declare, with their valid permissions.
const RESOURCE_KINDS: [(&str, &[&str]); 7] = [
    ("serving_endpoint", &["CAN_QUERY", "CAN_VIEW", "CAN_MANAGE"]),
    ("sql_warehouse", &["CAN_USE", "CAN_MANAGE", "IS_OWNER"]),
    ("secret", &["READ", "WRITE", "MANAGE"]),
    (
        "job",
        &["CAN_VIEW", "CAN_MANAGE_RUN", "CAN_MANAGE", "IS_OWNER"],
    ),
    ("experiment", &["CAN_READ", "CAN_EDIT", "CAN_MANAGE"]),
    ("database", &["CAN_CONNECT_AND_CREATE"]),
    (
        "uc_securable",
        &[
            "EXECUTE",
            "SELECT",
            "MODIFY",
            "READ_VOLUME",
            "WRITE_VOLUME",
            "USE_CONNECTION",
        ],
    ),
];

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!(
        "App with name {name} does not exist or is deleted."
    ))
}

/// App names: 2–30 characters, lowercase letters, digits and hyphens, starting with a letter.
pub fn validate_name(name: &str) -> ApiResult<()> {
    let ok = (2..=30).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Invalid app name '{name}': it must be 2-30 characters of lowercase letters, digits and hyphens, starting with a letter"
        )))
    }
}

fn validate_resources(resources: &Value) -> ApiResult<Vec<Value>> {
    let list = match resources {
        Value::Null => return Ok(Vec::new()),
        Value::Array(a) => a,
        _ => return Err(ApiError::invalid("resources must be a list")),
    };
    let mut names = Vec::new();
    for r in list {
        let name = r
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ApiError::invalid("Each app resource needs a name"))?;
        if names.contains(&name) {
            return Err(ApiError::invalid(format!(
                "Duplicate app resource name '{name}'"
            )));
        }
        names.push(name);
        let kinds: Vec<&str> = RESOURCE_KINDS
            .iter()
            .map(|(k, _)| *k)
            .chain(["postgres", "genie_space", "app"])
            .filter(|k| r.get(*k).is_some_and(|v| !v.is_null()))
            .collect();
        let [kind] = kinds.as_slice() else {
            return Err(ApiError::invalid(format!(
                "App resource '{name}' must set exactly one resource type"
            )));
        };
        if let Some((_, levels)) = RESOURCE_KINDS.iter().find(|(k, _)| k == kind) {
            let inner = &r[*kind];
            let permission = inner
                .get("permission")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !levels.contains(&permission) {
                return Err(ApiError::invalid(format!(
                    "App resource '{name}': permission '{permission}' is not valid for {kind} (expected one of {})",
                    levels.join(", ")
                )));
            }
            let id_key = match *kind {
                "serving_endpoint" => "name",
                "sql_warehouse" | "job" => "id",
                "experiment" => "experiment_id",
                "uc_securable" => "securable_full_name",
                "database" => "instance_name",
                _ => "scope",
            };
            if inner
                .get(id_key)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(ApiError::invalid(format!(
                    "App resource '{name}': {kind}.{id_key} is required"
                )));
            }
        }
    }
    Ok(list.clone())
}

/// Grants the app's service principal what its declared resources ask for (as the platform does).
fn grant_resources(world: &mut World, app_sp: &str, resources: &[Value]) {
    for r in resources {
        let (key, level) = if let Some(se) = r.get("serving_endpoint") {
            let name = se["name"].as_str().unwrap_or_default();
            match world.endpoints.get(name) {
                Some(e) => (
                    format!("serving-endpoints/{}", e.id),
                    se["permission"].as_str().unwrap_or_default(),
                ),
                None => continue,
            }
        } else if let Some(wh) = r.get("sql_warehouse") {
            let id = wh["id"].as_str().unwrap_or_default();
            if !world.warehouses.contains_key(id) {
                continue;
            }
            (
                format!("warehouses/{id}"),
                wh["permission"].as_str().unwrap_or_default(),
            )
        } else {
            continue;
        };
        world.acls.entry(key).or_default().insert(
            AclPrincipal::ServicePrincipal(app_sp.to_string()),
            level.to_string(),
        );
    }
}

/// The environment of a deployment: the source folder's app.yaml `env`, overridden by the
/// deployment's `env_vars`; `valueFrom` resolved against the app's resources.
pub fn deployment_env(world: &World, app: &App, dep: &Deployment) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("DATABRICKS_APP_NAME".to_string(), app.name.clone());
    env.insert("DATABRICKS_HOST".to_string(), world.base_url.clone());
    env.insert(
        "DATABRICKS_WORKSPACE_ID".to_string(),
        world.workspace_id.to_string(),
    );
    env.insert("DATABRICKS_CLIENT_ID".to_string(), app.sp_client_id.clone());
    let mut entries: Vec<Value> = Vec::new();
    if let Some(dir) = workspace_key(&dep.source_code_path) {
        for file in ["app.yaml", "app.yml"] {
            if let Some(WsObject::File { content, .. }) =
                world.workspace.get(&format!("{dir}/{file}"))
                && let Ok(text) = std::str::from_utf8(content)
                && let Ok(doc) = serde_saphyr::from_str::<Value>(text)
                && let Some(list) = doc.get("env").and_then(Value::as_array)
            {
                entries.extend(list.iter().cloned());
                break;
            }
        }
    }
    entries.extend(dep.env_vars.iter().cloned());
    for e in entries {
        let Some(name) = e.get("name").and_then(Value::as_str) else {
            continue;
        };
        let value = if let Some(v) = e.get("value").and_then(Value::as_str) {
            Some(v.to_string())
        } else {
            let from = e
                .get("value_from")
                .or_else(|| e.get("valueFrom"))
                .and_then(Value::as_str);
            from.and_then(|f| app.resources.iter().find(|r| r["name"].as_str() == Some(f)))
                .and_then(|r| {
                    r["serving_endpoint"]["name"]
                        .as_str()
                        .or(r["sql_warehouse"]["id"].as_str())
                        .or(r["experiment"]["experiment_id"].as_str())
                        .or(r["job"]["id"].as_str())
                        .or(r["uc_securable"]["securable_full_name"].as_str())
                        .map(str::to_string)
                })
        };
        if let Some(v) = value {
            env.insert(name.to_string(), v);
        }
    }
    env
}

/// A deployment as the API renders it.
pub fn deployment_json(dep: &Deployment) -> Value {
    let mut v = json!({
        "deployment_id": dep.id,
        "source_code_path": dep.source_code_path,
        "mode": dep.mode,
        "status": {"state": dep.state, "message": dep.message},
        "creator": dep.creator,
        "create_time": rfc3339(dep.created_ms),
        "update_time": rfc3339(dep.updated_ms),
        "deployment_artifacts": {"source_code_path": format!("/Workspace/Users/sim-apps/src/{}", dep.id)},
    });
    if !dep.command.is_empty() {
        v["command"] = json!(dep.command);
    }
    if !dep.env_vars.is_empty() {
        v["env_vars"] = json!(dep.env_vars);
    }
    v
}

/// The URL the Apps API names for an app: the simulator's own origin under `/_apps/<name>`
/// (the workspace's origin, so a client trusts it as it trusts the workspace), or what a test
/// set with [`crate::SimControl::set_app_url`].
pub fn app_url(world: &World, name: &str) -> String {
    world
        .app_urls
        .get(name)
        .cloned()
        .unwrap_or_else(|| format!("{}/_apps/{name}", world.base_url))
}

/// An app as the API renders it.
pub fn app_json(world: &World, app: &App) -> Value {
    let crash = world.crash_of(app);
    let compute = match crash {
        Some(c) if c.compute_error => "ERROR",
        _ => app.compute.as_str(),
    };
    let compute_message = match &app.compute {
        _ if compute == "ERROR" => "App compute failed.",
        Compute::Active => "App compute is running.",
        Compute::Starting(_) => "App compute is starting.",
        Compute::Stopping(_) => "App compute is stopping.",
        Compute::Stopped => "App compute is stopped.",
        Compute::Deleting(_) => "App is being deleted.",
    };
    let state = match crash {
        Some(c) if c.compute_error => "UNAVAILABLE",
        Some(_) => "CRASHED",
        None => app.app_state(),
    };
    let app_message = match state {
        "CRASHED" => "App crashed unexpectedly. Check the app logs for details.",
        "RUNNING" => "App has status: Running",
        "DEPLOYING" => "App is being deployed",
        _ if app.active_deployment.is_none() => {
            "App has not been deployed yet. Deploy it to make it available."
        }
        _ => "App is not available",
    };
    let mut v = json!({
        "name": app.name,
        "id": app.id,
        "url": app_url(world, &app.name),
        "app_status": {"state": state, "message": app_message},
        "compute_status": {"state": compute, "message": compute_message},
        "service_principal_id": app.sp_id,
        "service_principal_client_id": app.sp_client_id,
        "service_principal_name": app.sp_name,
        "creator": app.creator,
        "updater": app.updater,
        "create_time": rfc3339(app.created_ms),
        "update_time": rfc3339(app.updated_ms),
        "resources": app.resources,
    });
    if let Some(d) = &app.description {
        v["description"] = json!(d);
    }
    if let Some(size) = &app.compute_size {
        v["compute_size"] = json!(size);
    }
    if let Some(dep) = app
        .active_deployment
        .as_deref()
        .and_then(|id| app.deployment(id))
    {
        v["active_deployment"] = deployment_json(dep);
        v["default_source_code_path"] = json!(dep.source_code_path);
    }
    if let Some(dep) = app
        .pending_deployment
        .as_deref()
        .and_then(|id| app.deployment(id))
    {
        v["pending_deployment"] = deployment_json(dep);
    }
    v
}

/// Creates an app in the world (shared by the API and seeding).
pub fn create_app_in(
    world: &mut World,
    name: &str,
    description: Option<String>,
    resources: Vec<Value>,
    compute_size: Option<String>,
    creator: &str,
    with_compute: bool,
) -> ApiResult<()> {
    validate_name(name)?;
    if world.apps.contains_key(name) {
        return Err(ApiError::conflict_exists(format!(
            "An app with the same name already exists: {name}"
        )));
    }
    let sp_client_id = uuid::Uuid::new_v4().to_string();
    let sp_name = format!("app-{} {name}", &sp_client_id[..6.min(sp_client_id.len())]);
    let sp_id = world.add_service_principal(sp_client_id.clone(), sp_name.clone());
    let now = world.now();
    let compute = if with_compute {
        Compute::Starting(world.after(world.timings.app_start_seconds))
    } else {
        Compute::Stopped
    };
    grant_resources(world, &sp_client_id, &resources);
    let id = uuid::Uuid::new_v4().to_string();
    let reply = world.default_reply.clone();
    world
        .acls
        .entry(format!("apps/{name}"))
        .or_default()
        .insert(
            AclPrincipal::User(creator.to_string()),
            "CAN_MANAGE".to_string(),
        );
    world.apps.insert(
        name.to_string(),
        App {
            name: name.to_string(),
            id,
            description,
            resources,
            compute_size,
            sp_id,
            sp_client_id,
            sp_name,
            creator: creator.to_string(),
            updater: creator.to_string(),
            created_ms: now,
            updated_ms: now,
            compute,
            deployments: Vec::new(),
            active_deployment: None,
            pending_deployment: None,
            reply,
            last_update: None,
        },
    );
    Ok(())
}

fn live_app<'a>(world: &'a mut World, name: &str) -> ApiResult<&'a mut App> {
    match world.apps.get_mut(name) {
        Some(app) if !matches!(app.compute, Compute::Deleting(_)) => Ok(app),
        _ => Err(not_found(name)),
    }
}

/// `POST /api/2.0/apps?no_compute=`: the body is the App itself.
pub async fn create(
    State(s): State<SharedState>,
    Extension(caller): Extension<Caller>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let no_compute = q.flag("no_compute")?.unwrap_or(false);
    let body: Value = parse_body(&body)?;
    let body = if body.get("app").is_some_and(Value::is_object) && body.get("name").is_none() {
        body["app"].clone()
    } else {
        body
    };
    let name = super::field(&body, "name")?.to_string();
    let description = opt_field(&body, "description")?.map(str::to_string);
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 500)
    {
        return Err(ApiError::invalid(
            "The app description may be at most 500 characters",
        ));
    }
    let resources = validate_resources(body.get("resources").unwrap_or(&Value::Null))?;
    let compute_size = opt_field(&body, "compute_size")?.map(str::to_string);
    let mut world = s.world();
    create_app_in(
        &mut world,
        &name,
        description,
        resources,
        compute_size,
        &caller.0,
        !no_compute,
    )?;
    let app = world.apps.get(&name).ok_or_else(|| not_found(&name))?;
    Ok(ok(app_json(&world, app)))
}

/// `GET /api/2.0/apps/{name}`.
pub async fn get(State(s): State<SharedState>, Path(name): Path<String>) -> ApiResult<Response> {
    let world = s.world();
    let app = world.apps.get(&name).ok_or_else(|| not_found(&name))?;
    Ok(ok(app_json(&world, app)))
}

/// `GET /api/2.0/apps?page_size=&page_token=`.
pub async fn list(State(s): State<SharedState>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let size = q.number("page_size")?.filter(|n| *n > 0).unwrap_or(100) as usize;
    let world = s.world();
    let all: Vec<Value> = world.apps.values().map(|a| app_json(&world, a)).collect();
    let (items, next) = super::page(&all, q.get("page_token"), size)?;
    let mut v = json!({"apps": items});
    if let Some(next) = next {
        v["next_page_token"] = json!(next);
    }
    Ok(ok(v))
}

/// `PATCH /api/2.0/apps/{name}`: description, resources, compute size.
pub async fn update(
    State(s): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    if let Some(other) = opt_field(&body, "name")?
        && other != name
    {
        return Err(ApiError::invalid(format!(
            "The app name cannot be changed (from '{name}' to '{other}')"
        )));
    }
    let description = opt_field(&body, "description")?.map(str::to_string);
    let resources = match body.get("resources") {
        Some(r) => Some(validate_resources(r)?),
        None => None,
    };
    let compute_size = opt_field(&body, "compute_size")?.map(str::to_string);
    let mut world = s.world();
    let now = world.now();
    let app = live_app(&mut world, &name)?;
    app.description = description;
    if let Some(r) = resources.clone() {
        app.resources = r;
    }
    if compute_size.is_some() {
        app.compute_size = compute_size;
    }
    app.updater = caller.0.clone();
    app.updated_ms = now;
    let sp = app.sp_client_id.clone();
    if let Some(r) = resources {
        grant_resources(&mut world, &sp, &r);
    }
    let app = world.apps.get(&name).ok_or_else(|| not_found(&name))?;
    Ok(ok(app_json(&world, app)))
}

/// `DELETE /api/2.0/apps/{name}`: the app answers DELETING for a while, then is gone.
pub async fn delete(State(s): State<SharedState>, Path(name): Path<String>) -> ApiResult<Response> {
    let mut world = s.world();
    let until = world.after(world.timings.app_delete_seconds);
    let app = world.apps.get_mut(&name).ok_or_else(|| not_found(&name))?;
    if matches!(app.compute, Compute::Deleting(_)) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            format!("App {name} is not terminal with state DELETING"),
        ));
    }
    app.compute = Compute::Deleting(until);
    app.pending_deployment = None;
    let app = world.apps.get(&name).ok_or_else(|| not_found(&name))?;
    let v = app_json(&world, app);
    world.settle();
    Ok(ok(v))
}

/// `POST /api/2.0/apps/{name}/start`.
pub async fn start(State(s): State<SharedState>, Path(name): Path<String>) -> ApiResult<Response> {
    let mut world = s.world();
    let at = world.after(world.timings.app_start_seconds);
    // Failed compute is restarted; the active deployment runs again.
    let failed = world.crashes.get(&name).is_some_and(|c| c.compute_error);
    if failed {
        world.crashes.remove(&name);
    }
    let app = live_app(&mut world, &name)?;
    match app.compute {
        Compute::Stopped => app.compute = Compute::Starting(at),
        Compute::Active if failed => app.compute = Compute::Starting(at),
        Compute::Stopping(_) => {
            return Err(ApiError::invalid_state(format!(
                "App {name} is stopping; start it once it is stopped"
            )));
        }
        _ => {}
    }
    let app = world.apps.get(&name).ok_or_else(|| not_found(&name))?;
    Ok(ok(app_json(&world, app)))
}

/// `POST /api/2.0/apps/{name}/stop`.
pub async fn stop(State(s): State<SharedState>, Path(name): Path<String>) -> ApiResult<Response> {
    let mut world = s.world();
    let at = world.after(world.timings.app_stop_seconds);
    let app = live_app(&mut world, &name)?;
    match app.compute {
        Compute::Active | Compute::Starting(_) => {
            app.compute = Compute::Stopping(at);
            app.pending_deployment = None;
        }
        _ => {}
    }
    let app = world.apps.get(&name).ok_or_else(|| not_found(&name))?;
    Ok(ok(app_json(&world, app)))
}

/// `POST /api/2.0/apps/{name}/deployments`: the body is the AppDeployment itself.
pub async fn create_deployment(
    State(s): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let body = if body.get("app_deployment").is_some_and(Value::is_object) {
        body["app_deployment"].clone()
    } else {
        body
    };
    let source = opt_field(&body, "source_code_path")?.map(str::to_string);
    let git = body.get("git_source").filter(|v| !v.is_null()).cloned();
    let source = match (source, git) {
        (Some(s), _) => s,
        (None, Some(_)) => {
            return Err(ApiError::invalid(
                "Git sources are not supported by the simulator; use source_code_path",
            ));
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "Missing required field: source_code_path",
            ));
        }
    };
    let mode = opt_field(&body, "mode")?.unwrap_or("SNAPSHOT").to_string();
    if !["SNAPSHOT", "AUTO_SYNC"].contains(&mode.as_str()) {
        return Err(ApiError::invalid(format!(
            "Invalid deployment mode '{mode}'"
        )));
    }
    let command: Vec<String> = match body.get("command") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|c| {
                c.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ApiError::invalid("command must be a list of strings"))
            })
            .collect::<ApiResult<_>>()?,
        Some(_) => return Err(ApiError::invalid("command must be a list of strings")),
    };
    let env_vars: Vec<Value> = match body.get("env_vars") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(ApiError::invalid("env_vars must be a list")),
    };
    let mut world = s.world();
    let now = world.now();
    let done_at = world.after(world.timings.deployment_seconds);
    let id = world.next_hex();
    let source_key = workspace_key(&source);
    let source_exists = source_key
        .as_ref()
        .is_some_and(|k| matches!(world.workspace.get(k), Some(WsObject::Directory { .. })));
    let app = live_app(&mut world, &name)?;
    let mut seen = Vec::new();
    for e in &env_vars {
        let env_name = e
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ApiError::invalid("Each env var needs a name"))?;
        if seen.contains(&env_name) {
            return Err(ApiError::invalid(format!("Duplicate env var '{env_name}'")));
        }
        seen.push(env_name);
        let has_value = e.get("value").is_some_and(|v| !v.is_null());
        let from = e.get("value_from").and_then(Value::as_str);
        match (has_value, from) {
            (true, None) => {}
            (false, Some(f)) => {
                if !app.resources.iter().any(|r| r["name"].as_str() == Some(f)) {
                    return Err(ApiError::invalid(format!(
                        "Env var '{env_name}' refers to app resource '{f}', which the app does not declare"
                    )));
                }
            }
            _ => {
                return Err(ApiError::invalid(format!(
                    "Env var '{env_name}' must set exactly one of value and value_from"
                )));
            }
        }
    }
    if app.compute != Compute::Active {
        return Err(ApiError::invalid_state(format!(
            "Cannot deploy app {name}: its compute is {}; start the app and wait until it is ACTIVE",
            app.compute.as_str()
        )));
    }
    if app.pending_deployment.is_some() {
        return Err(ApiError::in_progress(format!(
            "Cannot deploy app {name}: a deployment is already in progress"
        )));
    }
    let failure = (!source_exists).then(|| {
        format!("Source code path {source} does not exist or is not a directory in the workspace.")
    });
    let dep = Deployment {
        id: id.clone(),
        source_code_path: source,
        mode,
        command,
        env_vars,
        state: "IN_PROGRESS".into(),
        message: "Preparing source code for new app deployment.".into(),
        creator: caller.0.clone(),
        created_ms: now,
        updated_ms: now,
        done_at,
        failure,
    };
    let v = deployment_json(&dep);
    app.deployments.push(dep);
    app.pending_deployment = Some(id);
    app.updated_ms = now;
    Ok(ok(v))
}

/// `GET /api/2.0/apps/{name}/deployments/{id}`.
pub async fn get_deployment(
    State(s): State<SharedState>,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let world = s.world();
    let app = world.apps.get(&name).ok_or_else(|| not_found(&name))?;
    let dep = app.deployment(&id).ok_or_else(|| {
        ApiError::not_found(format!(
            "App deployment {id} does not exist for app {name}."
        ))
    })?;
    Ok(ok(deployment_json(dep)))
}

/// `GET /api/2.0/apps/{name}/deployments`.
pub async fn list_deployments(
    State(s): State<SharedState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let size = q.number("page_size")?.filter(|n| *n > 0).unwrap_or(100) as usize;
    let world = s.world();
    let app = world.apps.get(&name).ok_or_else(|| not_found(&name))?;
    let all: Vec<Value> = app.deployments.iter().rev().map(deployment_json).collect();
    let (items, next) = super::page(&all, q.get("page_token"), size)?;
    let mut v = json!({"app_deployments": items});
    if let Some(next) = next {
        v["next_page_token"] = json!(next);
    }
    Ok(ok(v))
}

/// The fields an asynchronous update may name in its `update_mask`.
const UPDATABLE: [&str; 11] = [
    "description",
    "resources",
    "compute_size",
    "budget_policy_id",
    "usage_policy_id",
    "user_api_scopes",
    "compute_min_instances",
    "compute_max_instances",
    "forward_user_access_token",
    "telemetry_export_destinations",
    "git_repository",
];

/// `POST /api/2.0/apps/{name}/update` with `{update_mask, app}`: applies the masked fields
/// (description, resources, compute size take effect; the others are recorded) and reports the
/// update SUCCEEDED.
pub async fn create_update(
    State(s): State<SharedState>,
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let mask = super::field(&body, "update_mask")?;
    let fields: Vec<&str> = mask
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect();
    if let Some(bad) = fields.iter().find(|f| !UPDATABLE.contains(f)) {
        return Err(ApiError::invalid(format!(
            "update_mask names '{bad}', which cannot be updated (allowed: {})",
            UPDATABLE.join(", ")
        )));
    }
    let input = body
        .get("app")
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    let resources = if fields.contains(&"resources") {
        Some(validate_resources(
            input.get("resources").unwrap_or(&Value::Null),
        )?)
    } else {
        None
    };
    let description = if fields.contains(&"description") {
        Some(opt_field(&input, "description")?.map(str::to_string))
    } else {
        None
    };
    let compute_size = if fields.contains(&"compute_size") {
        Some(opt_field(&input, "compute_size")?.map(str::to_string))
    } else {
        None
    };
    let mut world = s.world();
    let now = world.now();
    let app = live_app(&mut world, &name)?;
    if let Some(d) = description {
        app.description = d;
    }
    if let Some(size) = compute_size {
        app.compute_size = size;
    }
    if let Some(r) = resources.clone() {
        app.resources = r;
    }
    app.updater = caller.0.clone();
    app.updated_ms = now;
    let mut update = serde_json::Map::new();
    for f in &fields {
        if let Some(v) = input.get(*f) {
            update.insert((*f).to_string(), v.clone());
        }
    }
    update.insert(
        "status".into(),
        json!({"state": "SUCCEEDED", "message": "App update succeeded"}),
    );
    let update = Value::Object(update);
    app.last_update = Some(update.clone());
    let sp = app.sp_client_id.clone();
    if let Some(r) = resources {
        grant_resources(&mut world, &sp, &r);
    }
    Ok(ok(update))
}

/// `GET /api/2.0/apps/{name}/update`: the last asynchronous update.
pub async fn get_update(
    State(s): State<SharedState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let world = s.world();
    let app = world.apps.get(&name).ok_or_else(|| not_found(&name))?;
    Ok(ok(app.last_update.clone().unwrap_or_else(
        || json!({"status": {"state": "NOT_UPDATED", "message": "The app has not been updated"}}),
    )))
}
