//! Preflight (`PreflightPassed`): every check that can fail without writing, after the gates and
//! before the first write — so a release that cannot finish never moves the alias.
//!
//! In order: who owns the alias, app and endpoint (the release ledger; a newer release of the
//! agent supersedes this one, another owner is a conflict); a rollback hold on this release; the
//! custom MCP servers are on origins the target trusts; the model version exists and is READY, and its logged model id is the one the app will name; every
//! served entity's model version exists; the endpoint config is coherent; every object the
//! release and its target name exists and is readable (`engine::prechecks`: securables, app
//! resources, ACL objects, the managed MCP servers' objects, the gateway's warehouse and tables,
//! the tracing experiment).

use std::collections::BTreeSet;
use std::time::Duration;

use agentrelease_api::conditions::reasons;

use crate::engine::desired;
use crate::engine::ledger::{self, Owned, Record, Verdict};
use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::prechecks;
use crate::engine::rollback;
use crate::engine::states::ModelVersionStatus;
use crate::engine::verification;
use crate::engine::workspace::{EndpointConfig, ModelVersionInfo, Workspace, WorkspaceErrorKind};
use crate::engine::steps::{Lock, StepInfo};

/// How soon to look again while a model version is still registering.
const REGISTERING_POLL: Duration = Duration::from_secs(15);

/// The step's place in the pipeline.
pub const INFO: StepInfo = StepInfo {
    name: "preflight",
    condition: agentrelease_api::conditions::types::PREFLIGHT_PASSED,
    phase: agentrelease_api::conditions::Phase::Gating,
    lock: Lock::WhileRollingBack,
    judges_ownership: true,
    ..StepInfo::DEFAULT
};

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    if let Some(stop) = ownership(pass).await {
        return stop;
    }
    if let Some(stop) = hold(pass).await {
        return stop;
    }
    if let Some(stop) = mcp_origins(pass).await {
        return stop;
    }
    let model_id = match model_version(pass).await {
        Ok(id) => id,
        Err(stop) => return stop,
    };
    pass.artifacts.model_id = model_id;
    if let Some(config) = desired::endpoint_config(pass.ctx) {
        if let Err(why) = check_endpoint_config(&config) {
            return StepResult::blocked(reasons::ENDPOINT_CONFIG_INVALID, why);
        }
        if let Some(stop) = served_versions(pass, &config).await {
            return stop;
        }
    }
    if let Some(stop) = prechecks::run(pass).await {
        return stop;
    }
    StepResult::done(
        reasons::PREFLIGHT_PASSED,
        format!(
            "{} version {} READY with logged model {}; every object the release names exists",
            pass.ctx.model(),
            pass.ctx.spec.model.version,
            pass.artifacts.model_id.as_deref().unwrap_or("(none)")
        ),
    )
}

/// The custom MCP servers the tool check will call must be on origins the target trusts: a
/// pure check of the spec and the target's policy, so a release that would send the
/// workspace's credentials elsewhere blocks before the alias moves.
async fn mcp_origins<W: Workspace, C: Clock>(pass: &Pass<'_, W, C>) -> Option<StepResult> {
    let servers = match pass.ctx.spec.verification.as_ref() {
        Some(v) if pass.ctx.spec.app.is_some() => &v.mcp_servers,
        _ => return None,
    };
    // The tool check runs as the app's service principal when the target holds its
    // credentials; both clients apply the same policy.
    let ws = pass.app_ws.unwrap_or(pass.ws);
    verification::origins::mcp_servers(ws, servers).await
}

/// Whether a newer release of the agent owns the release's objects (the ledger read alone):
/// `Some(Superseded)` then. Asked when a gate blocks, so an old release whose artifacts are
/// gone reads as superseded, not as blocked.
pub async fn superseded<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> Option<StepResult> {
    match ownership(pass).await {
        Some(result @ StepResult::Superseded { .. }) => Some(result),
        _ => None,
    }
}

/// Reads the ledger record of each owned object and decides; `Some` stops the pass.
async fn ownership<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> Option<StepResult> {
    let me = pass.ctx.claim(pass.now());
    let mut records = Vec::new();
    for object in pass.ctx.owned_objects() {
        let path = object.path(pass.ctx.ledger_root());
        let record = match pass
            .ws
            .read_workspace_file(&path.0, ledger::MAX_RECORD_BYTES)
            .await
        {
            Ok(None) => None,
            Ok(Some(bytes)) => match Record::parse(&bytes) {
                Some(r) => Some(r),
                None => {
                    return Some(StepResult::blocked(
                        reasons::OWNERSHIP_CONFLICT,
                        format!(
                            "the ledger record {path} of {} is not a record this operator wrote; repair or delete it",
                            object.describe()
                        ),
                    ));
                }
            },
            Err(e) if e.kind == WorkspaceErrorKind::TooLarge => {
                return Some(StepResult::blocked(
                    reasons::OWNERSHIP_CONFLICT,
                    format!("the ledger record {path} is larger than a record can be"),
                ));
            }
            Err(e) => return Some(StepResult::from_workspace(&e)),
        };
        records.push((object, record));
    }
    for (object, record) in &records {
        match ledger::judge(&me, record.as_ref().and_then(|r| r.owner.as_ref())) {
            Verdict::Conflict(owner) => {
                let why = if owner.agent == me.agent {
                    "another release with the same N"
                } else {
                    "a release of another agent"
                };
                return Some(StepResult::blocked(
                    reasons::OWNERSHIP_CONFLICT,
                    format!(
                        "{} is owned by {} ({why}); nothing was written. Give this release a higher N, or release a different {}",
                        object.describe(),
                        owner.describe(),
                        kind_word(object)
                    ),
                ));
            }
            Verdict::SupersededBy(owner) => {
                return Some(StepResult::Superseded {
                    message: format!(
                        "superseded by {}, which owns {}; this release makes no further changes",
                        owner.describe(),
                        object.describe()
                    ),
                });
            }
            Verdict::Unclaimed | Verdict::Ours | Verdict::Supersedes(_) => {}
        }
    }
    pass.seen.owner = Some(
        records
            .iter()
            .find(|(o, _)| matches!(o, Owned::Alias { .. }))
            .and_then(|(_, r)| r.as_ref())
            .and_then(|r| r.owner.as_ref())
            .map(|o| o.release.clone()),
    );
    pass.artifacts.ledger = records;
    None
}

fn kind_word(object: &Owned) -> &'static str {
    match object {
        Owned::Alias { .. } => "alias",
        Owned::App(_) => "app",
        Owned::Endpoint(_) => "serving endpoint",
    }
}

/// A rollback of this release with this spec and these artifacts holds it (recorded in status
/// and in the workspace, so a re-run of `apply` or another controller holds too); new spec or
/// artifacts lift the hold. `Some` stops the pass.
async fn hold<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> Option<StepResult> {
    let fingerprint = pass.artifacts.fingerprint();
    let generation = pass.ctx.identity.generation;
    if let Some(record) = pass.old.rollback.clone() {
        if record.generation == generation && record.fingerprint == fingerprint {
            pass.status.rollback = Some(record.clone());
            if record.in_progress {
                return Some(rollback::restore(pass, record.reason.clone()).await);
            }
            return Some(StepResult::blocked(
                reasons::ROLLED_BACK,
                rollback::held_message(&record),
            ));
        }
        // New spec or new artifacts: lift the hold; the failed deployment gets a new attempt.
        pass.status.rollback = None;
        pass.status.verification = None;
        pass.status.tools_check = None;
        if pass
            .status
            .deployment
            .as_ref()
            .is_some_and(|d| d.state != agentrelease_api::status::DeploymentPhase::Succeeded)
        {
            pass.status.deployment = None;
        }
    }
    let workspace_hold = pass
        .artifacts
        .alias_record()
        .and_then(|r| r.hold.clone())
        .filter(|h| {
            h.release == pass.ctx.identity.key()
                && h.spec_digest == pass.ctx.spec_digest()
                && h.fingerprint == fingerprint
        });
    workspace_hold.map(|h| {
        StepResult::blocked(
            reasons::ROLLED_BACK,
            format!(
                "rolled back at {}: {}; held (recorded in the workspace) until the spec or the artifacts change",
                h.at, h.reason
            ),
        )
    })
}

/// The release's model version: present, READY, and the logged model id it carries (`Ok(id)`).
async fn model_version<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
) -> Result<Option<String>, StepResult> {
    let model = pass.ctx.model().to_string();
    let version = pass.ctx.spec.model.version;
    // A gate that checked a binding read it already in this pass.
    let mv = match super::binding::model_version(pass).await {
        Ok(mv) => mv,
        Err(e) => return Err(StepResult::from_workspace(&e)),
    };
    let mv = match ready(&model, version, mv) {
        Ok(mv) => mv,
        Err(stop) => {
            // A pass that waits inside itself looks at a registering version again.
            if matches!(stop, StepResult::Waiting { .. }) {
                pass.artifacts.model_version = None;
            }
            return Err(stop);
        }
    };
    pass.artifacts.model_version_tags = mv.tags.clone();
    bind_model_id(
        pass.ctx.spec.model.logged_model_id.as_deref(),
        &mv,
        pass.ctx.spec.app.is_some(),
    )
    .map_err(|(reason, message)| StepResult::blocked(reason, message))
}

fn ready(
    model: &str,
    version: i64,
    mv: Option<ModelVersionInfo>,
) -> Result<ModelVersionInfo, StepResult> {
    let Some(mv) = mv else {
        return Err(StepResult::blocked(
            reasons::MODEL_VERSION_MISSING,
            format!("{model} has no version {version}"),
        ));
    };
    match &mv.status {
        ModelVersionStatus::Ready => Ok(mv),
        ModelVersionStatus::PendingRegistration => Err(StepResult::waiting(
            reasons::WAITING,
            format!("{model} version {version} is still registering"),
            REGISTERING_POLL,
        )),
        other => Err(StepResult::blocked(
            reasons::MODEL_VERSION_MISSING,
            format!("{model} version {version} is {other}, not READY"),
        )),
    }
}

/// The logged model id the app is deployed with (pure): the model version's own; a declared one
/// must equal it. A version without one (a registry without MLflow 3 logged models) takes the
/// declared id; with neither, a release with an app cannot name its model.
pub fn bind_model_id(
    declared: Option<&str>,
    mv: &ModelVersionInfo,
    has_app: bool,
) -> Result<Option<String>, (&'static str, String)> {
    match (declared, mv.model_id.as_deref()) {
        (Some(d), Some(own)) if d != own => Err((
            reasons::MODEL_ID_MISMATCH,
            format!(
                "spec.model.loggedModelId is {d}, but model version {} was registered from logged model {own}; MLFLOW_ACTIVE_MODEL_ID must name the promoted version's model (omit the field to take it from the version)",
                mv.version
            ),
        )),
        (_, Some(own)) => Ok(Some(own.to_string())),
        (Some(d), None) => Ok(Some(d.to_string())),
        (None, None) if has_app => Err((
            reasons::MODEL_ID_UNKNOWN,
            format!(
                "model version {} carries no logged model id and spec.model.loggedModelId is not set; the app's MLFLOW_ACTIVE_MODEL_ID would be empty",
                mv.version
            ),
        )),
        (None, None) => Ok(None),
    }
}

/// The endpoint config is coherent (pure): unique served entity names, every route naming one,
/// traffic adding up to 100.
pub fn check_endpoint_config(config: &EndpointConfig) -> Result<(), String> {
    if config.served_entities.is_empty() {
        return Err("the serving endpoint serves no entity".into());
    }
    let mut names = BTreeSet::new();
    for e in &config.served_entities {
        if !names.insert(e.name.as_str()) {
            return Err(format!("served entity name {} is used twice", e.name));
        }
    }
    let mut total: i64 = 0;
    for r in &config.routes {
        if !names.contains(r.served_entity_name.as_str()) {
            return Err(format!(
                "a route sends traffic to {}, which is not a served entity",
                r.served_entity_name
            ));
        }
        if !(0..=100).contains(&r.traffic_percentage) {
            return Err(format!(
                "the route to {} has {}% of the traffic",
                r.served_entity_name, r.traffic_percentage
            ));
        }
        total += r.traffic_percentage;
    }
    if total != 100 {
        return Err(format!(
            "the routes add up to {total}% of the traffic, not 100%"
        ));
    }
    Ok(())
}

/// Every served entity's model version exists and is READY (the release's own was checked).
async fn served_versions<W: Workspace, C: Clock>(
    pass: &Pass<'_, W, C>,
    config: &EndpointConfig,
) -> Option<StepResult> {
    let own = (
        pass.ctx.model().to_string(),
        pass.ctx.spec.model.version.to_string(),
    );
    let wanted: BTreeSet<(String, String)> = config
        .served_entities
        .iter()
        .filter(|e| e.external_model.is_none())
        .map(|e| (e.entity_name.clone(), e.entity_version.clone()))
        .filter(|k| *k != own)
        .collect();
    for (model, version) in wanted {
        let Ok(v) = version.parse::<i64>() else {
            return Some(StepResult::blocked(
                reasons::ENDPOINT_CONFIG_INVALID,
                format!("served entity version {version:?} of {model} is not a version number"),
            ));
        };
        match pass.ws.get_model_version(&model, v).await {
            Ok(mv) => {
                if let Err(stop) = ready(&model, v, mv) {
                    return Some(stop);
                }
            }
            Err(e) => return Some(StepResult::from_workspace(&e)),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::workspace::{RouteConfig, ServedEntityConfig};

    fn mv(model_id: Option<&str>) -> ModelVersionInfo {
        ModelVersionInfo {
            version: 12,
            status: ModelVersionStatus::Ready,
            run_id: None,
            model_id: model_id.map(str::to_string),
            source: None,
            created_at_ms: None,
            tags: Default::default(),
        }
    }

    #[test]
    fn the_model_id_is_the_versions_own() {
        assert_eq!(
            bind_model_id(None, &mv(Some("m-1")), true),
            Ok(Some("m-1".into()))
        );
        assert_eq!(
            bind_model_id(Some("m-1"), &mv(Some("m-1")), true),
            Ok(Some("m-1".into()))
        );
        let (reason, message) = bind_model_id(Some("m-2"), &mv(Some("m-1")), true).unwrap_err();
        assert_eq!(reason, reasons::MODEL_ID_MISMATCH);
        assert!(
            message.contains("m-2") && message.contains("m-1"),
            "{message}"
        );
        assert_eq!(
            bind_model_id(Some("m-2"), &mv(None), true),
            Ok(Some("m-2".into()))
        );
        assert_eq!(
            bind_model_id(None, &mv(None), true).unwrap_err().0,
            reasons::MODEL_ID_UNKNOWN
        );
        assert_eq!(bind_model_id(None, &mv(None), false), Ok(None));
    }

    fn entity(name: &str) -> ServedEntityConfig {
        ServedEntityConfig {
            name: name.into(),
            entity_name: "m".into(),
            entity_version: "1".into(),
            workload_size: "Small".into(),
            scale_to_zero_enabled: true,
            workload_type: None,
            environment_vars: Default::default(),
            external_model: None,
        }
    }

    fn route(name: &str, pct: i64) -> RouteConfig {
        RouteConfig {
            served_entity_name: name.into(),
            traffic_percentage: pct,
        }
    }

    #[test]
    fn endpoint_configs_must_add_up() {
        let ok = EndpointConfig {
            served_entities: vec![entity("a"), entity("b")],
            routes: vec![route("a", 90), route("b", 10)],
        };
        assert_eq!(check_endpoint_config(&ok), Ok(()));
        let mut short = ok.clone();
        short.routes[1].traffic_percentage = 5;
        assert!(check_endpoint_config(&short).unwrap_err().contains("95%"));
        let mut stray = ok.clone();
        stray.routes[1].served_entity_name = "c".into();
        assert!(
            check_endpoint_config(&stray)
                .unwrap_err()
                .contains("not a served entity")
        );
        let mut twice = ok.clone();
        twice.served_entities[1].name = "a".into();
        assert!(check_endpoint_config(&twice).unwrap_err().contains("twice"));
        let mut overflow = ok;
        overflow.routes = vec![route("a", i64::MAX), route("b", i64::MAX)];
        assert!(check_endpoint_config(&overflow).is_err());
    }
}
