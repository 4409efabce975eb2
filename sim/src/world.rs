//! The simulated workspace's state and the lazy progression of its long operations.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use serde_json::Value;

use crate::clock::SimClock;

/// Simulated durations of long operations, in simulated seconds.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timings {
    /// App compute STARTING → ACTIVE.
    pub app_start_seconds: u64,
    /// App compute STOPPING → STOPPED.
    pub app_stop_seconds: u64,
    /// App DELETING → gone.
    pub app_delete_seconds: u64,
    /// Deployment IN_PROGRESS → SUCCEEDED / FAILED.
    pub deployment_seconds: u64,
    /// Serving endpoint config update IN_PROGRESS → NOT_UPDATING.
    pub endpoint_update_seconds: u64,
    /// Lifetime of OAuth access tokens.
    pub token_lifetime_seconds: u64,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            app_start_seconds: 5,
            app_stop_seconds: 2,
            app_delete_seconds: 2,
            deployment_seconds: 8,
            endpoint_update_seconds: 15,
            token_lifetime_seconds: 3600,
        }
    }
}

/// A file under a Unity Catalog volume.
#[derive(Debug, Clone)]
pub struct StoredFile {
    /// The bytes.
    pub content: Bytes,
    /// Epoch milliseconds of the last write.
    pub modified_ms: i64,
}

/// A model version (Unity Catalog or workspace registry).
#[derive(Debug, Clone)]
pub struct ModelVersion {
    /// `READY`, `PENDING_REGISTRATION`, `FAILED_REGISTRATION`.
    pub status: String,
    /// The producing run.
    pub run_id: Option<String>,
    /// The MLflow 3 logged model id.
    pub model_id: Option<String>,
    /// The artifact source.
    pub source: String,
    /// Free text.
    pub comment: Option<String>,
    /// Creation time.
    pub created_ms: i64,
    /// Model version tags (e.g. `approval_prod=Approved`, as deployment jobs set them).
    pub tags: std::collections::BTreeMap<String, String>,
}

/// A registered model.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// The owner.
    pub owner: String,
    /// Free text.
    pub comment: Option<String>,
    /// Creation time.
    pub created_ms: i64,
    /// Last change.
    pub updated_ms: i64,
    /// Versions by number.
    pub versions: BTreeMap<i64, ModelVersion>,
    /// Alias → version.
    pub aliases: BTreeMap<String, i64>,
}

/// A prompt version of the Unity Catalog prompt registry.
#[derive(Debug, Clone)]
pub struct PromptVersion {
    /// The stored (JSON-encoded) template.
    pub template: String,
    /// Free text.
    pub description: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Creation time.
    pub created_ms: i64,
}

/// A prompt.
#[derive(Debug, Clone, Default)]
pub struct Prompt {
    /// Free text.
    pub description: Option<String>,
    /// Versions by number.
    pub versions: BTreeMap<i64, PromptVersion>,
    /// Alias → version.
    pub aliases: BTreeMap<String, i64>,
    /// Creation time.
    pub created_ms: i64,
}

/// An MLflow experiment.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The id.
    pub id: String,
    /// The workspace path.
    pub name: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
    /// Creation time.
    pub created_ms: i64,
    /// Last change.
    pub updated_ms: i64,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// A metric's latest value.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// The value.
    pub value: f64,
    /// When it was logged.
    pub timestamp: i64,
    /// The step.
    pub step: i64,
}

/// An MLflow run.
#[derive(Debug, Clone)]
pub struct Run {
    /// The id.
    pub run_id: String,
    /// The experiment.
    pub experiment_id: String,
    /// The name.
    pub run_name: String,
    /// Who made it.
    pub user_id: String,
    /// `RUNNING`, `SCHEDULED`, `FINISHED`, `FAILED`, `KILLED`.
    pub status: String,
    /// Start time.
    pub start_time: i64,
    /// End time.
    pub end_time: Option<i64>,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Params (write-once).
    pub params: BTreeMap<String, String>,
    /// Latest metrics.
    pub metrics: BTreeMap<String, Metric>,
    /// Dataset inputs as the API spells them (`{dataset, tags}`).
    pub dataset_inputs: Vec<Value>,
    /// Model inputs (`{model_id}`).
    pub model_inputs: Vec<Value>,
}

/// An MLflow 3 logged model.
#[derive(Debug, Clone)]
pub struct LoggedModel {
    /// `m-<32 hex>`.
    pub model_id: String,
    /// The name.
    pub name: String,
    /// The experiment.
    pub experiment_id: String,
    /// The producing run.
    pub source_run_id: Option<String>,
    /// `LOGGED_MODEL_READY`, ...
    pub status: String,
    /// Creation time.
    pub created_ms: i64,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// A workspace tree object.
#[derive(Debug, Clone)]
pub enum WsObject {
    /// A folder.
    Directory {
        /// Object id.
        id: i64,
    },
    /// A file.
    File {
        /// Object id.
        id: i64,
        /// The bytes.
        content: Bytes,
        /// Last write.
        modified_ms: i64,
    },
}

/// Compute state of an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compute {
    /// Starting; ACTIVE at the given time.
    Starting(i64),
    /// Running.
    Active,
    /// Stopping; STOPPED at the given time.
    Stopping(i64),
    /// Stopped.
    Stopped,
    /// Being deleted; gone at the given time.
    Deleting(i64),
}

impl Compute {
    /// The API's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Compute::Starting(_) => "STARTING",
            Compute::Active => "ACTIVE",
            Compute::Stopping(_) => "STOPPING",
            Compute::Stopped => "STOPPED",
            Compute::Deleting(_) => "DELETING",
        }
    }
}

/// An app deployment.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The id.
    pub id: String,
    /// Source folder.
    pub source_code_path: String,
    /// `SNAPSHOT` or `AUTO_SYNC`.
    pub mode: String,
    /// The command, when given.
    pub command: Vec<String>,
    /// Env vars as sent (`{name, value?, value_from?}`).
    pub env_vars: Vec<Value>,
    /// `IN_PROGRESS`, `SUCCEEDED`, `FAILED`, `CANCELLED`.
    pub state: String,
    /// The platform's message.
    pub message: String,
    /// Creator.
    pub creator: String,
    /// Creation time.
    pub created_ms: i64,
    /// Last change.
    pub updated_ms: i64,
    /// When it finishes.
    pub done_at: i64,
    /// How it finishes: `None` for success, else the failure message.
    pub failure: Option<String>,
}

/// The canned answer of an app's URL.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmokeReply {
    /// HTTP status.
    #[serde(default = "ok_status")]
    pub status: u16,
    /// Body; `{{env.NAME}}` is replaced by the active deployment's env var `NAME`.
    pub body: String,
}

fn ok_status() -> u16 {
    200
}

impl Default for SmokeReply {
    fn default() -> Self {
        SmokeReply {
            status: 200,
            body: r#"{"reply":"Hello from the simulated app","model_id":"{{env.MLFLOW_ACTIVE_MODEL_ID}}"}"#
                .to_string(),
        }
    }
}

/// A Databricks App.
#[derive(Debug, Clone)]
pub struct App {
    /// The name.
    pub name: String,
    /// The id.
    pub id: String,
    /// Description.
    pub description: Option<String>,
    /// Resources as sent.
    pub resources: Vec<Value>,
    /// Compute size.
    pub compute_size: Option<String>,
    /// The app's service principal numeric id.
    pub sp_id: i64,
    /// The app's service principal application id.
    pub sp_client_id: String,
    /// The app's service principal name.
    pub sp_name: String,
    /// Creator.
    pub creator: String,
    /// Last updater.
    pub updater: String,
    /// Creation time.
    pub created_ms: i64,
    /// Last change.
    pub updated_ms: i64,
    /// Compute state.
    pub compute: Compute,
    /// Deployments, oldest first.
    pub deployments: Vec<Deployment>,
    /// The last successful deployment.
    pub active_deployment: Option<String>,
    /// The deployment in progress.
    pub pending_deployment: Option<String>,
    /// The answer of the app's URL.
    pub reply: SmokeReply,
    /// The last asynchronous update (`AppUpdate` as the API renders it).
    pub last_update: Option<Value>,
}

impl App {
    /// A deployment by id.
    pub fn deployment(&self, id: &str) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.id == id)
    }

    /// The application state the API reports.
    pub fn app_state(&self) -> &'static str {
        match (
            &self.compute,
            &self.active_deployment,
            &self.pending_deployment,
        ) {
            (Compute::Active, _, Some(_)) => "DEPLOYING",
            (Compute::Active, Some(_), None) => "RUNNING",
            _ => "UNAVAILABLE",
        }
    }
}

/// A crash of an app's running deployment (a test control): the app status turns `CRASHED`
/// (or, with `compute_error`, the compute turns `ERROR` and the app `UNAVAILABLE`), its URL
/// answers 502, and its log ends with the crash. A new deployment ends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCrash {
    /// The deployment that crashed.
    pub deployment: String,
    /// What the app's log says.
    pub message: String,
    /// Whether the compute itself failed.
    pub compute_error: bool,
}

impl World {
    /// The crash of an app's active deployment, when it has crashed.
    pub fn crash_of(&self, app: &App) -> Option<&AppCrash> {
        self.crashes
            .get(&app.name)
            .filter(|c| app.active_deployment.as_deref() == Some(c.deployment.as_str()))
    }
}

/// A served entity config as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointConfig {
    /// The config version.
    pub version: i64,
    /// Served entities (normalised JSON objects).
    pub served_entities: Vec<Value>,
    /// Traffic config (`{routes}`).
    pub traffic_config: Value,
    /// Whether it was sent in the legacy `served_models` shape.
    pub legacy: bool,
}

/// A serving endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The hex id.
    pub id: String,
    /// The name.
    pub name: String,
    /// Creator.
    pub creator: String,
    /// Creation time.
    pub created_ms: i64,
    /// Last change.
    pub updated_ms: i64,
    /// The active config (none until the first one is ready).
    pub config: Option<EndpointConfig>,
    /// A config being rolled out, ready at the given time.
    pub pending: Option<(EndpointConfig, i64)>,
    /// Whether the last update failed.
    pub last_update_failed: bool,
    /// Make the next update fail (a test control).
    pub fail_next_update: bool,
    /// Tags.
    pub tags: Vec<Value>,
}

/// A SQL warehouse.
#[derive(Debug, Clone)]
pub struct Warehouse {
    /// The name.
    pub name: String,
    /// Creator.
    pub creator: String,
}

/// A service principal.
#[derive(Debug, Clone)]
pub struct ServicePrincipal {
    /// The SCIM id.
    pub id: i64,
    /// The display name.
    pub display_name: String,
    /// Whether active.
    pub active: bool,
}

/// An access token.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    /// Who it authenticates.
    pub principal: String,
    /// Expiry (simulated epoch ms), none for PATs.
    pub expires_ms: Option<i64>,
}

/// An OAuth M2M client.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    /// The secret.
    pub secret: String,
    /// The principal (the application id).
    pub principal: String,
}

/// A service principal federation policy: the OIDC tokens the token exchange trades for tokens
/// of `principal`.
#[derive(Debug, Clone)]
pub struct FederationPolicy {
    /// The service principal's application id.
    pub principal: String,
    /// The required `iss`.
    pub issuer: String,
    /// One of these must be in `aud`.
    pub audiences: Vec<String>,
    /// The required subject.
    pub subject: String,
    /// The claim holding it.
    pub subject_claim: String,
}

/// A denial: requests of a principal matching a pattern get 403.
#[derive(Debug, Clone)]
pub struct Denial {
    /// The method it applies to, all when none.
    pub method: Option<String>,
    /// The compiled path pattern.
    pub pattern: regex::Regex,
    /// The pattern as written.
    pub source: String,
}

/// The key of an ACL principal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum AclPrincipal {
    /// `user_name`.
    User(String),
    /// `group_name`.
    Group(String),
    /// `service_principal_name`.
    ServicePrincipal(String),
}

/// The whole workspace.
#[derive(Debug)]
pub struct World {
    /// The simulated clock.
    pub clock: SimClock,
    /// Workspace id.
    pub workspace_id: i64,
    /// The simulator's base URL (for app URLs and OIDC metadata).
    pub base_url: String,
    /// Durations of long operations.
    pub timings: Timings,
    /// Default canned reply of new apps.
    pub default_reply: SmokeReply,
    /// Catalogs.
    pub catalogs: BTreeSet<String>,
    /// Schemas (`catalog.schema`).
    pub schemas: BTreeSet<String>,
    /// Volumes (`catalog.schema.volume`).
    pub volumes: BTreeSet<String>,
    /// Tables (`catalog.schema.table`).
    pub tables: BTreeSet<String>,
    /// Unity Catalog functions (`catalog.schema.function`), the tools of the managed MCP
    /// server `/api/2.0/mcp/functions/{catalog}/{schema}`.
    pub functions: BTreeSet<String>,
    /// Volume files by full path.
    pub files: BTreeMap<String, StoredFile>,
    /// Volume directories by full path (volume roots are implicit).
    pub dirs: BTreeSet<String>,
    /// Unity Catalog models by full name.
    pub models: BTreeMap<String, Model>,
    /// Workspace registry models by name.
    pub registry: BTreeMap<String, Model>,
    /// Prompts by full name.
    pub prompts: BTreeMap<String, Prompt>,
    /// Experiments by id.
    pub experiments: BTreeMap<String, Experiment>,
    /// Runs by id.
    pub runs: BTreeMap<String, Run>,
    /// Logged models by id.
    pub logged_models: BTreeMap<String, LoggedModel>,
    /// Apps by name.
    pub apps: BTreeMap<String, App>,
    /// The workspace tree by normalised path.
    pub workspace: BTreeMap<String, WsObject>,
    /// Serving endpoints by name.
    pub endpoints: BTreeMap<String, Endpoint>,
    /// SQL warehouses by id.
    pub warehouses: BTreeMap<String, Warehouse>,
    /// Secret scopes by name: their keys and when each was last written (epoch ms). Values
    /// are never kept: no API here returns them.
    pub secret_scopes: BTreeMap<String, BTreeMap<String, i64>>,
    /// Lakebase database instances by name.
    pub database_instances: BTreeSet<String>,
    /// Direct ACLs by `"<type>/<id>"`.
    pub acls: BTreeMap<String, BTreeMap<AclPrincipal, String>>,
    /// UC grants by `"<TYPE>/<full name>"`: principal → privileges.
    pub grants: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    /// Users.
    pub users: BTreeSet<String>,
    /// Groups.
    pub groups: BTreeSet<String>,
    /// Service principals by application id.
    pub service_principals: BTreeMap<String, ServicePrincipal>,
    /// Valid tokens.
    pub tokens: BTreeMap<String, TokenInfo>,
    /// OAuth clients by client id.
    pub oauth_clients: BTreeMap<String, OAuthClient>,
    /// Federation policies of service principals.
    pub federation_policies: Vec<FederationPolicy>,
    /// Token exchanges judged so far (bounded), for tests.
    pub token_exchanges: Vec<crate::api::token_exchange::Exchange>,
    /// Denials by principal.
    pub denials: BTreeMap<String, Vec<Denial>>,
    /// Chat answers set by tests, by app name (`None` inside: an empty assistant message);
    /// without one the app answers deterministically from the prompt and its model id.
    pub chat_replies: BTreeMap<String, Option<String>>,
    /// The `url` the Apps API answers for an app, set by tests (by app name); without one an
    /// app's URL is on the simulator's own origin (`<base>/_apps/<name>`).
    pub app_urls: BTreeMap<String, String>,
    /// Chat completions answered so far: numbers the trace request ids.
    pub chat_calls: u64,
    /// Long-running agent tasks on app URLs and how each app's go.
    pub tasks: crate::api::tasks::TaskBook,
    /// Apps made to crash after their deployment, by app name.
    pub crashes: BTreeMap<String, AppCrash>,
    /// Vector search indexes, Genie spaces and the streamable HTTP settings of the managed
    /// MCP servers.
    pub mcp: crate::api::mcp::McpWorld,
    /// The AI gateway's tables and the traces that chat calls fill.
    pub observability: crate::gateway::Observability,
    /// Counter for ids.
    next_id: u64,
}

/// The principal of the always-valid admin token.
pub const ADMIN_PRINCIPAL: &str = "admin@sim.local";

impl World {
    /// An empty workspace.
    pub fn new(clock: SimClock, base_url: String) -> Self {
        let mut users = BTreeSet::new();
        users.insert(ADMIN_PRINCIPAL.to_string());
        World {
            clock,
            workspace_id: 1_234_567_890_123_456,
            base_url,
            timings: Timings::default(),
            default_reply: SmokeReply::default(),
            catalogs: BTreeSet::new(),
            schemas: BTreeSet::new(),
            volumes: BTreeSet::new(),
            tables: BTreeSet::new(),
            functions: BTreeSet::new(),
            files: BTreeMap::new(),
            dirs: BTreeSet::new(),
            models: BTreeMap::new(),
            registry: BTreeMap::new(),
            prompts: BTreeMap::new(),
            experiments: BTreeMap::new(),
            runs: BTreeMap::new(),
            logged_models: BTreeMap::new(),
            apps: BTreeMap::new(),
            workspace: BTreeMap::new(),
            endpoints: BTreeMap::new(),
            warehouses: BTreeMap::new(),
            secret_scopes: BTreeMap::new(),
            database_instances: BTreeSet::new(),
            acls: BTreeMap::new(),
            grants: BTreeMap::new(),
            users,
            groups: BTreeSet::from(["admins".to_string(), "users".to_string()]),
            service_principals: BTreeMap::new(),
            tokens: BTreeMap::new(),
            oauth_clients: BTreeMap::new(),
            federation_policies: Vec::new(),
            token_exchanges: Vec::new(),
            denials: BTreeMap::new(),
            chat_replies: BTreeMap::new(),
            app_urls: BTreeMap::new(),
            chat_calls: 0,
            tasks: crate::api::tasks::TaskBook::default(),
            crashes: BTreeMap::new(),
            mcp: crate::api::mcp::McpWorld::default(),
            observability: Default::default(),
            next_id: 1,
        }
    }

    /// Simulated epoch milliseconds now.
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// A fresh number (ids of objects, service principals).
    pub fn next_number(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A fresh 32-hex-digit id (deployment ids, run ids, endpoint ids).
    pub fn next_hex(&mut self) -> String {
        let n = self.next_number();
        let salt = uuid::Uuid::new_v4().as_u128() >> 64;
        format!("{:016x}{:016x}", salt as u64, n)
    }

    /// Milliseconds of a simulated duration in seconds.
    pub fn after(&self, seconds: u64) -> i64 {
        self.now()
            .saturating_add(i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX))
    }

    /// Advances every long operation whose time has come.
    pub fn settle(&mut self) {
        let now = self.now();
        let mut gone = Vec::new();
        for (name, app) in &mut self.apps {
            match app.compute {
                Compute::Starting(at) if at <= now => app.compute = Compute::Active,
                Compute::Stopping(at) if at <= now => app.compute = Compute::Stopped,
                Compute::Deleting(at) if at <= now => gone.push(name.clone()),
                _ => {}
            }
            if let Some(pending) = app.pending_deployment.clone() {
                let active = app.compute == Compute::Active;
                let mut succeeded = None;
                if let Some(dep) = app.deployments.iter_mut().find(|d| d.id == pending)
                    && dep.state == "IN_PROGRESS"
                    && dep.done_at <= now
                {
                    match (&dep.failure, active) {
                        (None, true) => {
                            dep.state = "SUCCEEDED".into();
                            dep.message = "App started successfully".into();
                            succeeded = Some(true);
                        }
                        (None, false) => {
                            dep.state = "FAILED".into();
                            dep.message = "App compute stopped during the deployment".into();
                            succeeded = Some(false);
                        }
                        (Some(reason), _) => {
                            dep.state = "FAILED".into();
                            dep.message = reason.clone();
                            succeeded = Some(false);
                        }
                    }
                    dep.updated_ms = dep.done_at;
                }
                if let Some(ok) = succeeded {
                    app.pending_deployment = None;
                    if ok {
                        app.active_deployment = Some(pending);
                    }
                }
            }
        }
        for name in gone {
            if let Some(app) = self.apps.remove(&name) {
                self.acls.remove(&format!("apps/{name}"));
                self.service_principals.remove(&app.sp_client_id);
            }
        }
        for endpoint in self.endpoints.values_mut() {
            if let Some((config, at)) = endpoint.pending.take() {
                if at > now {
                    endpoint.pending = Some((config, at));
                } else if endpoint.fail_next_update {
                    endpoint.fail_next_update = false;
                    endpoint.last_update_failed = true;
                    endpoint.updated_ms = at;
                } else {
                    endpoint.config = Some(config);
                    endpoint.last_update_failed = false;
                    endpoint.updated_ms = at;
                }
            }
        }
        self.tokens
            .retain(|_, t| t.expires_ms.is_none_or(|at| at > now));
    }

    /// Whether a Unity Catalog securable exists (type upper-case).
    pub fn securable_exists(&self, securable_type: &str, full_name: &str) -> bool {
        match securable_type {
            "CATALOG" => self.catalogs.contains(full_name),
            "SCHEMA" => self.schemas.contains(full_name),
            "VOLUME" => self.volumes.contains(full_name),
            "TABLE" => self.tables.contains(full_name),
            "FUNCTION" => {
                self.functions.contains(full_name)
                    || self.models.contains_key(full_name)
                    || self.prompts.contains_key(full_name)
            }
            _ => false,
        }
    }

    /// Creates a service principal, returning its application id.
    pub fn add_service_principal(&mut self, application_id: String, display_name: String) -> i64 {
        let id = 7_000_000_000 + i64::try_from(self.next_number()).unwrap_or(0);
        self.service_principals.insert(
            application_id,
            ServicePrincipal {
                id,
                display_name,
                active: true,
            },
        );
        id
    }
}

/// Normalises a workspace path: `/Workspace/x` and `/x` name the same object; trailing slashes go.
pub fn workspace_key(path: &str) -> Option<String> {
    if !path.starts_with('/') || path.contains("/../") || path.ends_with("/..") {
        return None;
    }
    let stripped = match path.strip_prefix("/Workspace") {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => path,
    };
    let trimmed = stripped.trim_end_matches('/');
    Some(if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    })
}

/// The volume (`c.s.v`) of a `/Volumes/c/s/v/...` path and the rest, when it is one.
pub fn split_volume_path(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix("/Volumes/")?;
    let mut parts = rest.splitn(4, '/');
    let (c, s, v) = (parts.next()?, parts.next()?, parts.next()?);
    if c.is_empty() || s.is_empty() || v.is_empty() {
        return None;
    }
    let tail = parts.next().unwrap_or("").trim_end_matches('/').to_string();
    if tail.split('/').any(|seg| seg == ".." || seg == ".") {
        return None;
    }
    Some((format!("{c}.{s}.{v}"), tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_paths_with_and_without_the_prefix_are_the_same() {
        assert_eq!(
            workspace_key("/Workspace/Shared/app/").as_deref(),
            Some("/Shared/app")
        );
        assert_eq!(workspace_key("/Shared/app").as_deref(), Some("/Shared/app"));
        assert_eq!(workspace_key("/Workspace").as_deref(), Some("/"));
        assert_eq!(
            workspace_key("/WorkspaceX/a").as_deref(),
            Some("/WorkspaceX/a")
        );
        assert_eq!(workspace_key("relative"), None);
        assert_eq!(workspace_key("/a/../b"), None);
    }

    #[test]
    fn volume_paths_split_into_volume_and_rest() {
        assert_eq!(
            split_volume_path("/Volumes/main/agents/signoffs/v7/decision.md"),
            Some(("main.agents.signoffs".into(), "v7/decision.md".into()))
        );
        assert_eq!(
            split_volume_path("/Volumes/main/agents/signoffs"),
            Some(("main.agents.signoffs".into(), String::new()))
        );
        assert_eq!(split_volume_path("/Volumes/main/agents"), None);
        assert_eq!(split_volume_path("/Volumes/main/agents/v/../x"), None);
    }
}
