//! App provisioning (`AppProvisioned`): the app exists (created, or adopted when one of the same
//! name is there), its description and resources are the declared ones, its compute is ACTIVE
//! (started when stopped), and its service principal is known. Never blocks while waiting.

use std::time::Duration;

use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::status::CreatedObjects;
use serde_json::{Value, json};

use crate::engine::change::Change;
use crate::engine::effects::{Cause, Effect};
use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::states::ComputeState;
use crate::engine::workspace::{
    AppDefinition, AppInfo, AppResourceInfo, Workspace, WorkspaceErrorKind,
};
use crate::engine::steps::StepInfo;

/// How soon to look again while compute starts.
const COMPUTE_POLL: Duration = Duration::from_secs(5);

/// The step's place in the pipeline.
pub const INFO: StepInfo = StepInfo {
    name: "app",
    condition: agentrelease_api::conditions::types::APP_PROVISIONED,
    phase: agentrelease_api::conditions::Phase::Deploying,
    applies: |ctx| ctx.spec.app.is_some(),
    ..StepInfo::DEFAULT
};

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let Some(app_spec) = pass.ctx.spec.app.clone() else {
        return StepResult::NotApplicable;
    };
    let definition = definition(pass);
    let app = match pass.ws.get_app(&app_spec.name).await {
        Ok(app) => app,
        Err(e) => return StepResult::from_workspace(&e),
    };
    pass.seen.app = Some(app.clone());
    let app = match app {
        Some(app) => app,
        None => {
            let cause = pass.cause(types::APP_PROVISIONED, || {
                format!("app {} was deleted", app_spec.name)
            });
            match pass
                .effect(Change::CreateApp(definition.clone()), cause)
                .await
            {
                Ok(Effect::Applied(_)) => {
                    let created = pass
                        .status
                        .created
                        .get_or_insert_with(CreatedObjects::default);
                    created.app = Some(app_spec.name.clone());
                    return StepResult::waiting(
                        reasons::WAITING,
                        format!("app {} created; waiting for its compute", app_spec.name),
                        COMPUTE_POLL,
                    );
                }
                Ok(Effect::Planned) => {
                    return StepResult::done(reasons::APP_PROVISIONED, "would create the app");
                }
                Ok(Effect::Reported) => {
                    return StepResult::done(
                        reasons::APP_PROVISIONED,
                        format!("app {} is missing (drift reported)", app_spec.name),
                    );
                }
                // Created concurrently (or by a retried request): adopt it.
                Err(e) if e.kind == WorkspaceErrorKind::AlreadyExists => {
                    match pass.ws.get_app(&app_spec.name).await {
                        Ok(Some(app)) => app,
                        Ok(None) => {
                            return StepResult::waiting(
                                reasons::WAITING,
                                "the app is being created",
                                COMPUTE_POLL,
                            );
                        }
                        Err(e) => return StepResult::from_workspace(&e),
                    }
                }
                Err(e) => return StepResult::from_workspace(&e),
            }
        }
    };
    pass.status.app_url = app.url.clone();

    if !matches_definition(&app, &definition) {
        let cause = pass.cause(types::APP_PROVISIONED, || {
            format!(
                "app {} description or resources differ from the release",
                app.name
            )
        });
        if let Err(e) = pass.effect(Change::UpdateApp(definition), cause).await {
            return StepResult::from_workspace(&e);
        }
    }

    match &app.compute_state {
        Some(ComputeState::Active) => {}
        Some(ComputeState::Stopped | ComputeState::Error) => {
            let change = Change::StartApp {
                name: app.name.clone(),
            };
            return match pass.effect(change, Cause::Progress).await {
                Ok(Effect::Applied(_)) => StepResult::waiting(
                    reasons::WAITING,
                    format!("starting the compute of app {}", app.name),
                    COMPUTE_POLL,
                ),
                Ok(_) => finish(pass, app, "would start the app"),
                Err(e) => StepResult::from_workspace(&e),
            };
        }
        Some(ComputeState::Deleting) => {
            return StepResult::waiting(
                reasons::WAITING,
                format!(
                    "app {} is being deleted; it will be created again",
                    app.name
                ),
                COMPUTE_POLL,
            );
        }
        other => {
            let message = format!(
                "waiting for the compute of app {} ({})",
                app.name,
                other
                    .as_ref()
                    .map(|s| s.as_str())
                    .unwrap_or("unknown state")
            );
            pass.artifacts.app = Some(app);
            return StepResult::waiting(reasons::WAITING, message, COMPUTE_POLL);
        }
    }
    if app.service_principal_client_id.is_none() {
        return StepResult::waiting(
            reasons::WAITING,
            format!("app {} has no service principal yet", app.name),
            COMPUTE_POLL,
        );
    }
    let message = format!(
        "app {} ACTIVE with service principal {}",
        app.name,
        app.service_principal_client_id
            .as_deref()
            .unwrap_or_default()
    );
    finish(pass, app, &message)
}

fn finish<W, C: Clock>(pass: &mut Pass<'_, W, C>, app: AppInfo, message: &str) -> StepResult {
    pass.artifacts.app = Some(app);
    StepResult::done(reasons::APP_PROVISIONED, message)
}

/// The app as the release declares it.
fn definition<W, C>(pass: &Pass<'_, W, C>) -> AppDefinition {
    let app = pass.ctx.spec.app.as_ref();
    AppDefinition {
        name: app.map(|a| a.name.clone()).unwrap_or_default(),
        description: app.and_then(|a| a.description.clone()),
        resources: app
            .map(|a| a.resources.iter().map(resource_body).collect())
            .unwrap_or_default(),
    }
}

/// One app resource in the Apps API's shape.
pub fn resource_body(r: &agentrelease_api::release::AppResource) -> AppResourceInfo {
    let mut body = serde_json::Map::new();
    body.insert("name".into(), json!(r.name));
    if let Some(d) = &r.description {
        body.insert("description".into(), json!(d));
    }
    if let Some(e) = &r.serving_endpoint {
        body.insert(
            "serving_endpoint".into(),
            json!({"name": e.name, "permission": e.permission}),
        );
    }
    if let Some(w) = &r.sql_warehouse {
        body.insert(
            "sql_warehouse".into(),
            json!({"id": w.id, "permission": w.permission}),
        );
    }
    if let Some(s) = &r.secret {
        body.insert(
            "secret".into(),
            json!({"scope": s.scope, "key": s.key, "permission": s.permission}),
        );
    }
    if let Some(x) = &r.experiment {
        body.insert(
            "experiment".into(),
            json!({"experiment_id": x.experiment_id, "permission": x.permission}),
        );
    }
    if let Some(d) = &r.database {
        body.insert(
            "database".into(),
            json!({"instance_name": d.instance_name, "database_name": d.database_name, "permission": d.permission}),
        );
    }
    if let Some(u) = &r.uc_securable {
        body.insert(
            "uc_securable".into(),
            json!({"securable_full_name": u.securable_full_name, "securable_type": u.securable_type, "permission": u.permission}),
        );
    }
    AppResourceInfo {
        name: r.name.clone(),
        body: Value::Object(body),
    }
}

/// Whether every declared field is as declared (fields the platform adds are ignored).
fn matches_definition(app: &AppInfo, def: &AppDefinition) -> bool {
    if def.description.is_some() && app.description != def.description {
        return false;
    }
    if app.resources.len() != def.resources.len() {
        return false;
    }
    def.resources.iter().all(|want| {
        app.resources
            .iter()
            .any(|have| have.name == want.name && contains(&have.body, &want.body))
    })
}

/// Whether `have` holds every key of `want` with the same value (recursively for objects).
fn contains(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => w
            .iter()
            .all(|(k, wv)| h.get(k).is_some_and(|hv| contains(hv, wv))),
        _ => have == want,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_match_ignores_fields_the_platform_adds() {
        let have = json!({"name": "w", "sql_warehouse": {"id": "1", "permission": "CAN_USE", "extra": true}});
        let want = json!({"name": "w", "sql_warehouse": {"id": "1", "permission": "CAN_USE"}});
        assert!(contains(&have, &want));
        let changed =
            json!({"name": "w", "sql_warehouse": {"id": "1", "permission": "CAN_MANAGE"}});
        assert!(!contains(&have, &changed));
    }
}
