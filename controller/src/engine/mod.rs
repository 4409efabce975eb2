//! The release engine: one reconcile pass over an AgentRelease, shared by the controller and the
//! one-shot CLI. It knows the API types, a [`Workspace`] and a [`Clock`], and nothing else of
//! Kubernetes: it takes the release, its target and an identity, and returns the new status,
//! the Events to record and when to look again.

pub mod app_yaml;
pub mod artifacts;
pub mod change;
pub mod cleanup;
pub mod context;
pub mod desired;
pub mod effects;
pub mod fingerprint;
pub mod full_check;
pub mod ledger;
pub mod lock;
pub mod pass;
pub mod plan_doc;
pub mod queries;
pub mod rollback;
pub mod states;
pub mod status;
pub mod steps;
pub mod verification;
pub mod workspace;

use std::time::Duration;

use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::{AgentRelease, AgentReleaseStatus, ReleaseTargetSpec};

pub use context::{Identity, ReleaseContext};
pub use pass::{Clock, Event, EventType, Mode, PlannedChange, StepResult, SystemClock};
pub use workspace::Workspace;

use pass::{Artifacts, Pass};
use status::StatusBuilder;
use steps::PIPELINE;

/// How soon a pass that found the release lock held looks again.
const LOCK_RETRY: Duration = Duration::from_secs(2);

/// When to look at the release again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeue {
    /// After this long.
    After(Duration),
    /// After a transient failure: back off (the caller's policy).
    Backoff,
}

/// What a pass produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The new status.
    pub status: AgentReleaseStatus,
    /// When to look again.
    pub requeue: Requeue,
    /// Events to record (condition transitions and actions).
    pub events: Vec<Event>,
    /// The changes the pass made (apply) or would make (plan), once each, in order.
    pub changes: Vec<PlannedChange>,
    /// How each step that ran ended (for metrics and progress output).
    pub steps: Vec<StepReport>,
}

/// How one step ended in a pass.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StepReport {
    /// The step's name.
    pub step: &'static str,
    /// The condition it owns.
    pub condition: &'static str,
    /// `done`, `waiting`, `blocked`, `failed`, `superseded`.
    pub outcome: &'static str,
    /// The condition reason.
    pub reason: String,
    /// The condition message.
    pub message: String,
}

impl StepReport {
    fn new(step: steps::Step, result: &StepResult) -> Option<Self> {
        let (outcome, reason, message) = match result {
            StepResult::Done { reason, message } => ("done", *reason, message),
            StepResult::Advisory { reason, message } => ("advisory", *reason, message),
            StepResult::Waiting {
                reason, message, ..
            } => ("waiting", *reason, message),
            StepResult::Blocked { reason, message } => ("blocked", *reason, message),
            StepResult::Failed { reason, message } => ("failed", *reason, message),
            StepResult::Superseded { message } => ("superseded", reasons::SUPERSEDED, message),
            StepResult::NotApplicable => return None,
        };
        Some(StepReport {
            step: step.name(),
            condition: step.condition(),
            outcome,
            reason: reason.to_string(),
            message: message.clone(),
        })
    }
}

/// The outcome for a suspended release: nothing is read from or written to the workspace.
pub fn suspend<C: Clock>(release: &AgentRelease, generation: i64, clock: &C) -> Outcome {
    let old = release.status.clone().unwrap_or_default();
    let reason = release
        .spec
        .policy
        .suspend_reason
        .clone()
        .unwrap_or_else(|| "suspended by spec.policy.suspend".into());
    StatusBuilder::new(&old, generation, clock.now())
        .suspended(&reason, release.spec.policy.resync())
}

/// The outcome for a release that cannot start: the condition `type_` is False with `reason`,
/// and the release is Stalled. Used for a missing target or credentials, a refused reference.
pub fn blocked<C: Clock>(
    release: &AgentRelease,
    generation: i64,
    clock: &C,
    type_: &str,
    reason: &str,
    message: &str,
) -> Outcome {
    let old = release.status.clone().unwrap_or_default();
    let mut builder = StatusBuilder::new(&old, generation, clock.now());
    builder.resume();
    builder.blocked_before_start(type_, reason, message, release.spec.policy.resync())
}

impl Outcome {
    /// Whether the release is Ready.
    pub fn is_ready(&self) -> bool {
        status::is_true(&self.status, types::READY)
    }

    /// Whether the release is blocked (Stalled).
    pub fn is_stalled(&self) -> bool {
        status::is_true(&self.status, types::STALLED)
    }
}

/// Runs one pass over `release` with `target` against `ws`, writing as this process.
pub async fn reconcile<W: Workspace, C: Clock>(
    release: &AgentRelease,
    target: &ReleaseTargetSpec,
    identity: Identity,
    ws: &W,
    clock: &C,
    mode: Mode,
) -> Outcome {
    reconcile_as(
        release,
        target,
        identity,
        ws,
        clock,
        mode,
        lock::process_writer(),
    )
    .await
}

/// Runs one pass as `writer` (the holder named in the release lock).
pub async fn reconcile_as<W: Workspace, C: Clock>(
    release: &AgentRelease,
    target: &ReleaseTargetSpec,
    identity: Identity,
    ws: &W,
    clock: &C,
    mode: Mode,
    writer: &str,
) -> Outcome {
    let old = release.status.clone().unwrap_or_default();
    let generation = identity.generation;
    let resync = release.spec.policy.resync();
    let mut builder = StatusBuilder::new(&old, generation, clock.now());

    if release.spec.policy.suspend {
        let reason = release
            .spec
            .policy
            .suspend_reason
            .clone()
            .unwrap_or_else(|| "suspended by spec.policy.suspend".into());
        return builder.suspended(&reason, resync);
    }
    builder.resume();

    let ctx = match ReleaseContext::new(identity, &release.spec, target) {
        Ok(ctx) => ctx,
        Err(e) => {
            let reason = match e {
                context::ContextError::PathRefused { .. } => reasons::PATH_REFUSED,
                context::ContextError::InvalidName { .. } => reasons::INVALID_SPEC,
            };
            return builder.blocked_before_start(
                types::TARGET_RESOLVED,
                reason,
                &e.to_string(),
                resync,
            );
        }
    };
    builder.set(
        types::TARGET_RESOLVED,
        agentrelease_api::ConditionStatus::True,
        reasons::SUCCEEDED,
        format!(
            "artifacts under {} of {}",
            ctx.volume_root,
            agentrelease_api::host::redact_userinfo(&ctx.target.host)
        ),
    );

    let requested = release
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(agentrelease_api::RECONCILE_REQUESTED_AT))
        .map(String::as_str);
    let quick = mode == Mode::Apply
        && full_check::eligibility(
            &old,
            generation,
            clock.now(),
            release.spec.policy.full_check(),
            requested,
        ) == full_check::Eligibility::Quick;
    if quick
        && let Ok(observed) = full_check::observe(ws, &ctx).await
        && old.full_check.as_ref().map(|r| r.digest.as_str())
            == Some(full_check::digest(&ctx, &observed).as_str())
    {
        return Outcome {
            status: old.clone(),
            requeue: Requeue::After(resync),
            events: Vec::new(),
            changes: Vec::new(),
            steps: Vec::new(),
        };
    }

    let mut pass = Pass {
        ws,
        clock,
        effects: effects::Effects::new(mode, release.spec.policy.drift).with_writer(writer),
        ctx: &ctx,
        old: &old,
        status: builder.status.clone(),
        artifacts: Artifacts::default(),
        events: Vec::new(),
        seen: full_check::Seen::default(),
    };
    // The steps from the claim on write: a pass that may write holds the release lock from
    // before they read what they decide on. The gates and the preflight only read.
    let settled =
        status::is_true(&old, types::READY) && old.observed_generation == Some(generation);
    let mut stopped = None;
    let mut reports = Vec::new();
    for step in PIPELINE {
        if !step.applies(&ctx) {
            pass.status
                .conditions
                .retain(|c| c.type_ != step.condition());
            continue;
        }
        // The claim and every step after it write; so does a rollback resumed by the preflight.
        let writes = step == steps::Step::Claim
            || (step == steps::Step::Preflight
                && old.rollback.as_ref().is_some_and(|r| r.in_progress));
        let result = if writes {
            match pass
                .effects
                .guard(
                    ws,
                    ctx.lock_path(),
                    &ctx.identity.key(),
                    clock.now(),
                    !settled,
                )
                .await
            {
                Ok(()) => step.run(&mut pass).await,
                Err(lock::LockError::Workspace(e)) => StepResult::from_workspace(&e),
                Err(e) => StepResult::waiting(reasons::LOCKED, e.to_string(), LOCK_RETRY),
            }
        } else {
            step.run(&mut pass).await
        };
        let result = pass.effects.settle(result);
        reports.extend(StepReport::new(step, &result));
        match result {
            StepResult::Done { .. } | StepResult::Advisory { .. } => {
                builder.record(&mut pass.status, step, &result)
            }
            StepResult::NotApplicable => {
                pass.status
                    .conditions
                    .retain(|c| c.type_ != step.condition());
            }
            _ => {
                // A superseded release is Superseded, whatever its own gates say now.
                let result = match (&result, step.phase()) {
                    (StepResult::Blocked { .. }, agentrelease_api::conditions::Phase::Gating)
                        if step != steps::Step::Preflight =>
                    {
                        steps::preflight::superseded(&mut pass)
                            .await
                            .unwrap_or(result)
                    }
                    _ => result,
                };
                builder.record(&mut pass.status, step, &result);
                stopped = Some((step, result));
                break;
            }
        }
    }
    pass.effects.release(ws).await;
    let seen = std::mem::take(&mut pass.seen);
    let mut outcome = builder.finish(pass, &ctx, stopped, resync);
    outcome.steps = reports;
    outcome.status.full_check = None;
    if mode == Mode::Apply
        && outcome.is_ready()
        && outcome.changes.is_empty()
        && !status::is_true(&outcome.status, types::DRIFT_DETECTED)
        && let Ok(observed) = full_check::complete(seen, ws, &ctx).await
    {
        let digest = full_check::digest(&ctx, &observed);
        outcome.status.full_check = Some(full_check::record(generation, clock.now(), digest));
    }
    outcome
}
