//! Test controls: in process through [`SimControl`], and over HTTP under `/_sim/` (not counted
//! as API calls). Seed, reset, call log, faults, clock, and direct mutators for "hand-made drift".

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::calls::{CallRecord, RouteCounter};
use crate::error::ApiError;
use crate::faults::{FaultRule, FaultRuleError};
use crate::seed::{Seed, SeedError};
use crate::shared::{Shared, SharedState};
use crate::world::{AclPrincipal, Compute, SmokeReply, StoredFile, World, split_volume_path};

/// A control request that cannot be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The named object does not exist.
    #[error("{0} does not exist")]
    Missing(String),
    /// The argument is not usable.
    #[error("{0}")]
    Invalid(String),
}

impl ControlError {
    /// A short category.
    pub fn category(&self) -> &'static str {
        match self {
            ControlError::Missing(_) => "missing",
            ControlError::Invalid(_) => "invalid",
        }
    }
}

/// In-process access to a running simulator (cheap to clone).
#[derive(Debug, Clone)]
pub struct SimControl {
    pub(crate) shared: SharedState,
}

impl SimControl {
    /// The calls served so far (oldest first; bounded).
    pub fn calls(&self) -> Vec<CallRecord> {
        self.shared.calls().records()
    }

    /// The calls that could change state (not GET or HEAD).
    pub fn writes(&self) -> Vec<CallRecord> {
        self.calls()
            .into_iter()
            .filter(CallRecord::is_write)
            .collect()
    }

    /// Forgets the call log and counters.
    pub fn clear_calls(&self) {
        self.shared.calls().clear();
    }

    /// Per-route counters keyed `"METHOD /route/template"`.
    pub fn counters(&self) -> BTreeMap<String, RouteCounter> {
        self.shared.calls().counters()
    }

    /// Adds a fault rule.
    pub fn add_fault(&self, rule: FaultRule) -> Result<(), FaultRuleError> {
        self.shared.faults().add(rule)
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.shared.faults().clear(self.shared.fault_seed);
    }

    /// Moves the simulated clock forward.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.world().clock.advance(by);
    }

    /// Sets simulated seconds per real second.
    pub fn set_time_scale(&self, scale: f64) {
        self.shared.world().clock.set_scale(scale);
    }

    /// Simulated epoch milliseconds now.
    pub fn now_ms(&self) -> i64 {
        self.shared.world().now()
    }

    /// Writes a volume file (creating parents); the volume must exist.
    pub fn put_file(&self, path: &str, content: impl Into<Bytes>) -> Result<(), ControlError> {
        let mut world = self.shared.world();
        let (volume, rel) = split_volume_path(path)
            .ok_or_else(|| ControlError::Invalid(format!("{path} is not a volume file path")))?;
        if rel.is_empty() {
            return Err(ControlError::Invalid(format!("{path} is a volume root")));
        }
        if !world.volumes.contains(&volume) {
            return Err(ControlError::Missing(format!("volume {volume}")));
        }
        let mut cur = path.rsplit_once('/').map(|(p, _)| p.to_string());
        while let Some(p) = cur {
            match split_volume_path(&p) {
                Some((_, r)) if !r.is_empty() => {
                    cur = p.rsplit_once('/').map(|(x, _)| x.to_string());
                    world.dirs.insert(p);
                }
                _ => break,
            }
        }
        let now = world.now();
        world.files.insert(
            path.to_string(),
            StoredFile {
                content: content.into(),
                modified_ms: now,
            },
        );
        Ok(())
    }

    /// Reads a volume file.
    pub fn read_file(&self, path: &str) -> Option<Bytes> {
        self.shared
            .world()
            .files
            .get(path)
            .map(|f| f.content.clone())
    }

    /// Deletes a volume file; false when it did not exist.
    pub fn delete_file(&self, path: &str) -> bool {
        self.shared.world().files.remove(path).is_some()
    }

    /// The paths of the files under a volume directory (recursively).
    pub fn list_files(&self, prefix: &str) -> Vec<String> {
        let prefix = format!("{}/", prefix.trim_end_matches('/'));
        self.shared
            .world()
            .files
            .keys()
            .filter(|p| p.starts_with(&prefix))
            .cloned()
            .collect()
    }

    /// Merges a seed into the current state.
    pub fn apply_seed(&self, seed: &Seed) -> Result<(), SeedError> {
        seed.apply(&mut self.shared.world())
    }

    /// Returns to the start state (the initial seed), keeping the clock, faults and call log.
    pub fn reset(&self) -> Result<(), SeedError> {
        let mut world = self.shared.world();
        let fresh = World::new(world.clock.clone(), world.base_url.clone());
        *world = fresh;
        if let Some(seed) = &self.shared.initial_seed {
            seed.apply(&mut world)?;
        }
        Ok(())
    }

    /// The version a Unity Catalog model alias names.
    pub fn model_alias(&self, full_name: &str, alias: &str) -> Option<i64> {
        self.shared
            .world()
            .models
            .get(full_name)?
            .aliases
            .get(alias)
            .copied()
    }

    /// Points a Unity Catalog model alias at a version by hand.
    pub fn set_model_alias(
        &self,
        full_name: &str,
        alias: &str,
        version: i64,
    ) -> Result<(), ControlError> {
        let mut world = self.shared.world();
        let model = world
            .models
            .get_mut(full_name)
            .ok_or_else(|| ControlError::Missing(format!("model {full_name}")))?;
        if !model.versions.contains_key(&version) {
            return Err(ControlError::Missing(format!(
                "version {version} of {full_name}"
            )));
        }
        model.aliases.insert(alias.to_string(), version);
        Ok(())
    }

    /// Registers a new version of a model (as a training job would), READY unless `status`
    /// says otherwise, created now by the simulated clock.
    pub fn register_model_version(
        &self,
        full_name: &str,
        version: i64,
        model_id: Option<&str>,
        status: &str,
    ) -> Result<(), ControlError> {
        let mut world = self.shared.world();
        let now = world.now();
        let model = world
            .models
            .get_mut(full_name)
            .ok_or_else(|| ControlError::Missing(format!("model {full_name}")))?;
        model.versions.insert(
            version,
            crate::world::ModelVersion {
                status: status.to_string(),
                run_id: None,
                model_id: model_id.map(str::to_string),
                source: match model_id {
                    Some(id) => format!("models:/{id}"),
                    None => format!("dbfs:/models/{full_name}/{version}"),
                },
                comment: None,
                created_ms: now,
                tags: BTreeMap::new(),
            },
        );
        model.updated_ms = now;
        Ok(())
    }

    /// Sets a tag on a model version by hand (e.g. `approval_prod=Approved`).
    pub fn set_model_version_tag(
        &self,
        full_name: &str,
        version: i64,
        key: &str,
        value: &str,
    ) -> Result<(), ControlError> {
        let mut world = self.shared.world();
        let mv = world
            .models
            .get_mut(full_name)
            .and_then(|m| m.versions.get_mut(&version))
            .ok_or_else(|| ControlError::Missing(format!("version {version} of {full_name}")))?;
        mv.tags.insert(key.to_string(), value.to_string());
        Ok(())
    }

    /// Removes a Unity Catalog model alias by hand.
    pub fn delete_model_alias(&self, full_name: &str, alias: &str) -> bool {
        self.shared
            .world()
            .models
            .get_mut(full_name)
            .is_some_and(|m| m.aliases.remove(alias).is_some())
    }

    /// An app as the API renders it.
    pub fn app(&self, name: &str) -> Option<Value> {
        let world = self.shared.world();
        world
            .apps
            .get(name)
            .map(|a| crate::api::apps::app_json(&world, a))
    }

    /// A serving endpoint as the API renders it.
    pub fn endpoint(&self, name: &str) -> Option<Value> {
        let world = self.shared.world();
        world
            .endpoints
            .get(name)
            .map(|e| crate::api::serving::endpoint_json(&world, e))
    }

    /// Replaces the env vars of an app's active deployment by hand (drift).
    pub fn set_app_deployment_env(
        &self,
        app: &str,
        env_vars: Vec<(String, String)>,
    ) -> Result<(), ControlError> {
        let mut world = self.shared.world();
        let a = world
            .apps
            .get_mut(app)
            .ok_or_else(|| ControlError::Missing(format!("app {app}")))?;
        let id = a
            .active_deployment
            .clone()
            .ok_or_else(|| ControlError::Missing(format!("active deployment of {app}")))?;
        let dep = a
            .deployments
            .iter_mut()
            .find(|d| d.id == id)
            .ok_or_else(|| ControlError::Missing(format!("deployment {id}")))?;
        dep.env_vars = env_vars
            .into_iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        Ok(())
    }

    /// Stops an app's compute at once (a hand-made outage).
    pub fn stop_app(&self, app: &str) -> Result<(), ControlError> {
        let mut world = self.shared.world();
        let a = world
            .apps
            .get_mut(app)
            .ok_or_else(|| ControlError::Missing(format!("app {app}")))?;
        a.compute = Compute::Stopped;
        a.pending_deployment = None;
        Ok(())
    }

    /// Sets what an app's URL answers.
    pub fn set_app_reply(&self, app: &str, reply: SmokeReply) -> Result<(), ControlError> {
        let mut world = self.shared.world();
        let a = world
            .apps
            .get_mut(app)
            .ok_or_else(|| ControlError::Missing(format!("app {app}")))?;
        a.reply = reply;
        Ok(())
    }

    /// Makes the Apps API answer `url` as the app's URL (`None`: its own, on the simulator's
    /// origin). Only the answer changes; the simulator serves the app where it always does.
    pub fn set_app_url(&self, app: &str, url: Option<&str>) {
        let mut world = self.shared.world();
        match url {
            Some(url) => world.app_urls.insert(app.to_string(), url.to_string()),
            None => world.app_urls.remove(app),
        };
    }

    /// Sets what the app's chat completions answer: `Some(text)` that assistant message,
    /// `None` an empty one. Clears nothing else.
    pub fn set_chat_reply(&self, app: &str, content: Option<&str>) {
        self.shared
            .world()
            .chat_replies
            .insert(app.to_string(), content.map(str::to_string));
    }

    /// Sets how an app's long-running tasks (`<app url>/api/tasks`) go from now on.
    pub fn set_task_script(&self, app: &str, script: crate::api::tasks::TaskScript) {
        self.shared
            .world()
            .tasks
            .scripts
            .insert(app.to_string(), script);
    }

    /// The ids of the tasks started so far, oldest first.
    pub fn tasks_started(&self) -> Vec<String> {
        self.shared.world().tasks.tasks.keys().cloned().collect()
    }

    /// Makes an app's running deployment crash (the app status `CRASHED`; with
    /// `compute_error` the compute `ERROR`), its log ending with `message`. A new deployment
    /// ends the crash.
    pub fn crash_app(
        &self,
        app: &str,
        message: &str,
        compute_error: bool,
    ) -> Result<(), ControlError> {
        let mut world = self.shared.world();
        let deployment = world
            .apps
            .get(app)
            .ok_or_else(|| ControlError::Missing(format!("app {app}")))?
            .active_deployment
            .clone()
            .ok_or_else(|| ControlError::Missing(format!("active deployment of {app}")))?;
        world.crashes.insert(
            app.to_string(),
            crate::world::AppCrash {
                deployment,
                message: message.to_string(),
                compute_error,
            },
        );
        Ok(())
    }

    /// Answers the managed MCP servers as `text/event-stream` when the client accepts it.
    pub fn set_mcp_sse(&self, on: bool) {
        self.shared.world().mcp.sse = on;
    }

    /// Makes the managed MCP servers refuse requests (other than `initialize`) that carry no
    /// `Mcp-Session-Id` handed out by `initialize`.
    pub fn require_mcp_sessions(&self, on: bool) {
        self.shared.world().mcp.require_sessions = on;
    }

    /// Adds a vector search index (`catalog.schema.index`); its schema must exist.
    pub fn add_vector_index(&self, full_name: &str) {
        self.shared
            .world()
            .mcp
            .vector_indexes
            .insert(full_name.to_string());
    }

    /// Adds a Genie space.
    pub fn add_genie_space(&self, id: &str, title: &str) {
        self.shared
            .world()
            .mcp
            .genie_spaces
            .insert(id.to_string(), title.to_string());
    }

    /// The token exchanges (workload identity federation) judged so far, oldest first: the
    /// claims of each subject token and the verdict.
    pub fn token_exchanges(&self) -> Vec<crate::api::token_exchange::Exchange> {
        self.shared.world().token_exchanges.clone()
    }

    /// Gives a service principal (by application id, e.g. an app's) an OAuth secret, so it can
    /// authenticate with OAuth M2M.
    pub fn add_oauth_secret(&self, client_id: &str, secret: &str) {
        self.shared.world().oauth_clients.insert(
            client_id.to_string(),
            crate::world::OAuthClient {
                secret: secret.to_string(),
                principal: client_id.to_string(),
            },
        );
    }

    /// Makes the next config update of an endpoint fail (UPDATE_FAILED).
    pub fn fail_next_endpoint_update(&self, name: &str) -> Result<(), ControlError> {
        let mut world = self.shared.world();
        let e = world
            .endpoints
            .get_mut(name)
            .ok_or_else(|| ControlError::Missing(format!("endpoint {name}")))?;
        e.fail_next_update = true;
        Ok(())
    }

    /// Replaces the traffic routes of an endpoint's active config by hand (drift).
    pub fn set_endpoint_routes(
        &self,
        name: &str,
        routes: Vec<(String, i64)>,
    ) -> Result<(), ControlError> {
        let mut world = self.shared.world();
        let e = world
            .endpoints
            .get_mut(name)
            .ok_or_else(|| ControlError::Missing(format!("endpoint {name}")))?;
        let c = e
            .config
            .as_mut()
            .ok_or_else(|| ControlError::Missing(format!("active config of {name}")))?;
        c.traffic_config = json!({"routes": routes.into_iter().map(|(n, p)| json!({"served_entity_name": n, "traffic_percentage": p})).collect::<Vec<_>>()});
        Ok(())
    }

    /// Removes a privilege by hand (drift).
    pub fn revoke_grant(
        &self,
        securable_type: &str,
        full_name: &str,
        principal: &str,
        privilege: &str,
    ) -> bool {
        let mut world = self.shared.world();
        let key = format!("{}/{full_name}", securable_type.to_ascii_uppercase());
        world
            .grants
            .get_mut(&key)
            .and_then(|g| g.get_mut(principal))
            .is_some_and(|p| p.remove(&privilege.to_ascii_uppercase()))
    }

    /// The privileges a principal holds directly on a securable.
    pub fn grants_of(&self, securable_type: &str, full_name: &str, principal: &str) -> Vec<String> {
        let world = self.shared.world();
        let key = format!("{}/{full_name}", securable_type.to_ascii_uppercase());
        world
            .grants
            .get(&key)
            .and_then(|g| g.get(principal))
            .map(|p| p.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Removes a principal's direct ACL entry by hand (drift); `object` is e.g. `apps/<name>`,
    /// `serving-endpoints/<id>`, `warehouses/<id>`; `principal` a user, group or application id.
    pub fn remove_permission(&self, object: &str, principal: &str) -> bool {
        let mut world = self.shared.world();
        let Some(acl) = world.acls.get_mut(object) else {
            return false;
        };
        let before = acl.len();
        acl.retain(|p, _| match p {
            AclPrincipal::User(n) | AclPrincipal::Group(n) | AclPrincipal::ServicePrincipal(n) => {
                n != principal
            }
        });
        acl.len() != before
    }

    /// The direct ACL of an object as `(principal, level)`.
    pub fn permissions(&self, object: &str) -> Vec<(String, String)> {
        let world = self.shared.world();
        world
            .acls
            .get(object)
            .into_iter()
            .flatten()
            .map(|(p, l)| match p {
                AclPrincipal::User(n)
                | AclPrincipal::Group(n)
                | AclPrincipal::ServicePrincipal(n) => (n.clone(), l.clone()),
            })
            .collect()
    }

    /// The runs of an experiment (by path) as the API renders them.
    pub fn runs_of(&self, experiment: &str) -> Vec<Value> {
        let world = self.shared.world();
        let Some(id) = world
            .experiments
            .values()
            .find(|e| e.name == experiment)
            .map(|e| e.id.clone())
        else {
            return Vec::new();
        };
        world
            .runs
            .values()
            .filter(|r| r.experiment_id == id)
            .map(crate::api::mlflow::run_json)
            .collect()
    }
}

fn control_error(status: StatusCode, message: impl Into<String>) -> Response {
    ApiError::new(status, "INVALID_PARAMETER_VALUE", message).into_response()
}

async fn calls(State(s): State<SharedState>) -> Response {
    axum::Json(s.calls().records()).into_response()
}

async fn clear_calls(State(s): State<SharedState>) -> Response {
    s.calls().clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn counters(State(s): State<SharedState>) -> Response {
    axum::Json(s.calls().counters()).into_response()
}

async fn reset(State(s): State<SharedState>, body: Bytes) -> Response {
    let control = SimControl {
        shared: Arc::clone(&s),
    };
    if let Err(e) = control.reset() {
        return control_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    }
    control.clear_faults();
    control.clear_calls();
    if body.iter().any(|b| !b.is_ascii_whitespace()) {
        return seed(State(s), body).await;
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn seed(State(s): State<SharedState>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    let seed = match Seed::from_yaml_str(&text, None) {
        Ok(seed) => seed,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    match seed.apply(&mut s.world()) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => control_error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn add_fault(State(s): State<SharedState>, body: Bytes) -> Response {
    let rule: FaultRule = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return control_error(StatusCode::BAD_REQUEST, format!("invalid fault rule: {e}"));
        }
    };
    match s.faults().add(rule) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => control_error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn clear_faults(State(s): State<SharedState>) -> Response {
    s.faults().clear(s.fault_seed);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    #[serde(default)]
    advance_seconds: Option<f64>,
    #[serde(default)]
    scale: Option<f64>,
}

async fn clock(State(s): State<SharedState>) -> Response {
    let world = s.world();
    axum::Json(json!({"now_ms": world.now(), "scale": world.clock.scale()})).into_response()
}

async fn change_clock(State(s): State<SharedState>, body: Bytes) -> Response {
    let change: ClockChange = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            return control_error(
                StatusCode::BAD_REQUEST,
                format!("invalid clock change: {e}"),
            );
        }
    };
    let mut world = s.world();
    if let Some(secs) = change.advance_seconds {
        let Ok(by) = Duration::try_from_secs_f64(secs) else {
            return control_error(
                StatusCode::BAD_REQUEST,
                "advance_seconds must be a non-negative number of seconds",
            );
        };
        world.clock.advance(by);
    }
    if let Some(scale) = change.scale {
        world.clock.set_scale(scale);
    }
    world.settle();
    axum::Json(json!({"now_ms": world.now(), "scale": world.clock.scale()})).into_response()
}

async fn app_reply(
    State(s): State<SharedState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let reply: SmokeReply = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("invalid reply: {e}")),
    };
    match (SimControl { shared: s }).set_app_reply(&name, reply) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => control_error(StatusCode::NOT_FOUND, e.to_string()),
    }
}

async fn app_tasks(
    State(s): State<SharedState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let script: crate::api::tasks::TaskScript = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return control_error(StatusCode::BAD_REQUEST, format!("invalid task script: {e}"));
        }
    };
    (SimControl { shared: s }).set_task_script(&name, script);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CrashRequest {
    message: String,
    #[serde(default)]
    compute_error: bool,
}

async fn app_crash(
    State(s): State<SharedState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let crash: CrashRequest = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("invalid crash: {e}")),
    };
    match (SimControl { shared: s }).crash_app(&name, &crash.message, crash.compute_error) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => control_error(StatusCode::NOT_FOUND, e.to_string()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppUrl {
    url: Option<String>,
}

async fn app_url(State(s): State<SharedState>, Path(name): Path<String>, body: Bytes) -> Response {
    let request: AppUrl = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("invalid app URL: {e}")),
    };
    (SimControl { shared: s }).set_app_url(&name, request.url.as_deref());
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct McpSettings {
    #[serde(default)]
    sse: Option<bool>,
    #[serde(default)]
    require_sessions: Option<bool>,
}

async fn mcp_settings(State(s): State<SharedState>, body: Bytes) -> Response {
    let settings: McpSettings = match serde_json::from_slice(&body) {
        Ok(m) => m,
        Err(e) => {
            return control_error(
                StatusCode::BAD_REQUEST,
                format!("invalid MCP settings: {e}"),
            );
        }
    };
    let mut world = s.world();
    if let Some(on) = settings.sse {
        world.mcp.sse = on;
    }
    if let Some(on) = settings.require_sessions {
        world.mcp.require_sessions = on;
    }
    StatusCode::NO_CONTENT.into_response()
}

/// The `/_sim/` routes.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/_sim/calls", get(calls).delete(clear_calls))
        .route("/_sim/counters", get(counters))
        .route("/_sim/reset", post(reset))
        .route("/_sim/seed", post(seed))
        .route("/_sim/faults", post(add_fault).delete(clear_faults))
        .route("/_sim/clock", get(clock).post(change_clock))
        .route("/_sim/apps/{name}/reply", put(app_reply))
        .route("/_sim/apps/{name}/tasks", put(app_tasks))
        .route("/_sim/apps/{name}/crash", post(app_crash))
        .route("/_sim/apps/{name}/url", put(app_url))
        .route("/_sim/mcp", post(mcp_settings))
}

impl Shared {
    /// A control handle.
    pub fn control(self: &Arc<Self>) -> SimControl {
        SimControl {
            shared: Arc::clone(self),
        }
    }
}
