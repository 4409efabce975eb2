//! Condition types, reasons and phases: the one place they are spelled.
//!
//! `Ready`, `Reconciling` and `Stalled` follow the kstatus convention that `kubectl wait`, Argo CD
//! and Flux understand. Every pipeline step owns one further condition. Reasons are PascalCase,
//! stable, and documented in the README's troubleshooting table; Events reuse them.

/// Condition types.
pub mod types {
    /// True when every step is done for the current generation.
    pub const READY: &str = "Ready";
    /// True while the operator is making progress toward the declared state.
    pub const RECONCILING: &str = "Reconciling";
    /// True when progress needs a human or a new spec (a gate blocked, a bad reference).
    pub const STALLED: &str = "Stalled";
    /// The release is suspended by its policy.
    pub const SUSPENDED: &str = "Suspended";
    /// The target workspace and its credentials resolve.
    pub const TARGET_RESOLVED: &str = "TargetResolved";
    /// The evaluation summary meets every declared threshold.
    pub const EVALUATION_PASSED: &str = "EvaluationPassed";
    /// Both signoff decisions clear (or are overridden as the contract allows).
    pub const SIGNOFF_APPROVED: &str = "SignoffApproved";
    /// The eval summary, the signoff and the prompt candidate reference the release's N.
    pub const VERSIONS_CONSISTENT: &str = "VersionsConsistent";
    /// Every check that can fail without writing passed: the model version and its logged model
    /// id, the securables, app resources and ACL objects named, the MCP servers' objects, the
    /// gateway's warehouse and tables, the tracing experiment, the endpoint config, ownership.
    pub const PREFLIGHT_PASSED: &str = "PreflightPassed";
    /// An approval covers this release, N and model version (`spec.policy.approval: Required`).
    pub const APPROVED: &str = "Approved";
    /// The release owns its alias, app and endpoint in the workspace's release ledger.
    pub const OWNERSHIP_CLAIMED: &str = "OwnershipClaimed";
    /// The deployment plan for this generation is written and recorded.
    pub const PLAN_RECORDED: &str = "PlanRecorded";
    /// The alias points at the release's model version.
    pub const ALIAS_PROMOTED: &str = "AliasPromoted";
    /// The app exists, its compute is active and its service principal is known.
    pub const APP_PROVISIONED: &str = "AppProvisioned";
    /// The app's active deployment carries the release.
    pub const APP_DEPLOYED: &str = "AppDeployed";
    /// The serving endpoint serves the release's entities and is ready.
    pub const ENDPOINT_READY: &str = "EndpointReady";
    /// The declared ACL entries and Unity Catalog privileges are in place.
    pub const PERMISSIONS_APPLIED: &str = "PermissionsApplied";
    /// The smoke request to the app succeeded.
    pub const VERIFIED: &str = "Verified";
    /// Every declared MCP server answers `initialize` and `tools/list` with the required tools.
    pub const TOOLS_REACHABLE: &str = "ToolsReachable";
    /// The chat call went through the AI gateway: its payload table has the call's row and the
    /// usage table grew.
    pub const GATEWAY_VERIFIED: &str = "GatewayVerified";
    /// The chat call's trace is in the tracing experiment, linked to the released logged model.
    pub const TRACES_LINKED: &str = "TracesLinked";
    /// The promotion is logged as an MLflow run in the deployment experiment.
    pub const AUDITED: &str = "Audited";
    /// The workspace differs from the declared state (hand-made change).
    pub const DRIFT_DETECTED: &str = "DriftDetected";
    /// The ReleaseTarget's workspace accepted its credentials.
    pub const CREDENTIALS_VALID: &str = "CredentialsValid";
    /// Every upstream stage the release requires (`spec.promotion.requires`) released the same
    /// agent, N and model version, Verified it, and soaked it.
    pub const UPSTREAM_VERIFIED: &str = "UpstreamVerified";
}

/// Condition reasons (also used as Event reasons and metric labels).
pub mod reasons {
    /// Every step is done.
    pub const RELEASED: &str = "Released";
    /// Work is in progress.
    pub const PROGRESSING: &str = "Progressing";
    /// A step is waiting on a long-running workspace operation.
    pub const WAITING: &str = "Waiting";
    /// A step has not run yet because an earlier one is not done.
    pub const PENDING: &str = "Pending";
    /// A step's condition is true.
    pub const SUCCEEDED: &str = "Succeeded";
    /// The step does not apply to this release (e.g. no serving endpoint declared).
    pub const NOT_APPLICABLE: &str = "NotApplicable";
    /// A transient failure; the step is retried with backoff.
    pub const TRANSIENT_ERROR: &str = "TransientError";
    /// The release is suspended.
    pub const SUSPENDED: &str = "Suspended";
    /// The spec is invalid in a way the API server could not catch.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// The referenced ReleaseTarget does not exist.
    pub const TARGET_NOT_FOUND: &str = "TargetNotFound";
    /// The ReleaseTarget's credentials Secret is missing or incomplete.
    pub const CREDENTIALS_MISSING: &str = "CredentialsMissing";
    /// The operator refuses what the credentials Secret asks for (a key naming a file of the
    /// operator's, `oidc_token_file`), or may not read the Secret or request the
    /// ServiceAccount's token (its RBAC); nothing was sent.
    pub const CREDENTIALS_REFUSED: &str = "CredentialsRefused";
    /// The ReleaseTarget's `spec.host` is outside the operator's allowed workspace hosts
    /// (`--allowed-workspace-hosts`); nothing was sent and no credentials were read.
    pub const HOST_NOT_ALLOWED: &str = "HostNotAllowed";
    /// The workspace refused the credentials.
    pub const UNAUTHENTICATED: &str = "Unauthenticated";
    /// The workspace principal lacks a permission the step needs.
    pub const PERMISSION_DENIED: &str = "PermissionDenied";
    /// A reference to a ReleaseTarget in another namespace, refused by configuration.
    pub const CROSS_NAMESPACE_REF_DENIED: &str = "CrossNamespaceRefDenied";
    /// A derived or overridden artifact path falls outside the target's catalog and schema.
    pub const PATH_REFUSED: &str = "PathRefused";
    /// The evaluation summary does not exist.
    pub const EVALUATION_MISSING: &str = "EvaluationMissing";
    /// The evaluation summary is not valid JSON of the expected shape, or is too large.
    pub const EVALUATION_UNPARSEABLE: &str = "EvaluationUnparseable";
    /// A declared threshold is not met (or its metric is missing or not a number).
    pub const EVALUATION_FAILED: &str = "EvaluationFailed";
    /// The release declares no threshold: a gate without one would pass any summary (only an
    /// object that bypassed admission gets here).
    pub const EVALUATION_UNDECLARED: &str = "EvaluationUndeclared";
    /// A metric worsened by more than its `maxRegression` against the summary of the release
    /// that owns the alias.
    pub const EVALUATION_REGRESSED: &str = "EvaluationRegressed";
    /// The evaluation run is not in the target's evaluation experiment, not named
    /// `eval_pre_deploy_YYYYMMDD_HHMMSS`, or did not evaluate a Unity Catalog table.
    pub const EVALUATION_RUN_REFUSED: &str = "EvaluationRunRefused";
    /// The evaluation summary names another model than the one released: its `model_version`
    /// is not `spec.model.version`, its `model_id` is not the release's logged model, or its
    /// evaluation run (`run_id`) logged models as inputs but not the release's.
    pub const EVALUATION_MODEL_MISMATCH: &str = "EvaluationModelMismatch";
    /// The evaluation summary names no model it evaluated (no `model_version`, no `model_id`,
    /// and no `run_id` whose run logged a model input), so it cannot be shown to be of the
    /// model version released.
    pub const EVALUATION_UNBOUND: &str = "EvaluationUnbound";
    /// The evaluation run has no dataset input tagged with the evaluation context.
    pub const LINEAGE_MISSING: &str = "LineageMissing";
    /// The evaluation summary meets every threshold.
    pub const EVALUATION_PASSED: &str = "EvaluationPassed";
    /// The signoff file does not exist.
    pub const SIGNOFF_MISSING: &str = "SignoffMissing";
    /// The signoff file has no front matter, or it is not valid YAML of the expected shape (or
    /// uses anchors, aliases or a tag other than `!!str`, `!!int`, `!!bool`, `!!null`).
    pub const SIGNOFF_UNPARSEABLE: &str = "SignoffUnparseable";
    /// A signoff decision is REJECTED or another non-approving value, and no `state_override`
    /// captures both decisions verbatim and names `approved_by` and `reason`.
    pub const SIGNOFF_REJECTED: &str = "SignoffRejected";
    /// A signoff decision block or value is missing.
    pub const SIGNOFF_INCOMPLETE: &str = "SignoffIncomplete";
    /// The signoff's front matter names a model (`model_version` or `model_id`) other than the
    /// one released.
    pub const SIGNOFF_MODEL_MISMATCH: &str = "SignoffModelMismatch";
    /// Both decisions approve.
    pub const SIGNOFF_APPROVED: &str = "SignoffApproved";
    /// A non-approving decision was overridden by a `state_override` that captures both
    /// decisions verbatim and names who approved it and why.
    pub const SIGNOFF_OVERRIDDEN: &str = "SignoffOverridden";
    /// The artifacts reference different versions than the release's N.
    pub const VERSION_MISMATCH: &str = "VersionMismatch";
    /// The prompt candidate alias does not exist.
    pub const PROMPT_MISSING: &str = "PromptMissing";
    /// All artifacts reference the release's N.
    pub const VERSIONS_CONSISTENT: &str = "VersionsConsistent";
    /// Every preflight check passed.
    pub const PREFLIGHT_PASSED: &str = "PreflightPassed";
    /// An object the release or its target names does not exist (a grant's securable, an app
    /// resource, an ACL object, the schema, function, vector search index or Genie space of a
    /// managed MCP server, the gateway's warehouse and tables, the tracing experiment).
    pub const OBJECT_MISSING: &str = "ObjectMissing";
    /// The serving endpoint config is not acceptable (routes, served entity names).
    pub const ENDPOINT_CONFIG_INVALID: &str = "EndpointConfigInvalid";
    /// The declared logged model id is not the model version's own.
    pub const MODEL_ID_MISMATCH: &str = "ModelIdMismatch";
    /// Neither the model version nor the release names the logged model id the app needs.
    pub const MODEL_ID_UNKNOWN: &str = "ModelIdUnknown";
    /// The release owns (or has claimed) its alias, app and endpoint.
    pub const OWNED: &str = "Owned";
    /// The alias, app or endpoint is owned by another release with the same N, or by a release
    /// of another agent.
    pub const OWNERSHIP_CONFLICT: &str = "OwnershipConflict";
    /// A newer release of the same agent owns the release's objects.
    pub const SUPERSEDED: &str = "Superseded";
    /// Another writer (a CI run, another controller) holds the release lock; the pass waits.
    pub const LOCKED: &str = "Locked";
    /// The deployment plan was written.
    pub const PLAN_RECORDED: &str = "PlanRecorded";
    /// The registered model or its version does not exist, or the version is not READY.
    pub const MODEL_VERSION_MISSING: &str = "ModelVersionMissing";
    /// The alias was moved to the release's version.
    pub const PROMOTED: &str = "Promoted";
    /// The alias was moved to a lower model version than it pointed at (a Warning Event; a
    /// deliberate revert is gated like any release and is not blocked).
    pub const ALIAS_DOWNGRADE: &str = "AliasDowngrade";
    /// The app exists with active compute.
    pub const APP_PROVISIONED: &str = "AppProvisioned";
    /// The app's deployment succeeded.
    pub const DEPLOYED: &str = "Deployed";
    /// The app's deployment failed.
    pub const DEPLOYMENT_FAILED: &str = "DeploymentFailed";
    /// The serving endpoint's config update failed.
    pub const ENDPOINT_UPDATE_FAILED: &str = "EndpointUpdateFailed";
    /// The serving endpoint is ready with the release's config.
    pub const ENDPOINT_READY: &str = "EndpointReady";
    /// Permissions and grants were applied.
    pub const PERMISSIONS_APPLIED: &str = "PermissionsApplied";
    /// The smoke request succeeded.
    pub const VERIFIED: &str = "Verified";
    /// The smoke request failed.
    pub const VERIFICATION_FAILED: &str = "VerificationFailed";
    /// A long-running verification task (`verification.mode: task`) did not end by
    /// `verification.deadline`.
    pub const VERIFICATION_DEADLINE_EXCEEDED: &str = "VerificationDeadlineExceeded";
    /// After its deployment succeeded the app crashed or became unavailable, or its compute
    /// failed.
    pub const APP_UNHEALTHY: &str = "AppUnhealthy";
    /// Every declared MCP server lists its required tools (and the declared call answered).
    pub const TOOLS_REACHABLE: &str = "ToolsReachable";
    /// An MCP server did not answer `initialize` or `tools/list`, or a required tool is not
    /// listed, or the declared tool call answered with an error.
    pub const TOOLS_CHECK_FAILED: &str = "ToolsCheckFailed";
    /// A URL the release would send a request to with the workspace's credentials (an app's
    /// URL, a custom MCP server) is not on the workspace's origin, not a Databricks app of the
    /// workspace and not in the target's `spec.trustedOrigins`; nothing was sent there.
    pub const UNTRUSTED_ORIGIN: &str = "UntrustedOrigin";
    /// The MCP check ran as the operator's principal, not as the app's service principal.
    pub const TOOLS_CHECKED_AS_OPERATOR: &str = "ToolsCheckedAsOperator";
    /// The gateway's payload table has the chat call's row and its usage table grew.
    pub const GATEWAY_VERIFIED: &str = "GatewayVerified";
    /// No payload row carried the chat call's trace request id, or the usage table did not grow,
    /// within the check's time, or a statement on the gateway's tables failed.
    pub const GATEWAY_CHECK_FAILED: &str = "GatewayCheckFailed";
    /// The chat call's trace is in the tracing experiment and carries the released model id.
    pub const TRACES_LINKED: &str = "TracesLinked";
    /// The chat call's trace was not found in the tracing experiment within the check's time,
    /// or it does not carry the released logged model id.
    pub const TRACE_CHECK_FAILED: &str = "TraceCheckFailed";
    /// The serving endpoint serves the release's model at another version than the alias
    /// points at (a spec that says so, or drift that policy `Report` leaves): the message says
    /// which serves what.
    pub const SERVED_VERSION_MISMATCH: &str = "ServedVersionMismatch";
    /// The alias was moved back to the previous version after a failure.
    pub const ROLLED_BACK: &str = "RolledBack";
    /// Another release identity was found unfinished on the alias (edited or taken over
    /// mid-way): the workspace was put back (to the last good release, or as it was found)
    /// before this release went on (an Event).
    pub const UNFINISHED_RESTORED: &str = "UnfinishedRestored";
    /// The promotion was logged.
    pub const AUDITED: &str = "Audited";
    /// A hand-made change was found in the workspace.
    pub const DRIFT_DETECTED: &str = "DriftDetected";
    /// A hand-made change was found and corrected.
    pub const DRIFT_CORRECTED: &str = "DriftCorrected";
    /// No drift was found.
    pub const NO_DRIFT: &str = "NoDrift";
    /// No release of the same agent, N and model version on a required upstream target is
    /// Verified yet.
    pub const UPSTREAM_NOT_RELEASED: &str = "UpstreamNotReleased";
    /// The upstream release is Verified but has not soaked long enough; the message says how
    /// long is left.
    pub const UPSTREAM_SOAKING: &str = "UpstreamSoaking";
    /// The upstream release failed or was rolled back.
    pub const UPSTREAM_FAILED: &str = "UpstreamFailed";
    /// Every required upstream stage is Verified and soaked.
    pub const UPSTREAM_VERIFIED: &str = "UpstreamVerified";
    /// An upstream stage rolled back after this release was released (a Warning Event; the
    /// release is rolled back too only under `policy.followUpstreamRollback`).
    pub const UPSTREAM_ROLLED_BACK: &str = "UpstreamRolledBack";
    /// `spec.policy.approval: Required` and no approval covers this release, N and model version
    /// yet; nothing is written until one does.
    pub const AWAITING_APPROVAL: &str = "AwaitingApproval";
    /// An approval covers this release, N and model version.
    pub const APPROVED: &str = "Approved";
    /// The registered model has a READY version newer than the declared one (an Event; the
    /// version is listed in `status.newerVersions`).
    pub const NEW_MODEL_VERSION: &str = "NewModelVersion";
    /// The deleted release's cleanup finished (an Event listing what it removed, which ledger
    /// records it gave back, and each object it kept and why).
    pub const CLEANED_UP: &str = "CleanedUp";
    /// The deleted release's cleanup waits for the release lock another writer holds; it has
    /// changed nothing (an Event).
    pub const CLEANUP_WAITING: &str = "CleanupWaiting";
    /// The deleted release's cleanup cannot reach the workspace: its target or credentials
    /// cannot be resolved (an Event; the finalizer stays).
    pub const CLEANUP_BLOCKED: &str = "CleanupBlocked";
    /// A workspace call of the deleted release's cleanup failed; it is tried again (an Event).
    pub const CLEANUP_FAILED: &str = "CleanupFailed";
    /// A suspended release was deleted: nothing in the workspace was changed and its ledger
    /// records stay (an Event).
    pub const CLEANUP_SKIPPED: &str = "CleanupSkipped";
    /// The deleted release's cleanup finished but left something for a person: a damaged
    /// ledger record (its object was kept), or, under `Retain`, ledger records it could not
    /// give back because the workspace could not be reached (a Warning Event).
    pub const CLEANUP_INCOMPLETE: &str = "CleanupIncomplete";
}

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A one-word summary of where a release stands, for humans (`kubectl get ar`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, Default)]
pub enum Phase {
    /// Not reconciled yet.
    #[default]
    Pending,
    /// Running the evaluation, signoff and version gates.
    Gating,
    /// Writing the deployment plan and moving the alias.
    Promoting,
    /// Creating or updating the app and the serving endpoint, and their permissions.
    Deploying,
    /// Running the smoke request.
    Verifying,
    /// Every step is done.
    Ready,
    /// A gate or a reference needs a human or a new spec.
    Blocked,
    /// A failed deployment or verification moved the alias back; held until the spec or the
    /// artifacts change.
    RolledBack,
    /// A failure that is retried.
    Failed,
    /// Suspended by policy; nothing is written to the workspace.
    Suspended,
    /// Every gate and check passed; waiting for an approval of this release, N and model
    /// version before the first write (`spec.policy.approval: Required`).
    AwaitingApproval,
    /// A newer release of the same agent owns the alias, app and endpoint; this one makes no
    /// further writes.
    Superseded,
}

impl Phase {
    /// The phase as it appears in status.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Gating => "Gating",
            Phase::Promoting => "Promoting",
            Phase::Deploying => "Deploying",
            Phase::Verifying => "Verifying",
            Phase::Ready => "Ready",
            Phase::Blocked => "Blocked",
            Phase::RolledBack => "RolledBack",
            Phase::Failed => "Failed",
            Phase::Suspended => "Suspended",
            Phase::Superseded => "Superseded",
            Phase::AwaitingApproval => "AwaitingApproval",
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
