//! The `AgentRelease` resource: "release version N of this agent to that target".

// Each `printcolumn(...)` repeats keys such as `type_`; clippy reads them as duplicates.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::artifact_path;
use crate::names;
use crate::rules::{cel_str, self_matches};
use crate::status::AgentReleaseStatus;

/// Desired state of an agent release: which artifact set (N), which model version, where it
/// goes (app and/or serving endpoint), who may use it, and the gates it must pass first.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "agentops.dev",
    version = "v1alpha1",
    kind = "AgentRelease",
    plural = "agentreleases",
    singular = "agentrelease",
    shortname = "ar",
    category = "agentops",
    namespaced,
    status = "AgentReleaseStatus",
    derive = "PartialEq",
    doc = "AgentRelease releases version N of a GenAI agent to a Databricks workspace: evaluation and signoff gates, version consistency, a deployment plan, alias promotion, app and serving endpoint deployment, permissions, verification and an audit run.",
    printcolumn(
        name = "Target",
        type_ = "string",
        json_path = ".spec.targetRef.name",
        description = "The ReleaseTarget (workspace) of the release"
    ),
    printcolumn(
        name = "N",
        type_ = "integer",
        json_path = ".spec.version",
        description = "The versioned artifact set (signoff, eval summary, prompt candidate)"
    ),
    printcolumn(
        name = "Model",
        type_ = "string",
        json_path = ".spec.model.name",
        description = "The registered model"
    ),
    printcolumn(
        name = "Version",
        type_ = "integer",
        json_path = ".spec.model.version",
        description = "The model version to release"
    ),
    printcolumn(
        name = "Alias",
        type_ = "string",
        json_path = ".spec.model.alias",
        description = "The alias moved to the version"
    ),
    printcolumn(
        name = "Phase",
        type_ = "string",
        json_path = ".status.phase",
        description = "Where the release stands"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Whether every step is done"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason",
        description = "Why the release is (not) ready",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.app) || has(self.servingEndpoint)").message("declare at least one of spec.app and spec.servingEndpoint: a release must deploy something").reason(Reason::FieldValueRequired))]
#[x_kube(validation = Rule::new("!has(self.app) || has(self.model.loggedModelId)").message("spec.model.loggedModelId is required when spec.app is declared: it becomes the app's MLFLOW_ACTIVE_MODEL_ID").field_path(".model").reason(Reason::FieldValueRequired))]
#[x_kube(validation = Rule::new("!has(self.permissions) || self.permissions.all(p, has(self.app) || (p.principal.type != 'AppServicePrincipal' && (p.object.type != 'App' || has(p.object.name))))").message("permissions refer to the release's app (an AppServicePrincipal principal or an App object without a name) but spec.app is not declared").field_path(".permissions"))]
#[x_kube(validation = Rule::new("!has(self.permissions) || self.permissions.all(p, has(self.servingEndpoint) || p.object.type != 'ServingEndpoint' || has(p.object.name))").message("a ServingEndpoint permission without object.name refers to the release's endpoint, but spec.servingEndpoint is not declared").field_path(".permissions"))]
#[x_kube(validation = Rule::new("!has(self.grants) || self.grants.all(g, has(self.app) || g.principal.type != 'AppServicePrincipal')").message("grants to the AppServicePrincipal need spec.app").field_path(".grants"))]
#[x_kube(validation = Rule::new("has(self.evaluation) && has(self.evaluation.thresholds) && self.evaluation.thresholds.size() > 0").message("spec.evaluation.thresholds must declare at least one threshold: an evaluation gate without one would pass any summary").field_path(".evaluation").reason(Reason::FieldValueRequired))]
#[x_kube(validation = Rule::new("!has(self.verification) || has(self.app)").message("verification sends a smoke request to the app: it needs spec.app").field_path(".verification"))]
#[x_kube(validation = Rule::new("!has(self.promotion) || !has(self.promotion.requires) || self.promotion.requires.all(r, r.targetRef != self.targetRef.name)").message("spec.promotion.requires names the release's own target: a release cannot require itself").field_path(".promotion.requires"))]
pub struct AgentReleaseSpec {
    /// The ReleaseTarget that names the Databricks workspace, catalog and schema to release into.
    pub target_ref: TargetRef,

    /// N: the versioned artifact set of this release. The signoff
    /// (`signoffs/v<N>/decision.md`), the eval summary (`eval_runs/v<N>/summary.json`) and the
    /// prompt candidate alias (`candidate_v<N>`) must all belong to N.
    #[x_kube(validation = Rule::new("self >= 1").message("spec.version (N) must be a positive integer"))]
    pub version: i64,

    /// The registered model and version to release, and the alias to move to it.
    pub model: ModelSpec,

    /// Overrides of the artifact locations derived from the target and N. Leave unset to use the
    /// contract's paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<ArtifactOverrides>,

    /// The evaluation gate: thresholds on the metrics of the eval summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<EvaluationSpec>,

    /// The Databricks App that serves the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppSpec>,

    /// The Model Serving endpoint that serves the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving_endpoint: Option<ServingEndpointSpec>,

    /// Access control entries the release ensures on its app, endpoint and SQL warehouses. Only
    /// these entries are added or raised; entries the release does not declare are never removed.
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub permissions: Vec<PermissionSpec>,

    /// Unity Catalog privileges the release ensures. Only the declared privileges are added;
    /// others are never revoked.
    #[serde(default)]
    #[schemars(length(max = 64))]
    pub grants: Vec<GrantSpec>,

    /// The smoke request that verifies the deployed app answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationSpec>,

    /// How the operator treats this release: suspend, drift, rollback, resync, deletion.
    #[serde(default)]
    pub policy: PolicySpec,

    /// Stages this release follows: the same agent, N and model version must already be
    /// released and Verified on each named target (typically staging) for its soak time before
    /// anything is written here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion: Option<PromotionSpec>,
}

/// What a release requires of other stages before it is promoted.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PromotionSpec {
    /// The upstream stages, each a ReleaseTarget in the release's namespace. Until every one
    /// holds, the release waits with `UpstreamVerified=False` and writes nothing.
    #[serde(default)]
    #[schemars(length(max = 4))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["targetRef".into()]))]
    pub requires: Vec<StageRequirement>,
}

/// One upstream stage: a release of the same agent, N and model version to that target must be
/// Verified (Ready) for at least `soak`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StageRequirement {
    /// The upstream ReleaseTarget's name (same namespace as the release; no cross-namespace
    /// reads).
    #[x_kube(validation = Rule::new(self_matches(names::K8S_NAME)).message("promotion.requires[].targetRef must be a Kubernetes object name (lowercase DNS subdomain)"))]
    #[schemars(length(min = 1, max = 253))]
    pub target_ref: String,
    /// How long the upstream release must have been Verified (Go duration, e.g. `1h`; `0s`:
    /// Verified is enough).
    #[serde(default = "default_soak")]
    #[x_kube(validation = Rule::new(self_matches(names::DURATION)).message("promotion.requires[].soak must be a duration such as 0s, 30m or 1h"))]
    #[x_kube(validation = Rule::new(format!("!{} || duration(self) <= duration('720h')", self_matches(names::DURATION))).message("promotion.requires[].soak must be at most 720h"))]
    #[schemars(length(min = 2, max = 32))]
    pub soak: String,
}

fn default_soak() -> String {
    "0s".to_string()
}

impl StageRequirement {
    /// The soak time; zero when the field cannot be parsed (the CRD's rules refuse such values
    /// at admission).
    pub fn soak(&self) -> std::time::Duration {
        crate::duration::parse(&self.soak).unwrap_or_default()
    }
}

impl AgentReleaseSpec {
    /// The upstream stages this release requires (empty when none).
    pub fn requirements(&self) -> &[StageRequirement] {
        self.promotion
            .as_ref()
            .map(|p| p.requires.as_slice())
            .unwrap_or_default()
    }
}

/// A reference to a ReleaseTarget.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TargetRef {
    /// Name of the ReleaseTarget.
    #[x_kube(validation = Rule::new(self_matches(names::K8S_NAME)).message("targetRef.name must be a Kubernetes object name (lowercase DNS subdomain)"))]
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the ReleaseTarget; defaults to the release's own. Another namespace is
    /// refused unless the operator runs with `--allow-cross-namespace-refs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
}

/// The registered model, the version to release and the alias to move.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ModelSpec {
    /// The registered model: a three-part Unity Catalog name (`catalog.schema.model`) or a bare
    /// name in the workspace MLflow registry.
    #[x_kube(validation = Rule::new(self_matches(names::MODEL_NAME)).message("model.name must have one part (workspace registry) or three parts catalog.schema.model (Unity Catalog), without spaces, slashes or empty parts"))]
    #[schemars(length(min = 1, max = 767))]
    pub name: String,

    /// The model version to release.
    #[x_kube(validation = Rule::new("self >= 1").message("model.version must be a positive integer"))]
    pub version: i64,

    /// The alias that points at the released version (e.g. `champion`).
    #[serde(default = "default_alias")]
    #[x_kube(validation = Rule::new(self_matches(names::ALIAS)).message("model.alias may contain only letters, digits, '_' and '-'"))]
    #[x_kube(validation = Rule::new(format!("!{} && !{}", self_matches(names::RESERVED_ALIAS_LATEST), self_matches(names::RESERVED_ALIAS_VERSION))).message("model.alias 'latest' and 'v<digits>' are reserved by MLflow"))]
    #[schemars(length(min = 1, max = 255))]
    pub alias: String,

    /// The MLflow logged model id of the release (`m-...`). It becomes the app's
    /// `MLFLOW_ACTIVE_MODEL_ID`; required when an app is declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(self_matches(names::LOGGED_MODEL_ID)).message("model.loggedModelId must look like m-<32 lowercase hex digits>"))]
    #[schemars(length(max = 64))]
    pub logged_model_id: Option<String>,
}

fn default_alias() -> String {
    "champion".to_string()
}

/// Overrides of the artifact locations the contract derives from the target and N. Overridden
/// paths must still lie under `/Volumes/<catalog>/<schema>/` of the target, and be clean
/// ([`crate::artifact_path::check`]).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactOverrides {
    /// The signoff file, instead of `/Volumes/<catalog>/<schema>/signoffs/v<N>/decision.md`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(self_matches(artifact_path::PATTERN)).message("artifacts.signoffPath must be a clean absolute path under /Volumes/: no '.', '..' or empty segments, no trailing '/', no backslash or control character"))]
    #[schemars(length(min = 1, max = 1024))]
    pub signoff_path: Option<String>,

    /// The eval summary, instead of `/Volumes/<catalog>/<schema>/eval_runs/v<N>/summary.json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(self_matches(artifact_path::PATTERN)).message("artifacts.evalSummaryPath must be a clean absolute path under /Volumes/: no '.', '..' or empty segments, no trailing '/', no backslash or control character"))]
    #[schemars(length(min = 1, max = 1024))]
    pub eval_summary_path: Option<String>,

    /// The prompt, instead of `<catalog>.<agentSchema>.system_instructions`. The candidate alias
    /// checked is always `candidate_v<N>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(self_matches(names::THREE_PART_NAME)).message("artifacts.promptName must be a three-part Unity Catalog name catalog.schema.prompt"))]
    #[schemars(length(min = 1, max = 767))]
    pub prompt_name: Option<String>,
}

/// The evaluation gate.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationSpec {
    /// Thresholds on the metrics of the eval summary; a missing metric fails the gate.
    #[serde(default)]
    #[schemars(length(max = 64))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["metric".into()]))]
    pub thresholds: Vec<Threshold>,

    /// Require the evaluation run (the summary's `run_id`) to have a dataset input tagged with
    /// the evaluation context, proving which data the metrics came from.
    #[serde(default)]
    pub require_dataset_lineage: bool,

    /// The value of the `mlflow.data.context` tag that marks the evaluation dataset.
    #[serde(default = "default_lineage_context")]
    #[schemars(length(min = 1, max = 128))]
    pub lineage_context: String,

    /// Checks on the evaluation run itself (the summary's `run_id`): where it was logged, its
    /// name and the kind of dataset it evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<EvaluationRunChecks>,
}

/// Checks on the evaluation run. Each refusal (`EvaluationRunRefused`) names what was expected
/// and what the run shows.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationRunChecks {
    /// The run must belong to the target's evaluation experiment (`spec.experiments.evaluation`
    /// of the ReleaseTarget).
    #[serde(default)]
    pub require_evaluation_experiment: bool,
    /// The run must be named `eval_pre_deploy_YYYYMMDD_HHMMSS` (a valid date and time).
    #[serde(default)]
    pub require_run_name: bool,
    /// The run's evaluation dataset input (the one tagged with `lineageContext`) must come from a
    /// Unity Catalog table (`source_type` `delta` or `uc_table` naming a three-part table), not a
    /// local file or a URL.
    #[serde(default)]
    pub require_table_dataset: bool,
}

fn default_lineage_context() -> String {
    "evaluation".to_string()
}

/// A bound on one metric of the eval summary.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.min) || has(self.max)").message("a threshold needs min, max or both"))]
#[x_kube(validation = Rule::new("!has(self.min) || !has(self.max) || self.min <= self.max").message("threshold min must not exceed max"))]
pub struct Threshold {
    /// The metric's key in the summary's `metrics` object.
    #[schemars(length(min = 1, max = 256))]
    pub metric: String,
    /// The lowest acceptable value (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The highest acceptable value (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The largest acceptable worsening against the evaluation summary of the release that
    /// currently owns the alias (its N's `summary.json`): a drop for a metric with `min` (higher
    /// is better), a rise for a metric with only `max` (lower is better). Skipped while no other
    /// release owns the alias or its summary is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0.0").message("maxRegression must not be negative"))]
    pub max_regression: Option<f64>,
}

/// The Databricks App that serves the agent. Each change of the release creates a new app
/// deployment carrying the release's environment.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.env) || self.env.all(e, !has(e.valueFrom) || (has(self.resources) && self.resources.exists(r, r.name == e.valueFrom)))").message("every env valueFrom must name one of app.resources").field_path(".env"))]
pub struct AppSpec {
    /// The app's name: 2 to 30 lowercase letters, digits and hyphens, unique in the workspace.
    #[x_kube(validation = Rule::new(self_matches(names::APP_NAME)).message("app.name must be 2 to 30 characters of lowercase letters, digits and '-', starting and ending with a letter or digit"))]
    #[schemars(length(min = 2, max = 30))]
    pub name: String,

    /// A description shown in the workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 500))]
    pub description: Option<String>,

    /// The workspace folder holding the app's source code (e.g. `/Workspace/Shared/agent/app`).
    #[x_kube(validation = Rule::new("self.startsWith('/') && !self.contains('/../') && !self.endsWith('/..')").message("app.sourceCodePath must be an absolute workspace path without '..'"))]
    #[schemars(length(min = 2, max = 1024))]
    pub source_code_path: String,

    /// The command that starts the app; overrides the `command` of app.yaml. Not run through a
    /// shell.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64), inner(length(max = 4096)))]
    pub command: Vec<String>,

    /// Extra environment variables of the deployment, beside those the operator sets
    /// (`MLFLOW_ACTIVE_MODEL_ID`, `ENABLE_MLFLOW_TRACING`, `MLFLOW_EXPERIMENT_ID`,
    /// `APP_ENVIRONMENT` and the gateway variables), which may not be set here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 128))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub env: Vec<EnvVar>,

    /// Workspace resources the app uses; the platform grants them to the app's service principal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub resources: Vec<AppResource>,
}

/// An environment variable of the app deployment.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.value) != has(self.valueFrom)").message("an env entry needs exactly one of value and valueFrom"))]
pub struct EnvVar {
    /// The variable's name.
    #[x_kube(validation = Rule::new(self_matches(names::ENV_NAME)).message("env name must be letters, digits and '_', not starting with a digit"))]
    #[x_kube(validation = Rule::new("!(self in ['MLFLOW_ACTIVE_MODEL_ID', 'ENABLE_MLFLOW_TRACING', 'MLFLOW_EXPERIMENT_ID', 'APP_ENVIRONMENT', 'LLM_GATEWAY_BASE_URL', 'LLM_GATEWAY_MODEL', 'MCP_GATEWAY_BASE_URL'])").message("this variable is set by the operator from the release and its target; remove it from app.env"))]
    #[schemars(length(min = 1, max = 128))]
    pub name: String,
    /// A literal value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32768))]
    pub value: Option<String>,
    /// The name of one of the app's resources whose value (an id, a name, a secret) is injected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub value_from: Option<String>,
}

/// A workspace resource the app uses. Exactly one kind is set.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("[has(self.servingEndpoint), has(self.sqlWarehouse), has(self.secret), has(self.experiment), has(self.ucSecurable), has(self.database)].filter(x, x).size() == 1").message("an app resource sets exactly one of servingEndpoint, sqlWarehouse, secret, experiment, ucSecurable, database"))]
pub struct AppResource {
    /// The resource's key, referenced by `valueFrom` in env entries and app.yaml.
    #[x_kube(validation = Rule::new(self_matches(names::APP_RESOURCE_KEY)).message("resource name must be letters, digits, '_' and '-'"))]
    #[schemars(length(min = 1, max = 128))]
    pub name: String,
    /// A description shown in the workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 500))]
    pub description: Option<String>,
    /// A serving endpoint the app queries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving_endpoint: Option<AppEndpointResource>,
    /// A SQL warehouse the app uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_warehouse: Option<AppWarehouseResource>,
    /// A secret the app reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<AppSecretResource>,
    /// An MLflow experiment the app uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<AppExperimentResource>,
    /// A Unity Catalog securable (volume, table, function, connection) the app uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uc_securable: Option<AppUcSecurableResource>,
    /// A Lakebase (Postgres) database the app connects to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<AppDatabaseResource>,
}

/// A Lakebase database used by the app (the Apps API's `database` resource).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppDatabaseResource {
    /// The database instance's name.
    #[schemars(length(min = 1, max = 63))]
    pub instance_name: String,
    /// The database (Postgres database name) inside the instance.
    #[schemars(length(min = 1, max = 63))]
    pub database_name: String,
    /// The permission the app gets.
    pub permission: DatabaseResourcePermission,
}

/// Permission an app gets on a database resource.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum DatabaseResourcePermission {
    /// Connect and create objects in the database.
    CAN_CONNECT_AND_CREATE,
}

/// A serving endpoint used by the app.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppEndpointResource {
    /// The endpoint's name.
    #[schemars(length(min = 1, max = 63))]
    pub name: String,
    /// The permission the app gets.
    pub permission: EndpointResourcePermission,
}

/// Permission an app gets on a serving endpoint resource.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum EndpointResourcePermission {
    /// Query the endpoint.
    CAN_QUERY,
    /// View the endpoint.
    CAN_VIEW,
    /// Manage the endpoint.
    CAN_MANAGE,
}

/// A SQL warehouse used by the app.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppWarehouseResource {
    /// The warehouse id.
    #[schemars(length(min = 1, max = 64))]
    pub id: String,
    /// The permission the app gets.
    pub permission: WarehouseResourcePermission,
}

/// Permission an app gets on a SQL warehouse resource.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum WarehouseResourcePermission {
    /// Run queries.
    CAN_USE,
    /// Manage the warehouse.
    CAN_MANAGE,
}

/// A secret used by the app.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppSecretResource {
    /// The secret scope.
    #[schemars(length(min = 1, max = 128))]
    pub scope: String,
    /// The secret key.
    #[schemars(length(min = 1, max = 128))]
    pub key: String,
    /// The permission the app gets.
    pub permission: SecretResourcePermission,
}

/// Permission an app gets on a secret resource.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[allow(clippy::upper_case_acronyms)]
pub enum SecretResourcePermission {
    /// Read the secret.
    READ,
    /// Write the secret.
    WRITE,
    /// Manage the secret.
    MANAGE,
}

/// An MLflow experiment used by the app.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppExperimentResource {
    /// The experiment id.
    #[schemars(length(min = 1, max = 64))]
    pub experiment_id: String,
    /// The permission the app gets.
    pub permission: ExperimentResourcePermission,
}

/// Permission an app gets on an experiment resource.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum ExperimentResourcePermission {
    /// Read runs and traces.
    CAN_READ,
    /// Log runs and traces.
    CAN_EDIT,
    /// Manage the experiment.
    CAN_MANAGE,
}

/// A Unity Catalog securable used by the app.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppUcSecurableResource {
    /// The securable's full name.
    #[schemars(length(min = 1, max = 767))]
    pub securable_full_name: String,
    /// The securable's type.
    pub securable_type: UcSecurableResourceType,
    /// The permission the app gets.
    pub permission: UcSecurableResourcePermission,
}

/// Securable types an app resource can name.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[allow(clippy::upper_case_acronyms)]
pub enum UcSecurableResourceType {
    /// A volume.
    VOLUME,
    /// A table.
    TABLE,
    /// A function (also registered models).
    FUNCTION,
    /// A connection.
    CONNECTION,
}

/// Permissions an app can get on a Unity Catalog securable.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum UcSecurableResourcePermission {
    /// Read a volume.
    READ_VOLUME,
    /// Write a volume.
    WRITE_VOLUME,
    /// Select from a table.
    SELECT,
    /// Modify a table.
    MODIFY,
    /// Execute a function or model.
    EXECUTE,
    /// Use a connection.
    USE_CONNECTION,
}

/// A Model Serving endpoint serving the release's model.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.servedModels)").message("servedModels is the legacy Databricks shape and is not supported: use servedEntities (entityName, entityVersion)").field_path(".servedModels").reason(Reason::FieldValueForbidden))]
#[x_kube(validation = Rule::new("!has(self.traffic) || self.traffic.map(r, r.trafficPercentage).sum() == 100").message("traffic percentages must sum to 100").field_path(".traffic"))]
#[x_kube(validation = Rule::new("!has(self.traffic) || self.traffic.all(r, self.servedEntities.exists(e, e.name == r.servedEntityName))").message("every traffic route must name one of servedEntities").field_path(".traffic"))]
#[x_kube(validation = Rule::new("has(self.traffic) || size(self.servedEntities) == 1").message("with more than one served entity, declare traffic routes").field_path(".traffic"))]
pub struct ServingEndpointSpec {
    /// The endpoint's name: letters, digits, '-' and '_'.
    #[x_kube(validation = Rule::new(self_matches(names::ENDPOINT_NAME)).message("servingEndpoint.name must be 1 to 63 letters, digits, '-' and '_'"))]
    #[schemars(length(min = 1, max = 63))]
    pub name: String,

    /// The entities the endpoint serves. An entity without `entityName` / `entityVersion` serves
    /// the release's model and version.
    #[schemars(length(min = 1, max = 15))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub served_entities: Vec<ServedEntity>,

    /// How requests are split across served entities; percentages sum to 100. Defaults to all
    /// traffic on the single served entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 15))]
    pub traffic: Option<Vec<TrafficRoute>>,

    /// Not supported: the legacy `served_models` shape. Present only so that a manifest using it
    /// is rejected with a clear message instead of being silently pruned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::any_list")]
    pub served_models: Option<Vec<serde_json::Value>>,
}

/// One entity served by the endpoint.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.externalModel) || (!has(self.entityName) && !has(self.entityVersion) && !has(self.workloadType))").message("an externalModel served entity takes no entityName, entityVersion or workloadType").field_path(".externalModel"))]
pub struct ServedEntity {
    /// The served entity's name within the endpoint (what traffic routes refer to).
    #[x_kube(validation = Rule::new(self_matches(names::SERVED_ENTITY_NAME)).message("servedEntities[].name must be 1 to 63 letters, digits, '-' and '_'"))]
    #[schemars(length(min = 1, max = 63))]
    pub name: String,
    /// The model to serve; defaults to `spec.model.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(self_matches(names::MODEL_NAME)).message("servedEntities[].entityName must be a model name with one or three parts"))]
    #[schemars(length(min = 1, max = 767))]
    pub entity_name: Option<String>,
    /// The model version to serve; defaults to `spec.model.version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(self_matches(names::VERSION_STRING)).message("servedEntities[].entityVersion must be a positive integer written as a string"))]
    #[schemars(length(min = 1, max = 10))]
    pub entity_version: Option<String>,
    /// The concurrency size: `Small`, `Medium` or `Large`.
    #[serde(default = "default_workload_size")]
    pub workload_size: WorkloadSize,
    /// Scale to zero when idle.
    #[serde(default = "default_true")]
    pub scale_to_zero_enabled: bool,
    /// The compute type (e.g. `CPU`, `GPU_SMALL`); the workspace default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32))]
    pub workload_type: Option<String>,
    /// Environment variables of the served model; values may reference secrets
    /// (`{{secrets/scope/key}}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 64))]
    pub environment_vars: BTreeMap<String, String>,
    /// A model hosted outside Databricks, reached through the endpoint as an AI gateway
    /// (instead of the release's model). Its credentials are secret references.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_model: Option<ExternalModel>,
}

/// An external model served through a gateway-style endpoint (the serving API's
/// `external_model`).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ExternalModel {
    /// The provider's model name, e.g. `gpt-4o` or `claude-sonnet-4`.
    #[schemars(length(min = 1, max = 255))]
    pub name: String,
    /// Who hosts it.
    pub provider: ExternalModelProvider,
    /// The task, e.g. `llm/v1/chat`, `llm/v1/completions`, `llm/v1/embeddings`.
    #[x_kube(validation = Rule::new("self.matches('^llm/v1/(chat|completions|embeddings)$')").message("externalModel.task must be llm/v1/chat, llm/v1/completions or llm/v1/embeddings"))]
    #[schemars(length(min = 1, max = 64))]
    pub task: String,
    /// The provider's settings, sent as `<provider>_config` (e.g. `openai_config`), keys as the
    /// serving API spells them (`openai_api_key`, `anthropic_api_key`, ...). Keys ending in
    /// `_key` or `_secret` must be secret references (`{{secrets/scope/key}}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 32))]
    #[x_kube(validation = Rule::new("self.all(k, !(k.endsWith('_key') || k.endsWith('_secret')) || self[k].startsWith('{{secrets/'))").message("externalModel.config keys ending in _key or _secret must be secret references ({{secrets/scope/key}}), never a literal credential"))]
    pub config: BTreeMap<String, String>,
}

/// Providers of external models.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ExternalModelProvider {
    /// OpenAI (and Azure OpenAI).
    #[serde(rename = "openai")]
    OpenAi,
    /// Anthropic.
    #[serde(rename = "anthropic")]
    Anthropic,
    /// Cohere.
    #[serde(rename = "cohere")]
    Cohere,
    /// Amazon Bedrock.
    #[serde(rename = "amazon-bedrock")]
    AmazonBedrock,
    /// Google Cloud Vertex AI.
    #[serde(rename = "google-cloud-vertex-ai")]
    GoogleCloudVertexAi,
    /// Another Databricks workspace's serving endpoint.
    #[serde(rename = "databricks-model-serving")]
    DatabricksModelServing,
    /// AI21 Labs.
    #[serde(rename = "ai21labs")]
    Ai21Labs,
    /// A custom provider with an OpenAI-compatible API.
    #[serde(rename = "custom")]
    Custom,
}

impl ExternalModelProvider {
    /// The provider as the serving API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExternalModelProvider::OpenAi => "openai",
            ExternalModelProvider::Anthropic => "anthropic",
            ExternalModelProvider::Cohere => "cohere",
            ExternalModelProvider::AmazonBedrock => "amazon-bedrock",
            ExternalModelProvider::GoogleCloudVertexAi => "google-cloud-vertex-ai",
            ExternalModelProvider::DatabricksModelServing => "databricks-model-serving",
            ExternalModelProvider::Ai21Labs => "ai21labs",
            ExternalModelProvider::Custom => "custom",
        }
    }

    /// The key of the provider's settings in `external_model`.
    pub fn config_key(self) -> &'static str {
        match self {
            ExternalModelProvider::OpenAi => "openai_config",
            ExternalModelProvider::Anthropic => "anthropic_config",
            ExternalModelProvider::Cohere => "cohere_config",
            ExternalModelProvider::AmazonBedrock => "amazon_bedrock_config",
            ExternalModelProvider::GoogleCloudVertexAi => "google_cloud_vertex_ai_config",
            ExternalModelProvider::DatabricksModelServing => "databricks_model_serving_config",
            ExternalModelProvider::Ai21Labs => "ai21labs_config",
            ExternalModelProvider::Custom => "custom_provider_config",
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_workload_size() -> WorkloadSize {
    WorkloadSize::Small
}

/// Concurrency size of a served entity.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum WorkloadSize {
    /// Up to 4 concurrent requests.
    Small,
    /// 8 to 16 concurrent requests.
    Medium,
    /// 16 to 64 concurrent requests.
    Large,
}

impl WorkloadSize {
    /// The value the serving API expects.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadSize::Small => "Small",
            WorkloadSize::Medium => "Medium",
            WorkloadSize::Large => "Large",
        }
    }
}

/// A share of the endpoint's traffic.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TrafficRoute {
    /// The served entity that receives this share.
    #[schemars(length(min = 1, max = 63))]
    pub served_entity_name: String,
    /// The share, in percent.
    #[x_kube(validation = Rule::new("self >= 0 && self <= 100").message("trafficPercentage must be between 0 and 100"))]
    pub traffic_percentage: i32,
}

/// A principal in the workspace.
#[derive(
    KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.type == 'AppServicePrincipal' ? !has(self.name) : (has(self.name) && size(self.name) > 0)").message("principal.name is required, except for type AppServicePrincipal which takes none"))]
pub struct PrincipalRef {
    /// The kind of principal. `AppServicePrincipal` is the service principal of this release's
    /// app, resolved from the app.
    #[serde(rename = "type")]
    pub type_: PrincipalType,
    /// The user's email, the group's name, or the service principal's application id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub name: Option<String>,
}

/// Kinds of principal.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
pub enum PrincipalType {
    /// A workspace user (email).
    User,
    /// A workspace group.
    Group,
    /// A service principal (application id).
    ServicePrincipal,
    /// The service principal of this release's app.
    AppServicePrincipal,
}

/// An access control entry the release ensures on a workspace object.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.object.type != 'ServingEndpoint' || self.level in ['CAN_VIEW', 'CAN_QUERY', 'CAN_MANAGE']").message("serving endpoint permission levels are CAN_VIEW, CAN_QUERY and CAN_MANAGE").field_path(".level"))]
#[x_kube(validation = Rule::new("self.object.type != 'App' || self.level in ['CAN_USE', 'CAN_MANAGE']").message("app permission levels are CAN_USE and CAN_MANAGE").field_path(".level"))]
#[x_kube(validation = Rule::new("self.object.type != 'SqlWarehouse' || self.level in ['CAN_VIEW', 'CAN_MONITOR', 'CAN_USE', 'CAN_MANAGE']").message("SQL warehouse permission levels are CAN_VIEW, CAN_MONITOR, CAN_USE and CAN_MANAGE (ownership is not managed by releases)").field_path(".level"))]
pub struct PermissionSpec {
    /// Who gets the permission.
    pub principal: PrincipalRef,
    /// The object the permission is on.
    pub object: PermissionObject,
    /// The permission level.
    pub level: PermissionLevel,
}

/// A workspace object that carries an access control list.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.type != 'SqlWarehouse' || has(self.name)").message("a SqlWarehouse object needs its warehouse id in name"))]
pub struct PermissionObject {
    /// The kind of object.
    #[serde(rename = "type")]
    pub type_: PermissionObjectType,
    /// The serving endpoint's name, the app's name, or the SQL warehouse's id. For App and
    /// ServingEndpoint it defaults to this release's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub name: Option<String>,
}

/// Kinds of workspace object the release manages permissions on.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
pub enum PermissionObjectType {
    /// A Model Serving endpoint (addressed by its id, resolved from the name).
    ServingEndpoint,
    /// A Databricks App.
    App,
    /// A SQL warehouse.
    SqlWarehouse,
}

/// Workspace object permission levels.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum PermissionLevel {
    /// View the object.
    CAN_VIEW,
    /// Query a serving endpoint.
    CAN_QUERY,
    /// Use an app or a warehouse.
    CAN_USE,
    /// Monitor a warehouse.
    CAN_MONITOR,
    /// Manage the object.
    CAN_MANAGE,
}

impl PermissionLevel {
    /// The level as the Permissions API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            PermissionLevel::CAN_VIEW => "CAN_VIEW",
            PermissionLevel::CAN_QUERY => "CAN_QUERY",
            PermissionLevel::CAN_USE => "CAN_USE",
            PermissionLevel::CAN_MONITOR => "CAN_MONITOR",
            PermissionLevel::CAN_MANAGE => "CAN_MANAGE",
        }
    }
}

/// Unity Catalog privileges the release ensures on a securable.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new(format!("self.securableType != 'CATALOG' || self.fullName.matches({})", cel_str(names::ONE_PART_NAME))).message("a CATALOG grant's fullName is the catalog name (one part)").field_path(".fullName"))]
#[x_kube(validation = Rule::new(format!("self.securableType != 'SCHEMA' || self.fullName.matches({})", cel_str(names::TWO_PART_NAME))).message("a SCHEMA grant's fullName is catalog.schema").field_path(".fullName"))]
#[x_kube(validation = Rule::new(format!("!(self.securableType in ['TABLE', 'VOLUME', 'FUNCTION']) || self.fullName.matches({})", cel_str(names::THREE_PART_NAME))).message("a TABLE, VOLUME or FUNCTION grant's fullName is catalog.schema.name (registered models are FUNCTION)").field_path(".fullName"))]
#[x_kube(validation = Rule::new("self.privileges.all(p, p in ['ALL_PRIVILEGES', 'BROWSE', 'MANAGE', 'APPLY_TAG'] || (self.securableType == 'CATALOG' && p in ['USE_CATALOG', 'USE_SCHEMA', 'CREATE_SCHEMA', 'CREATE_TABLE', 'CREATE_FUNCTION', 'CREATE_MODEL', 'CREATE_VOLUME', 'EXECUTE', 'SELECT', 'MODIFY', 'READ_VOLUME', 'WRITE_VOLUME']) || (self.securableType == 'SCHEMA' && p in ['USE_SCHEMA', 'CREATE_TABLE', 'CREATE_FUNCTION', 'CREATE_MODEL', 'CREATE_VOLUME', 'EXECUTE', 'SELECT', 'MODIFY', 'READ_VOLUME', 'WRITE_VOLUME']) || (self.securableType == 'TABLE' && p in ['SELECT', 'MODIFY']) || (self.securableType == 'VOLUME' && p in ['READ_VOLUME', 'WRITE_VOLUME']) || (self.securableType == 'FUNCTION' && p == 'EXECUTE') || (self.securableType == 'CONNECTION' && p == 'USE_CONNECTION'))").message("a privilege does not apply to this securable type (e.g. models take EXECUTE, volumes READ_VOLUME/WRITE_VOLUME, tables SELECT/MODIFY)").field_path(".privileges"))]
pub struct GrantSpec {
    /// The securable's type. Registered models are `FUNCTION`.
    pub securable_type: SecurableType,
    /// The securable's full name (`catalog`, `catalog.schema`, or `catalog.schema.name`).
    #[schemars(length(min = 1, max = 767))]
    pub full_name: String,
    /// Who gets the privileges.
    pub principal: PrincipalRef,
    /// The privileges to ensure.
    #[schemars(length(min = 1, max = 16))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub privileges: Vec<Privilege>,
}

/// Unity Catalog securable types the release can grant on.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
#[allow(clippy::upper_case_acronyms)]
pub enum SecurableType {
    /// A catalog.
    CATALOG,
    /// A schema.
    SCHEMA,
    /// A table or view.
    TABLE,
    /// A volume.
    VOLUME,
    /// A function, and a registered model.
    FUNCTION,
    /// A connection.
    CONNECTION,
}

impl SecurableType {
    /// The type as the grants API path spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurableType::CATALOG => "CATALOG",
            SecurableType::SCHEMA => "SCHEMA",
            SecurableType::TABLE => "TABLE",
            SecurableType::VOLUME => "VOLUME",
            SecurableType::FUNCTION => "FUNCTION",
            SecurableType::CONNECTION => "CONNECTION",
        }
    }
}

/// Unity Catalog privileges.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema,
)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum Privilege {
    /// Every privilege of the securable.
    ALL_PRIVILEGES,
    /// See metadata.
    BROWSE,
    /// Manage privileges and ownership-like actions.
    MANAGE,
    /// Apply tags.
    APPLY_TAG,
    /// Use a catalog.
    USE_CATALOG,
    /// Use a schema.
    USE_SCHEMA,
    /// Create schemas.
    CREATE_SCHEMA,
    /// Create tables.
    CREATE_TABLE,
    /// Create functions.
    CREATE_FUNCTION,
    /// Create models.
    CREATE_MODEL,
    /// Create volumes.
    CREATE_VOLUME,
    /// Execute a function or a model.
    EXECUTE,
    /// Read a table.
    SELECT,
    /// Write a table.
    MODIFY,
    /// Read a volume.
    READ_VOLUME,
    /// Write a volume.
    WRITE_VOLUME,
    /// Use a connection.
    USE_CONNECTION,
}

impl Privilege {
    /// The privilege as the grants API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::ALL_PRIVILEGES => "ALL_PRIVILEGES",
            Privilege::BROWSE => "BROWSE",
            Privilege::MANAGE => "MANAGE",
            Privilege::APPLY_TAG => "APPLY_TAG",
            Privilege::USE_CATALOG => "USE_CATALOG",
            Privilege::USE_SCHEMA => "USE_SCHEMA",
            Privilege::CREATE_SCHEMA => "CREATE_SCHEMA",
            Privilege::CREATE_TABLE => "CREATE_TABLE",
            Privilege::CREATE_FUNCTION => "CREATE_FUNCTION",
            Privilege::CREATE_MODEL => "CREATE_MODEL",
            Privilege::CREATE_VOLUME => "CREATE_VOLUME",
            Privilege::EXECUTE => "EXECUTE",
            Privilege::SELECT => "SELECT",
            Privilege::MODIFY => "MODIFY",
            Privilege::READ_VOLUME => "READ_VOLUME",
            Privilege::WRITE_VOLUME => "WRITE_VOLUME",
            Privilege::USE_CONNECTION => "USE_CONNECTION",
        }
    }
}

/// The smoke request that verifies the deployed app.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VerificationSpec {
    /// The request path on the app's URL.
    #[serde(default = "default_verification_path")]
    #[x_kube(validation = Rule::new("self.startsWith('/')").message("verification.path must start with '/'"))]
    #[schemars(length(min = 1, max = 1024))]
    pub path: String,
    /// The request body, sent with POST as `application/json` when it is valid JSON and as text
    /// otherwise. Without a message the request is a GET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 65536))]
    pub message: Option<String>,
    /// A substring the response body must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 4096))]
    pub expect_substring: Option<String>,
    /// How long to wait for the answer, in seconds.
    #[serde(default = "default_verification_timeout")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 600").message("verification.timeoutSeconds must be between 1 and 600"))]
    pub timeout_seconds: i64,

    /// A chat completion sent to the agent through the app's OpenAI-compatible API after the
    /// smoke request passes; a failure counts as a failed verification (and rolls back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<ChatCheck>,
    /// MCP servers whose tools the agent needs (condition `ToolsReachable`). Checked as the
    /// app's service principal when the ReleaseTarget names its OAuth credentials
    /// (`spec.appCredentials`), otherwise as the operator's principal with a Warning Event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub mcp_servers: Vec<crate::mcp::McpServerCheck>,
    /// `request` (default): one smoke request per attempt. `task`: a long-running check (see
    /// `task`) started once per deployment and polled on later reconciles; no reconcile waits
    /// for it.
    #[serde(default)]
    pub mode: crate::task::VerificationMode,
    /// With `mode: task`: how long the task may run from its start before the verification
    /// fails (Go duration, 10s to 24h).
    #[serde(default = "crate::task::default_deadline")]
    #[x_kube(validation = Rule::new(self_matches(names::DURATION)).message("verification.deadline must be a duration such as 90s, 10m or 1h"))]
    #[x_kube(validation = Rule::new(format!("!{} || (duration(self) >= duration('10s') && duration(self) <= duration('24h'))", self_matches(names::DURATION))).message("verification.deadline must be between 10s and 24h"))]
    #[schemars(length(min = 2, max = 32))]
    pub deadline: String,
    /// With `mode: task`: the app's task endpoint and what is sent (defaults when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<crate::task::TaskCheck>,
}

impl VerificationSpec {
    /// `timeoutSeconds` as a duration.
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::try_from(self.timeout_seconds).unwrap_or(30))
    }

    /// `deadline` parsed (10 minutes when it does not parse; validation refuses that).
    pub fn deadline(&self) -> std::time::Duration {
        crate::duration::parse(&self.deadline).unwrap_or(std::time::Duration::from_secs(600))
    }
}

/// The chat check: one user message, a non-empty assistant answer, and optional rules on it.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ChatCheck {
    /// The chat completions path on the app's URL.
    #[serde(default = "default_chat_path")]
    #[x_kube(validation = Rule::new("self.startsWith('/')").message("verification.chat.path must start with '/'"))]
    #[schemars(length(min = 1, max = 1024))]
    pub path: String,
    /// The user message sent.
    #[schemars(length(min = 1, max = 65536))]
    pub prompt: String,
    /// Rules the answer must meet, all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    pub expect: Vec<ChatExpect>,
}

fn default_chat_path() -> String {
    "/api/chat/completions".to_string()
}

/// One rule on the chat answer: exactly one of `contains`, `regex`, `jsonPath`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("[has(self.contains), has(self.regex), has(self.jsonPath)].filter(x, x).size() == 1").message("a chat expect rule sets exactly one of contains, regex, jsonPath"))]
#[x_kube(validation = Rule::new("!has(self.equals) || has(self.jsonPath)").message("chat expect equals needs jsonPath"))]
pub struct ChatExpect {
    /// The assistant message contains this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 4096))]
    pub contains: Option<String>,
    /// The assistant message matches this regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub regex: Option<String>,
    /// A path into the response JSON (`$.choices[0].finish_reason`) that must be present and
    /// not null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub json_path: Option<String>,
    /// With `jsonPath`: the value there, as text, must equal this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub equals: Option<String>,
}

fn default_verification_path() -> String {
    "/".to_string()
}

fn default_verification_timeout() -> i64 {
    30
}

/// How the operator treats the release.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PolicySpec {
    /// Stop reconciling: nothing is written to the workspace while suspended.
    #[serde(default)]
    pub suspend: bool,
    /// Why the release is suspended; shown in the `Suspended` condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub suspend_reason: Option<String>,
    /// What to do with hand-made changes in the workspace: `Correct` them or only `Report` them.
    #[serde(default)]
    pub drift: DriftPolicy,
    /// When the deployment or the verification fails, move the alias back to the previous
    /// version and hold until the spec or the artifacts change.
    #[serde(default = "default_true")]
    pub rollback_on_failure: bool,
    /// How often a release is looked at again to detect drift (Go duration, e.g. `5m`).
    #[serde(default = "default_resync")]
    #[x_kube(validation = Rule::new(self_matches(names::DURATION)).message("policy.resyncInterval must be a duration such as 30s, 5m or 1h"))]
    #[x_kube(validation = Rule::new(format!("!{} || (duration(self) >= duration('10s') && duration(self) <= duration('24h'))", self_matches(names::DURATION))).message("policy.resyncInterval must be between 10s and 24h"))]
    #[schemars(length(min = 2, max = 32))]
    pub resync_interval: String,
    /// How often a converged release gets a full check (every artifact, ledger record, ACL and
    /// grant read again). Between full checks a resync reads only the alias, the app and the
    /// endpoint, and falls back to a full check the moment one of them differs from what the
    /// last full check saw; so drift in an ACL or a grant is found within this interval, drift
    /// in the alias, app or endpoint within `resyncInterval`. A spec change, the
    /// `agentops.dev/reconcile-requested-at` annotation and every `apply` run check fully.
    #[serde(default = "default_full_check")]
    #[x_kube(validation = Rule::new(self_matches(names::DURATION)).message("policy.fullCheckInterval must be a duration such as 30m or 1h"))]
    #[x_kube(validation = Rule::new(format!("!{} || (duration(self) >= duration('10s') && duration(self) <= duration('168h'))", self_matches(names::DURATION))).message("policy.fullCheckInterval must be between 10s and 168h"))]
    #[schemars(length(min = 2, max = 32))]
    pub full_check_interval: String,
    /// What deleting the AgentRelease does in the workspace. Only objects this release still
    /// owns in the release ledger are touched: what a newer release (or any other) owns now is
    /// kept, so deleting a superseded release is safe. `Retain` leaves every object as it is;
    /// `Delete` removes the alias (if it still points at this release's version) and the app and
    /// endpoint this release created (not ones it adopted). Either way the release's ledger
    /// records are given back, so another release can claim the objects. A suspended release's
    /// deletion changes nothing in the workspace.
    #[serde(default)]
    pub deletion: DeletionPolicy,
    /// When an upstream stage this release requires (`spec.promotion.requires`) rolls back
    /// after this release was released, roll this release back too: its app deployment,
    /// serving endpoint config and alias go back to the release of the alias before it (or,
    /// with none recorded, the alias to where it pointed before and the app and endpoint are
    /// kept). Off: only a Warning Event `UpstreamRolledBack` is raised and the release stays as
    /// it is.
    #[serde(default)]
    pub follow_upstream_rollback: bool,
    /// `Required`: after every gate and check passed and before the first write, the release
    /// waits (phase `AwaitingApproval`) for an approval of exactly this release, N and model
    /// version — an `AgentReleaseApproval` in the namespace, or the tag
    /// `approval_<target name>=Approved` on the model version.
    #[serde(default)]
    pub approval: ApprovalPolicy,
}

impl Default for PolicySpec {
    fn default() -> Self {
        PolicySpec {
            suspend: false,
            suspend_reason: None,
            drift: DriftPolicy::default(),
            rollback_on_failure: true,
            resync_interval: default_resync(),
            full_check_interval: default_full_check(),
            deletion: DeletionPolicy::default(),
            follow_upstream_rollback: false,
            approval: ApprovalPolicy::default(),
        }
    }
}

fn default_resync() -> String {
    "5m".to_string()
}

fn default_full_check() -> String {
    "30m".to_string()
}

/// Drift handling.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, Default)]
pub enum DriftPolicy {
    /// Put the workspace back to the declared state.
    #[default]
    Correct,
    /// Report drift in a condition and an Event; write nothing.
    Report,
}

/// What deletion does in the workspace.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, Default)]
pub enum DeletionPolicy {
    /// Leave the workspace as it is (the ledger records are given back).
    #[default]
    Retain,
    /// Remove what this release created and still owns.
    Delete,
}

/// Whether a release waits for a person's approval before its first write.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, Default)]
pub enum ApprovalPolicy {
    /// Release as soon as the gates and checks pass.
    #[default]
    NotRequired,
    /// Wait for an approval of this release's identity (N, model version, artifacts, spec and
    /// target; `status.identity`).
    Required,
}

impl ApprovalPolicy {
    /// Whether no approval is asked for (the default, left out of serialized specs).
    pub fn is_not_required(&self) -> bool {
        *self == ApprovalPolicy::NotRequired
    }
}

impl PolicySpec {
    /// The resync interval; the default (5 minutes) when the field cannot be parsed (the CRD's
    /// rules refuse such values at admission).
    pub fn resync(&self) -> std::time::Duration {
        crate::duration::parse(&self.resync_interval).unwrap_or(std::time::Duration::from_secs(300))
    }

    /// The full-check interval; the default (30 minutes) when the field cannot be parsed.
    pub fn full_check(&self) -> std::time::Duration {
        crate::duration::parse(&self.full_check_interval)
            .unwrap_or(std::time::Duration::from_secs(1800))
    }
}

impl AgentReleaseSpec {
    /// Where the model lives, judged from its name.
    pub fn registry(&self) -> Option<names::Registry> {
        names::registry_of(&self.model.name)
    }
}
