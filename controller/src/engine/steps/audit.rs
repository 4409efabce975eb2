//! Audit (`Audited`): once per promotion, an MLflow run in the target's deployment experiment,
//! named `deploy_YYYYMMDD_HHMMSS` (UTC), tagged with the release, N, the model and version, the
//! alias and the previous version, the app deployment, the endpoint config version, the plan
//! path, both signoff decisions and any override; ended FINISHED (or FAILED for a rollback). A
//! restart finds the run by its promotion tag instead of logging a second one, and ends it when
//! it was left RUNNING (a lost answer, or a crash between creating and ending it). Once audited, the
//! release is recorded in the ledger as its alias's last good release.

use agentrelease_api::conditions::reasons;
use agentrelease_api::status::{AuditRecord, CreatedObjects};

use crate::engine::change::{Change, RunOutcome};
use crate::engine::desired;
use crate::engine::effects::{Applied, Cause, Effect};
use crate::engine::ledger::{AppSnapshot, Claim, EndpointSnapshot, LastGood, Owned, Record};
use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::states::RunStatus;
use crate::engine::workspace::EnvEntry;
use crate::engine::workspace::{Workspace, WorkspaceErrorKind, WsResult};
use crate::engine::steps::StepInfo;

/// The tag that identifies the promotion a run records.
pub const PROMOTION_TAG: &str = "agentrelease.promotion";

/// The step's place in the pipeline.
pub const INFO: StepInfo = StepInfo {
    name: "audit",
    condition: agentrelease_api::conditions::types::AUDITED,
    phase: agentrelease_api::conditions::Phase::Verifying,
    ..StepInfo::DEFAULT
};

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let key = promotion_key(pass, RunOutcome::Finished);
    let record = match pass.old.audit.clone().filter(|a| a.promotion == key) {
        Some(audit) => {
            pass.status.audit = Some(audit.clone());
            audit
        }
        None => match log(pass, RunOutcome::Finished).await {
            Ok(Some(record)) => record,
            Ok(None) => {
                if let Err(e) = record_last_good(pass).await {
                    return StepResult::from_workspace(&e);
                }
                return StepResult::done(reasons::AUDITED, "would log the audit run");
            }
            Err(result) => return result,
        },
    };
    if let Err(e) = record_last_good(pass).await {
        return StepResult::from_workspace(&e);
    }
    StepResult::done(
        reasons::AUDITED,
        format!(
            "run {} ({}) in experiment {}",
            record.run_name, record.run_id, record.experiment_id
        ),
    )
}

/// The release, now Ready, becomes the last good release of its alias in the ledger (what a
/// later rollback restores) — written only when the record names another release.
async fn record_last_good<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> WsResult<()> {
    let object = Owned::Alias {
        model: pass.ctx.model().to_string(),
        alias: pass.ctx.spec.model.alias.clone(),
    };
    let current = pass.artifacts.alias_record().cloned();
    let me = pass.ctx.claim(pass.now());
    let last_good = last_good(pass, me.clone());
    // Ready ends the identity in flight: it is the last good one now.
    if current.as_ref().is_some_and(|r| {
        r.in_flight.is_none()
            && r.last_good
                .as_ref()
                .is_some_and(|l| same_release(l, &last_good))
    }) {
        return Ok(());
    }
    let last_good = last_good.after(current.as_ref().and_then(|r| r.last_good.as_ref()));
    let (owner, plan, announces_plans) = match current {
        Some(r) => (r.owner.unwrap_or(me), r.plan, r.announces_plans),
        None => (me, None, false),
    };
    let record = Record {
        owner: Some(owner),
        last_good: Some(last_good),
        hold: None,
        plan,
        announces_plans,
        in_flight: None,
    };
    let change = Change::WriteLedger {
        path: object.path(pass.ctx.ledger_root()),
        content: record.render(),
        replace: true,
        summary: format!(
            "record N={} (model version {}) as the last good release of {}",
            pass.ctx.n(),
            pass.ctx.spec.model.version,
            object.describe()
        ),
    };
    pass.effect(change, Cause::Progress).await.map(|_| ())
}

/// The release as it now runs: the alias, the app deployment, the endpoint config.
fn last_good<W, C: Clock>(pass: &Pass<'_, W, C>, claim: Claim) -> LastGood {
    let ctx = pass.ctx;
    let app = ctx.spec.app.as_ref().map(|a| AppSnapshot {
        name: a.name.clone(),
        deployment_id: pass.status.deployment_id.clone().unwrap_or_default(),
        source_code_path: a.source_code_path.clone(),
        command: a.command.clone(),
        env: desired::app_env(
            ctx,
            pass.artifacts.model_id.as_deref(),
            pass.status.experiment_id.as_deref(),
        ),
    });
    let endpoint = ctx
        .spec
        .serving_endpoint
        .as_ref()
        .zip(desired::endpoint_config(ctx))
        .map(|(e, config)| EndpointSnapshot {
            name: e.name.clone(),
            config,
        });
    LastGood {
        claim,
        app,
        endpoint,
        previous: None,
        identity: pass.identity_digest(),
    }
}

/// Whether two records name the same release in the same shape (claim times and deployment
/// ids aside: a rollback restores the source, command and environment, not an id).
fn same_release(a: &LastGood, b: &LastGood) -> bool {
    fn app(l: &LastGood) -> Option<(&String, &String, &Vec<String>, &Vec<EnvEntry>)> {
        l.app
            .as_ref()
            .map(|s| (&s.name, &s.source_code_path, &s.command, &s.env))
    }
    a.claim.release == b.claim.release
        && a.identity == b.identity
        && a.claim.n == b.claim.n
        && a.claim.model_version == b.claim.model_version
        && app(a) == app(b)
        && a.endpoint == b.endpoint
}

/// The promotion a run records: release uid, generation, model version, and the outcome for
/// failed promotions.
fn promotion_key<W, C>(pass: &Pass<'_, W, C>, outcome: RunOutcome) -> String {
    let id = &pass.ctx.identity;
    let base = format!(
        "{}/{}/{}",
        id.uid, id.generation, pass.ctx.spec.model.version
    );
    match outcome {
        RunOutcome::Finished => base,
        RunOutcome::Failed => format!("{base}/failed"),
    }
}

/// The deployment experiment's id, created when missing — `None` when it does not exist and
/// the pass does not create it (`plan`).
pub async fn experiment_id<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
) -> Result<Option<String>, StepResult> {
    if let Some(id) = pass.artifacts.deployment_experiment.clone() {
        return Ok(Some(id));
    }
    let path = pass.ctx.target.experiments.deployment.clone();
    match pass.ws.get_experiment(&path).await {
        Ok(Some(e)) if e.active => {
            pass.status.experiment_id = Some(e.id.clone());
            pass.artifacts.deployment_experiment = Some(e.id.clone());
            return Ok(Some(e.id));
        }
        Ok(Some(_)) => {
            return Err(StepResult::blocked(
                crate::engine::pass::WORKSPACE_REJECTED,
                format!(
                    "the deployment experiment {path} is deleted; restore it or name another in the ReleaseTarget"
                ),
            ));
        }
        Ok(None) => {}
        Err(e) => return Err(StepResult::from_workspace(&e)),
    }
    let change = Change::CreateExperiment { path: path.clone() };
    let id = match pass.effect(change, Cause::Progress).await {
        Ok(Effect::Applied(Applied::Experiment(id))) => id,
        Ok(_) => return Ok(None),
        Err(e) if e.kind == WorkspaceErrorKind::AlreadyExists => {
            match pass.ws.get_experiment(&path).await {
                Ok(Some(e)) => e.id,
                Ok(None) => {
                    return Err(StepResult::waiting(
                        reasons::WAITING,
                        "the experiment is being created",
                        std::time::Duration::from_secs(2),
                    ));
                }
                Err(e) => return Err(StepResult::from_workspace(&e)),
            }
        }
        Err(e) => return Err(StepResult::from_workspace(&e)),
    };
    pass.status
        .created
        .get_or_insert_with(CreatedObjects::default)
        .experiment = Some(path);
    pass.status.experiment_id = Some(id.clone());
    pass.artifacts.deployment_experiment = Some(id.clone());
    Ok(Some(id))
}

/// Logs (or finds) the audit run of the current promotion with `outcome`; `Ok(None)` when the
/// pass only lists it (`plan`).
pub async fn log<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    outcome: RunOutcome,
) -> Result<Option<AuditRecord>, StepResult> {
    let key = promotion_key(pass, outcome);
    let experiment_id = experiment_id(pass).await?;
    let existing = match &experiment_id {
        Some(id) => match pass.ws.find_runs_by_tag(id, PROMOTION_TAG, &key).await {
            Ok(runs) => runs,
            Err(e) => return Err(StepResult::from_workspace(&e)),
        },
        None => Vec::new(),
    };
    let record = if let Some(run) = existing.into_iter().next() {
        if matches!(run.status, RunStatus::Running | RunStatus::Scheduled) {
            let change = Change::EndAuditRun {
                run_id: run.run_id.clone(),
                name: run.name.clone(),
                outcome,
                end_ms: pass.now().as_millisecond(),
            };
            match pass.effect(change, Cause::Progress).await {
                Ok(Effect::Applied(_)) => {}
                Ok(_) => return Ok(None),
                Err(e) => return Err(StepResult::from_workspace(&e)),
            }
        }
        AuditRecord {
            run_id: run.run_id,
            run_name: run.name,
            experiment_id: experiment_id.unwrap_or_default(),
            promotion: key,
        }
    } else {
        let now = pass.now();
        let name = format!("deploy_{}", now.strftime("%Y%m%d_%H%M%S"));
        let change = Change::LogAuditRun {
            experiment_id: experiment_id.clone(),
            experiment_path: pass.ctx.target.experiments.deployment.clone(),
            name: name.clone(),
            start_ms: now.as_millisecond(),
            tags: tags(pass, &key, outcome.as_str()),
            outcome,
        };
        let run_id = match pass.effect(change, Cause::Progress).await {
            Ok(Effect::Applied(Applied::Run(id))) => id,
            Ok(_) => return Ok(None),
            Err(e) => return Err(StepResult::from_workspace(&e)),
        };
        AuditRecord {
            run_id,
            run_name: name,
            experiment_id: experiment_id.unwrap_or_default(),
            promotion: key,
        }
    };
    if outcome == RunOutcome::Finished {
        pass.status.audit = Some(record.clone());
    }
    Ok(Some(record))
}

fn tags<W, C>(pass: &Pass<'_, W, C>, key: &str, outcome: &str) -> Vec<(String, String)> {
    let ctx = pass.ctx;
    let status = &pass.status;
    let mut tags = vec![
        (PROMOTION_TAG.to_string(), key.to_string()),
        ("agentrelease.release".into(), ctx.identity.key()),
        (
            "agentrelease.namespace".into(),
            ctx.identity.namespace.clone(),
        ),
        ("agentrelease.name".into(), ctx.identity.name.clone()),
        (
            "agentrelease.generation".into(),
            ctx.identity.generation.to_string(),
        ),
        ("agentrelease.version".into(), ctx.n().to_string()),
        ("agentrelease.model".into(), ctx.spec.model.name.clone()),
        (
            "agentrelease.model_version".into(),
            ctx.spec.model.version.to_string(),
        ),
        ("agentrelease.alias".into(), ctx.spec.model.alias.clone()),
        (
            "agentrelease.identity".into(),
            crate::engine::identity::of(ctx, &pass.artifacts)
                .map(|i| i.digest)
                .unwrap_or_else(|| "-".into()),
        ),
        (
            "agentrelease.previous_version".into(),
            status
                .plan
                .as_ref()
                .and_then(|p| p.alias_from)
                .or(status.previous_version)
                .map(|v| v.to_string())
                .unwrap_or_else(|| "none".into()),
        ),
        ("agentrelease.outcome".into(), outcome.to_string()),
    ];
    if let Some(id) = &status.deployment_id {
        tags.push(("agentrelease.app_deployment_id".into(), id.clone()));
    }
    if let Some(v) = status.endpoint_config_version {
        tags.push(("agentrelease.endpoint_config_version".into(), v.to_string()));
    }
    if let Some(plan) = &status.plan {
        tags.push(("agentrelease.plan_path".into(), plan.path.clone()));
    }
    if let Some(s) = &status.signoff {
        tags.push((
            "agentrelease.signoff.engineering".into(),
            s.engineering.decision.clone().unwrap_or_default(),
        ));
        tags.push((
            "agentrelease.signoff.stakeholder".into(),
            s.stakeholder.decision.clone().unwrap_or_default(),
        ));
        let override_text = match &s.override_ {
            Some(o) => format!(
                "engineering={} stakeholder={} approved_by={} reason={}",
                o.engineering_decision.as_deref().unwrap_or("-"),
                o.stakeholder_decision.as_deref().unwrap_or("-"),
                o.approved_by.as_deref().unwrap_or("-"),
                o.reason.as_deref().unwrap_or("-")
            ),
            None => "none".into(),
        };
        tags.push(("agentrelease.signoff.override".into(), override_text));
    }
    if let Some(a) = &status.approval {
        tags.push((
            "agentrelease.approval.source".into(),
            a.source.as_str().to_string(),
        ));
        tags.push((
            "agentrelease.approval.approved_by".into(),
            a.approved_by
                .clone()
                .unwrap_or_else(|| "(not named)".into()),
        ));
        tags.push((
            "agentrelease.approval.approved_at".into(),
            a.approved_at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ));
        tags.push((
            "agentrelease.approval.reference".into(),
            a.reference.clone(),
        ));
        if let Some(identity) = &a.identity {
            tags.push(("agentrelease.approval.identity".into(), identity.clone()));
        }
        if let Some(comment) = &a.comment {
            tags.push(("agentrelease.approval.comment".into(), comment.clone()));
        }
    }
    tags
}
