//! The `ReleaseTarget` resource: a Databricks workspace, its credentials, and where release
//! artifacts live in it.

// Each `printcolumn(...)` repeats keys such as `type_`; clippy reads them as duplicates.
#![allow(clippy::duplicated_attributes)]

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::host;
use crate::names;
use crate::origin::{self, TrustedOrigin};
use crate::rules::self_matches;
use crate::status::ReleaseTargetStatus;

/// A Databricks workspace that AgentReleases release into: host, credentials, the Unity Catalog
/// catalog and schema of the versioned artifacts, the experiments, and the app environment.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "agentops.dev",
    version = "v1alpha1",
    kind = "ReleaseTarget",
    plural = "releasetargets",
    singular = "releasetarget",
    shortname = "rt",
    category = "agentops",
    namespaced,
    status = "ReleaseTargetStatus",
    derive = "PartialEq",
    doc = "ReleaseTarget names a Databricks workspace, the credentials to reach it, and where release artifacts live in it (catalog, schema, volumes, experiments).",
    printcolumn(
        name = "Host",
        type_ = "string",
        json_path = ".spec.host",
        description = "The workspace URL"
    ),
    printcolumn(name = "Catalog", type_ = "string", json_path = ".spec.catalog"),
    printcolumn(name = "Schema", type_ = "string", json_path = ".spec.schema"),
    printcolumn(
        name = "Environment",
        type_ = "string",
        json_path = ".spec.appEnvironment"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.host.startsWith('https://') || (self.allowInsecureHttp && self.host.startsWith('http://'))").message("spec.host must be an https:// URL (http:// only with allowInsecureHttp, for a local simulator)").field_path(".host"))]
#[x_kube(validation = Rule::new(host::cel::loopback_needs_insecure_http()).message("spec.host must not be a loopback address or localhost (only with allowInsecureHttp, for a local simulator)").field_path(".host"))]
#[x_kube(validation = Rule::new(origin::cel::http_only_for_local()).message("spec.trustedOrigins: http:// and localhost origins only with allowInsecureHttp, and http:// only for localhost (a local simulator)").field_path(".trustedOrigins"))]
pub struct ReleaseTargetSpec {
    /// The workspace URL, e.g. `https://adb-1234567890123456.7.azuredatabricks.net`: scheme,
    /// host and port only. No user name or password (credentials belong in the Secret), no
    /// path, query or fragment. Never an unspecified, link-local or cloud metadata address
    /// (169.254.169.254 in any notation, fe80::/10, metadata.google.internal); IPv4 addresses
    /// as four decimal numbers; loopback hosts only with `allowInsecureHttp`.
    #[x_kube(validation = Rule::new(host::cel::printable_ascii()).message("spec.host must be printable ASCII without spaces (an internationalised name in its xn-- form)"))]
    #[x_kube(validation = Rule::new(host::cel::NO_USERINFO).message("spec.host must not carry a user name or password (user:password@): credentials belong in the Secret"))]
    #[x_kube(validation = Rule::new(host::cel::NO_QUERY_OR_FRAGMENT).message("spec.host must not have a query (?) or fragment (#): either would send requests to what precedes it"))]
    #[x_kube(validation = Rule::new(host::cel::BARE).message("spec.host must be a bare workspace URL: scheme and host (and port), no path or query"))]
    #[x_kube(validation = Rule::new(host::cel::refused_literals()).message("spec.host must not be a link-local or cloud metadata address or name, nor an IPv4 address written other than as four decimal numbers"))]
    #[schemars(length(min = 8, max = 512))]
    pub host: String,

    /// The Secret with the workspace credentials, in the target's namespace: key `token` (a
    /// personal access token), or keys `client_id` and `client_secret` (OAuth machine-to-machine),
    /// or key `client_id` with `type: WorkloadIdentity` and `serviceAccountName`.
    pub credentials: CredentialsRef,

    /// The Unity Catalog catalog of the versioned artifacts (signoffs, eval runs, plans).
    #[x_kube(validation = Rule::new(self_matches(names::ONE_PART_NAME)).message("spec.catalog must be one Unity Catalog name without dots, spaces or slashes"))]
    #[schemars(length(min = 1, max = 255))]
    pub catalog: String,

    /// The schema of the versioned artifacts, inside the catalog.
    #[x_kube(validation = Rule::new(self_matches(names::ONE_PART_NAME)).message("spec.schema must be one Unity Catalog name without dots, spaces or slashes"))]
    #[schemars(length(min = 1, max = 255))]
    pub schema: String,

    /// The schema of the prompt registry (`<catalog>.<agentSchema>.system_instructions`);
    /// defaults to `schema`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(self_matches(names::ONE_PART_NAME)).message("spec.agentSchema must be one Unity Catalog name without dots, spaces or slashes"))]
    #[schemars(length(min = 1, max = 255))]
    pub agent_schema: Option<String>,

    /// The volume names of the contract, inside `catalog.schema`.
    #[serde(default)]
    pub volumes: VolumeNames,

    /// The MLflow experiments of the agent, as workspace paths.
    pub experiments: ExperimentPaths,

    /// The app environment name the agent runs in (`APP_ENVIRONMENT`), e.g. `production`.
    #[serde(default = "default_environment")]
    #[x_kube(validation = Rule::new("self.matches('^[a-z][a-z0-9-]{0,62}$')").message("spec.appEnvironment must be a lowercase word such as production or staging"))]
    #[schemars(length(min = 1, max = 63))]
    pub app_environment: String,

    /// The AI gateway the agent's app talks to, passed to the app's environment; with
    /// `payloadTable` its tables are checked after the chat verification (`GatewayVerified`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewaySpec>,

    /// Where the production app's traces are searched after the chat verification, and how a
    /// trace not linked to the released logged model counts (`TracesLinked`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TracingSpec>,

    /// Allow an `http://` or loopback host. Only for a local workspace simulator; never for a
    /// real workspace.
    #[serde(default)]
    pub allow_insecure_http: bool,

    /// The most requests per second the operator sends to this workspace (all releases together).
    #[serde(default = "default_rps")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 1000").message("spec.requestsPerSecond must be between 1 and 1000"))]
    pub requests_per_second: i32,

    /// OAuth credentials of apps' service principals, by app: the MCP tool check of a release
    /// whose app is listed runs as that service principal (what the app itself may see and
    /// call); an app not listed is checked as the operator, with a Warning Event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(validation = Rule::new("self.all(a, self.exists_one(b, b.app == a.app))").message("spec.appCredentials lists each app once"))]
    #[schemars(length(max = 50))]
    pub app_credentials: Vec<AppCredentialsRef>,

    /// `Required`: every release to this target waits for a person's approval of its release
    /// identity before its first write, whatever the release's own `spec.policy.approval` says
    /// (an editor of a release cannot turn the hold off for this target). A namespace labelled
    /// `agentops.dev/approval: required` requires it of every release in it the same way.
    #[serde(
        default,
        skip_serializing_if = "crate::release::ApprovalPolicy::is_not_required"
    )]
    pub approval: crate::release::ApprovalPolicy,

    /// Origins besides the workspace's own that the operator may send requests to: a custom
    /// MCP server's URL (`verification.mcpServers[].url`) or an app URL the Apps API answers
    /// that is not a Databricks app of this workspace. Any other origin gets no request at all
    /// (`UntrustedOrigin`). The workspace's credentials go with a request only when its entry
    /// says `sendWorkspaceToken: true`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(validation = Rule::new(origin::cel::UNIQUE).message("spec.trustedOrigins lists each origin once"))]
    #[schemars(length(max = 20))]
    pub trusted_origins: Vec<TrustedOrigin>,
}

/// The Secret with an app service principal's OAuth secret.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AppCredentialsRef {
    /// The app's name.
    #[schemars(length(min = 2, max = 30))]
    pub app: String,
    /// The Secret, in the ReleaseTarget's namespace, with keys `client_id` (the service
    /// principal's application id) and `client_secret` (an OAuth secret made for it).
    #[x_kube(validation = Rule::new(self_matches(names::K8S_NAME)).message("appCredentials[].secretName must be a Kubernetes object name"))]
    #[schemars(length(min = 1, max = 253))]
    pub secret_name: String,
}

fn default_environment() -> String {
    "production".to_string()
}

/// `spec.requestsPerSecond` when a ReleaseTarget leaves it out.
pub const DEFAULT_REQUESTS_PER_SECOND: i32 = 15;

fn default_rps() -> i32 {
    DEFAULT_REQUESTS_PER_SECOND
}

/// The Secret holding the workspace credentials, and for workload identity the ServiceAccount
/// whose tokens the operator exchanges.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.type) || self.type != 'WorkloadIdentity' || has(self.serviceAccountName)").message("credentials.serviceAccountName is required with type WorkloadIdentity: the ServiceAccount, in the ReleaseTarget's namespace, the operator requests tokens for").field_path(".serviceAccountName"))]
#[x_kube(validation = Rule::new("!has(self.serviceAccountName) || (has(self.type) && self.type == 'WorkloadIdentity')").message("credentials.serviceAccountName is only used with type WorkloadIdentity").field_path(".serviceAccountName"))]
pub struct CredentialsRef {
    /// The Secret's name, in the ReleaseTarget's namespace.
    #[x_kube(validation = Rule::new(self_matches(names::K8S_NAME)).message("credentials.secretName must be a Kubernetes object name"))]
    #[schemars(length(min = 1, max = 253))]
    pub secret_name: String,
    /// Which credentials to use; when unset it is decided from the Secret's keys (`token`, or
    /// `client_id` and `client_secret`), and a Secret holding both is refused as ambiguous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "type")]
    pub type_: Option<CredentialsType>,
    /// With `type: WorkloadIdentity` (and only then, where it is required): the ServiceAccount,
    /// in the ReleaseTarget's namespace, for which the operator requests a short-lived token
    /// (the TokenRequest API, 10 minutes) whose audience is this target's workspace URL (e.g.
    /// `https://adb-1234567890123456.7.azuredatabricks.net`); the token is exchanged for a
    /// workspace token. The service principal's federation policy must name the cluster's
    /// service account issuer, that audience, and the subject
    /// `system:serviceaccount:<namespace>:<name>`. A name, never a path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(self_matches(names::K8S_NAME)).message("credentials.serviceAccountName must be a Kubernetes object name"))]
    #[schemars(length(min = 1, max = 253))]
    pub service_account_name: Option<String>,
}

/// Kinds of workspace credentials.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum CredentialsType {
    /// A personal access token, key `token`.
    Token,
    /// OAuth machine-to-machine, keys `client_id` and `client_secret`.
    OAuthM2M,
    /// Workload identity federation: a token the operator requests for
    /// `credentials.serviceAccountName` (in the target's namespace, audience the workspace URL)
    /// is exchanged for a workspace token, so no secret is stored. Key `client_id`: the service
    /// principal whose federation policy accepts the token. A Secret with the key
    /// `oidc_token_file` is refused: the operator never reads a file a target names. Only used
    /// when set explicitly.
    WorkloadIdentity,
}

/// Volume names of the contract, each inside `catalog.schema`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VolumeNames {
    /// Where signoff decisions live (`<volume>/v<N>/decision.md`).
    #[serde(default = "default_signoffs")]
    #[x_kube(validation = Rule::new(self_matches(names::ONE_PART_NAME)).message("volume names are one Unity Catalog name"))]
    #[schemars(length(min = 1, max = 255))]
    pub signoffs: String,
    /// Where evaluation summaries live (`<volume>/v<N>/summary.json`).
    #[serde(default = "default_eval_runs")]
    #[x_kube(validation = Rule::new(self_matches(names::ONE_PART_NAME)).message("volume names are one Unity Catalog name"))]
    #[schemars(length(min = 1, max = 255))]
    pub eval_runs: String,
    /// Where deployment plans are written (`<volume>/v<M>/plan.md`).
    #[serde(default = "default_plans")]
    #[x_kube(validation = Rule::new(self_matches(names::ONE_PART_NAME)).message("volume names are one Unity Catalog name"))]
    #[schemars(length(min = 1, max = 255))]
    pub deployment_plans: String,
}

impl Default for VolumeNames {
    fn default() -> Self {
        VolumeNames {
            signoffs: default_signoffs(),
            eval_runs: default_eval_runs(),
            deployment_plans: default_plans(),
        }
    }
}

fn default_signoffs() -> String {
    "signoffs".to_string()
}

fn default_eval_runs() -> String {
    "eval_runs".to_string()
}

fn default_plans() -> String {
    "deployment_plans".to_string()
}

/// The agent's MLflow experiments, as workspace paths (e.g. `/Shared/agent/deploy`).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentPaths {
    /// Where development runs and traces go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.startsWith('/')").message("experiment paths are absolute workspace paths"))]
    #[schemars(length(min = 2, max = 1024))]
    pub development: Option<String>,
    /// Where evaluation runs go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.startsWith('/')").message("experiment paths are absolute workspace paths"))]
    #[schemars(length(min = 2, max = 1024))]
    pub evaluation: Option<String>,
    /// Where deployment audit runs are logged and where the production app's traces go
    /// (`MLFLOW_EXPERIMENT_ID`). Created when missing.
    #[x_kube(validation = Rule::new("self.startsWith('/')").message("experiment paths are absolute workspace paths"))]
    #[schemars(length(min = 2, max = 1024))]
    pub deployment: String,
}

/// The AI gateway settings passed to the app, and the gateway's tables the operator checks.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.payloadTable) || has(self.warehouseId)").message("gateway.payloadTable needs gateway.warehouseId (the SQL warehouse that queries it)").field_path(".warehouseId"))]
#[x_kube(validation = Rule::new("!has(self.usageTable) || has(self.payloadTable)").message("gateway.usageTable is checked together with gateway.payloadTable; declare both").field_path(".payloadTable"))]
pub struct GatewaySpec {
    /// `LLM_GATEWAY_BASE_URL`: the LLM gateway's base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("isURL(self) && (self.startsWith('https://') || self.startsWith('http://'))").message("gateway URLs must be http(s) URLs"))]
    #[schemars(length(min = 8, max = 1024))]
    pub llm_base_url: Option<String>,
    /// `LLM_GATEWAY_MODEL`: the model the agent asks the gateway for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub llm_model: Option<String>,
    /// `MCP_GATEWAY_BASE_URL`: the MCP gateway's base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("isURL(self) && (self.startsWith('https://') || self.startsWith('http://'))").message("gateway URLs must be http(s) URLs"))]
    #[schemars(length(min = 8, max = 1024))]
    pub mcp_base_url: Option<String>,
    /// The SQL warehouse the operator queries the gateway's tables on (Statement Execution API).
    /// When a release's gateway check applies, it and the tables below must exist before
    /// anything is written, or the release blocks (`ObjectMissing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(self_matches(names::WAREHOUSE_ID)).message("gateway.warehouseId must be a SQL warehouse id (letters and digits)"))]
    #[schemars(length(min = 1, max = 64))]
    pub warehouse_id: Option<String>,
    /// The gateway's payload (inference) table, `catalog.schema.table`: after the chat check it
    /// must hold a row whose `databricks_request_id` is the chat's trace request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(self_matches(names::SQL_TABLE_NAME)).message("gateway tables must be three-part Unity Catalog names (catalog.schema.table) of letters, digits, '_' and '-'"))]
    #[schemars(length(min = 5, max = 767))]
    pub payload_table: Option<String>,
    /// The gateway's usage table, `catalog.schema.table`: its row count must grow across the
    /// chat call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(self_matches(names::SQL_TABLE_NAME)).message("gateway tables must be three-part Unity Catalog names (catalog.schema.table) of letters, digits, '_' and '-'"))]
    #[schemars(length(min = 5, max = 767))]
    pub usage_table: Option<String>,
    /// `required`: a failed table check rolls the release back like a failed verification;
    /// `advisory`: it raises a Warning and sets `GatewayVerified` False, nothing more.
    #[serde(default)]
    pub mode: CheckMode,
}

/// How a failed post-deployment check counts.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum CheckMode {
    /// The release fails (and rolls back, policy permitting).
    #[default]
    Required,
    /// A Warning Event and the check's condition False; the release goes on.
    Advisory,
}

/// Where traces are searched and how the trace check counts.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct TracingSpec {
    /// The MLflow experiment id the app's traces go to; defaults to the deployment experiment
    /// (the app's `MLFLOW_EXPERIMENT_ID`). The app's service principal gets `CAN_EDIT` on it; a
    /// release with an app blocks before anything is written when it does not exist
    /// (`ObjectMissing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^[0-9]{1,32}$')").message("tracing.experimentId must be an MLflow experiment id (digits)"))]
    #[schemars(length(min = 1, max = 32))]
    pub experiment_id: Option<String>,
    /// `required`: a trace that is missing or not linked to the released logged model rolls the
    /// release back; `advisory`: a Warning and `TracesLinked` False only.
    #[serde(default)]
    pub mode: CheckMode,
}

impl ReleaseTargetSpec {
    /// The schema of the prompt registry.
    pub fn prompt_schema(&self) -> &str {
        self.agent_schema.as_deref().unwrap_or(&self.schema)
    }
}
