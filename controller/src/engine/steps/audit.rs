//! Audit (`Audited`): once per promotion, an MLflow run in the target's deployment experiment,
//! named `deploy_YYYYMMDD_HHMMSS` (UTC), tagged with the release, N, the model and version, the
//! alias and the previous version, the app deployment, the endpoint config version, the plan
//! path, both signoff decisions and any override; ended FINISHED (or FAILED for a rollback). A
//! restart finds the run by its promotion tag instead of logging a second one.

use agentrelease_api::conditions::reasons;
use agentrelease_api::status::{AuditRecord, CreatedObjects};

use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::workspace::{Workspace, WorkspaceErrorKind};

/// The tag that identifies the promotion a run records.
pub const PROMOTION_TAG: &str = "agentrelease.promotion";

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let key = promotion_key(pass, "FINISHED");
    if let Some(audit) = pass.old.audit.clone().filter(|a| a.promotion == key) {
        let message = format!(
            "run {} ({}) in experiment {}",
            audit.run_name, audit.run_id, audit.experiment_id
        );
        pass.status.audit = Some(audit);
        return StepResult::done(reasons::AUDITED, message);
    }
    if !pass.applying() {
        pass.plan(
            "audit",
            format!(
                "log run deploy_<time> in experiment {}",
                pass.ctx.target.experiments.deployment
            ),
            vec![],
        );
        return StepResult::done(reasons::AUDITED, "would log the audit run");
    }
    match log(pass, "FINISHED").await {
        Ok(record) => {
            let message = format!(
                "run {} ({}) in experiment {}",
                record.run_name, record.run_id, record.experiment_id
            );
            StepResult::done(reasons::AUDITED, message)
        }
        Err(result) => result,
    }
}

/// The promotion a run records: release uid, generation, model version, and the outcome for
/// failed promotions.
fn promotion_key<W, C>(pass: &Pass<'_, W, C>, outcome: &str) -> String {
    let id = &pass.ctx.identity;
    let base = format!(
        "{}/{}/{}",
        id.uid, id.generation, pass.ctx.spec.model.version
    );
    if outcome == "FINISHED" {
        base
    } else {
        format!("{base}/{}", outcome.to_lowercase())
    }
}

/// The deployment experiment's id, created when missing (apply) — `None` in plan mode when it
/// does not exist yet.
pub async fn experiment_id<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
) -> Result<Option<String>, StepResult> {
    let path = pass.ctx.target.experiments.deployment.clone();
    match pass.ws.get_experiment(&path).await {
        Ok(Some(e)) if e.active => {
            pass.status.experiment_id = Some(e.id.clone());
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
    if !pass.applying() {
        pass.plan("audit", format!("create experiment {path}"), vec![]);
        return Ok(None);
    }
    let id = match pass.ws.create_experiment(&path).await {
        Ok(id) => id,
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
    Ok(Some(id))
}

/// Logs (or finds) the audit run of the current promotion with `outcome` (`FINISHED`, `FAILED`).
pub async fn log<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    outcome: &str,
) -> Result<AuditRecord, StepResult> {
    let key = promotion_key(pass, outcome);
    let experiment_id = match experiment_id(pass).await? {
        Some(id) => id,
        None => {
            return Err(StepResult::done(
                reasons::AUDITED,
                "would log the audit run",
            ));
        }
    };
    let existing = match pass
        .ws
        .find_runs_by_tag(&experiment_id, PROMOTION_TAG, &key)
        .await
    {
        Ok(runs) => runs,
        Err(e) => return Err(StepResult::from_workspace(&e)),
    };
    let record = if let Some(run) = existing.into_iter().next() {
        AuditRecord {
            run_id: run.run_id,
            run_name: run.name,
            experiment_id,
            promotion: key,
        }
    } else {
        let now = pass.now();
        let name = format!("deploy_{}", now.strftime("%Y%m%d_%H%M%S"));
        let start_ms = now.as_millisecond();
        let tags = tags(pass, &key, outcome);
        let run_id = match pass
            .ws
            .create_run(&experiment_id, &name, start_ms, &tags)
            .await
        {
            Ok(id) => id,
            Err(e) => return Err(StepResult::from_workspace(&e)),
        };
        if let Err(e) = pass
            .ws
            .end_run(&run_id, outcome, pass.now().as_millisecond())
            .await
        {
            return Err(StepResult::from_workspace(&e));
        }
        AuditRecord {
            run_id,
            run_name: name,
            experiment_id,
            promotion: key,
        }
    };
    if outcome == "FINISHED" {
        pass.status.audit = Some(record.clone());
    }
    Ok(record)
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
    tags
}
