//! The engine's view of a Databricks workspace: the reads and writes the release pipeline needs,
//! in the engine's own terms. The typed client implements it (see `databricks_adapter`); nothing
//! here knows about HTTP.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;

use super::states::{
    ComputeState, ConfigUpdate, DeploymentState, EndpointReadiness, ModelVersionStatus, RunStatus,
};

/// What a workspace call failed with, classified from the API's error code and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkspaceErrorKind {
    /// The object does not exist (calls that expect absence return `None` instead).
    NotFound,
    /// The object already exists.
    AlreadyExists,
    /// A conflicting operation is in progress.
    Conflict,
    /// The principal lacks a permission.
    PermissionDenied,
    /// The credentials were refused.
    Unauthenticated,
    /// The request was refused as invalid.
    InvalidInput,
    /// Throttled.
    RateLimited,
    /// A transient failure (5xx, connection).
    Transient,
    /// A response larger than the engine accepts.
    TooLarge,
    /// The client refused to send a request to a URL off the workspace's paths (an app's URL,
    /// a custom MCP server) that the target does not trust; nothing was sent there.
    UntrustedOrigin,
    /// Anything else.
    Other,
}

impl WorkspaceErrorKind {
    /// Whether retrying later may succeed without a human.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            WorkspaceErrorKind::RateLimited
                | WorkspaceErrorKind::Transient
                | WorkspaceErrorKind::Conflict
                | WorkspaceErrorKind::Other
        )
    }

    /// A short label for messages and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkspaceErrorKind::NotFound => "not_found",
            WorkspaceErrorKind::AlreadyExists => "already_exists",
            WorkspaceErrorKind::Conflict => "conflict",
            WorkspaceErrorKind::PermissionDenied => "permission_denied",
            WorkspaceErrorKind::Unauthenticated => "unauthenticated",
            WorkspaceErrorKind::InvalidInput => "invalid_input",
            WorkspaceErrorKind::RateLimited => "rate_limited",
            WorkspaceErrorKind::Transient => "transient",
            WorkspaceErrorKind::TooLarge => "too_large",
            WorkspaceErrorKind::UntrustedOrigin => "untrusted_origin",
            WorkspaceErrorKind::Other => "other",
        }
    }
}

/// A failed workspace call.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct WorkspaceError {
    /// The classification.
    pub kind: WorkspaceErrorKind,
    /// What was being done (e.g. `set alias`).
    pub operation: String,
    /// What the workspace said (never a secret).
    pub message: String,
}

impl WorkspaceError {
    /// A new error.
    pub fn new(
        kind: WorkspaceErrorKind,
        operation: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        WorkspaceError {
            kind,
            operation: operation.into(),
            message: message.into(),
        }
    }
}

/// Result of a workspace call.
pub type WsResult<T> = Result<T, WorkspaceError>;

/// An entry of a volume directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name (last path segment).
    pub name: String,
    /// Whether it is a directory.
    pub is_directory: bool,
}

/// The outcome of creating a file that must not be overwritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateOutcome {
    /// Written.
    Created,
    /// A file was already there; nothing was written.
    AlreadyExists,
}

/// A registered model version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelVersionInfo {
    /// The version number.
    pub version: i64,
    /// The registration status.
    pub status: ModelVersionStatus,
    /// The run that produced it.
    pub run_id: Option<String>,
    /// The MLflow 3 logged model it was registered from (what `MLFLOW_ACTIVE_MODEL_ID` names).
    pub model_id: Option<String>,
    /// The artifact source (`models:/m-...`).
    pub source: Option<String>,
    /// Registration time, epoch milliseconds.
    pub created_at_ms: Option<i64>,
    /// The version's tags (an approval tag `approval_<target>=Approved` among them).
    pub tags: std::collections::BTreeMap<String, String>,
}

/// A dataset input of an MLflow run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetInputInfo {
    /// The dataset's name.
    pub name: String,
    /// The dataset's digest.
    pub digest: Option<String>,
    /// The `mlflow.data.context` tag.
    pub context: Option<String>,
    /// The source kind (`delta` for a Unity Catalog table, `local` for a file...).
    pub source_type: Option<String>,
    /// The source's JSON description.
    pub source: Option<String>,
}

/// What the evaluation gate reads of an MLflow run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFacts {
    /// The experiment the run belongs to.
    pub experiment_id: String,
    /// The run's name.
    pub run_name: String,
    /// Its dataset inputs.
    pub inputs: Vec<DatasetInputInfo>,
    /// The logged models it took as inputs (`inputs.model_inputs[].model_id`; an evaluation
    /// run's are the models it evaluated).
    pub model_inputs: Vec<String>,
}

/// An MLflow experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExperimentInfo {
    /// The experiment id.
    pub id: String,
    /// False when the experiment is deleted.
    pub active: bool,
}

/// An MLflow run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// The run id.
    pub run_id: String,
    /// The run's name.
    pub name: String,
    /// Where it stands.
    pub status: RunStatus,
}

/// An environment variable of an app deployment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct EnvEntry {
    /// The name.
    pub name: String,
    /// A literal value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The app resource the value comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<String>,
}

/// A deployment of an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentInfo {
    /// The deployment id.
    pub id: String,
    /// Where it stands.
    pub state: DeploymentState,
    /// The platform's message.
    pub message: Option<String>,
    /// The source code path it was made from.
    pub source_code_path: Option<String>,
    /// The command it runs.
    pub command: Vec<String>,
    /// Its environment.
    pub env: Vec<EnvEntry>,
}

/// A resource declared on an app (the platform grants it to the app's service principal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppResourceInfo {
    /// The resource key.
    pub name: String,
    /// The resource as the Apps API spells it (one of serving_endpoint, sql_warehouse, ...).
    pub body: serde_json::Value,
}

/// A Databricks App.
#[derive(Debug, Clone, PartialEq)]
pub struct AppInfo {
    /// The name.
    pub name: String,
    /// The URL, when assigned.
    pub url: Option<String>,
    /// Compute state.
    pub compute_state: Option<ComputeState>,
    /// Application state (`RUNNING`, `DEPLOYING`, `CRASHED`, `UNAVAILABLE`).
    pub app_state: Option<String>,
    /// The app's service principal application id.
    pub service_principal_client_id: Option<String>,
    /// The app's service principal numeric id.
    pub service_principal_id: Option<i64>,
    /// The last successful deployment.
    pub active_deployment: Option<DeploymentInfo>,
    /// A deployment in progress.
    pub pending_deployment: Option<DeploymentInfo>,
    /// The description.
    pub description: Option<String>,
    /// The declared resources.
    pub resources: Vec<AppResourceInfo>,
}

/// What to create or update an app with.
#[derive(Debug, Clone, PartialEq)]
pub struct AppDefinition {
    /// The name.
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// The resources.
    pub resources: Vec<AppResourceInfo>,
}

/// What to deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentRequest {
    /// The workspace folder of the source.
    pub source_code_path: String,
    /// The command.
    pub command: Vec<String>,
    /// The environment.
    pub env: Vec<EnvEntry>,
}

/// A served entity of an endpoint config.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServedEntityConfig {
    /// The served entity's name.
    pub name: String,
    /// The model.
    pub entity_name: String,
    /// The model version.
    pub entity_version: String,
    /// `Small`, `Medium`, `Large`.
    pub workload_size: String,
    /// Scale to zero.
    pub scale_to_zero_enabled: bool,
    /// The compute type.
    pub workload_type: Option<String>,
    /// Environment variables.
    pub environment_vars: std::collections::BTreeMap<String, String>,
    /// An external model as the serving API spells it (`entity_name` and `entity_version` are
    /// then empty).
    pub external_model: Option<serde_json::Value>,
}

/// A traffic route.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RouteConfig {
    /// The served entity.
    pub served_entity_name: String,
    /// The share in percent.
    pub traffic_percentage: i64,
}

/// An endpoint's config (the part the release declares).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EndpointConfig {
    /// Served entities.
    pub served_entities: Vec<ServedEntityConfig>,
    /// Routes.
    pub routes: Vec<RouteConfig>,
}

/// A serving endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointInfo {
    /// The endpoint's id (what its permissions are keyed by).
    pub id: String,
    /// The name.
    pub name: String,
    /// Whether it serves.
    pub ready: Option<EndpointReadiness>,
    /// Its config update state.
    pub config_update: Option<ConfigUpdate>,
    /// The active config's version.
    pub config_version: Option<i64>,
    /// The active config.
    pub config: Option<EndpointConfig>,
}

/// A workspace object with an access control list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum AclObject {
    /// A serving endpoint, by id.
    ServingEndpoint(String),
    /// An app, by name.
    App(String),
    /// A SQL warehouse, by id.
    SqlWarehouse(String),
    /// An MLflow experiment, by id.
    Experiment(String),
}

impl AclObject {
    /// A human description.
    pub fn describe(&self) -> String {
        match self {
            AclObject::ServingEndpoint(id) => format!("serving endpoint {id}"),
            AclObject::App(name) => format!("app {name}"),
            AclObject::SqlWarehouse(id) => format!("SQL warehouse {id}"),
            AclObject::Experiment(id) => format!("experiment {id}"),
        }
    }
}

/// An object the release names that is read only to learn whether it exists (each with its own
/// read route), before the first write.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lookup {
    /// A Unity Catalog schema, `catalog.schema`.
    Schema(String),
    /// A Unity Catalog function, `catalog.schema.function`.
    Function(String),
    /// A Unity Catalog table or view, `catalog.schema.table`.
    Table(String),
    /// A vector search index, `catalog.schema.index`.
    VectorIndex(String),
    /// A Genie space by id.
    GenieSpace(String),
    /// A SQL warehouse by id.
    Warehouse(String),
    /// A key of a secret scope.
    Secret {
        /// The scope.
        scope: String,
        /// The key within it.
        key: String,
    },
    /// A Lakebase database instance by name.
    DatabaseInstance(String),
}

impl Lookup {
    /// A human description naming the object.
    pub fn describe(&self) -> String {
        match self {
            Lookup::Schema(n) => format!("schema {n}"),
            Lookup::Function(n) => format!("function {n}"),
            Lookup::Table(n) => format!("table {n}"),
            Lookup::VectorIndex(n) => format!("vector search index {n}"),
            Lookup::GenieSpace(id) => format!("Genie space {id}"),
            Lookup::Warehouse(id) => format!("SQL warehouse {id}"),
            Lookup::Secret { scope, key } => format!("secret {key} of secret scope {scope}"),
            Lookup::DatabaseInstance(n) => format!("database instance {n}"),
        }
    }
}

/// A principal of an ACL entry or a grant.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Principal {
    /// A user by email.
    User(String),
    /// A group by name.
    Group(String),
    /// A service principal by application id.
    ServicePrincipal(String),
}

impl Principal {
    /// The name as the APIs spell it.
    pub fn name(&self) -> &str {
        match self {
            Principal::User(n) | Principal::Group(n) | Principal::ServicePrincipal(n) => n,
        }
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Principal::User(n) => write!(f, "user {n}"),
            Principal::Group(n) => write!(f, "group {n}"),
            Principal::ServicePrincipal(n) => write!(f, "service principal {n}"),
        }
    }
}

/// A direct (not inherited) ACL entry: one principal, its levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclEntry {
    /// The principal.
    pub principal: Principal,
    /// The levels it holds directly.
    pub levels: Vec<String>,
}

/// Privileges of a principal on a securable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivilegeAssignment {
    /// The principal's name (email, group, application id).
    pub principal: String,
    /// The privileges.
    pub privileges: Vec<String>,
}

/// An answer to the smoke request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmokeResponse {
    /// The HTTP status.
    pub status: u16,
    /// The body (capped).
    pub body: String,
    /// The MLflow trace request id from the app's trace response header, when it sent one.
    pub trace_header: Option<String>,
    /// How long the answer took, in milliseconds (measured; reported, never decided on).
    pub latency_ms: u64,
}

/// A JSON-RPC error an MCP server answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcFailure {
    /// The JSON-RPC error code.
    pub code: i64,
    /// The server's message.
    pub message: String,
}

/// The streamable HTTP session of an MCP check: what `initialize` handed back, sent with every
/// later request to the same server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct McpSession {
    /// The server's `Mcp-Session-Id` (none: a stateless server).
    pub id: Option<String>,
    /// The protocol version `initialize` agreed on.
    pub protocol_version: Option<String>,
}

/// An MCP server's answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct McpReply {
    /// The result, or the server's JSON-RPC error.
    pub result: Result<serde_json::Value, RpcFailure>,
    /// The session id the answer carried.
    pub session_id: Option<String>,
}

/// The Databricks calls the release engine makes. Implementations classify every failure into a
/// [`WorkspaceErrorKind`] and return `Ok(None)` where a read finds nothing.
pub trait Workspace: Send + Sync {
    /// The plan numbering the releases of this process share on this workspace; `None` when
    /// each release numbers its plans from a listing of its own.
    fn plan_numbers(&self) -> Option<&super::plan_numbers::PlanNumbers> {
        None
    }
    /// Reads a volume file; `None` when it does not exist; `TooLarge` when over `max_bytes`.
    fn read_file(
        &self,
        path: &str,
        max_bytes: u64,
    ) -> impl Future<Output = WsResult<Option<Bytes>>> + Send;
    /// Lists a volume directory; `None` when it does not exist.
    fn list_directory(
        &self,
        path: &str,
    ) -> impl Future<Output = WsResult<Option<Vec<DirEntry>>>> + Send;
    /// Creates a volume directory and its parents (idempotent).
    fn create_directory(&self, path: &str) -> impl Future<Output = WsResult<()>> + Send;
    /// Writes a new file; never overwrites.
    fn create_file(
        &self,
        path: &str,
        content: Bytes,
    ) -> impl Future<Output = WsResult<CreateOutcome>> + Send;

    /// A registered model version; `None` when the model or the version does not exist.
    fn get_model_version(
        &self,
        model: &str,
        version: i64,
    ) -> impl Future<Output = WsResult<Option<ModelVersionInfo>>> + Send;
    /// Up to `limit` versions of a registered model; `None` when the model does not exist. Models
    /// of the workspace registry are not listed (an empty list).
    fn list_model_versions(
        &self,
        model: &str,
        limit: usize,
    ) -> impl Future<Output = WsResult<Option<Vec<ModelVersionInfo>>>> + Send;
    /// The version an alias points at; `None` when the alias (or the model) does not exist.
    fn get_alias(
        &self,
        model: &str,
        alias: &str,
    ) -> impl Future<Output = WsResult<Option<i64>>> + Send;
    /// Points an alias at a version.
    fn set_alias(
        &self,
        model: &str,
        alias: &str,
        version: i64,
    ) -> impl Future<Output = WsResult<()>> + Send;
    /// Removes an alias.
    fn delete_alias(&self, model: &str, alias: &str) -> impl Future<Output = WsResult<()>> + Send;

    /// The version of a Unity Catalog prompt an alias points at; `None` when absent.
    fn get_prompt_alias(
        &self,
        prompt: &str,
        alias: &str,
    ) -> impl Future<Output = WsResult<Option<String>>> + Send;

    /// A run's experiment, name and dataset inputs; `None` when the run does not exist.
    fn get_run(&self, run_id: &str) -> impl Future<Output = WsResult<Option<RunFacts>>> + Send;
    /// An experiment by workspace path; `None` when absent.
    fn get_experiment(
        &self,
        path: &str,
    ) -> impl Future<Output = WsResult<Option<ExperimentInfo>>> + Send;
    /// An experiment by id; `None` when absent.
    fn get_experiment_by_id(
        &self,
        id: &str,
    ) -> impl Future<Output = WsResult<Option<ExperimentInfo>>> + Send;
    /// Creates an experiment, returning its id.
    fn create_experiment(&self, path: &str) -> impl Future<Output = WsResult<String>> + Send;
    /// Runs of an experiment carrying a tag value.
    fn find_runs_by_tag(
        &self,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> impl Future<Output = WsResult<Vec<RunInfo>>> + Send;
    /// Creates a run with tags, returning its id.
    fn create_run(
        &self,
        experiment_id: &str,
        name: &str,
        start_ms: i64,
        tags: &[(String, String)],
    ) -> impl Future<Output = WsResult<String>> + Send;
    /// Ends a run.
    fn end_run(
        &self,
        run_id: &str,
        status: &str,
        end_ms: i64,
    ) -> impl Future<Output = WsResult<()>> + Send;

    /// An app; `None` when absent.
    fn get_app(&self, name: &str) -> impl Future<Output = WsResult<Option<AppInfo>>> + Send;
    /// Creates an app (with compute).
    fn create_app(&self, app: &AppDefinition) -> impl Future<Output = WsResult<AppInfo>> + Send;
    /// Updates an app's description and resources.
    fn update_app(&self, app: &AppDefinition) -> impl Future<Output = WsResult<AppInfo>> + Send;
    /// Starts an app's compute.
    fn start_app(&self, name: &str) -> impl Future<Output = WsResult<()>> + Send;
    /// Stops an app's compute (an app already stopped or stopping is left so).
    fn stop_app(&self, name: &str) -> impl Future<Output = WsResult<()>> + Send;
    /// Deletes an app.
    fn delete_app(&self, name: &str) -> impl Future<Output = WsResult<()>> + Send;
    /// Creates a deployment.
    fn create_deployment(
        &self,
        app: &str,
        request: &DeploymentRequest,
    ) -> impl Future<Output = WsResult<DeploymentInfo>> + Send;
    /// A deployment; `None` when absent.
    fn get_deployment(
        &self,
        app: &str,
        id: &str,
    ) -> impl Future<Output = WsResult<Option<DeploymentInfo>>> + Send;

    /// A serving endpoint; `None` when absent.
    fn get_endpoint(
        &self,
        name: &str,
    ) -> impl Future<Output = WsResult<Option<EndpointInfo>>> + Send;
    /// Creates a serving endpoint.
    fn create_endpoint(
        &self,
        name: &str,
        config: &EndpointConfig,
    ) -> impl Future<Output = WsResult<EndpointInfo>> + Send;
    /// Updates a serving endpoint's config.
    fn update_endpoint_config(
        &self,
        name: &str,
        config: &EndpointConfig,
    ) -> impl Future<Output = WsResult<EndpointInfo>> + Send;
    /// Deletes a serving endpoint.
    fn delete_endpoint(&self, name: &str) -> impl Future<Output = WsResult<()>> + Send;

    /// The direct ACL entries of an object.
    fn get_permissions(
        &self,
        object: &AclObject,
    ) -> impl Future<Output = WsResult<Vec<AclEntry>>> + Send;
    /// Adds or raises ACL entries (PATCH: entries not named are kept).
    fn update_permissions(
        &self,
        object: &AclObject,
        entries: &[(Principal, String)],
    ) -> impl Future<Output = WsResult<()>> + Send;
    /// The direct privileges on a Unity Catalog securable.
    fn get_grants(
        &self,
        securable_type: &str,
        full_name: &str,
    ) -> impl Future<Output = WsResult<Vec<PrivilegeAssignment>>> + Send;
    /// Adds privileges (`changes` with `add` only).
    fn add_grants(
        &self,
        securable_type: &str,
        full_name: &str,
        changes: &[PrivilegeAssignment],
    ) -> impl Future<Output = WsResult<()>> + Send;

    /// Reads a file of the workspace tree; `None` when it does not exist; `TooLarge` when over
    /// `max_bytes`.
    fn read_workspace_file(
        &self,
        path: &str,
        max_bytes: u64,
    ) -> impl Future<Output = WsResult<Option<Bytes>>> + Send;
    /// Writes a file of the workspace tree (its folder is created first); with `overwrite` false
    /// an existing file is left alone and `AlreadyExists` returned.
    fn write_workspace_file(
        &self,
        path: &str,
        content: Bytes,
        overwrite: bool,
    ) -> impl Future<Output = WsResult<CreateOutcome>> + Send;

    /// Deletes a file of the workspace tree; a file already gone is not an error.
    fn delete_workspace_file(&self, path: &str) -> impl Future<Output = WsResult<()>> + Send;

    /// Whether an object exists: `false` when the workspace answers that it does not (for a
    /// secret, also when its scope lacks the key); a refusal to read it is `PermissionDenied`.
    fn exists(&self, object: &Lookup) -> impl Future<Output = WsResult<bool>> + Send;

    /// The principal the credentials authenticate as (a cheap credentials check).
    fn current_principal(&self) -> impl Future<Output = WsResult<String>> + Send;

    /// Whether requests may go to `url`, a URL off the workspace's paths (an app's URL, a
    /// custom MCP server): an `UntrustedOrigin` error naming the origin, why and what to set
    /// when not. Sends nothing to `url` (it may ask the workspace its id).
    fn check_origin(&self, url: &str) -> impl Future<Output = WsResult<()>> + Send;

    /// Sends the smoke request to an app URL with the workspace's credentials.
    fn smoke_request(
        &self,
        url: &str,
        path: &str,
        body: Option<&str>,
        timeout: Duration,
    ) -> impl Future<Output = WsResult<SmokeResponse>> + Send;

    /// Sends one JSON-RPC request to an MCP server (a managed path on the workspace or a full
    /// URL) with the workspace's credentials, within `session` (streamable HTTP: a JSON or an
    /// event-stream answer).
    fn mcp_request(
        &self,
        server: &str,
        method: &str,
        params: serde_json::Value,
        session: &McpSession,
        timeout: Duration,
    ) -> impl Future<Output = WsResult<McpReply>> + Send;

    /// Sends a SQL statement with named string parameters to a warehouse, waiting briefly.
    fn execute_statement(
        &self,
        warehouse_id: &str,
        statement: &str,
        params: &[super::queries::SqlParam],
    ) -> impl Future<Output = WsResult<super::queries::StatementAnswer>> + Send;

    /// A statement sent earlier, by id.
    fn get_statement(
        &self,
        statement_id: &str,
    ) -> impl Future<Output = WsResult<super::queries::StatementAnswer>> + Send;

    /// One trace by its request id; `None` until it is logged.
    fn get_trace(
        &self,
        request_id: &str,
    ) -> impl Future<Output = WsResult<Option<super::queries::TraceSummary>>> + Send;
}
