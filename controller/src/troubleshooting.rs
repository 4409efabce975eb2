//! The troubleshooting table: every condition reason a user may meet, what it means and what to
//! do. One source for the README's table (a test keeps the two equal) and `kubectl agentrelease
//! why`.

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The reasons the row explains (PascalCase, as in the conditions).
    pub reasons: &'static [&'static str],
    /// What it means (Markdown).
    pub meaning: &'static str,
    /// What to do (Markdown).
    pub action: &'static str,
}

/// The header of the README's table.
pub const HEADER: &str = "| reason | what it means | what to do |\n|---|---|---|";

/// The rows, in the README's order.
pub const ENTRIES: &[Entry] = &[
    Entry {
        reasons: &["TargetNotFound"],
        meaning: "the ReleaseTarget named in `spec.targetRef` does not exist",
        action: "create it, or fix the name; the release is retried when it appears",
    },
    Entry {
        reasons: &["CrossNamespaceRefDenied"],
        meaning: "`spec.targetRef.namespace` names another namespace",
        action: "use a target in the release's namespace, or start the operator with `--allow-cross-namespace-refs`",
    },
    Entry {
        reasons: &["HostNotAllowed"],
        meaning: "the target's `spec.host` is outside the workspace hosts the operator allows (`--allowed-workspace-hosts`); the message names the host and the list. Nothing was sent, no Secret read, no token minted",
        action: "point the target at an allowed workspace, or ask the platform team to add the host (the chart's `allowedWorkspaceHosts`); see [Allowed workspace hosts](#allowed-workspace-hosts)",
    },
    Entry {
        reasons: &["CredentialsMissing"],
        meaning: "the target's Secret is missing, or has neither `token` nor `client_id`+`client_secret` (or both without `spec.credentials.type`; `client_id` for `type: WorkloadIdentity`, which also needs `spec.credentials.serviceAccountName`)",
        action: "create or fix the Secret; it is read again at the target's next check (within 5 minutes; at once where the operator watches Secrets) and at each reconcile of a release",
    },
    Entry {
        reasons: &["CredentialsRefused"],
        meaning: "the Secret has the key `oidc_token_file` (the operator never reads a file a Secret names), or the operator may not read the Secret (its RBAC grants Secrets only in the chart's `secretNamespaces`); nothing was sent",
        action: "for workload identity remove the key and set `spec.credentials.serviceAccountName` (see [Workload identity](#workload-identity)); otherwise keep the Secret in a namespace the platform team lists",
    },
    Entry {
        reasons: &["Unauthenticated", "PermissionDenied"],
        meaning: "the workspace refused the credentials, or the principal lacks a permission (in the preflight: it may not read an object the release names, which the message names with its field, before anything is written); for workload identity also: the ServiceAccount named in `spec.credentials.serviceAccountName` does not exist, or the operator may not request its token",
        action: "check the token or service principal and its grants; for workload identity the ServiceAccount, the chart's `workloadIdentity.enabled`, and that the federation policy names the target's workspace URL as audience",
    },
    Entry {
        reasons: &["PathRefused"],
        meaning: "an artifact path is outside `/Volumes/<catalog>/<schema>/` or malformed (a `.` or `..` segment, `//`, a trailing `/`, a backslash, a control character); `validate` refuses the same paths",
        action: "fix `spec.artifacts` or the target's catalog/schema",
    },
    Entry {
        reasons: &["InvalidSpec"],
        meaning: "the object does not decode, a name is malformed, or `spec.host` leads where credentials do not go (a refused host, a name resolving only to refused addresses)",
        action: "fix the manifest (`agentrelease validate -f FILE` says where); see [The workspace host](#the-workspace-host)",
    },
    Entry {
        reasons: &["EvaluationMissing", "EvaluationUnparseable"],
        meaning: "no `summary.json` for N, or not JSON of the expected shape (duplicate keys are refused)",
        action: "write the summary for N",
    },
    Entry {
        reasons: &["EvaluationModelMismatch"],
        meaning: "the eval summary is about another model than the one released: its `model_version` is not `spec.model.version`, its `model_id` is not the release's logged model, or its `run_id` is a run whose logged-model inputs do not include the release's; every binding the summary declares must hold, and the message names what the summary names and what is released",
        action: "release the model version that was evaluated, or evaluate this one and write its summary for N (see [docs/artifacts.md](docs/artifacts.md))",
    },
    Entry {
        reasons: &["EvaluationUnbound"],
        meaning: "the eval summary names no model it evaluated: no `model_version`, no `model_id`, and no `run_id` of a run that logged a model input (a missing run, or one without model inputs, names none), so it cannot be shown to be of the version released",
        action: "add `\"model_version\": <spec.model.version>` (or `\"model_id\"`, or log the model as an input of the evaluation run) to `summary.json`",
    },
    Entry {
        reasons: &["EvaluationFailed"],
        meaning: "a threshold is not met, or its metric is missing or not a number; the message names each",
        action: "improve the agent, or change the thresholds in a reviewed commit",
    },
    Entry {
        reasons: &["EvaluationUndeclared"],
        meaning: "the release declares no threshold (admission refuses this; the object bypassed it): a gate without one would pass any summary",
        action: "add at least one entry to `spec.evaluation.thresholds`",
    },
    Entry {
        reasons: &["EvaluationRegressed"],
        meaning: "a metric worsened by more than its `maxRegression` against the summary of the release that owns the alias (or, once that release was deleted, of the alias's last good release); the message names the metric, now, before and the limit",
        action: "improve the agent, or change `maxRegression` in a reviewed commit",
    },
    Entry {
        reasons: &["EvaluationRunRefused"],
        meaning: "an `evaluation.run` check failed: the run is not in the target's evaluation experiment, not named `eval_pre_deploy_YYYYMMDD_HHMMSS`, or its evaluation dataset is not a Unity Catalog table; the message names what was expected and what was seen",
        action: "re-run the evaluation as the release process requires (`mlflow.log_input` of a table with `context=\"evaluation\"`) and point the summary's `run_id` at it",
    },
    Entry {
        reasons: &["LineageMissing"],
        meaning: "`requireDatasetLineage` is set and the evaluation run has no dataset input tagged with the evaluation context",
        action: "log the evaluation dataset with `mlflow.log_input(..., context=\"evaluation\")`",
    },
    Entry {
        reasons: &["SignoffMissing"],
        meaning: "no `decision.md` for N",
        action: "write it",
    },
    Entry {
        reasons: &["SignoffUnparseable"],
        meaning: "no YAML front matter on line 1, unclosed, or not valid YAML; refused too: duplicate keys, merge keys, anchors and aliases anywhere (a verbatim capture must be written out), any explicit tag but `!!str`, `!!int`, `!!bool` and `!!null` (the message names it, e.g. `!!binary`), over-deep documents",
        action: "fix the front matter",
    },
    Entry {
        reasons: &["SignoffIncomplete"],
        meaning: "a decision block or value is missing (never overridable)",
        action: "add both decisions",
    },
    Entry {
        reasons: &["SignoffRejected"],
        meaning: "a decision is not `APPROVED` / `APPROVED_WITH_CONDITIONS` and no `state_override` captures both decisions verbatim, or the override lacks `approved_by` or `reason` (non-empty strings); the message names the decision, capture or field at fault",
        action: "get approval, or add a `state_override` that copies both decisions exactly and names who approved it and why",
    },
    Entry {
        reasons: &["SignoffModelMismatch"],
        meaning: "the signoff's front matter names a model (`model_version` or `model_id` at its top level) other than the one released; a signoff naming none is allowed (it is a decision about N)",
        action: "sign off on the model version being released, or release the one signed off",
    },
    Entry {
        reasons: &["SignoffOverridden"],
        meaning: "passed through the override (Warning Event; recorded in status, the plan and the audit run)",
        action: "nothing; auditors see it",
    },
    Entry {
        reasons: &["VersionMismatch"],
        meaning: "the summary's or signoff's `version`, or the prompt alias `candidate_v<N>`, does not match N",
        action: "release the matching N or fix the artifacts",
    },
    Entry {
        reasons: &["AliasDowngrade"],
        meaning: "a Warning Event: the alias was moved to a lower model version than it pointed at (a revert); not a block — the release passed the same gates as any other. `plan` marks the move (`DOWNGRADE`, `\"downgrade\": true` in `-o json`) and the deployment plan says it (`alias_downgrade: true`)",
        action: "nothing when the revert is deliberate; otherwise release the newer version with a higher N",
    },
    Entry {
        reasons: &["ModelVersionMissing"],
        meaning: "the model version (or a served entity's) does not exist or is not READY (preflight); or it does not exist when the evaluation or signoff gate compares a `model_id` with its logged model",
        action: "register the version, or fix `spec.model.version`",
    },
    Entry {
        reasons: &["ModelIdMismatch"],
        meaning: "`spec.model.loggedModelId` is not the logged model the model version was registered from",
        action: "omit the field (it is taken from the version) or fix it",
    },
    Entry {
        reasons: &["ModelIdUnknown"],
        meaning: "the model version carries no logged model id and the release names none, so the app's `MLFLOW_ACTIVE_MODEL_ID` would be empty",
        action: "set `spec.model.loggedModelId`",
    },
    Entry {
        reasons: &["ObjectMissing"],
        meaning: "an object the release or its target names does not exist: a securable of `spec.grants` or of an app resource, a SQL warehouse, another app or endpoint, an experiment, a secret (scope and key) or database instance of an app resource, the schema, function, vector search index or Genie space of a managed MCP server, the gateway's warehouse, payload or usage table, the tracing experiment; the message names each one and the field naming it (preflight; nothing was written)",
        action: "create it, or fix the field",
    },
    Entry {
        reasons: &["EndpointConfigInvalid"],
        meaning: "the serving endpoint config is not coherent: routes naming no served entity, traffic not adding up to 100%, a served entity name used twice, a version that is not a number",
        action: "fix `spec.servingEndpoint`",
    },
    Entry {
        reasons: &["AwaitingApproval"],
        meaning: "an approval is required (by `spec.policy.approval`, the ReleaseTarget's `spec.approval`, or the namespace label `agentops.dev/approval: required`) and none covers exactly this release identity (`status.identity`: N, model version, logged model, signoff, eval summary, prompt version, spec, target) yet; every gate and check passed and nothing was written (phase `AwaitingApproval`); the message lists approvals that did not count (another N, model version or identity: the release changed since) and says when the run reads only the model version tags (`apply`)",
        action: "approve it: `kubectl agentrelease approve NAME` (an `AgentReleaseApproval` of the current identity), or set the tags `approval_<target>=Approved` and `approval_<target>_identity=<digest>` on the model version; see [docs/approval.md](docs/approval.md)",
    },
    Entry {
        reasons: &["Approved"],
        meaning: "an approval covers this release identity; who, when, the comment, the source and the identity are in `status.approval`, the plan and the audit run",
        action: "nothing",
    },
    Entry {
        reasons: &["NewModelVersion"],
        meaning: "an Event: the registered model has a READY version newer than `spec.model.version` (listed in `status.newerVersions` with whether the next N's signoff and eval summary exist); the spec is not changed",
        action: "run `agentrelease next -f release.yaml` and commit its manifest, or let CI open the pull request; see [docs/new-versions.md](docs/new-versions.md)",
    },
    Entry {
        reasons: &["OwnershipConflict"],
        meaning: "the alias, app or endpoint is owned by another release with the same N, or by a release of another agent (the message names it); or its ledger record is damaged",
        action: "give the release a higher N, release to other objects, or delete the other release (its deletion gives its ledger records back)",
    },
    Entry {
        reasons: &["Owned"],
        meaning: "the release owns its alias, app and endpoint in the workspace's ledger",
        action: "nothing",
    },
    Entry {
        reasons: &["Locked"],
        meaning: "another writer (a CI run of `apply`, another controller) holds the release lock while it writes; the lock lapses after two minutes if its holder died",
        action: "nothing; the pass looks again in seconds",
    },
    Entry {
        reasons: &["Superseded"],
        meaning: "a release with a higher N of the same agent owns the objects; this release writes nothing more (phase `Superseded`)",
        action: "nothing; delete the old release when you like (its deletion leaves what the newer release owns alone)",
    },
    Entry {
        reasons: &["CleanedUp"],
        meaning: "an Event: a deleted release's cleanup finished; it lists what was removed, the ledger records given back, and each object kept and why (`kept app X: owned by release ns/v8 ...`, `this release did not create it`, `deletion policy Retain`)",
        action: "nothing; see [Deleting a release](#deleting-a-release)",
    },
    Entry {
        reasons: &["CleanupWaiting"],
        meaning: "an Event: a deleted release's cleanup waits for the release lock another writer holds (a CI run of `apply`, a pass of another release of the alias); nothing was changed and the finalizer stays",
        action: "nothing; it looks again every 5 s (the lock lapses after two minutes if its holder died)",
    },
    Entry {
        reasons: &["CleanupBlocked", "CleanupFailed"],
        meaning: "an Event: the cleanup of a deleted release with `deletion: Delete` cannot resolve its target or credentials, or a workspace call failed (what was done before it stays done); the finalizer stays and the cleanup is tried again",
        action: "fix the target, its Secret or the workspace access; or remove the finalizer `agentops.dev/finalizer` by hand to abandon the cleanup (the workspace and the ledger records then stay as they are)",
    },
    Entry {
        reasons: &["CleanupIncomplete"],
        meaning: "a Warning Event: a deleted release's cleanup finished but kept an object whose ledger record is damaged (whose it is cannot be known), or, with `deletion: Retain`, could not give the ledger records back because its target or credentials are gone",
        action: "repair or delete the ledger record the message names; a record of a deleted release may be deleted by hand when no release should own its object",
    },
    Entry {
        reasons: &["CleanupSkipped"],
        meaning: "an Event: a suspended release was deleted; nothing in the workspace was changed and its ledger records stay owned by it",
        action: "delete the records the message names by hand if no release should own their objects; to have a deletion clean up, resume the release (`spec.policy.suspend: false`, it then reconciles) before deleting it",
    },
    Entry {
        reasons: &["WorkspaceRejected"],
        meaning: "the workspace refused a request as invalid, an object the release refers to is missing, or the client refused to send a request where credentials do not belong (a name resolving only to refused addresses, an OAuth endpoint or a redirect off the workspace's origin)",
        action: "read the message; fix the spec",
    },
    Entry {
        reasons: &["DeploymentFailed"],
        meaning: "the app deployment failed (and `rollbackOnFailure` is off)",
        action: "fix the app's source; change the spec to retry",
    },
    Entry {
        reasons: &["VerificationFailed"],
        meaning: "the smoke request failed three times (and `rollbackOnFailure` is off); the message shows the status and the start of the answer",
        action: "check the app; a 401/403 from the app's URL usually means the credentials are a PAT where the Apps proxy wants OAuth — use an OAuth M2M target; change the spec to retry",
    },
    Entry {
        reasons: &["ToolsCheckFailed"],
        meaning: "a declared MCP server gave no answer to `initialize` or `tools/list`, lacks a required tool, or the declared tool call answered with an error (and `rollbackOnFailure` is off); the message names the server, the tools expected and the tools listed",
        action: "check the server URL, the Unity Catalog functions (or the app) behind it and the tool names in `verification.mcpServers`; change the spec to retry",
    },
    Entry {
        reasons: &["UntrustedOrigin"],
        meaning: "a URL the release would send a request to off the workspace's paths — a custom MCP server (`verification.mcpServers[].url`, checked in the preflight, before anything is written) or the app's URL the Apps API answers (before the smoke, chat or task request) — is not the workspace's own origin, not a Databricks app of this workspace and not listed in the target's `spec.trustedOrigins`, or is an IP address or plain http; the message names the field, the origin and why. Nothing was sent there, not even without credentials",
        action: "if the origin is trusted, list it in the ReleaseTarget's `spec.trustedOrigins` (`sendWorkspaceToken: true` only if the workspace's credentials may go there), or fix the URL; see [Where requests go](#where-requests-go)",
    },
    Entry {
        reasons: &["GatewayCheckFailed"],
        meaning: "after the chat check, the AI gateway's payload table had no row whose `databricks_request_id` is the chat call's trace request id, or its usage table did not grow, within a minute — or a statement on those tables failed; the message names the table, the request id expected and what was seen. With `gateway.mode: advisory` only this condition is False; with `required` the release is rolled back (policy permitting)",
        action: "check that the app calls its model through the gateway (`LLM_GATEWAY_BASE_URL`), that inference tables are enabled on the gateway and named in `gateway.payloadTable` / `gateway.usageTable`, and that the operator may use `gateway.warehouseId` and select from the tables; change the spec to retry",
    },
    Entry {
        reasons: &["TraceCheckFailed"],
        meaning: "after the chat check, the tracing experiment had no trace with the chat call's request id within a minute, or the trace does not carry the released logged model id (`mlflow.modelId`); the message names the trace, the experiment and the model id expected and seen. With `tracing.mode: advisory` only this condition is False; with `required` the release is rolled back (policy permitting)",
        action: "check that the app traces with MLflow 3 into `MLFLOW_EXPERIMENT_ID` (or `tracing.experimentId`) and sets the active model from `MLFLOW_ACTIVE_MODEL_ID`; the app's service principal needs `CAN_EDIT` on the experiment (the operator grants it); change the spec to retry",
    },
    Entry {
        reasons: &["ToolsCheckedAsOperator"],
        meaning: "the MCP tool check ran as the operator's principal (an Event): the app's own service principal may see fewer tools",
        action: "give the ReleaseTarget the app's service principal OAuth credentials (`spec.appCredentials`) so the controller checks as the app; grant the app's service principal `EXECUTE` on the functions it calls (`spec.grants`)",
    },
    Entry {
        reasons: &["VerificationDeadlineExceeded"],
        meaning: "the long-running check (`verification.mode: task`) did not reach a terminal state by `verification.deadline` (and `rollbackOnFailure` is off); the message names the task id, its start, the deadline and the last state seen",
        action: "check the agent's task endpoint (`verification.task.path`) and how long its tasks take; raise `verification.deadline` if the agent is slow by design; change the spec to retry",
    },
    Entry {
        reasons: &["AppUnhealthy"],
        meaning: "after its deployment succeeded the app crashed or became unavailable (app status `CRASHED` / `UNAVAILABLE`, or compute `ERROR`), so verification failed (an Event; the condition shows it when `rollbackOnFailure` is off); the message carries the states and the last lines of the app's log",
        action: "read the app's log (`<app url>/logz`) and fix the app; change the spec to retry",
    },
    Entry {
        reasons: &["RolledBack"],
        meaning: "the deployment or verification failed; the last good release (app deployment, endpoint config, alias) was restored (with none recorded: the workspace as the release found it — alias back or removed, the app stopped and the endpoint deleted where they did not exist before) and the release is held — also after a re-run of `apply` or a controller restart (the hold is in the workspace's ledger)",
        action: "fix the cause, then change the spec or the artifacts to try again",
    },
    Entry {
        reasons: &["UnfinishedRestored"],
        meaning: "an Event: another identity of this release (edited mid-way) or an older release taken over was found half-done on the alias; the workspace was put back — to the last good release, or as that identity found it — before this release went on (`status.recovery` says what was found and done)",
        action: "nothing; check `status.recovery` when a release was interrupted",
    },
    Entry {
        reasons: &["ServedVersionMismatch"],
        meaning: "the serving endpoint serves the release's model at another version than the alias points at: a served entity declares another `entityVersion` (refused before anything is written), or drift policy `Report` left the alias or the endpoint as someone changed it; the message says which serves what",
        action: "leave `entityVersion` out (it follows `spec.model.version`) or set it to it; for drift, put the alias or endpoint back, or set `spec.policy.drift: Correct`",
    },
    Entry {
        reasons: &["EndpointUpdateFailed"],
        meaning: "the serving endpoint rejected the config the release sent",
        action: "fix `spec.servingEndpoint`; a new config is tried",
    },
    Entry {
        reasons: &["DriftDetected", "DriftCorrected"],
        meaning: "someone changed the alias, the app's deployment, the endpoint, an ACL or a grant by hand",
        action: "nothing with policy `Correct`; with `Report` decide and re-apply",
    },
    Entry {
        reasons: &["Waiting", "Progressing"],
        meaning: "a long operation (compute start, deployment, endpoint update) is under way",
        action: "wait",
    },
    Entry {
        reasons: &["TransientError"],
        meaning: "a 5xx, a throttle or a connection error; retried with backoff",
        action: "nothing unless it persists",
    },
    Entry {
        reasons: &["Suspended"],
        meaning: "`spec.policy.suspend` is true; nothing is written",
        action: "set it to false to resume",
    },
    Entry {
        reasons: &["UpstreamNotReleased"],
        meaning: "`spec.promotion.requires` names a target on which no release of the same agent, N and model version is Verified yet; nothing is written",
        action: "release it there first (see [docs/promotion.md](docs/promotion.md)); the release proceeds when it is Verified",
    },
    Entry {
        reasons: &["UpstreamSoaking"],
        meaning: "the upstream release is Verified but has not soaked for `soak` yet; the message says how long is left",
        action: "wait; the release looks again when the soak ends",
    },
    Entry {
        reasons: &["UpstreamFailed", "UpstreamRolledBack"],
        meaning: "the upstream release failed or was rolled back; before this release was released it waits, after it a Warning Event `UpstreamRolledBack` is raised and the release stays as it is (or is rolled back with `policy.followUpstreamRollback: true`)",
        action: "fix the upstream release; decide whether this one should be rolled back",
    },
];

/// The row explaining `reason`, if there is one.
pub fn lookup(reason: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| e.reasons.contains(&reason))
}

/// The whole table as Markdown, exactly as the README carries it.
pub fn markdown_table() -> String {
    let mut out = String::from(HEADER);
    for e in ENTRIES {
        let reasons = e
            .reasons
            .iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(" / ");
        out.push_str(&format!("\n| {reasons} | {} | {} |", e.meaning, e.action));
    }
    out
}

/// Markdown made plain for a terminal: no backticks, links reduced to their text.
pub fn plain(markdown: &str) -> String {
    let text = markdown.replace('`', "");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let Some(close) = after.find("](") else {
            break;
        };
        let Some(end) = after[close + 2..].find(')') else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str(&after[..close]);
        rest = &after[close + 2 + end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_carries_this_table_verbatim() {
        let readme = include_str!("../../README.md");
        let table = markdown_table();
        assert!(
            readme.contains(&format!("\n{table}\n")),
            "README.md's troubleshooting table differs from controller/src/troubleshooting.rs; \
             the table should read:\n\n{table}\n"
        );
    }

    #[test]
    fn every_reason_appears_once() {
        let mut seen = std::collections::BTreeSet::new();
        for e in ENTRIES {
            for r in e.reasons {
                assert!(seen.insert(*r), "{r} is explained twice");
            }
        }
        assert!(lookup("SignoffRejected").is_some());
        assert!(lookup("NoSuchReason").is_none());
    }

    #[test]
    fn plain_text_drops_markdown() {
        assert_eq!(
            plain("fix it; see [The workspace host](#the-workspace-host) and `spec.host`"),
            "fix it; see The workspace host and spec.host"
        );
        assert_eq!(plain("a [b] c"), "a [b] c");
    }
}
