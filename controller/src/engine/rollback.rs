//! Rollback after a failed deployment or verification: restore the last good release of the
//! alias as a whole — the app's deployment (its source, command and environment, with its
//! `MLFLOW_ACTIVE_MODEL_ID`), the serving endpoint's served entities and traffic, then the alias —
//! in the reverse order of a release, each write answered or read back. The hold is recorded in
//! status and in the workspace's ledger, so `apply` and a restarted controller keep holding until
//! the spec or the artifacts change.
//!
//! A release rolled back after it was Ready (`policy.followUpstreamRollback`) is itself the last
//! good release in the ledger; the release before it, kept there as its `previous`, is restored
//! the same way.
//!
//! Without a recorded last good release the alias goes back to where it pointed before the
//! release (from the plan; removed when it had no version) and the app and endpoint are left as
//! they are; the message says so.
//!
//! The restore is level-based: a pass whose write failed leaves the rollback `inProgress` in
//! status, and the next pass resumes it, skipping what already matches.

use agentrelease_api::conditions::reasons;
use agentrelease_api::status::{HistoryOutcome, RollbackRecord};

use super::change::{Change, RunOutcome};
use super::effects::{Applied, Cause, Effect};
use super::ledger::{Hold, LastGood, Owned, Record};
use super::pass::{Clock, Pass, StepResult};
use super::rollback_target::{before_this, last_good, recorded, restoring};
use super::states::{ConfigUpdate, DeploymentState};
use super::steps::{audit, deploy, endpoint};
use super::workspace::{Workspace, WorkspaceError};

/// Rolls back (when the policy asks for it) and returns the step's result; `failure_reason` is
/// the reason to block with when the policy does not roll back.
pub async fn on_failure<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    failure_reason: &'static str,
    what: String,
) -> StepResult {
    if !pass.ctx.spec.policy.rollback_on_failure {
        return StepResult::blocked(failure_reason, what);
    }
    let last_good = last_good(pass);
    start(pass, what, last_good).await
}

/// Rolls a release back after it was Ready (a downstream release following its upstream's
/// rollback, `policy.followUpstreamRollback`): the ledger names this release the last good
/// one, so the release before it (kept as its `previous`) is restored whole.
pub async fn roll_back<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    what: String,
) -> StepResult {
    let before = before_this(pass);
    start(pass, what, before).await
}

/// Records the rollback to `last_good`, then restores.
async fn start<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    what: String,
    last_good: Option<LastGood>,
) -> StepResult {
    pass.status.rollback = Some(RollbackRecord {
        from_version: pass.ctx.spec.model.version,
        to_version: None,
        reason: what.clone(),
        at: agentrelease_api::condition::truncate_to_seconds(pass.now()),
        generation: pass.ctx.identity.generation,
        fingerprint: pass.artifacts.fingerprint(),
        restored_release: last_good.as_ref().map(LastGood::describe),
        restored: Vec::new(),
        in_progress: true,
    });
    restore(pass, what).await
}

/// The message of a release held after a rollback.
pub fn held_message(record: &RollbackRecord) -> String {
    let target = match (&record.restored_release, record.to_version) {
        (Some(release), _) => format!("restored {release}"),
        (None, Some(v)) => format!("alias moved back to version {v}"),
        (None, None) => "alias removed (it had no version before)".to_string(),
    };
    format!(
        "rolled back from version {} at {}: {}; {target}; held until the spec or the artifacts change",
        record.from_version,
        record.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        record.reason
    )
}

/// Restores (or goes on restoring) the last good release, then holds.
pub async fn restore<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    what: String,
) -> StepResult {
    let last_good = restoring(pass);
    let mut restored = Vec::new();
    if let Err(stop) = restore_app(pass, last_good.as_ref(), &mut restored).await {
        return unfinished(pass, &what, stop);
    }
    if let Err(stop) = restore_endpoint(pass, last_good.as_ref(), &mut restored).await {
        return unfinished(pass, &what, stop);
    }
    let to = match restore_alias(pass, last_good.as_ref(), &mut restored).await {
        Ok(to) => to,
        Err(stop) => return unfinished(pass, &what, stop),
    };
    if let Err(e) = record_hold(pass, &what, last_good.as_ref()).await {
        return unfinished(pass, &what, StepResult::from_workspace(&e));
    }
    if last_good.is_none() {
        let me = pass.ctx.identity.key();
        restored.push(
            if recorded(pass).is_some_and(|l| l.claim.release == me) {
                "the ledger records no release of this alias before this one: the app and the serving endpoint were left as they are (nothing earlier to go back to)"
            } else {
                "no last good release is recorded for this alias: the app and the serving endpoint were left as they are"
            }
            .to_string(),
        );
    }
    let Some(record) = pass.status.rollback.as_mut() else {
        return StepResult::blocked(reasons::ROLLED_BACK, what);
    };
    record.to_version = to;
    record.restored = restored.iter().take(8).cloned().collect();
    record.in_progress = false;
    let message = format!("{what}; {}", restored.join("; "));
    let record = record.clone();
    pass.status.promoted_version = to;
    if let Some(last) = pass.status.history.last_mut()
        && last.generation == pass.ctx.identity.generation
    {
        last.outcome = HistoryOutcome::RolledBack;
    }
    // Best effort: the audit trail records the failed promotion. A failure to log is not a
    // reason to undo the rollback; the next pass is held and does not retry it.
    let _ = audit::log(pass, RunOutcome::Failed).await;
    StepResult::blocked(
        reasons::ROLLED_BACK,
        format!(
            "{message}; held until the spec or the artifacts change (from version {})",
            record.from_version
        ),
    )
}

/// A restore that could not finish in this pass: retried (the rollback stays in progress).
fn unfinished<W, C>(pass: &mut Pass<'_, W, C>, what: &str, stop: StepResult) -> StepResult {
    let _ = pass;
    match stop {
        StepResult::Failed { reason, message }
        | StepResult::Waiting {
            reason, message, ..
        } => StepResult::Failed {
            reason,
            message: format!("{what}; rolling back: {message}"),
        },
        StepResult::Blocked { reason, message } => StepResult::Blocked {
            reason,
            message: format!("{what}; rolling back: {message}"),
        },
        other => other,
    }
}

fn failed(e: &WorkspaceError) -> StepResult {
    StepResult::from_workspace(e)
}

/// The app back on the last good release's deployment.
async fn restore_app<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    last_good: Option<&LastGood>,
    restored: &mut Vec<String>,
) -> Result<(), StepResult> {
    let (Some(snapshot), Some(app)) = (
        last_good.and_then(|l| l.app.as_ref()),
        pass.ctx.spec.app.as_ref(),
    ) else {
        return Ok(());
    };
    if snapshot.name != app.name {
        return Ok(());
    }
    let request = snapshot.request();
    let info = pass.ws.get_app(&app.name).await.map_err(|e| failed(&e))?;
    let Some(info) = info else {
        restored.push(format!("app {} is gone; nothing to restore", app.name));
        return Ok(());
    };
    if info
        .active_deployment
        .as_ref()
        .is_some_and(|d| deploy::carries(d, &request))
    {
        restored.push(format!(
            "app {} runs the last good deployment again",
            app.name
        ));
        return Ok(());
    }
    if let Some(pending) = info
        .pending_deployment
        .as_ref()
        .filter(|d| d.state == DeploymentState::InProgress)
    {
        if deploy::requests(pending, &request) {
            restored.push(format!(
                "app {} is redeploying the last good release (deployment {})",
                app.name, pending.id
            ));
            return Ok(());
        }
        return Err(StepResult::Failed {
            reason: reasons::TRANSIENT_ERROR,
            message: format!(
                "deployment {} of app {} is in flight; the last good one is deployed after it",
                pending.id, app.name
            ),
        });
    }
    let change = Change::Deploy {
        app: app.name.clone(),
        request: request.clone(),
        diff: deploy::deployment_diff(info.active_deployment.as_ref(), &request),
    };
    match pass.effect(change, Cause::Progress).await {
        Ok(Effect::Applied(Applied::Deployment(d))) => restored.push(format!(
            "app {} redeploys the last good release from {} (deployment {})",
            app.name, request.source_code_path, d.id
        )),
        Ok(_) => restored.push(format!(
            "app {} would redeploy the last good release",
            app.name
        )),
        Err(e) => return Err(failed(&e)),
    }
    Ok(())
}

/// The serving endpoint back on the last good release's served entities and traffic.
async fn restore_endpoint<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    last_good: Option<&LastGood>,
    restored: &mut Vec<String>,
) -> Result<(), StepResult> {
    let (Some(snapshot), Some(spec)) = (
        last_good.and_then(|l| l.endpoint.as_ref()),
        pass.ctx.spec.serving_endpoint.as_ref(),
    ) else {
        return Ok(());
    };
    if snapshot.name != spec.name {
        return Ok(());
    }
    let want = snapshot.config.clone();
    let current = pass
        .ws
        .get_endpoint(&spec.name)
        .await
        .map_err(|e| failed(&e))?;
    let Some(current) = current else {
        restored.push(format!(
            "serving endpoint {} is gone; nothing to restore",
            spec.name
        ));
        return Ok(());
    };
    if current
        .config
        .as_ref()
        .is_some_and(|c| endpoint::same_config(c, &want))
    {
        restored.push(format!(
            "serving endpoint {} serves the last good config",
            spec.name
        ));
        return Ok(());
    }
    if current.config_update == Some(ConfigUpdate::InProgress) {
        return Err(StepResult::Failed {
            reason: reasons::TRANSIENT_ERROR,
            message: format!(
                "serving endpoint {} is applying an update; the last good config is sent after it",
                spec.name
            ),
        });
    }
    let diff = endpoint::config_diff(current.config.as_ref(), &want);
    let change = Change::UpdateEndpoint {
        name: spec.name.clone(),
        config: want,
        diff: diff.clone(),
    };
    match pass.effect(change, Cause::Progress).await {
        Ok(_) => restored.push(format!(
            "serving endpoint {} goes back to the last good config ({})",
            spec.name,
            diff.join(", ")
        )),
        Err(e) => return Err(failed(&e)),
    }
    Ok(())
}

/// The alias back on the last good release's version (or where it was before the release).
async fn restore_alias<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    last_good: Option<&LastGood>,
    restored: &mut Vec<String>,
) -> Result<Option<i64>, StepResult> {
    let model = pass.ctx.model().to_string();
    let alias = pass.ctx.spec.model.alias.clone();
    let from = pass.ctx.spec.model.version;
    let to = match last_good {
        Some(l) => Some(l.claim.model_version),
        None => pass
            .status
            .plan
            .as_ref()
            .filter(|p| p.generation == pass.ctx.identity.generation)
            .and_then(|p| p.alias_from)
            .or(pass.status.previous_version)
            .filter(|v| *v != from),
    };
    let current = pass
        .ws
        .get_alias(&model, &alias)
        .await
        .map_err(|e| failed(&e))?;
    let change = match (to, current) {
        (Some(v), Some(c)) if v == c => None,
        (None, None) => None,
        (Some(v), c) => Some(Change::SetAlias {
            model: model.clone(),
            alias: alias.clone(),
            from: c,
            to: v,
        }),
        (None, Some(c)) => Some(Change::DeleteAlias {
            model: model.clone(),
            alias: alias.clone(),
            from: c,
        }),
    };
    if let Some(change) = change
        && let Err(e) = pass.effect(change, Cause::Progress).await
    {
        return Err(failed(&e));
    }
    restored.push(match to {
        Some(v) => format!("{model}@{alias} moved back from version {from} to {v}"),
        None => format!("{model}@{alias} removed (it had no version before version {from})"),
    });
    Ok(to)
}

/// The hold, in the workspace: this release with this spec and these artifacts stays held, and
/// the restored release owns its objects again (so it keeps them as restored, and this release
/// takes them back only with a new spec or new artifacts).
async fn record_hold<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    what: &str,
    last_good: Option<&LastGood>,
) -> Result<(), WorkspaceError> {
    if let Some(owner) = last_good.map(|l| l.claim.clone()) {
        return_ownership(pass, &owner).await?;
    }
    let object = Owned::Alias {
        model: pass.ctx.model().to_string(),
        alias: pass.ctx.spec.model.alias.clone(),
    };
    let current = pass.artifacts.alias_record().cloned();
    let me = pass.ctx.claim(pass.now());
    let hold = Hold {
        release: me.release.clone(),
        spec_digest: pass.ctx.spec_digest(),
        fingerprint: pass.artifacts.fingerprint(),
        reason: what.chars().take(500).collect(),
        at: agentrelease_api::condition::truncate_to_seconds(pass.now()).to_string(),
    };
    if current
        .as_ref()
        .and_then(|r| r.hold.as_ref())
        .is_some_and(|h| {
            h.release == hold.release
                && h.spec_digest == hold.spec_digest
                && h.fingerprint == hold.fingerprint
        })
    {
        return Ok(());
    }
    let owner = last_good
        .map(|l| l.claim.clone())
        .or_else(|| current.as_ref().and_then(|r| r.owner.clone()))
        .unwrap_or(me);
    let announces_plans = current
        .as_ref()
        .is_some_and(|r| r.owner.as_ref() == Some(&owner) && r.announces_plans);
    let (kept, plan) = current.map(|r| (r.last_good, r.plan)).unwrap_or_default();
    // Rolled back after it was Ready: the restored release is the last good one again.
    let kept = match (kept, last_good) {
        (Some(k), Some(restored)) if k.claim.release == hold.release => Some(restored.clone()),
        (kept, _) => kept,
    };
    let record = Record {
        owner: Some(owner),
        last_good: kept,
        hold: Some(hold),
        plan,
        announces_plans,
    };
    let change = Change::WriteLedger {
        path: object.path(pass.ctx.ledger_root()),
        content: record.render(),
        replace: true,
        summary: format!(
            "hold {} on {} after the rollback",
            pass.ctx.identity.key(),
            object.describe()
        ),
    };
    pass.effect(change, Cause::Progress).await?;
    if let Some((_, slot)) = pass
        .artifacts
        .ledger
        .iter_mut()
        .find(|(o, _)| matches!(o, Owned::Alias { .. }))
    {
        *slot = Some(record);
    }
    Ok(())
}

/// The app and endpoint records that name this release go back to the restored release.
async fn return_ownership<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    owner: &super::ledger::Claim,
) -> Result<(), WorkspaceError> {
    let me = pass.ctx.identity.key();
    let records: Vec<(Owned, Record)> = pass
        .artifacts
        .ledger
        .iter()
        .filter(|(o, _)| !matches!(o, Owned::Alias { .. }))
        .filter_map(|(o, r)| r.clone().map(|r| (o.clone(), r)))
        .filter(|(_, r)| r.owned_by(&me))
        .collect();
    for (object, record) in records {
        let returned = Record {
            owner: Some(owner.clone()),
            last_good: record.last_good,
            hold: None,
            plan: None,
            announces_plans: false,
        };
        let change = Change::WriteLedger {
            path: object.path(pass.ctx.ledger_root()),
            content: returned.render(),
            replace: true,
            summary: format!(
                "return {} to {} after the rollback",
                object.describe(),
                owner.describe()
            ),
        };
        pass.effect(change, Cause::Progress).await?;
        if let Some((_, slot)) = pass.artifacts.ledger.iter_mut().find(|(o, _)| *o == object) {
            *slot = Some(returned);
        }
    }
    Ok(())
}
