//! A release identity left unfinished on the alias ([`super::in_flight`]): the same release
//! edited mid-way, or an older release taken over before it ended. The workspace may then be
//! half-way between two releases (the alias moved, the app not yet deployed, the endpoint on
//! the old version); before anything else is written, it is put back — to the last good
//! release, or as the unfinished identity found it — and the release says so (status, Event).

use agentrelease_api::conditions::reasons;
use agentrelease_api::status::RecoveryRecord;

use super::in_flight::{self, Before, InFlight, Target};
use super::ledger::{AppSnapshot, EndpointSnapshot, Owned};
use super::pass::{Clock, EventType, Pass, StepResult};
use super::workspace::Workspace;

/// What was found and done, for the caller's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The unfinished identity.
    pub unfinished: InFlight,
    /// Where the workspace went back to.
    pub target: Target,
    /// One line per object.
    pub done: Vec<String>,
}

impl Recovered {
    /// One sentence for a condition message.
    pub fn describe(&self) -> String {
        format!(
            "{} was left unfinished; put back to {} first: {}",
            self.unfinished.describe(),
            self.target.describe(),
            self.done.join("; ")
        )
    }
}

/// The alias's ledger record as the pass read it.
fn alias_record<'p, W, C>(pass: &'p Pass<'_, W, C>) -> Option<&'p super::ledger::Record> {
    pass.artifacts.alias_record()
}

/// Puts the workspace back when another identity than `identity` is in flight on the alias
/// (`identity` `None`: this pass's own identity is not known, as when a gate stops it early —
/// then only this release's own unfinished identity is put back). Records it in status and
/// raises a Warning Event. `Err` stops the pass (a write failed: retried).
pub async fn unfinished<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    identity: Option<&str>,
) -> Result<Option<Recovered>, StepResult> {
    let me = pass.ctx.identity.key();
    let record = alias_record(pass).cloned();
    let found = match identity {
        Some(id) => in_flight::unfinished(record.as_ref(), id).cloned(),
        None => record
            .as_ref()
            .and_then(|r| in_flight::unfinished(Some(r), ""))
            .filter(|f| f.release == me)
            .cloned(),
    };
    let Some(f) = found else {
        return Ok(None);
    };
    let target = in_flight::target_after(record.as_ref(), &f);
    let done = super::restore::to_target(pass, &target).await?;
    let recovered = Recovered {
        unfinished: f,
        target,
        done,
    };
    pass.status.recovery = Some(RecoveryRecord {
        unfinished: recovered.unfinished.describe(),
        restored_to: recovered.target.describe(),
        restored: recovered.done.iter().take(8).cloned().collect(),
        at: agentrelease_api::condition::truncate_to_seconds(pass.now()),
    });
    pass.event(
        EventType::Warning,
        reasons::UNFINISHED_RESTORED,
        recovered.describe(),
    );
    Ok(Some(recovered))
}

/// Drops the unfinished identity from the alias's ledger record once the workspace was put back
/// and no identity of this pass follows it (the pass is blocked): the next pass finds nothing
/// left to put back.
pub async fn forget<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    recovered: &Recovered,
) -> Result<(), StepResult> {
    let object = Owned::Alias {
        model: pass.ctx.model().to_string(),
        alias: pass.ctx.spec.model.alias.clone(),
    };
    let Some(current) = alias_record(pass).cloned() else {
        return Ok(());
    };
    if current.in_flight.as_ref() != Some(&recovered.unfinished) {
        return Ok(());
    }
    let record = super::ledger::Record {
        in_flight: None,
        ..current
    };
    let change = super::change::Change::WriteLedger {
        path: object.path(pass.ctx.ledger_root()),
        content: record.render(),
        replace: true,
        summary: format!(
            "forget {} on {}: the workspace was put back",
            recovered.unfinished.describe(),
            object.describe()
        ),
    };
    pass.effect(change, super::effects::Cause::Progress)
        .await
        .map_err(|e| StepResult::from_workspace(&e))?;
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

/// This identity, in flight from now on, with the workspace as it is before its first write
/// (after a recovery: what the recovery put back). Reads the alias, the app and the endpoint
/// the release declares (the alias is handed to the later steps).
pub async fn note<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    identity: &str,
    recovered: Option<&Recovered>,
) -> Result<InFlight, StepResult> {
    let ctx = pass.ctx;
    let before = match recovered {
        Some(r) => Before {
            alias: r.target.alias(),
            app_existed: ctx.spec.app.is_some(),
            app: r.target.app().cloned(),
            endpoint_existed: r.target.endpoint().is_some(),
            endpoint: r.target.endpoint().cloned(),
        },
        None => found(pass).await?,
    };
    Ok(InFlight {
        release: ctx.identity.key(),
        identity: identity.to_string(),
        n: ctx.n(),
        model_version: ctx.spec.model.version,
        since: agentrelease_api::condition::truncate_to_seconds(pass.now()).to_string(),
        before,
    })
}

/// The alias, the app's active deployment and the endpoint's config as they are now.
async fn found<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> Result<Before, StepResult> {
    let ctx = pass.ctx;
    let alias = match pass.seen.alias {
        Some(a) => a,
        None => pass
            .ws
            .get_alias(ctx.model(), &ctx.spec.model.alias)
            .await
            .map_err(|e| StepResult::from_workspace(&e))?,
    };
    pass.seen.alias = Some(alias);
    let mut before = Before {
        alias,
        ..Before::default()
    };
    if let Some(spec) = ctx.spec.app.as_ref() {
        let app = pass
            .ws
            .get_app(&spec.name)
            .await
            .map_err(|e| StepResult::from_workspace(&e))?;
        before.app_existed = app.is_some();
        before.app = app
            .and_then(|a| a.active_deployment)
            .filter(|d| d.state == super::states::DeploymentState::Succeeded)
            .and_then(|d| {
                Some(AppSnapshot {
                    name: spec.name.clone(),
                    deployment_id: d.id,
                    source_code_path: d.source_code_path?,
                    command: d.command,
                    env: {
                        let mut env = d.env;
                        env.sort();
                        env
                    },
                })
            });
    }
    if let Some(spec) = ctx.spec.serving_endpoint.as_ref() {
        let endpoint = pass
            .ws
            .get_endpoint(&spec.name)
            .await
            .map_err(|e| StepResult::from_workspace(&e))?;
        before.endpoint_existed = endpoint.is_some();
        before.endpoint = endpoint
            .and_then(|e| e.config)
            .map(|config| EndpointSnapshot {
                name: spec.name.clone(),
                config,
            });
    }
    Ok(before)
}

/// Whether `object` is the alias (the record that carries the identity in flight).
pub fn carries_in_flight(object: &Owned) -> bool {
    matches!(object, Owned::Alias { .. })
}
