//! Observed state of AgentRelease and ReleaseTarget. Written only by the operator; remote ids
//! (deployment ids, run ids, plan paths) live here, never in spec.

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::condition::Condition;
use crate::conditions::Phase;

/// How many entries `status.history` keeps (newest last).
pub const HISTORY_LIMIT: usize = 10;

/// Observed state of an AgentRelease.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentReleaseStatus {
    /// The `metadata.generation` this status was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Where the release stands, in one word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,

    /// `Ready`, `Reconciling`, `Stalled`, and one condition per pipeline step.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// The model version the alias points at because of this release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_version: Option<i64>,

    /// The model version the alias pointed at before this release moved it (the rollback
    /// target); absent when the alias did not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<i64>,

    /// The app's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_url: Option<String>,

    /// The id of the app deployment that carries this release (in flight or done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,

    /// The app deployment this release made last: what it was for and how it went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentRecord>,

    /// The id of the deployment experiment (audit runs; the app's `MLFLOW_EXPERIMENT_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment_id: Option<String>,

    /// Workspace objects this release created (and may delete with deletion policy `Delete`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<CreatedObjects>,

    /// The serving endpoint config this release sent last (a digest), so a failed update is not
    /// sent again and again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_config_sent: Option<String>,

    /// The smoke request of the current deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationRecord>,

    /// The MCP tool check of the current deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools_check: Option<VerificationRecord>,

    /// The gateway table check of the current deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_check: Option<PostCheckRecord>,

    /// The trace link check of the current deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traces_check: Option<PostCheckRecord>,

    /// The serving endpoint's id (what its permissions are keyed by).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,

    /// The serving endpoint config version that serves this release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_config_version: Option<i64>,

    /// The deployment plan written for this release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanRecord>,

    /// The signoff decisions read from the signoff file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signoff: Option<SignoffRecord>,

    /// Every declared threshold with the observed value and the verdict.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evaluation: Vec<MetricResult>,

    /// The artifacts the gates passed for; a change re-runs the gates and lifts a rollback hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gates: Option<GateRecord>,

    /// The audit run of the current promotion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditRecord>,

    /// The last rollback, if the release was rolled back and is held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackRecord>,

    /// The last time this release found another release identity left unfinished on its alias
    /// (an edit or a takeover mid-way) and put the workspace back before going on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<RecoveryRecord>,

    /// The last drift found in the workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftRecord>,

    /// Past promotions of this release, newest last (bounded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub history: Vec<HistoryEntry>,

    /// The last value of the `agentops.dev/reconcile-requested-at` annotation that was handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,

    /// The last full check that found the release converged, and a digest of the alias, app and
    /// endpoint it saw; resyncs until `policy.fullCheckInterval` has passed compare only those.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_check: Option<FullCheckRecord>,

    /// The approval this release was released under (`spec.policy.approval: Required`): who,
    /// when, the comment and where it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<crate::promotion_status::ApprovalRecord>,

    /// The release identity this status was decided on: N, the model version and its logged
    /// model, the signoff, eval summary and prompt version, the spec and the target, as one
    /// digest and its parts. Set once the gates have read every input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<crate::identity::ReleaseIdentityRecord>,

    /// READY versions of the registered model newer than `spec.model.version`, oldest first
    /// (bounded), looked for once per resync interval. The spec is never edited: Git owns it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub newer_versions: Vec<crate::promotion_status::NewerVersion>,
}

/// An unfinished release identity found on the alias, and what was put back.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryRecord {
    /// The identity found in flight: release, N, model version and digest.
    #[schemars(length(max = 512))]
    pub unfinished: String,
    /// What the workspace was put back to (the last good release, or as the unfinished
    /// release found it).
    #[schemars(length(max = 512))]
    pub restored_to: String,
    /// What was done, one line per object (bounded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    pub restored: Vec<String>,
    /// When.
    #[serde(with = "crate::condition::rfc3339_seconds")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub at: Timestamp,
}

/// A full check of a converged release.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FullCheckRecord {
    /// When the check ran.
    #[serde(with = "crate::condition::rfc3339_seconds")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub at: Timestamp,
    /// The generation it checked.
    pub generation: i64,
    /// A digest of the target, the alias, the app and the endpoint as the check saw them.
    #[schemars(length(max = 64))]
    pub digest: String,
}

/// The deployment plan written for the release.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanRecord {
    /// The plan's path, `/Volumes/<catalog>/<schema>/deployment_plans/v<M>/plan.md`.
    pub path: String,
    /// M, the plan's version.
    pub version: i64,
    /// The release generation the plan was written for.
    pub generation: i64,
    /// The release identity (`status.identity.digest`) the plan was written for: a release whose
    /// identity changed writes a new plan.
    #[serde(default)]
    pub fingerprint: String,
    /// The version the alias pointed at when the plan was written (the rollback target); absent
    /// when the alias did not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_from: Option<i64>,
}

/// An app deployment made by the release.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentRecord {
    /// The deployment id.
    pub id: String,
    /// The release generation it carries.
    pub generation: i64,
    /// A digest of the source, command and environment it was made with.
    pub config: String,
    /// Where it stood when last seen.
    pub state: DeploymentPhase,
    /// The platform's message, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When it was created.
    #[serde(with = "crate::condition::rfc3339_seconds")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub started_at: Timestamp,
}

/// Where an app deployment stands, as the Apps API spells it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeploymentPhase {
    /// Running the deployment.
    InProgress,
    /// The app runs it.
    Succeeded,
    /// It failed.
    Failed,
    /// It was cancelled.
    Cancelled,
    /// A state this operator version does not know.
    Unknown,
}

/// How a promotion ended (`status.history[].outcome`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum HistoryOutcome {
    /// The alias moved; the release is not Ready yet.
    Promoted,
    /// The release became Ready.
    Released,
    /// A failed deployment or verification restored the last good release.
    RolledBack,
    /// A newer release of the agent took over.
    Superseded,
}

/// Workspace objects created by the release (not adopted).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct CreatedObjects {
    /// The app, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The serving endpoint, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving_endpoint: Option<String>,
    /// The deployment experiment, by path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
}

/// The smoke request of a deployment.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationRecord {
    /// The deployment verified.
    pub deployment_id: String,
    /// Attempts made.
    pub attempts: i32,
    /// Whether it passed.
    pub passed: bool,
    /// The last answer or error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_result: Option<String>,
    /// The chat check's last call, when `verification.chat` is declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<ChatRecord>,
    /// The long-running task (`verification.mode: task`): what the next reconcile continues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<crate::task::TaskRecord>,
    /// The release identity (`status.identity.digest`) the check ran for: a result recorded for
    /// another identity (a changed verification spec, signoff, target...) is void, and the check
    /// runs again before the release is Ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub identity: Option<String>,
}

impl VerificationRecord {
    /// Whether this is the check of `deployment_id` for the release identity `identity`.
    pub fn is_for(&self, deployment_id: &str, identity: Option<&str>) -> bool {
        self.deployment_id == deployment_id
            && identity.is_some()
            && self.identity.as_deref() == identity
    }
}

/// A check that looks, after the chat call, for what the call left behind (a gateway row, a
/// trace), polled for a bounded time on the engine's clock.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostCheckRecord {
    /// The deployment checked.
    pub deployment_id: String,
    /// The chat call's trace request id looked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_request_id: Option<String>,
    /// The usage table's row count read before the chat call (gateway check only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_before: Option<i64>,
    /// When the first look was made; the check gives up a bounded time later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Looks made.
    #[serde(default)]
    pub attempts: i32,
    /// A SQL statement still running, asked for again on the next pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_statement: Option<String>,
    /// `None` while looking; then whether it passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passed: Option<bool>,
    /// What the last look found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_result: Option<String>,
    /// The release identity (`status.identity.digest`) the check ran for: one recorded for
    /// another identity is void and runs again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub identity: Option<String>,
}

impl PostCheckRecord {
    /// Whether this is the check of `deployment_id` for the release identity `identity`.
    pub fn is_for(&self, deployment_id: &str, identity: Option<&str>) -> bool {
        self.deployment_id == deployment_id
            && identity.is_some()
            && self.identity.as_deref() == identity
    }
}

/// What the chat check saw on its last call.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatRecord {
    /// The MLflow trace request id of the call (from the app's `x-mlflow-trace-id` header, or
    /// the body's `databricks_output.trace.info.trace_id`); the gateway and trace checks look
    /// for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_request_id: Option<String>,
    /// How long the app took to answer, in milliseconds.
    pub latency_ms: i64,
    /// Whether the answer met every rule.
    pub passed: bool,
}

/// One signoff decision as read from the front matter.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct DecisionRecord {
    /// The decision value, verbatim (absent when missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// Who decided, when the front matter says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver: Option<String>,
    /// When, when the front matter says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The conditions of an APPROVED_WITH_CONDITIONS decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
}

/// The override that let a non-approved decision through: it captured both decisions verbatim.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct OverrideRecord {
    /// The engineering decision the override captured (equal to the original, approving or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engineering_decision: Option<String>,
    /// The stakeholder decision the override captured (equal to the original, approving or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stakeholder_decision: Option<String>,
    /// Who authorised the override, when the front matter says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// Why, when the front matter says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The signoff as the gate read it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct SignoffRecord {
    /// The signoff file.
    pub path: String,
    /// The version the front matter declares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// The engineering decision.
    #[serde(default)]
    pub engineering: DecisionRecord,
    /// The stakeholder decision.
    #[serde(default)]
    pub stakeholder: DecisionRecord,
    /// The override that let a non-approved decision through, when one did.
    #[serde(rename = "override", default, skip_serializing_if = "Option::is_none")]
    pub override_: Option<OverrideRecord>,
}

/// One threshold's verdict.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricResult {
    /// The metric.
    pub metric: String,
    /// The value in the summary, when present and numeric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<f64>,
    /// The lower bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The upper bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Whether the metric is within its bounds.
    pub passed: bool,
    /// Why it failed, when it did (missing, not a number, below min, above max).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What the gates passed for.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GateRecord {
    /// The release generation.
    pub generation: i64,
    /// A digest of the signoff, the eval summary and the prompt candidate version.
    pub fingerprint: String,
    /// When the gates passed.
    #[serde(with = "crate::condition::rfc3339_seconds")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub passed_at: Timestamp,
}

/// The audit run of a promotion.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// The MLflow run id.
    pub run_id: String,
    /// The run's name, `deploy_YYYYMMDD_HHMMSS`.
    pub run_name: String,
    /// The deployment experiment's id.
    pub experiment_id: String,
    /// The promotion the run records (release uid, generation and model version).
    pub promotion: String,
}

/// A rollback of the alias after a failed deployment or verification.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollbackRecord {
    /// The version the alias was moved away from.
    pub from_version: i64,
    /// The version the alias was moved back to; absent when the alias was removed because it
    /// did not exist before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_version: Option<i64>,
    /// Why.
    pub reason: String,
    /// When.
    #[serde(with = "crate::condition::rfc3339_seconds")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub at: Timestamp,
    /// The release generation that failed.
    pub generation: i64,
    /// The artifacts fingerprint that failed; a new one lifts the hold.
    pub fingerprint: String,
    /// The last good release restored (`namespace/name N=.. model version ..`); absent when
    /// none was recorded, and then only the alias was moved back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_release: Option<String>,
    /// What was restored, one line per object, in the order it was done.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 8))]
    pub restored: Vec<String>,
    /// True while the restore is not finished (a write failed and is retried).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_progress: bool,
}

/// Drift found in the workspace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriftRecord {
    /// What differed, one line per item.
    #[schemars(length(max = 32))]
    pub items: Vec<String>,
    /// Whether it was corrected.
    pub corrected: bool,
    /// When it was found.
    #[serde(with = "crate::condition::rfc3339_seconds")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub at: Timestamp,
}

/// One past promotion.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The release generation.
    pub generation: i64,
    /// N.
    pub version: i64,
    /// The model version promoted.
    pub model_version: i64,
    /// The version the alias pointed at before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<i64>,
    /// The plan written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_path: Option<String>,
    /// The app deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    /// How it ended.
    pub outcome: HistoryOutcome,
    /// When the promotion happened.
    #[serde(with = "crate::condition::rfc3339_seconds")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub at: Timestamp,
}

/// Observed state of a ReleaseTarget.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseTargetStatus {
    /// The `metadata.generation` this status was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` and `CredentialsValid`.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The principal the credentials authenticate as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
}
