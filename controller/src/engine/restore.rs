//! Putting the workspace back to a [`Target`]: the app's deployment, the serving endpoint's
//! config, then the alias — the reverse order of a release — each write answered or read back,
//! each object left alone when it already matches (so a restore resumed after a failed write
//! skips what is done). Used by a rollback (to the last good release, or, with none, to what
//! the release found) and by a pass that finds another identity left unfinished.
//!
//! A target "as found" where the app ran no deployment stops the app, and one where the serving
//! endpoint did not exist deletes the endpoint: neither keeps serving the version that is being
//! undone.

use agentrelease_api::conditions::reasons;

use super::change::Change;
use super::effects::{Applied, Cause, Effect};
use super::in_flight::Target;
use super::pass::{Clock, Pass, StepResult};
use super::states::{ComputeState, ConfigUpdate, DeploymentState};
use super::steps::{deploy, endpoint};
use super::workspace::{Workspace, WorkspaceError};

/// Puts the app, the endpoint and the alias back to `target`; returns one line per object
/// saying what was done, or the result that stops the restore for now (retried next pass).
pub async fn to_target<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    target: &Target,
) -> Result<Vec<String>, StepResult> {
    let mut done = Vec::new();
    app(pass, target, &mut done).await?;
    serving_endpoint(pass, target, &mut done).await?;
    alias(pass, target.alias(), &mut done).await?;
    Ok(done)
}

fn failed(e: &WorkspaceError) -> StepResult {
    StepResult::from_workspace(e)
}

/// The app back on the target's deployment (or stopped, where the target ran none).
async fn app<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    target: &Target,
    done: &mut Vec<String>,
) -> Result<(), StepResult> {
    let Some(spec) = pass.ctx.spec.app.as_ref() else {
        return Ok(());
    };
    let name = spec.name.clone();
    let snapshot = target.app().filter(|s| s.name == name).cloned();
    if snapshot.is_none() && !matches!(target, Target::AsFound(_)) {
        return Ok(());
    }
    let info = pass.ws.get_app(&name).await.map_err(|e| failed(&e))?;
    let Some(info) = info else {
        done.push(format!("app {name} is gone; nothing to restore"));
        return Ok(());
    };
    let Some(snapshot) = snapshot else {
        // As found: the app ran no deployment (or did not exist): it serves nothing.
        let stopped = matches!(
            info.compute_state,
            Some(ComputeState::Stopped | ComputeState::Stopping)
        );
        if stopped {
            done.push(format!("app {name} is stopped"));
            return Ok(());
        }
        match pass
            .effect(Change::StopApp { name: name.clone() }, Cause::Progress)
            .await
        {
            Ok(_) => done.push(format!(
                "app {name} stopped (it ran no deployment before the release)"
            )),
            Err(e) => return Err(failed(&e)),
        }
        return Ok(());
    };
    let request = snapshot.request();
    if info
        .active_deployment
        .as_ref()
        .is_some_and(|d| deploy::carries(d, &request))
    {
        done.push(format!("app {name} runs the restored deployment"));
        return Ok(());
    }
    if let Some(pending) = info
        .pending_deployment
        .as_ref()
        .filter(|d| d.state == DeploymentState::InProgress)
    {
        if deploy::requests(pending, &request) {
            done.push(format!(
                "app {name} is redeploying the restored release (deployment {})",
                pending.id
            ));
            return Ok(());
        }
        return Err(StepResult::Failed {
            reason: reasons::TRANSIENT_ERROR,
            message: format!(
                "deployment {} of app {name} is in flight; the restored one is deployed after it",
                pending.id
            ),
        });
    }
    let change = Change::Deploy {
        app: name.clone(),
        request: request.clone(),
        diff: deploy::deployment_diff(info.active_deployment.as_ref(), &request),
    };
    match pass.effect(change, Cause::Progress).await {
        Ok(Effect::Applied(Applied::Deployment(d))) => done.push(format!(
            "app {name} redeploys {} (deployment {})",
            request.source_code_path, d.id
        )),
        Ok(_) => done.push(format!("app {name} would be redeployed")),
        Err(e) => return Err(failed(&e)),
    }
    Ok(())
}

/// The serving endpoint back on the target's config (deleted, where the target had none).
async fn serving_endpoint<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    target: &Target,
    done: &mut Vec<String>,
) -> Result<(), StepResult> {
    let Some(spec) = pass.ctx.spec.serving_endpoint.as_ref() else {
        return Ok(());
    };
    let name = spec.name.clone();
    let want = target.endpoint().filter(|s| s.name == name).cloned();
    let absent_before = matches!(target, Target::AsFound(b) if !b.endpoint_existed);
    if want.is_none() && !absent_before {
        return Ok(());
    }
    let current = pass.ws.get_endpoint(&name).await.map_err(|e| failed(&e))?;
    let Some(current) = current else {
        done.push(format!(
            "serving endpoint {name} is gone; nothing to restore"
        ));
        return Ok(());
    };
    let Some(want) = want else {
        match pass
            .effect(
                Change::DeleteEndpoint { name: name.clone() },
                Cause::Progress,
            )
            .await
        {
            Ok(_) => done.push(format!(
                "serving endpoint {name} deleted (it did not exist before the release)"
            )),
            Err(e) => return Err(failed(&e)),
        }
        return Ok(());
    };
    if current
        .config
        .as_ref()
        .is_some_and(|c| endpoint::same_config(c, &want.config))
    {
        done.push(format!(
            "serving endpoint {name} serves the restored config"
        ));
        return Ok(());
    }
    if current.config_update == Some(ConfigUpdate::InProgress) {
        return Err(StepResult::Failed {
            reason: reasons::TRANSIENT_ERROR,
            message: format!(
                "serving endpoint {name} is applying an update; the restored config is sent after it"
            ),
        });
    }
    let diff = endpoint::config_diff(current.config.as_ref(), &want.config);
    let change = Change::UpdateEndpoint {
        name: name.clone(),
        config: want.config.clone(),
        diff: diff.clone(),
    };
    match pass.effect(change, Cause::Progress).await {
        Ok(_) => done.push(format!(
            "serving endpoint {name} goes back to the restored config ({})",
            diff.join(", ")
        )),
        Err(e) => return Err(failed(&e)),
    }
    Ok(())
}

/// The alias back on `to` (removed when `None`).
pub async fn alias<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    to: Option<i64>,
    done: &mut Vec<String>,
) -> Result<(), StepResult> {
    let model = pass.ctx.model().to_string();
    let alias = pass.ctx.spec.model.alias.clone();
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
    let shown = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_else(|| "(none)".into());
    done.push(match to {
        Some(v) => format!("{model}@{alias} at version {v} (was {})", shown(current)),
        None => format!(
            "{model}@{alias} removed (it did not exist before; was {})",
            shown(current)
        ),
    });
    Ok(())
}
