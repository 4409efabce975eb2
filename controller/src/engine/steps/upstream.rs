//! Upstream stages (`UpstreamVerified`): a release with `spec.promotion.requires` waits until the
//! same agent, N and model version is Verified on each required target for its soak time. It
//! runs after the gates and the preflight and before the first write (the ownership claim), so
//! nothing is written until it holds.
//!
//! Once the release was released (the ledger names it the last good release of its alias), the
//! requirement is settled: a later upstream rollback raises the Warning Event
//! `UpstreamRolledBack` and changes nothing, unless `policy.followUpstreamRollback` rolls this
//! release back too.
//!
//! [`record`] writes the release's own stage record when it becomes Ready or is rolled back, for
//! the stages downstream of it.

use std::time::Duration;

use agentrelease_api::conditions::reasons;

use crate::engine::change::Change;
use crate::engine::effects::Cause;
use crate::engine::pass::{Clock, EventType, Pass, StepResult};
use crate::engine::rollback;
use crate::engine::upstream::{
    self, Decision, Observation, StageRecord, StageState, UpstreamSource,
};
use crate::engine::upstream_remote::Seen;
use crate::engine::workspace::Workspace;
use crate::engine::steps::StepInfo;

/// How soon a release whose upstream is not released yet looks again.
pub const NOT_RELEASED_RETRY: Duration = Duration::from_secs(30);

/// What the decisions of all requirements add up to (pure): the first that does not hold, in
/// the order failed, not released (blocking before waiting), soaking (the longest).
pub fn combine(decisions: &[Decision]) -> StepResult {
    let failed: Vec<&str> = decisions
        .iter()
        .filter_map(|d| match d {
            Decision::Failed(m) => Some(m.as_str()),
            _ => None,
        })
        .collect();
    if !failed.is_empty() {
        return StepResult::blocked(reasons::UPSTREAM_FAILED, failed.join("; "));
    }
    if let Some(message) = decisions.iter().find_map(|d| match d {
        Decision::Unreachable(m) => Some(m),
        _ => None,
    }) {
        return StepResult::blocked(reasons::UPSTREAM_NOT_RELEASED, message.clone());
    }
    let mut waiting = Vec::new();
    for d in decisions {
        if let Decision::NotReleased { message, wait } = d {
            if !wait {
                return StepResult::blocked(
                    reasons::UPSTREAM_NOT_RELEASED,
                    format!("{message}; nothing in this run releases it"),
                );
            }
            waiting.push(message.as_str());
        }
    }
    if !waiting.is_empty() {
        return StepResult::waiting(
            reasons::UPSTREAM_NOT_RELEASED,
            waiting.join("; "),
            NOT_RELEASED_RETRY,
        );
    }
    let soaking = decisions
        .iter()
        .filter_map(|d| match d {
            Decision::Soaking { left, message } => Some((*left, message.as_str())),
            _ => None,
        })
        .max_by_key(|(left, _)| *left);
    if let Some((left, message)) = soaking {
        return StepResult::waiting(reasons::UPSTREAM_SOAKING, message, left);
    }
    let holds: Vec<&str> = decisions
        .iter()
        .filter_map(|d| match d {
            Decision::Holds(m) => Some(m.as_str()),
            _ => None,
        })
        .collect();
    StepResult::done(reasons::UPSTREAM_VERIFIED, holds.join("; "))
}

/// The step's place in the pipeline.
pub const INFO: StepInfo = StepInfo {
    name: "upstream",
    condition: agentrelease_api::conditions::types::UPSTREAM_VERIFIED,
    phase: agentrelease_api::conditions::Phase::Gating,
    waits_as_false: true,
    applies: |ctx| !ctx.spec.requirements().is_empty(),
    ..StepInfo::DEFAULT
};

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let spec = &pass.ctx.spec;
    let what = format!(
        "{} N={} model version {}",
        spec.model.name, spec.version, spec.model.version
    );
    let requirements = spec.requirements().to_vec();
    let now = pass.now();
    let mut decisions = Vec::new();
    for req in &requirements {
        let (observation, host) = match observe(pass, &req.target_ref).await {
            Ok(Seen::Observed { observation, host }) => (observation, host),
            Ok(Seen::Unreachable(message)) => {
                decisions.push(Decision::Unreachable(message));
                continue;
            }
            Err(result) => return result,
        };
        let may_appear = pass.ctx.upstream.may_appear(&req.target_ref);
        let decision = upstream::decide(req, &what, &observation, now, may_appear);
        decisions.push(read_in(decision, host.as_deref()));
    }
    let result = combine(&decisions);
    if !released(pass) {
        return result;
    }
    match result {
        StepResult::Blocked {
            reason: reasons::UPSTREAM_FAILED,
            message,
        } => after_upstream_rollback(pass, message).await,
        StepResult::Done { reason, message } => StepResult::Done { reason, message },
        other => {
            let now_says = match &other {
                StepResult::Blocked { message, .. } | StepResult::Waiting { message, .. } => {
                    message.clone()
                }
                _ => String::new(),
            };
            StepResult::done(
                reasons::UPSTREAM_VERIFIED,
                format!("released after its upstream stages held; now: {now_says}"),
            )
        }
    }
}

/// An upstream rolled back after this release was released.
async fn after_upstream_rollback<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    message: String,
) -> StepResult {
    if pass.ctx.spec.policy.follow_upstream_rollback {
        pass.event(
            EventType::Warning,
            reasons::UPSTREAM_ROLLED_BACK,
            format!("{message}; rolling this release back (policy.followUpstreamRollback)"),
        );
        let key = pass.ctx.identity.key();
        let now = pass.now();
        if let Err(e) = pass
            .effects
            .guard(pass.ws, pass.ctx.lock_path(), &key, now, true)
            .await
        {
            return match e {
                crate::engine::lock::LockError::Workspace(e) => StepResult::from_workspace(&e),
                other => {
                    StepResult::waiting(reasons::LOCKED, other.to_string(), NOT_RELEASED_RETRY)
                }
            };
        }
        return rollback::roll_back(pass, format!("upstream rolled back: {message}")).await;
    }
    // The condition's transition to this reason is the Warning Event `UpstreamRolledBack`
    // (once, not on every pass).
    StepResult::done(
        reasons::UPSTREAM_ROLLED_BACK,
        format!(
            "{message}; this release was released before and is kept (policy.followUpstreamRollback is off)"
        ),
    )
}

/// A decision whose record was read in another workspace names it (pure).
fn read_in(decision: Decision, host: Option<&str>) -> Decision {
    let Some(host) = host else {
        return decision;
    };
    let note = |m: String| format!("{m} (stage record read in workspace {host})");
    match decision {
        Decision::Holds(m) => Decision::Holds(note(m)),
        Decision::Soaking { left, message } => Decision::Soaking {
            left,
            message: note(message),
        },
        Decision::NotReleased { message, wait } => Decision::NotReleased {
            message: note(message),
            wait,
        },
        Decision::Failed(m) => Decision::Failed(note(m)),
        other @ Decision::Unreachable(_) => other,
    }
}

/// What is known about the upstream release on `target`.
async fn observe<W: Workspace, C: Clock>(
    pass: &Pass<'_, W, C>,
    target: &str,
) -> Result<Seen, StepResult> {
    match &pass.ctx.upstream {
        UpstreamSource::Observed(seen) => Ok(Seen::Observed {
            observation: seen.get(target).cloned().unwrap_or(Observation::Missing),
            host: None,
        }),
        UpstreamSource::Workspace { elsewhere, .. } => {
            if let Some(remote) = elsewhere.get(target) {
                // The upstream's own workspace, as `apply` read it: never this one.
                return remote
                    .seen(pass.ctx.spec.model.version)
                    .map_err(|e| StepResult::from_workspace(&e));
            }
            let ctx = pass.ctx;
            let path = upstream::record_path(
                ctx.ledger_root(),
                &ctx.identity.namespace,
                target,
                ctx.model(),
                ctx.n(),
            );
            match upstream::read_record(pass.ws, &path).await {
                Ok(record) => Ok(Seen::Observed {
                    observation: record
                        .map_or(Observation::Missing, |r| r.observe(ctx.spec.model.version)),
                    host: None,
                }),
                Err(e) => Err(StepResult::from_workspace(&e)),
            }
        }
    }
}

/// Whether this release (this N and model version) was released: the ledger names it the last
/// good release of its alias (read by the preflight), in the controller and in `apply` alike.
fn released<W, C>(pass: &Pass<'_, W, C>) -> bool {
    let me = pass.ctx.identity.key();
    pass.artifacts
        .alias_record()
        .filter(|r| r.owned_by(&me))
        .and_then(|r| r.last_good.as_ref())
        .is_some_and(|l| {
            l.claim.release == me
                && l.claim.n == pass.ctx.n()
                && l.claim.model_version == pass.ctx.spec.model.version
        })
}

/// The stage record a pass that ended this way leaves (pure): Verified when every step is done,
/// RolledBack when this pass finished a rollback; `None` otherwise.
pub fn record_for(
    ready: bool,
    rolled_back_now: Option<&str>,
    release: &str,
    ctx: &crate::engine::ReleaseContext,
    at: &str,
) -> Option<StageRecord> {
    let (state, reason) = match (ready, rolled_back_now) {
        (true, _) => (StageState::Verified, None),
        (false, Some(why)) => (StageState::RolledBack, Some(why.to_string())),
        (false, None) => return None,
    };
    Some(StageRecord {
        release: release.to_string(),
        agent: ctx.model().to_string(),
        n: ctx.n(),
        model_version: ctx.spec.model.version,
        state,
        at: at.to_string(),
        reason,
    })
}

/// Writes the release's stage record when this pass made it Ready or rolled it back and the
/// record does not say so yet. A failure to write is returned (the pass is not Ready then, and
/// the next one tries again).
pub async fn record<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    ready: bool,
    settled: bool,
) -> Result<(), StepResult> {
    let rolled_back_now = pass
        .status
        .rollback
        .as_ref()
        .filter(|r| !r.in_progress)
        .filter(|_| pass.old.rollback.as_ref().is_none_or(|o| o.in_progress))
        .map(|r| r.reason.clone());
    if ready && settled {
        return Ok(());
    }
    let ctx = pass.ctx;
    let at = agentrelease_api::condition::truncate_to_seconds(pass.now()).to_string();
    let Some(wanted) = record_for(
        ready,
        rolled_back_now.as_deref(),
        &ctx.identity.key(),
        ctx,
        &at,
    ) else {
        return Ok(());
    };
    let path = upstream::record_path(
        ctx.ledger_root(),
        &ctx.identity.namespace,
        &ctx.spec.target_ref.name,
        ctx.model(),
        ctx.n(),
    );
    let current = upstream::read_record(pass.ws, &path)
        .await
        .map_err(|e| StepResult::from_workspace(&e))?;
    if current.as_ref().is_some_and(|c| {
        c.release == wanted.release
            && c.model_version == wanted.model_version
            && c.state == wanted.state
    }) {
        return Ok(());
    }
    let summary = format!(
        "record {} {:?} on target {} for downstream stages",
        wanted.release, wanted.state, ctx.spec.target_ref.name
    );
    pass.effect(
        Change::WriteLedger {
            path,
            content: wanted.render(),
            replace: true,
            summary,
        },
        Cause::Progress,
    )
    .await
    .map(|_| ())
    .map_err(|e| StepResult::from_workspace(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_stage_blocks_with_its_own_message_after_a_failed_one() {
        let unreachable = Decision::Unreachable("pass --upstream-host https://stg".into());
        match combine(&[Decision::Holds("ok".into()), unreachable.clone()]) {
            StepResult::Blocked { reason, message } => {
                assert_eq!(reason, reasons::UPSTREAM_NOT_RELEASED);
                assert_eq!(message, "pass --upstream-host https://stg");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            combine(&[unreachable, Decision::Failed("rolled back".into())]),
            StepResult::Blocked {
                reason: reasons::UPSTREAM_FAILED,
                ..
            }
        ));
        match read_in(Decision::Holds("staging ok".into()), Some("https://stg")) {
            Decision::Holds(m) => {
                assert!(m.ends_with("(stage record read in workspace https://stg)"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_requirement_must_hold_and_the_worst_one_is_reported() {
        let holds = Decision::Holds("staging ok".into());
        let soak = |s: u64| Decision::Soaking {
            left: Duration::from_secs(s),
            message: format!("{s}s left"),
        };
        assert!(matches!(
            combine(std::slice::from_ref(&holds)),
            StepResult::Done {
                reason: reasons::UPSTREAM_VERIFIED,
                ..
            }
        ));
        match combine(&[holds.clone(), soak(10), soak(60)]) {
            StepResult::Waiting { reason, after, .. } => {
                assert_eq!(reason, reasons::UPSTREAM_SOAKING);
                assert_eq!(after, Duration::from_secs(60));
            }
            other => panic!("{other:?}"),
        }
        let waiting = Decision::NotReleased {
            message: "none".into(),
            wait: true,
        };
        assert!(matches!(
            combine(&[soak(10), waiting.clone()]),
            StepResult::Waiting {
                reason: reasons::UPSTREAM_NOT_RELEASED,
                ..
            }
        ));
        let blocking = Decision::NotReleased {
            message: "none".into(),
            wait: false,
        };
        assert!(matches!(
            combine(&[waiting, blocking]),
            StepResult::Blocked {
                reason: reasons::UPSTREAM_NOT_RELEASED,
                ..
            }
        ));
        assert!(matches!(
            combine(&[holds, Decision::Failed("rolled back".into()), soak(1)]),
            StepResult::Blocked {
                reason: reasons::UPSTREAM_FAILED,
                ..
            }
        ));
    }
}
