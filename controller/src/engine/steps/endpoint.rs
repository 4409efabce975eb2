//! Serving endpoint (`EndpointReady`): the endpoint exists and serves the declared entities and
//! routes (`served_entities`, never the legacy `served_models`), is READY and not updating. An
//! update is never sent while one is in progress, and a config that already matches is left
//! alone.

use std::time::Duration;

use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::status::CreatedObjects;

use crate::engine::change::{Change, config_lines};
use crate::engine::desired;
use crate::engine::effects::{Applied, Effect};
use crate::engine::fingerprint;
use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::served_version;
use crate::engine::states::{ConfigUpdate, EndpointReadiness};
use crate::engine::workspace::{EndpointConfig, Workspace, WorkspaceErrorKind};
use crate::engine::steps::StepInfo;

/// How soon to look again while the endpoint updates.
const UPDATE_POLL: Duration = Duration::from_secs(10);

/// The step's place in the pipeline.
pub const INFO: StepInfo = StepInfo {
    name: "endpoint",
    condition: agentrelease_api::conditions::types::ENDPOINT_READY,
    phase: agentrelease_api::conditions::Phase::Deploying,
    applies: |ctx| ctx.spec.serving_endpoint.is_some(),
    ..StepInfo::DEFAULT
};

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let (Some(spec), Some(want)) = (
        pass.ctx.spec.serving_endpoint.clone(),
        desired::endpoint_config(pass.ctx),
    ) else {
        return StepResult::NotApplicable;
    };
    let name = spec.name.clone();
    let digest = config_digest(&want);
    let endpoint = match pass.ws.get_endpoint(&name).await {
        Ok(e) => e,
        Err(e) => return StepResult::from_workspace(&e),
    };
    pass.seen.endpoint = Some(endpoint.clone());
    let Some(endpoint) = endpoint else {
        let cause = pass.cause(types::ENDPOINT_READY, || {
            format!("serving endpoint {name} was deleted")
        });
        let change = Change::CreateEndpoint {
            name: name.clone(),
            config: want,
        };
        return match pass.effect(change, cause).await {
            Ok(Effect::Applied(Applied::Endpoint(created))) => {
                pass.status.endpoint_id = Some(created.id.clone());
                pass.status.endpoint_config_sent = Some(digest);
                let objects = pass
                    .status
                    .created
                    .get_or_insert_with(CreatedObjects::default);
                objects.serving_endpoint = Some(name.clone());
                StepResult::waiting(
                    reasons::WAITING,
                    format!("serving endpoint {name} created; waiting for it to be ready"),
                    UPDATE_POLL,
                )
            }
            Ok(Effect::Applied(_) | Effect::Planned) => {
                StepResult::done(reasons::ENDPOINT_READY, "would create the endpoint")
            }
            Ok(Effect::Reported) => StepResult::done(
                reasons::ENDPOINT_READY,
                format!("serving endpoint {name} is missing (drift reported)"),
            ),
            Err(e) if e.kind == WorkspaceErrorKind::AlreadyExists => StepResult::waiting(
                reasons::WAITING,
                format!("serving endpoint {name} is being created"),
                UPDATE_POLL,
            ),
            Err(e) => StepResult::from_workspace(&e),
        };
    };
    pass.status.endpoint_id = Some(endpoint.id.clone());

    if endpoint.config_update == Some(ConfigUpdate::InProgress) {
        pass.artifacts.endpoint = Some(endpoint);
        return StepResult::waiting(
            reasons::WAITING,
            format!("serving endpoint {name} is applying a config update"),
            UPDATE_POLL,
        );
    }

    let current = endpoint.config.clone();
    if current.as_ref().is_none_or(|c| !same_config(c, &want)) {
        let failed = matches!(
            endpoint.config_update,
            Some(ConfigUpdate::UpdateFailed | ConfigUpdate::UpdateCanceled)
        );
        if failed && pass.status.endpoint_config_sent.as_deref() == Some(digest.as_str()) {
            return StepResult::blocked(
                reasons::ENDPOINT_UPDATE_FAILED,
                format!(
                    "the config update of serving endpoint {name} ended {}; change the release to try again",
                    endpoint
                        .config_update
                        .as_ref()
                        .map(|c| c.as_str())
                        .unwrap_or_default()
                ),
            );
        }
        let diff = config_diff(current.as_ref(), &want);
        let cause = pass.cause(types::ENDPOINT_READY, || {
            format!(
                "serving endpoint {name} config differs: {}",
                diff.join(", ")
            )
        });
        let change = Change::UpdateEndpoint {
            name: name.clone(),
            config: want,
            diff: diff.clone(),
        };
        let effect = pass.effect(change, cause).await;
        pass.artifacts.endpoint = Some(endpoint);
        return match effect {
            Ok(Effect::Applied(_)) => {
                pass.status.endpoint_config_sent = Some(digest);
                StepResult::waiting(
                    reasons::WAITING,
                    format!("updating serving endpoint {name}: {}", diff.join(", ")),
                    UPDATE_POLL,
                )
            }
            Ok(Effect::Planned) => {
                StepResult::done(reasons::ENDPOINT_READY, "would update the endpoint")
            }
            Ok(Effect::Reported) => mixed(pass, &name, current.as_ref()).unwrap_or_else(|| {
                StepResult::done(
                    reasons::ENDPOINT_READY,
                    format!("serving endpoint {name} differs (drift reported)"),
                )
            }),
            Err(e) if e.kind == WorkspaceErrorKind::Conflict => StepResult::waiting(
                reasons::WAITING,
                format!("serving endpoint {name} is busy: {e}"),
                UPDATE_POLL,
            ),
            Err(e) => StepResult::from_workspace(&e),
        };
    }

    if endpoint.ready != Some(EndpointReadiness::Ready) {
        pass.artifacts.endpoint = Some(endpoint);
        return StepResult::waiting(
            reasons::WAITING,
            format!("waiting for serving endpoint {name} to be ready"),
            UPDATE_POLL,
        );
    }
    pass.status.endpoint_config_version = endpoint.config_version;
    let message = format!(
        "serving endpoint {name} READY (config version {}): {}",
        endpoint
            .config_version
            .map(|v| v.to_string())
            .unwrap_or_else(|| "?".into()),
        want.served_entities
            .iter()
            .map(|e| format!("{}={}@{}", e.name, e.entity_name, e.entity_version))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let current = endpoint.config.clone();
    pass.artifacts.endpoint = Some(endpoint);
    mixed(pass, &name, current.as_ref())
        .unwrap_or_else(|| StepResult::done(reasons::ENDPOINT_READY, message))
}

/// The endpoint serves the release's model at another version than the alias points at now
/// (after the promotion: moved, or left by drift policy `Report`): not Ready, naming which
/// serves what.
fn mixed<W, C: Clock>(
    pass: &Pass<'_, W, C>,
    name: &str,
    config: Option<&EndpointConfig>,
) -> Option<StepResult> {
    let alias_now = pass.artifacts.alias_now.flatten()?;
    let model = pass.ctx.model();
    let found = served_version::mismatches(config?, model, alias_now);
    if found.is_empty() {
        return None;
    }
    let what = served_version::describe(name, model, &pass.ctx.spec.model.alias, alias_now, &found);
    let hint = if alias_now == pass.ctx.spec.model.version {
        "drift policy Report leaves the endpoint as it is: correct it, or set spec.policy.drift to Correct"
    } else {
        "drift policy Report leaves the alias as it is: move it back, or set spec.policy.drift to Correct"
    };
    Some(StepResult::blocked(
        reasons::SERVED_VERSION_MISMATCH,
        format!("{what}; {hint}"),
    ))
}

/// A digest of a config, to recognise the one sent last.
fn config_digest(config: &EndpointConfig) -> String {
    let lines = config_lines(config);
    let parts: Vec<&str> = lines.iter().map(String::as_str).collect();
    fingerprint::digest(&parts)
}

/// Whether the active config serves what is declared (entities by name, their model, version,
/// size and scale-to-zero; the routes).
pub fn same_config(current: &EndpointConfig, want: &EndpointConfig) -> bool {
    let mut a = current.served_entities.clone();
    let mut b = want.served_entities.clone();
    a.sort_by(|x, y| x.name.cmp(&y.name));
    b.sort_by(|x, y| x.name.cmp(&y.name));
    let entities_match = a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| {
            x.name == y.name
                && x.entity_name == y.entity_name
                && x.entity_version == y.entity_version
                && x.workload_size == y.workload_size
                && x.scale_to_zero_enabled == y.scale_to_zero_enabled
                && (y.workload_type.is_none() || x.workload_type == y.workload_type)
                && x.environment_vars == y.environment_vars
                && same_external(x.external_model.as_ref(), y.external_model.as_ref())
        });
    let mut ra = current.routes.clone();
    let mut rb = want.routes.clone();
    ra.sort_by(|x, y| x.served_entity_name.cmp(&y.served_entity_name));
    rb.sort_by(|x, y| x.served_entity_name.cmp(&y.served_entity_name));
    entities_match && ra == rb
}

/// Whether an external model is the declared one: the same name, provider and task (the
/// provider settings read back may hide or add fields).
fn same_external(have: Option<&serde_json::Value>, want: Option<&serde_json::Value>) -> bool {
    match (have, want) {
        (None, None) => true,
        (Some(h), Some(w)) => ["name", "provider", "task"]
            .iter()
            .all(|k| h.get(k) == w.get(k)),
        _ => false,
    }
}

/// What changes between two configs, one line each.
pub fn config_diff(current: Option<&EndpointConfig>, want: &EndpointConfig) -> Vec<String> {
    let Some(current) = current else {
        return config_lines(want);
    };
    let mut out = Vec::new();
    for w in &want.served_entities {
        match current.served_entities.iter().find(|c| c.name == w.name) {
            None => out.push(format!(
                "+ {} ({} version {})",
                w.name, w.entity_name, w.entity_version
            )),
            Some(c) if c.entity_version != w.entity_version || c.entity_name != w.entity_name => {
                out.push(format!(
                    "~ {}: {} version {} -> {} version {}",
                    w.name, c.entity_name, c.entity_version, w.entity_name, w.entity_version
                ))
            }
            Some(c) if c != w => out.push(format!("~ {}: size/scaling/env", w.name)),
            _ => {}
        }
    }
    for c in &current.served_entities {
        if !want.served_entities.iter().any(|w| w.name == c.name) {
            out.push(format!("- {}", c.name));
        }
    }
    if current.routes.len() != want.routes.len()
        || !want.routes.iter().all(|r| current.routes.contains(r))
    {
        out.push(format!(
            "routes -> {}",
            want.routes
                .iter()
                .map(|r| format!("{}%:{}", r.traffic_percentage, r.served_entity_name))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if out.is_empty() {
        out.push("config differs".to_string());
    }
    out
}
