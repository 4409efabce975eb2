//! What deleting an AgentRelease does in the workspace, by its deletion policy: `Retain` leaves
//! everything; `Delete` removes the alias this release set (only if it still points at the
//! release's version) and the app and serving endpoint the release created (not adopted ones).
//! A suspended release never touches the workspace.

use agentrelease_api::AgentRelease;
use agentrelease_api::release::DeletionPolicy;

use super::workspace::{Workspace, WorkspaceError, WorkspaceErrorKind};

/// Removes what the release owns; returns what was done, one line each.
pub async fn cleanup<W: Workspace>(
    release: &AgentRelease,
    ws: &W,
) -> Result<Vec<String>, WorkspaceError> {
    let spec = &release.spec;
    if spec.policy.suspend || spec.policy.deletion == DeletionPolicy::Retain {
        return Ok(Vec::new());
    }
    let status = release.status.clone().unwrap_or_default();
    let mut done = Vec::new();
    let model = &spec.model.name;
    let alias = &spec.model.alias;
    let version = spec.model.version;
    if status.promoted_version == Some(version)
        && ws.get_alias(model, alias).await? == Some(version)
    {
        ws.delete_alias(model, alias).await?;
        done.push(format!("removed {model}@{alias} (version {version})"));
    }
    let created = status.created.unwrap_or_default();
    if let Some(app) = created
        .app
        .filter(|a| spec.app.as_ref().is_some_and(|s| &s.name == a))
    {
        ignore_missing(ws.delete_app(&app).await)?;
        done.push(format!("deleted app {app}"));
    }
    if let Some(endpoint) = created
        .serving_endpoint
        .filter(|e| spec.serving_endpoint.as_ref().is_some_and(|s| &s.name == e))
    {
        ignore_missing(ws.delete_endpoint(&endpoint).await)?;
        done.push(format!("deleted serving endpoint {endpoint}"));
    }
    Ok(done)
}

fn ignore_missing(result: Result<(), WorkspaceError>) -> Result<(), WorkspaceError> {
    match result {
        Err(e) if e.kind == WorkspaceErrorKind::NotFound => Ok(()),
        other => other,
    }
}
