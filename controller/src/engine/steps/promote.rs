//! Alias promotion (`AliasPromoted`): the alias points at the release's model version, in Unity
//! Catalog or the workspace registry by the model name's form. Set only when it differs, read
//! back after setting; a hand-made move on a promoted release is drift.

use std::time::Duration;

use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::release::DriftPolicy;
use agentrelease_api::status::{HISTORY_LIMIT, HistoryEntry};

use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::workspace::Workspace;

/// How soon to look again while a model version is still registering.
const REGISTERING_POLL: Duration = Duration::from_secs(15);

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let model = pass.ctx.model().to_string();
    let alias = pass.ctx.spec.model.alias.clone();
    let version = pass.ctx.spec.model.version;
    let generation = pass.ctx.identity.generation;
    let fingerprint = pass.artifacts.fingerprint();

    // A rollback of this generation and these artifacts holds the release: never flap back.
    if let Some(rollback) = pass.old.rollback.clone() {
        if rollback.generation == generation && rollback.fingerprint == fingerprint {
            let message = format!(
                "rolled back from version {} to {} at {}: {}; held until the spec or the artifacts change",
                rollback.from_version,
                rollback
                    .to_version
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "(alias removed)".into()),
                rollback.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                rollback.reason
            );
            pass.status.rollback = Some(rollback);
            return StepResult::blocked(reasons::ROLLED_BACK, message);
        }
        // New spec or new artifacts: lift the hold; the failed deployment gets a new attempt.
        pass.status.rollback = None;
        pass.status.verification = None;
        if pass
            .status
            .deployment
            .as_ref()
            .is_some_and(|d| d.state != "SUCCEEDED")
        {
            pass.status.deployment = None;
        }
    }

    match pass.ws.get_model_version(&model, version).await {
        Ok(None) => {
            return StepResult::blocked(
                reasons::MODEL_VERSION_MISSING,
                format!("{model} has no version {version}"),
            );
        }
        Ok(Some(mv)) => match mv.status.as_str() {
            "READY" => {}
            "PENDING_REGISTRATION" => {
                return StepResult::waiting(
                    reasons::WAITING,
                    format!("{model} version {version} is still registering"),
                    REGISTERING_POLL,
                );
            }
            other => {
                return StepResult::blocked(
                    reasons::MODEL_VERSION_MISSING,
                    format!("{model} version {version} is {other}, not READY"),
                );
            }
        },
        Err(e) => return StepResult::from_workspace(&e),
    }

    let current = match pass.ws.get_alias(&model, &alias).await {
        Ok(v) => v,
        Err(e) => return StepResult::from_workspace(&e),
    };
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

    if current == Some(version) {
        pass.status.promoted_version = Some(version);
        pass.status.previous_version = previous;
        return StepResult::done(
            reasons::PROMOTED,
            promoted_message(&model, &alias, version, previous),
        );
    }

    let drift = pass.was_done(types::ALIAS_PROMOTED);
    let shown = current
        .map(|v| v.to_string())
        .unwrap_or_else(|| "(none)".into());
    if drift {
        pass.drift.push(format!(
            "alias {model}@{alias} points at {shown}, not {version}"
        ));
        if pass.ctx.spec.policy.drift == DriftPolicy::Report {
            pass.status.promoted_version = Some(version);
            pass.status.previous_version = previous;
            return StepResult::done(
                reasons::PROMOTED,
                promoted_message(&model, &alias, version, previous),
            );
        }
    }
    if !pass.applying() {
        pass.plan(
            "promote",
            format!("move {model}@{alias}: {shown} -> {version}"),
            vec![],
        );
        return StepResult::done(reasons::PROMOTED, "would move the alias");
    }
    if let Err(e) = pass.ws.set_alias(&model, &alias, version).await {
        return StepResult::from_workspace(&e);
    }
    match pass.ws.get_alias(&model, &alias).await {
        Ok(Some(v)) if v == version => {}
        Ok(other) => {
            return StepResult::Failed {
                reason: reasons::TRANSIENT_ERROR,
                message: format!(
                    "{model}@{alias} read back as {} after setting it to {version}",
                    other
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "(none)".into())
                ),
            };
        }
        Err(e) => return StepResult::from_workspace(&e),
    }
    let previous = if drift {
        previous
    } else {
        previous.or(current)
    };
    pass.status.promoted_version = Some(version);
    pass.status.previous_version = previous;
    if drift {
        pass.drift_corrected = true;
    } else {
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
        outcome: "Promoted".to_string(),
        at: agentrelease_api::condition::truncate_to_seconds(pass.now()),
    };
    pass.status.history.push(entry);
    let excess = pass.status.history.len().saturating_sub(HISTORY_LIMIT);
    pass.status.history.drain(..excess);
}
