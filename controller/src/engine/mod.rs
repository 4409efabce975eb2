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
pub mod health;
pub mod identity;
pub mod in_flight;
pub mod inline_wait;
pub mod ledger;
pub mod lock;
pub mod newer;
pub mod pass;
pub mod plan_doc;
pub mod plan_numbers;
pub mod prechecks;
pub mod queries;
pub mod recover;
pub mod restore;
pub mod rollback;
pub mod rollback_target;
pub mod served_version;
pub mod states;
pub mod status;
pub mod steps;
pub mod upstream;
pub mod upstream_remote;
pub mod verification;
pub mod workspace;

use std::time::Duration;

use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::{AgentRelease, AgentReleaseStatus, ReleaseTargetSpec};

pub use context::{Identity, ReleaseContext};
pub use inline_wait::InlineWait;
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
    /// Releases (`namespace/name`) whose objects this pass took over: the controller looks at
    /// them at once, so a superseded release leaves Ready within seconds.
    pub superseded: Vec<String>,
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
    suspend_status(
        &old,
        generation,
        &suspend_reason(&release.spec.policy),
        release.spec.policy.resync(),
        clock,
    )
}

/// Why a suspended release is suspended, as its status says.
pub fn suspend_reason(policy: &agentrelease_api::release::PolicySpec) -> String {
    policy
        .suspend_reason
        .clone()
        .unwrap_or_else(|| "suspended by spec.policy.suspend".into())
}

/// The outcome for a suspended release from its status as read alone (the controller's
/// handle has no spec).
pub fn suspend_status<C: Clock>(
    old: &AgentReleaseStatus,
    generation: i64,
    reason: &str,
    resync: Duration,
    clock: &C,
) -> Outcome {
    StatusBuilder::new(old, generation, clock.now()).suspended(reason, resync)
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

/// The status of a release whose object does not decode (a field the API server accepted but
/// this version cannot read): Stalled with reason `InvalidSpec`, nothing else known.
pub fn undecodable<C: Clock>(generation: i64, message: &str, clock: &C) -> AgentReleaseStatus {
    let old = AgentReleaseStatus::default();
    StatusBuilder::new(&old, generation, clock.now())
        .blocked_before_start(
            types::READY,
            reasons::INVALID_SPEC,
            message,
            Duration::from_secs(300),
        )
        .status
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

    /// Whether only a person can move the release on: it is blocked (Stalled), or it waits for
    /// an approval (which GitOps tools read as in progress, but which no pass ends by itself).
    pub fn needs_human(&self) -> bool {
        self.is_stalled()
            || self.status.phase == Some(agentrelease_api::conditions::Phase::AwaitingApproval)
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

/// Sees each step's report as the pass makes it (a pass that waits inside itself can take a
/// while; progress output follows it live).
pub type Observer<'a> = dyn Fn(&StepReport) + Send + Sync + 'a;

/// How a pass waits inside itself, and who follows its steps as they happen.
#[derive(Clone, Copy)]
pub struct Waiting<'a> {
    /// The budget and the longest pause.
    pub wait: InlineWait,
    /// Called with each step's report as soon as it is made.
    pub observe: &'a Observer<'a>,
}

impl std::fmt::Debug for Waiting<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiting").field("wait", &self.wait).finish()
    }
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
    let inputs = Inputs {
        writer,
        ..Inputs::default()
    };
    reconcile_with(release, target, identity, ws, clock, mode, &inputs).await
}

/// What a pass knows beyond the release and its target.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// The holder named in the release lock.
    pub writer: &'a str,
    /// The AgentReleaseApprovals of the release's namespace; `None` where the runner cannot
    /// read them (`apply` without a cluster: only the model version tag counts there).
    pub approvals: Option<&'a [steps::approved::KubeApproval]>,
    /// Look for newer model versions in this pass (the controller's once-per-resync poll).
    pub poll_newer_versions: bool,
    /// Wait inside the pass on long operations (`apply`); `None`: end the pass and requeue.
    pub waiting: Option<Waiting<'a>>,
    /// Where the facts about the upstream stages the release requires come from (the
    /// controller's cache, or the workspace's stage records).
    pub upstream: upstream::UpstreamSource,
    /// The release's namespace requires an approval of every release in it (its label
    /// `agentops.dev/approval: required`).
    pub namespace_requires_approval: bool,
    /// The target as its manifest declares it, where the runner points the pass elsewhere
    /// (`apply` on the embedded simulator or with `--override-host`): the release identity names
    /// the declared workspace, so the same release has the same identity wherever it runs.
    pub declared_target: Option<&'a ReleaseTargetSpec>,
}

impl Default for Inputs<'_> {
    fn default() -> Self {
        Inputs {
            writer: lock::process_writer(),
            approvals: None,
            poll_newer_versions: false,
            waiting: None,
            upstream: upstream::UpstreamSource::default(),
            namespace_requires_approval: false,
            declared_target: None,
        }
    }
}

/// Runs one pass with `inputs`.
pub async fn reconcile_with<W: Workspace, C: Clock>(
    release: &AgentRelease,
    target: &ReleaseTargetSpec,
    identity: Identity,
    ws: &W,
    clock: &C,
    mode: Mode,
    inputs: &Inputs<'_>,
) -> Outcome {
    reconcile_with_app_identity(release, target, identity, (ws, None), clock, mode, inputs).await
}

/// Runs one pass with `inputs` and `app_ws`, the workspace as the app's service principal (the
/// MCP tool check runs as it; without it, as the operator with a Warning).
pub async fn reconcile_with_app_identity<W: Workspace, C: Clock>(
    release: &AgentRelease,
    target: &ReleaseTargetSpec,
    identity: Identity,
    (ws, app_ws): (&W, Option<&W>),
    clock: &C,
    mode: Mode,
    inputs: &Inputs<'_>,
) -> Outcome {
    let mut outcome = run_pipeline(
        release,
        target,
        identity.clone(),
        (ws, app_ws),
        clock,
        mode,
        inputs,
    )
    .await;
    let old = release.status.clone().unwrap_or_default();
    let declared = release.spec.model.version;
    outcome
        .status
        .newer_versions
        .retain(|v| v.version > declared);
    if mode == Mode::Apply
        && inputs.poll_newer_versions
        && !release.spec.policy.suspend
        && let Ok(ctx) = ReleaseContext::new(identity, &release.spec, target)
        && let Ok(Some(newer)) = newer::poll(ws, &ctx).await
    {
        outcome.events.extend(newer::announcements(
            ctx.model(),
            &old.newer_versions,
            &newer,
        ));
        outcome.status.newer_versions = newer;
    }
    outcome
}

async fn run_pipeline<W: Workspace, C: Clock>(
    release: &AgentRelease,
    target: &ReleaseTargetSpec,
    identity: Identity,
    (ws, app_ws): (&W, Option<&W>),
    clock: &C,
    mode: Mode,
    inputs: &Inputs<'_>,
) -> Outcome {
    let writer = inputs.writer;
    let upstream = inputs.upstream.clone();
    let (mut wait, observe) = match inputs.waiting {
        Some(w) => (Some(w.wait), Some(w.observe)),
        None => (None, None),
    };
    let report = |reports: &mut Vec<StepReport>, step: steps::Step, result: &StepResult| {
        if let Some(r) = StepReport::new(step, result) {
            if let Some(observe) = observe {
                observe(&r);
            }
            reports.push(r);
        }
    };
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

    let mut ctx = match ReleaseContext::new(identity, &release.spec, target) {
        Ok(ctx) => ctx,
        Err(e) => {
            let reason = match e {
                context::ContextError::PathRefused { .. } => reasons::PATH_REFUSED,
                context::ContextError::InvalidName { .. } => reasons::INVALID_SPEC,
                context::ContextError::ServedVersion { .. } => reasons::SERVED_VERSION_MISMATCH,
            };
            return builder.blocked_before_start(
                types::TARGET_RESOLVED,
                reason,
                &e.to_string(),
                resync,
            );
        }
    };
    ctx.upstream = upstream;
    ctx.namespace_requires_approval = inputs.namespace_requires_approval;
    ctx.declared_target = inputs.declared_target.cloned();
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
    // An upstream stage that failed is looked at in full (the Warning, or the rollback that
    // follows it, is decided by the steps).
    let upstream_failed = ctx.upstream.any_failed();
    let quick = mode == Mode::Apply
        && !upstream_failed
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
            superseded: Vec::new(),
        };
    }

    let mut pass = Pass {
        ws,
        app_ws,
        clock,
        effects: effects::Effects::new(mode, release.spec.policy.drift).with_writer(writer),
        ctx: &ctx,
        old: &old,
        status: builder.status.clone(),
        artifacts: Artifacts::default(),
        events: Vec::new(),
        seen: full_check::Seen::default(),
        approvals: inputs.approvals,
        superseded: Vec::new(),
    };
    // The steps from the claim on write: a pass that may write holds the release lock from
    // before they read what they decide on. The gates and the preflight only read.
    let settled =
        status::is_true(&old, types::READY) && old.observed_generation == Some(generation);
    let mut stopped = None;
    let mut reports = Vec::new();
    for &step in PIPELINE {
        if !step.applies(&ctx) {
            pass.status
                .conditions
                .retain(|c| c.type_ != step.condition());
            continue;
        }
        // The claim and every step after it write; so does a rollback resumed by the preflight.
        let writes = match step.info().lock {
            steps::Lock::Always => true,
            steps::Lock::WhileRollingBack => old.rollback.as_ref().is_some_and(|r| r.in_progress),
            steps::Lock::Never => false,
        };
        let mut result = run_step(step, &mut pass, writes, settled).await;
        // Waiting inside the pass: the same step is looked at again, nothing before it is.
        while let StepResult::Waiting { after, .. } = &result
            && let Some(pause) = wait.as_mut().and_then(|w| w.take(*after))
        {
            report(&mut reports, step, &result);
            clock.sleep(pause).await;
            result = run_step(step, &mut pass, writes, settled).await;
        }
        report(&mut reports, step, &result);
        match result {
            StepResult::Done { .. } | StepResult::Advisory { .. } => {
                builder.record(&mut pass.status, step, &result)
            }
            StepResult::NotApplicable => {
                pass.status
                    .conditions
                    .retain(|c| c.type_ != step.condition());
            }
            StepResult::Blocked { reason, .. }
                if mode == Mode::Plan
                    && step.info().hold
                    && stopped.is_none()
                    && reason == reasons::AWAITING_APPROVAL =>
            {
                // `plan` stops at the hold as `apply` does, and goes on listing what would
                // follow the approval (marked so); `apply` and the controller stop here.
                builder.record(&mut pass.status, step, &result);
                stopped = Some((step, result));
                pass.effects.past_approval();
            }
            _ if stopped.is_some() => break,
            _ => {
                // A superseded release is Superseded, whatever its own gates say now.
                let result = match (&result, step.phase()) {
                    (StepResult::Blocked { .. }, agentrelease_api::conditions::Phase::Gating)
                        if !step.info().judges_ownership =>
                    {
                        match steps::preflight::superseded(&mut pass).await {
                            Some(superseded) => superseded,
                            // Blocked before its first write, but an earlier identity of this
                            // release may be left half-done: it is put back, and said so.
                            None => recover_while_blocked(&mut pass, result).await,
                        }
                    }
                    _ => result,
                };
                builder.record(&mut pass.status, step, &result);
                stopped = Some((step, result));
                break;
            }
        }
    }
    // For the stages downstream of this one: the release's own stage record.
    if let Err(result) = steps::upstream::record(&mut pass, stopped.is_none(), settled).await {
        builder.record(&mut pass.status, steps::Step::Audit, &result);
        stopped = Some((steps::Step::Audit, result));
    }
    pass.effects.release(ws).await;
    pass.status.identity = identity::of(&ctx, &pass.artifacts);
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

/// A release blocked at a gate whose earlier identity is left unfinished on its alias (edited
/// mid-way): under the release lock, the workspace goes back to the last good release (or as
/// that identity found it), and the blocked result says so. A restore that cannot finish now is
/// tried again on the next pass; the gate's result stands either way.
async fn recover_while_blocked<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    blocked: StepResult,
) -> StepResult {
    let own_unfinished = pass
        .artifacts
        .alias_record()
        .and_then(|r| r.in_flight.as_ref())
        .is_some_and(|f| f.release == pass.ctx.identity.key());
    if !own_unfinished {
        return blocked;
    }
    let (ws, now, path, key) = (
        pass.ws,
        pass.clock.now(),
        pass.ctx.lock_path(),
        pass.ctx.identity.key(),
    );
    if pass.effects.guard(ws, path, &key, now, true).await.is_err() {
        return blocked;
    }
    let identity = pass.identity_digest();
    let recovered = match recover::unfinished(pass, identity.as_deref()).await {
        Ok(Some(r)) => r,
        _ => return blocked,
    };
    let _ = recover::forget(pass, &recovered).await;
    match blocked {
        StepResult::Blocked { reason, message } => StepResult::Blocked {
            reason,
            message: format!("{message}; meanwhile {}", recovered.describe()),
        },
        other => other,
    }
}

/// Runs one step, under the release lock when it may write (`writes`; taken once per pass,
/// unless the release is `settled`), as the mode settles its result.
async fn run_step<W: Workspace, C: Clock>(
    step: steps::Step,
    pass: &mut Pass<'_, W, C>,
    writes: bool,
    settled: bool,
) -> StepResult {
    let result = if writes {
        let (ws, now, path, key) = (
            pass.ws,
            pass.clock.now(),
            pass.ctx.lock_path(),
            pass.ctx.identity.key(),
        );
        match pass.effects.guard(ws, path, &key, now, !settled).await {
            Ok(()) => step.run(pass).await,
            Err(lock::LockError::Workspace(e)) => StepResult::from_workspace(&e),
            Err(e) => StepResult::waiting(reasons::LOCKED, e.to_string(), LOCK_RETRY),
        }
    } else {
        step.run(pass).await
    };
    pass.effects.settle(result)
}
