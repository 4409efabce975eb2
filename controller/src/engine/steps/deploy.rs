//! App deployment (`AppDeployed`): the app's active deployment carries the release — the source
//! code path (SNAPSHOT), the command, and the environment with `MLFLOW_ACTIVE_MODEL_ID`,
//! `ENABLE_MLFLOW_TRACING`, `MLFLOW_EXPERIMENT_ID`, `APP_ENVIRONMENT`, the gateway variables and
//! the release's own. A deployment in flight is polled on later passes (short, growing interval);
//! a second one is never started while one is in flight; a matching active deployment is left
//! alone.

use std::time::Duration;

use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::status::{DeploymentPhase, DeploymentRecord};

use crate::engine::app_yaml;
use crate::engine::change::Change;
use crate::engine::desired;
use crate::engine::effects::{Applied, Cause, Effect};
use crate::engine::fingerprint;
use crate::engine::pass::{Clock, EventType, Pass, StepResult};
use crate::engine::rollback;
use crate::engine::states::DeploymentState;
use crate::engine::steps::audit;
use crate::engine::verification::health;
use crate::engine::workspace::{
    DeploymentInfo, DeploymentRequest, EnvEntry, Workspace, WorkspaceErrorKind,
};
use crate::engine::steps::StepInfo;

/// First poll interval of a deployment in flight; doubles up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_secs(2);
/// Longest poll interval.
const MAX_POLL: Duration = Duration::from_secs(30);

/// The step's place in the pipeline.
pub const INFO: StepInfo = StepInfo {
    name: "deploy",
    condition: agentrelease_api::conditions::types::APP_DEPLOYED,
    phase: agentrelease_api::conditions::Phase::Deploying,
    applies: |ctx| ctx.spec.app.is_some(),
    ..StepInfo::DEFAULT
};

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let Some(app_spec) = pass.ctx.spec.app.clone() else {
        return StepResult::NotApplicable;
    };
    let experiment_id = match audit::experiment_id(pass).await {
        Ok(id) => id,
        Err(result) => return result,
    };
    let env = desired::app_env(
        pass.ctx,
        pass.artifacts.model_id.as_deref(),
        experiment_id.as_deref(),
    );
    let request = DeploymentRequest {
        source_code_path: app_spec.source_code_path.clone(),
        command: app_spec.command.clone(),
        env,
    };
    // The record of our last deployment matches only this request with these artifacts, so new
    // artifacts (which lift a rollback hold) get a new attempt.
    let config = request_digest(&request, &pass.artifacts.fingerprint());
    let generation = pass.ctx.identity.generation;
    let Some(mut app) = pass.artifacts.app.clone() else {
        // The app does not exist yet (plan).
        let mut diff: Vec<String> = desired::env_lines(&request.env)
            .into_iter()
            .map(|l| format!("+ {l}"))
            .collect();
        let (note, lines) = app_yaml_note(pass, &app_spec).await;
        diff.extend(lines);
        let change = Change::Deploy {
            app: app_spec.name.clone(),
            request,
            diff,
        };
        return match pass.effect(change, Cause::Progress).await {
            Ok(_) => StepResult::done(reasons::DEPLOYED, format!("would deploy the app{note}")),
            Err(e) => StepResult::from_workspace(&e),
        };
    };

    // Our deployment in flight (or just finished) for this config.
    if let Some(mut record) = pass
        .status
        .deployment
        .clone()
        .filter(|d| d.config == config)
    {
        if record.state == DeploymentPhase::InProgress {
            let seen = match pass.ws.get_deployment(&app.name, &record.id).await {
                Ok(d) => d,
                Err(e) => return StepResult::from_workspace(&e),
            };
            match seen {
                Some(d) => {
                    record.state = phase(&d.state);
                    record.message = d.message.clone();
                }
                None => {
                    record.state = DeploymentPhase::Failed;
                    record.message = Some("the deployment disappeared".into());
                }
            }
            pass.status.deployment = Some(record.clone());
            // It finished since the app was read earlier in the pass: read the app again, so
            // its active deployment is the one that just finished.
            if record.state != DeploymentPhase::InProgress {
                match pass.ws.get_app(&app.name).await {
                    Ok(Some(fresh)) => {
                        pass.artifacts.app = Some(fresh.clone());
                        app = fresh;
                    }
                    Ok(None) => {}
                    Err(e) => return StepResult::from_workspace(&e),
                }
            }
        }
        match record.state {
            DeploymentPhase::InProgress => {
                let elapsed = pass.now().duration_since(record.started_at);
                let elapsed = Duration::try_from(elapsed).unwrap_or_default();
                return StepResult::waiting(
                    reasons::WAITING,
                    format!("deployment {} of app {} in progress", record.id, app.name),
                    poll_interval(elapsed),
                );
            }
            DeploymentPhase::Failed | DeploymentPhase::Cancelled
                if record.generation == generation =>
            {
                let health = health_report(pass, &app.name, app.url.clone()).await;
                let what = format!(
                    "deployment {} of app {} {}: {}; {health}",
                    record.id,
                    app.name,
                    phase_str(record.state),
                    record.message.as_deref().unwrap_or("no message")
                );
                pass.event(EventType::Warning, reasons::DEPLOYMENT_FAILED, what.clone());
                return rollback::on_failure(pass, reasons::DEPLOYMENT_FAILED, what).await;
            }
            _ => {}
        }
    }

    // A deployment in flight: never start a second one. When it is this release's (its
    // creation's answer was lost), it is recorded as ours — settled by the read.
    if let Some(pending) = app
        .pending_deployment
        .as_ref()
        .filter(|d| d.state == DeploymentState::InProgress)
    {
        if requests(pending, &request) {
            pass.status.deployment_id = Some(pending.id.clone());
            pass.status.verification = None;
            pass.status.tools_check = None;
            pass.status.deployment = Some(DeploymentRecord {
                id: pending.id.clone(),
                generation,
                config,
                state: DeploymentPhase::InProgress,
                message: pending.message.clone(),
                started_at: agentrelease_api::condition::truncate_to_seconds(pass.now()),
            });
            return StepResult::waiting(
                reasons::WAITING,
                format!(
                    "deployment {} of app {} (this release's) in progress",
                    pending.id, app.name
                ),
                FIRST_POLL,
            );
        }
        return StepResult::waiting(
            reasons::WAITING,
            format!(
                "waiting for deployment {} of app {} to finish",
                pending.id, app.name
            ),
            FIRST_POLL,
        );
    }

    let active = app.active_deployment.clone();
    if let Some(active) = active.as_ref().filter(|a| carries(a, &request)) {
        pass.status.deployment_id = Some(active.id.clone());
        if pass
            .status
            .deployment
            .as_ref()
            .is_none_or(|d| d.id != active.id)
        {
            pass.status.deployment = Some(DeploymentRecord {
                id: active.id.clone(),
                generation,
                config: config.clone(),
                state: phase(&active.state),
                message: active.message.clone(),
                started_at: agentrelease_api::condition::truncate_to_seconds(pass.now()),
            });
        }
        if let Some(last) = pass.status.history.last_mut()
            && last.generation == generation
            && last.deployment_id.is_none()
        {
            last.deployment_id = Some(active.id.clone());
        }
        return StepResult::done(
            reasons::DEPLOYED,
            format!(
                "app {} runs deployment {} of this release",
                app.name, active.id
            ),
        );
    }

    let mut diff = deployment_diff(active.as_ref(), &request);
    let (note, lines) = app_yaml_note(pass, &app_spec).await;
    let cause_diff = diff.join(", ");
    diff.extend(lines);
    let cause = pass.cause(types::APP_DEPLOYED, || {
        format!("app {} deployment differs: {cause_diff}", app.name)
    });
    let change = Change::Deploy {
        app: app.name.clone(),
        request,
        diff,
    };
    let created = match pass.effect(change, cause).await {
        Ok(Effect::Applied(Applied::Deployment(d))) => d,
        Ok(Effect::Reported) => {
            return StepResult::done(
                reasons::DEPLOYED,
                format!("app {} differs (drift reported)", app.name),
            );
        }
        Ok(_) => {
            // The new deployment is verified again.
            pass.status.verification = None;
            pass.status.tools_check = None;
            return StepResult::done(reasons::DEPLOYED, format!("would deploy the app{note}"));
        }
        Err(e) => return StepResult::from_workspace(&e),
    };
    pass.status.deployment_id = Some(created.id.clone());
    pass.status.verification = None;
    pass.status.tools_check = None;
    pass.status.deployment = Some(DeploymentRecord {
        id: created.id.clone(),
        generation,
        config,
        state: phase(&created.state),
        message: created.message.clone(),
        started_at: agentrelease_api::condition::truncate_to_seconds(pass.now()),
    });
    StepResult::waiting(
        reasons::WAITING,
        format!(
            "deployment {} of app {} started{note}",
            created.id, app.name
        ),
        FIRST_POLL,
    )
}

/// What the app's `app.yaml` (or `app.yml`) in its workspace source folder sets that the
/// release also sets: a note for the condition message (`; the release's command and env
/// override <path>: ...`) and one `! <path>: <conflict>` line per conflict for the change's
/// detail (shown by `plan`). The release's values win: the deployment's command and env_vars
/// override the file. Read only when a deployment is about to be made (or planned), so a
/// converged pass reads nothing more; a file that cannot be read or judged is named in the note
/// and never blocks the deployment.
async fn app_yaml_note<W: Workspace, C: Clock>(
    pass: &Pass<'_, W, C>,
    app: &agentrelease_api::release::AppSpec,
) -> (String, Vec<String>) {
    let folder = app.source_code_path.trim_end_matches('/');
    for name in app_yaml::FILE_NAMES {
        let path = format!("{folder}/{name}");
        let text = match pass
            .ws
            .read_workspace_file(&path, app_yaml::MAX_BYTES)
            .await
        {
            Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            Ok(None) => continue,
            Err(e) => return (format!("; {path} not read: {e}"), Vec::new()),
        };
        return match app_yaml::conflicts(&text, app) {
            Ok(conflicts) if conflicts.is_empty() => (String::new(), Vec::new()),
            Ok(conflicts) => (
                format!(
                    "; the release's command and env override {}",
                    app_yaml::summary(&path, &conflicts)
                ),
                conflicts.iter().map(|c| format!("! {path}: {c}")).collect(),
            ),
            Err(e) => (format!("; {path}: {e}"), vec![format!("! {path}: {e}")]),
        };
    }
    (String::new(), Vec::new())
}

/// What a new deployment changes against the active one, one line each (pure).
pub fn deployment_diff(
    active: Option<&DeploymentInfo>,
    request: &DeploymentRequest,
) -> Vec<String> {
    let current_env: Vec<EnvEntry> = active.map(|a| a.env.clone()).unwrap_or_default();
    let mut diff = desired::env_diff(&current_env, &request.env);
    if let Some(a) = active {
        if a.source_code_path.as_deref() != Some(request.source_code_path.as_str()) {
            diff.push(format!(
                "~ source: {} -> {}",
                a.source_code_path.as_deref().unwrap_or("(none)"),
                request.source_code_path
            ));
        }
        if a.command != request.command {
            diff.push(format!(
                "~ command: {:?} -> {:?}",
                a.command, request.command
            ));
        }
    }
    diff
}

/// The status form of a deployment state.
pub fn phase(state: &DeploymentState) -> DeploymentPhase {
    match state {
        DeploymentState::InProgress => DeploymentPhase::InProgress,
        DeploymentState::Succeeded => DeploymentPhase::Succeeded,
        DeploymentState::Failed => DeploymentPhase::Failed,
        DeploymentState::Cancelled => DeploymentPhase::Cancelled,
        DeploymentState::Unknown(_) => DeploymentPhase::Unknown,
    }
}

fn phase_str(p: DeploymentPhase) -> &'static str {
    match p {
        DeploymentPhase::InProgress => "IN_PROGRESS",
        DeploymentPhase::Succeeded => "SUCCEEDED",
        DeploymentPhase::Failed => "FAILED",
        DeploymentPhase::Cancelled => "CANCELLED",
        DeploymentPhase::Unknown => "in an unknown state",
    }
}

/// Short at first, growing with the time the deployment has taken.
pub fn poll_interval(elapsed: Duration) -> Duration {
    (elapsed / 4).clamp(FIRST_POLL, MAX_POLL)
}

/// Whether a deployment that succeeded carries the desired source, command and environment.
pub fn carries(deployment: &DeploymentInfo, want: &DeploymentRequest) -> bool {
    deployment.state == DeploymentState::Succeeded && requests(deployment, want)
}

/// Whether a deployment, whatever its state, was made from this request.
pub fn requests(deployment: &DeploymentInfo, want: &DeploymentRequest) -> bool {
    let mut have = deployment.env.clone();
    have.sort();
    let mut want_env = want.env.clone();
    want_env.sort();
    deployment.source_code_path.as_deref() == Some(want.source_code_path.as_str())
        && deployment.command == want.command
        && have == want_env
}

fn request_digest(request: &DeploymentRequest, artifacts: &str) -> String {
    let mut parts = vec![
        artifacts.to_string(),
        request.source_code_path.clone(),
        request.command.join("\u{1f}"),
    ];
    parts.extend(desired::env_lines(&request.env));
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    fingerprint::digest(&refs)
}

/// The app's compute and app status read again, and the tail of its logs, as a sentence for a
/// failure message. Never fails: what cannot be read is said so.
pub(crate) async fn health_report<W: Workspace, C: Clock>(
    pass: &Pass<'_, W, C>,
    name: &str,
    url: Option<String>,
) -> String {
    let app = pass.ws.get_app(name).await.ok().flatten();
    let compute = app
        .as_ref()
        .and_then(|a| a.compute_state.as_ref())
        .map(|c| c.as_str().to_string());
    let state = app.as_ref().and_then(|a| a.app_state.clone());
    let url = app.and_then(|a| a.url).or(url);
    let (logs, refused) = match url {
        Some(url) => match pass
            .ws
            .smoke_request(&url, health::LOGS_PATH, None, LOGS_TIMEOUT)
            .await
        {
            Ok(r) => (health::tail(r.status, &r.body), None),
            Err(e) if e.kind == WorkspaceErrorKind::UntrustedOrigin => (None, Some(e.message)),
            Err(_) => (None, None),
        },
        None => (None, None),
    };
    let report = health::describe(compute.as_deref(), state.as_deref(), logs.as_deref());
    match refused {
        Some(why) => format!("{report} (not read: {why})"),
        None => report,
    }
}

/// How long the log read may take: a reconcile never waits long on a failing app.
const LOGS_TIMEOUT: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_interval_grows_and_is_bounded() {
        assert_eq!(poll_interval(Duration::ZERO), FIRST_POLL);
        assert_eq!(
            poll_interval(Duration::from_secs(40)),
            Duration::from_secs(10)
        );
        assert_eq!(poll_interval(Duration::from_secs(3600)), MAX_POLL);
    }
}
