//! Rollback after a failed deployment or verification: move the alias back to the version it
//! pointed at before the release (or remove it when there was none), record it, and hold the
//! release (Stalled, reason `RolledBack`) until the spec or the artifacts change.

use agentrelease_api::conditions::reasons;
use agentrelease_api::status::RollbackRecord;

use super::pass::{Clock, Pass, StepResult};
use super::steps::audit;
use super::workspace::Workspace;

/// Rolls back (when the policy asks for it) and returns the step's result; `failure_reason` is
/// the reason to block with when the policy does not roll back.
pub async fn on_failure<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    failure_reason: &'static str,
    what: String,
) -> StepResult {
    if !pass.ctx.spec.policy.rollback_on_failure || !pass.applying() {
        return StepResult::blocked(failure_reason, what);
    }
    let model = pass.ctx.model().to_string();
    let alias = pass.ctx.spec.model.alias.clone();
    let from = pass.ctx.spec.model.version;
    let to = pass
        .status
        .plan
        .as_ref()
        .filter(|p| p.generation == pass.ctx.identity.generation)
        .and_then(|p| p.alias_from)
        .or(pass.status.previous_version)
        .filter(|v| *v != from);
    let moved = match to {
        Some(version) => pass.ws.set_alias(&model, &alias, version).await,
        None => pass.ws.delete_alias(&model, &alias).await,
    };
    if let Err(e) = moved {
        // The alias could not be moved back: retry; the failure stays visible in the message.
        return match StepResult::from_workspace(&e) {
            StepResult::Failed { reason, message } => StepResult::Failed {
                reason,
                message: format!("{what}; rolling back: {message}"),
            },
            other => other,
        };
    }
    let record = RollbackRecord {
        from_version: from,
        to_version: to,
        reason: what.clone(),
        at: agentrelease_api::condition::truncate_to_seconds(pass.now()),
        generation: pass.ctx.identity.generation,
        fingerprint: pass.artifacts.fingerprint(),
    };
    pass.status.rollback = Some(record);
    pass.status.promoted_version = to;
    if let Some(last) = pass.status.history.last_mut()
        && last.generation == pass.ctx.identity.generation
    {
        last.outcome = "RolledBack".to_string();
    }
    // Best effort: the audit trail records the failed promotion. A failure to log is not a
    // reason to undo the rollback; the next pass is held and does not retry it.
    let _ = audit::log(pass, "FAILED").await;
    let target = to
        .map(|v| format!("version {v}"))
        .unwrap_or_else(|| "no version (alias removed)".into());
    StepResult::blocked(
        reasons::ROLLED_BACK,
        format!(
            "{what}; {model}@{alias} moved back from version {from} to {target}; held until the spec or the artifacts change"
        ),
    )
}
