//! Alias promotion (`AliasPromoted`): the alias points at the release's model version, in Unity
//! Catalog or the workspace registry by the model name's form. Moved only when it differs (the
//! effect module reads it back); a hand-made move on a promoted release is drift. The model
//! version was checked by the preflight. A move to a lower version than the alias points at is
//! not blocked (a deliberate revert passes the same gates) but called out: marked in `plan`, and
//! a Warning Event `AliasDowngrade` when it is made.

use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::status::{HISTORY_LIMIT, HistoryEntry, HistoryOutcome};

use crate::engine::change::Change;
use crate::engine::effects::Effect;
use crate::engine::pass::{Clock, EventType, Pass, StepResult};
use crate::engine::workspace::Workspace;
use crate::engine::steps::StepInfo;

/// What the alias needs: nothing when it already points at `version` (pure).
pub fn decide(model: &str, alias: &str, current: Option<i64>, version: i64) -> Option<Change> {
    (current != Some(version)).then(|| Change::SetAlias {
        model: model.to_string(),
        alias: alias.to_string(),
        from: current,
        to: version,
    })
}

/// The step's place in the pipeline.
pub const INFO: StepInfo = StepInfo {
    name: "promote",
    condition: agentrelease_api::conditions::types::ALIAS_PROMOTED,
    phase: agentrelease_api::conditions::Phase::Promoting,
    ..StepInfo::DEFAULT
};

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let model = pass.ctx.model().to_string();
    let alias = pass.ctx.spec.model.alias.clone();
    let version = pass.ctx.spec.model.version;
    let generation = pass.ctx.identity.generation;

    // Read once per pass: the plan step, when it ran in this pass, read it just now.
    let current = match pass.seen.alias {
        Some(current) => current,
        None => match pass.ws.get_alias(&model, &alias).await {
            Ok(v) => v,
            Err(e) => return StepResult::from_workspace(&e),
        },
    };
    pass.seen.alias = Some(current);
    let previous = pass
        .status
        .plan
        .as_ref()
        .filter(|p| p.generation == generation)
        .and_then(|p| p.alias_from)
        .or(pass
            .old
            .previous_version
            .filter(|_| pass.was_done(types::ALIAS_PROMOTED)));

    let Some(change) = decide(&model, &alias, current, version) else {
        pass.artifacts.alias_now = Some(current);
        pass.status.promoted_version = Some(version);
        pass.status.previous_version = previous;
        return StepResult::done(
            reasons::PROMOTED,
            promoted_message(&model, &alias, version, previous),
        );
    };
    let shown = current
        .map(|v| v.to_string())
        .unwrap_or_else(|| "(none)".into());
    let cause = pass.cause(types::ALIAS_PROMOTED, || {
        format!("alias {model}@{alias} points at {shown}, not {version}")
    });
    let drift = cause != crate::engine::effects::Cause::Progress;
    let downgrade = change.is_downgrade();
    match pass.effect(change, cause).await {
        Ok(Effect::Applied(_)) => {
            if downgrade {
                let n = pass.ctx.n();
                pass.event(
                    EventType::Warning,
                    reasons::ALIAS_DOWNGRADE,
                    format!(
                        "{model}@{alias} moved down from version {shown} to version {version} (N={n}): a revert, gated like any release"
                    ),
                );
            }
        }
        Ok(Effect::Planned) => return StepResult::done(reasons::PROMOTED, "would move the alias"),
        Ok(Effect::Reported) => {
            pass.artifacts.alias_now = Some(current);
            pass.status.promoted_version = Some(version);
            pass.status.previous_version = previous;
            return StepResult::done(
                reasons::PROMOTED,
                promoted_message(&model, &alias, version, previous),
            );
        }
        Err(e) => return StepResult::from_workspace(&e),
    }
    pass.artifacts.alias_now = Some(Some(version));
    let previous = if drift {
        previous
    } else {
        previous.or(current)
    };
    pass.status.promoted_version = Some(version);
    pass.status.previous_version = previous;
    if !drift {
        push_history(pass, version, previous);
    }
    StepResult::done(
        reasons::PROMOTED,
        promoted_message(&model, &alias, version, previous),
    )
}

fn promoted_message(model: &str, alias: &str, version: i64, previous: Option<i64>) -> String {
    match previous {
        Some(p) if p != version => format!("{model}@{alias} -> version {version} (was {p})"),
        _ => format!("{model}@{alias} -> version {version}"),
    }
}

fn push_history<W, C: Clock>(pass: &mut Pass<'_, W, C>, version: i64, previous: Option<i64>) {
    let entry = HistoryEntry {
        generation: pass.ctx.identity.generation,
        version: pass.ctx.n(),
        model_version: version,
        previous_version: previous,
        plan_path: pass.status.plan.as_ref().map(|p| p.path.clone()),
        deployment_id: None,
        outcome: HistoryOutcome::Promoted,
        at: agentrelease_api::condition::truncate_to_seconds(pass.now()),
    };
    pass.status.history.push(entry);
    let excess = pass.status.history.len().saturating_sub(HISTORY_LIMIT);
    pass.status.history.drain(..excess);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_promoted_alias_needs_no_change() {
        assert_eq!(decide("m", "champion", Some(12), 12), None);
        assert_eq!(
            decide("m", "champion", Some(11), 12),
            Some(Change::SetAlias {
                model: "m".into(),
                alias: "champion".into(),
                from: Some(11),
                to: 12
            })
        );
        assert!(decide("m", "champion", None, 12).is_some());
    }
}
