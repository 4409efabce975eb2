//! The effect module: the only place that knows the run mode (apply or plan) and the drift
//! policy (correct or report), and the only place that writes to the workspace during a pass.
//! Steps hand it [`Change`]s with their [`Cause`]; it applies them, lists them, or only reports
//! them, and keeps the list of changes the pass made (apply) or would make (plan) — one entry per
//! change, in order, described the same way in both modes.

use agentrelease_api::release::DriftPolicy;
use bytes::Bytes;

use super::PlannedChange;
use super::change::Change;
use super::ledger::LedgerPath;
use super::lock::LockError;
use super::pass::{Mode, StepResult};
use super::workspace::{
    AppInfo, CreateOutcome, DeploymentInfo, EndpointInfo, SmokeResponse, Workspace, WorkspaceError,
    WorkspaceErrorKind, WsResult,
};

/// Why a change is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The release has not got there yet.
    Progress,
    /// The release got there, and someone changed it since (the description says what).
    Drift(String),
}

/// What became of a change.
#[derive(Debug)]
pub enum Effect {
    /// Applied; the workspace's answer.
    Applied(Applied),
    /// `plan`: listed, not applied.
    Planned,
    /// Drift under policy `Report`: reported, not applied.
    Reported,
}

/// The workspace's answer to an applied change.
#[derive(Debug)]
pub enum Applied {
    /// Done; nothing to return.
    Done,
    /// A file written without overwriting, or found already there.
    Written(CreateOutcome),
    /// The app as created or updated.
    App(Box<AppInfo>),
    /// The endpoint as created or updated.
    Endpoint(Box<EndpointInfo>),
    /// The deployment started.
    Deployment(Box<DeploymentInfo>),
    /// The id of the experiment created.
    Experiment(String),
    /// The id of the run logged.
    Run(String),
    /// The smoke request's answer (a failure to get one is an answer too).
    Smoke(Box<Result<SmokeResponse, WorkspaceError>>),
    /// What each declared MCP server showed, in declaration order.
    Mcp(Vec<super::verification::mcp::Probe>),
}

/// The mode, the drift policy and what the pass changed.
#[derive(Debug)]
pub struct Effects {
    mode: Mode,
    drift_policy: DriftPolicy,
    writer: String,
    locked: Option<LedgerPath>,
    changes: Vec<PlannedChange>,
    drift: Vec<String>,
    drift_corrected: bool,
    /// `plan` went on past an approval hold: the changes listed from here wait for it.
    past_approval: bool,
}

/// What the effects of a pass add up to.
#[derive(Debug, Default)]
pub struct Summary {
    /// The changes made (apply) or that would be made (plan).
    pub changes: Vec<PlannedChange>,
    /// Drift found.
    pub drift: Vec<String>,
    /// Whether any drift was corrected.
    pub drift_corrected: bool,
    /// Whether the pass's Events are recorded (not in `plan`).
    pub records_events: bool,
}

impl Effects {
    /// Effects for a pass.
    pub fn new(mode: Mode, drift_policy: DriftPolicy) -> Self {
        Effects {
            mode,
            drift_policy,
            writer: super::lock::process_writer().to_string(),
            locked: None,
            changes: Vec::new(),
            drift: Vec::new(),
            drift_corrected: false,
            past_approval: false,
        }
    }

    /// The same, writing as `writer` (one process holding several writers, as tests do).
    pub fn with_writer(mut self, writer: &str) -> Self {
        self.writer = writer.to_string();
        self
    }

    /// Takes the release lock before a pass that may write reads what it decides on; `plan` and
    /// a converged release (`may_write` false) take none.
    pub async fn guard<W: Workspace>(
        &mut self,
        ws: &W,
        path: LedgerPath,
        release: &str,
        now: jiff::Timestamp,
        may_write: bool,
    ) -> Result<(), LockError> {
        if self.mode == Mode::Plan || !may_write || self.locked.is_some() {
            return Ok(());
        }
        super::lock::take(ws, &path, &self.writer, release, now).await?;
        self.locked = Some(path);
        Ok(())
    }

    /// Gives the release lock back at the end of the pass. A failure is left to the lock's
    /// expiry (the same process takes its own lock again).
    pub async fn release<W: Workspace>(&mut self, ws: &W) {
        if let Some(path) = self.locked.take() {
            let _ = super::lock::give_back(ws, &path, &self.writer).await;
        }
    }

    /// Whether the pass only lists changes (`plan`): checks that read what an applied change
    /// left behind have nothing to look at then.
    pub fn planning(&self) -> bool {
        self.mode == Mode::Plan
    }

    /// How a step's result continues the pass: `plan` does not wait for long operations it
    /// would start, so a waiting step counts as done there and the later steps are planned too.
    pub fn settle(&self, result: StepResult) -> StepResult {
        match (self.mode, result) {
            (
                Mode::Plan,
                StepResult::Waiting {
                    reason, message, ..
                },
            ) => StepResult::Done {
                reason,
                message: format!("would wait: {message}"),
            },
            (_, result) => result,
        }
    }

    /// `plan` goes on past the approval hold: every change listed from now on would be made
    /// only after the approval (`apply` and the controller stop at the hold and write nothing).
    pub fn past_approval(&mut self) {
        if self.mode == Mode::Plan {
            self.past_approval = true;
        }
    }

    /// Notes drift that needs no change of its own (e.g. seen while another change fixes it).
    pub fn note_drift(&mut self, item: String) {
        self.drift.push(item);
    }

    /// The pass's total.
    pub fn finish(self) -> Summary {
        Summary {
            changes: self.changes,
            drift: self.drift,
            drift_corrected: self.drift_corrected,
            records_events: self.mode == Mode::Apply,
        }
    }

    /// Applies, lists or reports `change`.
    pub async fn make<W: Workspace>(
        &mut self,
        ws: &W,
        change: Change,
        cause: Cause,
    ) -> WsResult<Effect> {
        let drift = match cause {
            Cause::Progress => false,
            Cause::Drift(item) => {
                self.drift.push(item);
                if self.drift_policy == DriftPolicy::Report {
                    return Ok(Effect::Reported);
                }
                true
            }
        };
        if self.mode == Mode::Plan {
            let mut planned = change.describe();
            planned.after_approval = self.past_approval;
            self.changes.push(planned);
            return Ok(Effect::Planned);
        }
        let described = change.describe();
        let applied = execute(ws, change).await?;
        self.changes.push(described);
        if drift {
            self.drift_corrected = true;
        }
        Ok(Effect::Applied(applied))
    }
}

/// The one place a change becomes requests.
async fn execute<W: Workspace>(ws: &W, change: Change) -> WsResult<Applied> {
    match change {
        Change::WriteLedger {
            path,
            content,
            replace,
            ..
        } => ws
            .write_workspace_file(&path.0, Bytes::from(content), replace)
            .await
            .map(Applied::Written),
        // One call: the Files API creates the parent folders, so a failed upload leaves no
        // empty `v<M>` behind.
        Change::WritePlan {
            path,
            content,
            note,
            ..
        } => {
            // The ledger notes the plan before it is uploaded: a release whose upload failed
            // or lost its answer finds it from there, without searching other plans.
            if let Some((record, text)) = note {
                ws.write_workspace_file(&record.0, Bytes::from(text), true)
                    .await?;
            }
            let outcome = ws.create_file(&path, Bytes::from(content)).await?;
            Ok(Applied::Written(outcome))
        }
        Change::SetAlias {
            model, alias, to, ..
        } => {
            ws.set_alias(&model, &alias, to).await?;
            // Read back: an alias is what the serving side resolves; trust only what is there.
            match ws.get_alias(&model, &alias).await? {
                Some(v) if v == to => Ok(Applied::Done),
                other => Err(WorkspaceError::new(
                    WorkspaceErrorKind::Transient,
                    "set alias",
                    format!(
                        "{model}@{alias} read back as {} after setting it to {to}",
                        other
                            .map(|v| v.to_string())
                            .unwrap_or_else(|| "(none)".into())
                    ),
                )),
            }
        }
        Change::DeleteAlias { model, alias, .. } => ws
            .delete_alias(&model, &alias)
            .await
            .map(|()| Applied::Done),
        Change::CreateApp(def) => ws.create_app(&def).await.map(|a| Applied::App(Box::new(a))),
        Change::UpdateApp(def) => ws.update_app(&def).await.map(|a| Applied::App(Box::new(a))),
        Change::StartApp { name } => ws.start_app(&name).await.map(|()| Applied::Done),
        Change::StopApp { name } => ws.stop_app(&name).await.map(|()| Applied::Done),
        Change::DeleteEndpoint { name } => ws.delete_endpoint(&name).await.map(|()| Applied::Done),
        Change::CreateExperiment { path } => {
            ws.create_experiment(&path).await.map(Applied::Experiment)
        }
        Change::CreateEndpoint { name, config } => ws
            .create_endpoint(&name, &config)
            .await
            .map(|e| Applied::Endpoint(Box::new(e))),
        Change::UpdateEndpoint { name, config, .. } => ws
            .update_endpoint_config(&name, &config)
            .await
            .map(|e| Applied::Endpoint(Box::new(e))),
        Change::GrantAcl {
            object, entries, ..
        } => {
            let Some(object) = object else {
                return Err(unresolved("update permissions", "the object's id"));
            };
            let mut resolved = Vec::with_capacity(entries.len());
            for e in entries {
                let Some(p) = e.principal else {
                    return Err(unresolved("update permissions", &e.label));
                };
                resolved.push((p, e.level));
            }
            ws.update_permissions(&object, &resolved)
                .await
                .map(|()| Applied::Done)
        }
        Change::AddGrants {
            securable_type,
            full_name,
            assignments,
            labels,
        } => {
            if assignments.is_empty() && !labels.is_empty() {
                return Err(unresolved("update grants", "the principal"));
            }
            ws.add_grants(&securable_type, &full_name, &assignments)
                .await
                .map(|()| Applied::Done)
        }
        Change::Deploy { app, request, .. } => ws
            .create_deployment(&app, &request)
            .await
            .map(|d| Applied::Deployment(Box::new(d))),
        Change::Smoke {
            url,
            path,
            body,
            timeout,
            ..
        } => {
            let Some(url) = url else {
                return Err(unresolved("smoke request", "the app's URL"));
            };
            Ok(Applied::Smoke(Box::new(
                ws.smoke_request(&url, &path, body.as_deref(), timeout)
                    .await,
            )))
        }
        Change::McpCheck { servers } => {
            let mut probes = Vec::with_capacity(servers.len());
            for server in &servers {
                probes.push(super::verification::mcp::probe(ws, server).await);
            }
            Ok(Applied::Mcp(probes))
        }
        Change::EndAuditRun {
            run_id,
            outcome,
            end_ms,
            ..
        } => ws
            .end_run(&run_id, outcome.as_str(), end_ms)
            .await
            .map(|()| Applied::Run(run_id)),
        Change::LogAuditRun {
            experiment_id,
            name,
            start_ms,
            tags,
            outcome,
            ..
        } => {
            let Some(experiment_id) = experiment_id else {
                return Err(unresolved("create run", "the experiment's id"));
            };
            let run_id = ws
                .create_run(&experiment_id, &name, start_ms, &tags)
                .await?;
            ws.end_run(&run_id, outcome.as_str(), start_ms).await?;
            Ok(Applied::Run(run_id))
        }
    }
}

/// A change applied before something it needs was known: a bug in the step that made it, kept
/// from reaching the workspace.
fn unresolved(operation: &str, what: &str) -> WorkspaceError {
    WorkspaceError::new(
        WorkspaceErrorKind::Other,
        operation,
        format!("{what} is not known yet; nothing was sent"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentrelease_api::conditions::reasons;

    #[test]
    fn plan_does_not_wait_and_apply_does() {
        let waiting = StepResult::waiting(reasons::WAITING, "compute starting", Default::default());
        let plan = Effects::new(Mode::Plan, DriftPolicy::Correct);
        assert!(matches!(
            plan.settle(waiting.clone()),
            StepResult::Done { .. }
        ));
        let apply = Effects::new(Mode::Apply, DriftPolicy::Correct);
        assert_eq!(apply.settle(waiting.clone()), waiting);
    }
}
