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
//! Without a recorded last good release the workspace goes back to what the release found
//! before its first write, as the ledger kept it while the release was in flight
//! ([`super::in_flight`]): the alias back or removed, the app's earlier deployment (or the app
//! stopped, where it ran none), the endpoint's earlier config (or the endpoint deleted, where
//! there was none). Records from before that was kept: the alias goes back to where the plan
//! found it and the app and endpoint are left as they are; the message says so.
//!
//! The restore is level-based: a pass whose write failed leaves the rollback `inProgress` in
//! status, and the next pass resumes it, skipping what already matches.

use agentrelease_api::conditions::reasons;
use agentrelease_api::status::{HistoryOutcome, RollbackRecord};

use super::change::{Change, RunOutcome};
use super::effects::Cause;
use super::in_flight::{Before, Target};
use super::ledger::{Hold, LastGood, Owned, Record};
use super::pass::{Clock, Pass, StepResult};
use super::rollback_target::{before_this, last_good, recorded, restoring};
use super::steps::audit;
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

/// Restores (or goes on restoring) the last good release — with none, the workspace as the
/// release found it before its first write, when the ledger kept that — then holds.
pub async fn restore<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    what: String,
) -> StepResult {
    let last_good = restoring(pass);
    let target = match &last_good {
        Some(l) => Some(Target::LastGood(Box::new(l.clone()))),
        None => as_found(pass).map(|b| Target::AsFound(Box::new(b))),
    };
    let (mut restored, to) = match &target {
        Some(t) => match super::restore::to_target(pass, t).await {
            Ok(done) => (done, t.alias()),
            Err(stop) => return unfinished(pass, &what, stop),
        },
        None => {
            // Neither: the alias goes back to where the plan found it; the app and the
            // endpoint are left as they are.
            let from = pass.ctx.spec.model.version;
            let to = pass
                .status
                .plan
                .as_ref()
                .filter(|p| p.generation == pass.ctx.identity.generation)
                .and_then(|p| p.alias_from)
                .or(pass.status.previous_version)
                .filter(|v| *v != from);
            let mut done = Vec::new();
            if let Err(stop) = super::restore::alias(pass, to, &mut done).await {
                return unfinished(pass, &what, stop);
            }
            (done, to)
        }
    };
    if let Err(e) = record_hold(pass, &what, last_good.as_ref()).await {
        return unfinished(pass, &what, StepResult::from_workspace(&e));
    }
    if target.is_none() {
        let me = pass.ctx.identity.key();
        restored.push(
            if recorded(pass).is_some_and(|l| l.claim.release == me) {
                "the ledger records no release of this alias before this one: the app and the serving endpoint were left as they are (nothing earlier to go back to)"
            } else {
                "no last good release is recorded for this alias: the app and the serving endpoint were left as they are"
            }
            .to_string(),
        );
    } else if last_good.is_none() {
        restored.push("no last good release is recorded for this alias: the workspace went back to what the release found before its first write".to_string());
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

/// What this release found before its first write, as the ledger's alias record keeps it
/// while the release is in flight.
fn as_found<W, C>(pass: &Pass<'_, W, C>) -> Option<Before> {
    let me = pass.ctx.identity.key();
    pass.artifacts
        .alias_record()
        .and_then(|r| r.in_flight.as_ref())
        .filter(|f| f.release == me)
        .map(|f| f.before.clone())
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
    let in_flight = current
        .as_ref()
        .and_then(|r| r.in_flight.clone())
        .filter(|f| f.release != hold.release);
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
        in_flight,
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
            in_flight: None,
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
