//! Building the status of a pass: step conditions, the kstatus trio (`Ready`, `Reconciling`,
//! `Stalled`), the phase, and Events for condition transitions.
//!
//! Invariants (tested as properties): `Ready` is always present; `Reconciling` and `Stalled` are
//! never both True; every condition carries the generation it was computed for; `Ready=True` only
//! when every applicable step is True for the current generation.

use std::time::Duration;

use agentrelease_api::AgentReleaseStatus;
use agentrelease_api::condition::{self, Condition, ConditionStatus};
use agentrelease_api::conditions::{Phase, reasons, types};
use agentrelease_api::status::{DriftRecord, HistoryOutcome};
use jiff::Timestamp;

use super::context::ReleaseContext;
use super::health::{Standing, summarize};
use super::pass::{Clock, Event, EventType, Pass, StepResult};
use super::steps::{PIPELINE, Step};
use super::{Outcome, Requeue};

/// Reasons whose True condition still deserves a Warning.
const WARNING_REASONS: [&str; 3] = [
    reasons::SIGNOFF_OVERRIDDEN,
    reasons::ROLLED_BACK,
    reasons::UPSTREAM_ROLLED_BACK,
];

/// Reasons whose False condition is only waiting on another stage (a Normal Event).
const WAITING_REASONS: [&str; 2] = [reasons::UPSTREAM_NOT_RELEASED, reasons::UPSTREAM_SOAKING];

/// Whether a condition is True in a status.
pub fn is_true(status: &AgentReleaseStatus, type_: &str) -> bool {
    condition::find(&status.conditions, type_).is_some_and(Condition::is_true)
}

/// Builds the status of one pass from the previous one.
pub struct StatusBuilder<'a> {
    old: &'a AgentReleaseStatus,
    generation: i64,
    now: Timestamp,
    /// The status so far (before the steps run).
    pub status: AgentReleaseStatus,
}

impl<'a> StatusBuilder<'a> {
    /// Starts from the previous status.
    pub fn new(old: &'a AgentReleaseStatus, generation: i64, now: Timestamp) -> Self {
        let mut status = old.clone();
        status.observed_generation = Some(generation);
        StatusBuilder {
            old,
            generation,
            now,
            status,
        }
    }

    /// Sets a condition on the status being built.
    pub fn set(&mut self, type_: &str, status: ConditionStatus, reason: &str, message: String) {
        set_on(
            &mut self.status,
            self.generation,
            self.now,
            type_,
            status,
            reason,
            message,
        );
    }

    /// Sets a step's condition from its result on `status`.
    pub fn record(&self, status: &mut AgentReleaseStatus, step: Step, result: &StepResult) {
        let (cs, reason, message) = match result {
            StepResult::Done { reason, message } => {
                (ConditionStatus::True, *reason, message.clone())
            }
            // Waiting on an upstream stage is a definite "not yet" (`UpstreamVerified=False`).
            StepResult::Waiting {
                reason, message, ..
            } if step.info().waits_as_false => (ConditionStatus::False, *reason, message.clone()),
            StepResult::Waiting {
                reason, message, ..
            } => (ConditionStatus::Unknown, *reason, message.clone()),
            StepResult::Blocked { reason, message } | StepResult::Advisory { reason, message } => {
                (ConditionStatus::False, *reason, message.clone())
            }
            StepResult::Failed { reason, message } => {
                (ConditionStatus::Unknown, *reason, message.clone())
            }
            StepResult::Superseded { message } => {
                (ConditionStatus::False, reasons::SUPERSEDED, message.clone())
            }
            StepResult::NotApplicable => return,
        };
        set_on(
            status,
            self.generation,
            self.now,
            step.condition(),
            cs,
            reason,
            message,
        );
    }

    /// The release is suspended: nothing is read or written in the workspace.
    pub fn suspended(mut self, why: &str, resync: Duration) -> Outcome {
        let standing = Standing::Suspended {
            message: format!("suspended: {why}"),
        };
        summarize(
            &mut self.status,
            self.old,
            self.generation,
            self.now,
            &standing,
        );
        // A release created suspended has done nothing to tell of: its status says it is
        // suspended, and no Event is recorded (a fleet of suspended releases costs one write
        // each). Suspending a release that ran is a transition and gets its Event.
        let events = if self.old.observed_generation.is_none() {
            Vec::new()
        } else {
            transition_events(self.old, &self.status)
        };
        Outcome {
            status: self.status,
            requeue: Requeue::After(resync),
            events,
            changes: Vec::new(),
            steps: Vec::new(),
            superseded: Vec::new(),
        }
    }

    /// Drops the `Suspended` condition of a release that is no longer suspended.
    pub fn resume(&mut self) {
        self.status
            .conditions
            .retain(|c| c.type_ != types::SUSPENDED);
    }

    /// The release cannot start (a bad reference, a refused path): one condition False, Stalled.
    pub fn blocked_before_start(
        mut self,
        type_: &str,
        reason: &str,
        message: &str,
        resync: Duration,
    ) -> Outcome {
        self.set(type_, ConditionStatus::False, reason, message.to_string());
        let standing = Standing::Blocked {
            phase: Phase::Blocked,
            reason: reason.to_string(),
            message: message.to_string(),
        };
        summarize(
            &mut self.status,
            self.old,
            self.generation,
            self.now,
            &standing,
        );
        let events = transition_events(self.old, &self.status);
        Outcome {
            status: self.status,
            requeue: Requeue::After(resync),
            events,
            changes: Vec::new(),
            steps: Vec::new(),
            superseded: Vec::new(),
        }
    }

    /// Completes the status after the steps ran.
    pub fn finish<W, C: Clock>(
        self,
        pass: Pass<'_, W, C>,
        ctx: &ReleaseContext,
        stopped: Option<(Step, StepResult)>,
        resync: Duration,
    ) -> Outcome {
        let Pass {
            mut status,
            events: step_events,
            effects,
            superseded,
            ..
        } = pass;
        let super::effects::Summary {
            changes,
            drift,
            drift_corrected,
            records_events,
        } = effects.finish();
        let generation = self.generation;
        let now = self.now;

        // Steps not reached in this pass: Pending for this generation.
        if let Some((stopped_step, _)) = &stopped {
            let mut after = false;
            for &step in PIPELINE {
                if step == *stopped_step {
                    after = true;
                    continue;
                }
                if !after || !step.applies(ctx) {
                    continue;
                }
                let current = condition::find(&status.conditions, step.condition())
                    .filter(|c| c.observed_generation == Some(generation));
                if current.is_none() {
                    set_on(
                        &mut status,
                        generation,
                        now,
                        step.condition(),
                        ConditionStatus::Unknown,
                        reasons::PENDING,
                        format!("waiting for {}", stopped_step.condition()),
                    );
                }
            }
        }

        // Drift.
        let mut events = Vec::new();
        if !drift.is_empty() {
            let reason = if drift_corrected {
                reasons::DRIFT_CORRECTED
            } else {
                reasons::DRIFT_DETECTED
            };
            set_on(
                &mut status,
                generation,
                now,
                types::DRIFT_DETECTED,
                ConditionStatus::True,
                reason,
                drift.join("; "),
            );
            status.drift = Some(DriftRecord {
                items: drift.iter().take(32).cloned().collect(),
                corrected: drift_corrected,
                at: condition::truncate_to_seconds(now),
            });
            let already_reported = condition::find(&self.old.conditions, types::DRIFT_DETECTED)
                .is_some_and(|c| c.is_true() && c.reason == reasons::DRIFT_DETECTED);
            if drift_corrected {
                events.push(Event {
                    type_: EventType::Normal,
                    reason: reasons::DRIFT_CORRECTED.to_string(),
                    message: format!("corrected: {}", drift.join("; ")),
                });
            } else if !already_reported {
                events.push(Event {
                    type_: EventType::Warning,
                    reason: reasons::DRIFT_DETECTED.to_string(),
                    message: format!("not corrected (policy Report): {}", drift.join("; ")),
                });
            }
        } else if stopped.is_none() {
            set_on(
                &mut status,
                generation,
                now,
                types::DRIFT_DETECTED,
                ConditionStatus::False,
                reasons::NO_DRIFT,
                "the workspace matches the release".into(),
            );
        }

        let (standing, requeue) = match &stopped {
            None => {
                if let Some(last) = status.history.last_mut()
                    && last.generation == generation
                    && last.outcome == HistoryOutcome::Promoted
                {
                    last.outcome = HistoryOutcome::Released;
                }
                let message = ready_message(ctx, &status);
                (Some(Standing::Released { message }), Requeue::After(resync))
            }
            Some((
                step,
                StepResult::Waiting {
                    reason,
                    message,
                    after,
                },
            )) => (
                Some(Standing::Progressing {
                    phase: step.phase(),
                    reason: reason.to_string(),
                    message: message.clone(),
                }),
                Requeue::After(*after),
            ),
            Some((_, StepResult::Blocked { reason, message }))
                if *reason == reasons::AWAITING_APPROVAL =>
            {
                (
                    Some(Standing::AwaitingApproval {
                        message: message.clone(),
                    }),
                    Requeue::After(resync),
                )
            }
            Some((_, StepResult::Blocked { reason, message })) => {
                let phase = if *reason == reasons::ROLLED_BACK {
                    Phase::RolledBack
                } else {
                    Phase::Blocked
                };
                (
                    Some(Standing::Blocked {
                        phase,
                        reason: reason.to_string(),
                        message: message.clone(),
                    }),
                    Requeue::After(resync),
                )
            }
            Some((_, StepResult::Failed { reason, message })) => (
                Some(Standing::Progressing {
                    phase: Phase::Failed,
                    reason: reason.to_string(),
                    message: message.clone(),
                }),
                Requeue::Backoff,
            ),
            Some((_, StepResult::Superseded { message })) => {
                if let Some(last) = status.history.last_mut()
                    && last.generation == generation
                    && last.outcome != HistoryOutcome::RolledBack
                {
                    last.outcome = HistoryOutcome::Superseded;
                }
                (
                    Some(Standing::Superseded {
                        message: message.clone(),
                    }),
                    Requeue::After(resync),
                )
            }
            Some((
                _,
                StepResult::Done { .. } | StepResult::Advisory { .. } | StepResult::NotApplicable,
            )) => (None, Requeue::After(resync)),
        };
        if let Some(standing) = &standing {
            summarize(&mut status, self.old, generation, now, standing);
        }

        if !records_events {
            return Outcome {
                status,
                requeue,
                events: Vec::new(),
                changes,
                steps: Vec::new(),
                superseded: Vec::new(),
            };
        }
        let mut all = transition_events(self.old, &status);
        all.extend(step_events);
        all.extend(events);
        Outcome {
            status,
            requeue,
            events: all,
            changes,
            steps: Vec::new(),
            superseded,
        }
    }
}

fn ready_message(ctx: &ReleaseContext, status: &AgentReleaseStatus) -> String {
    let mut msg = format!(
        "N={}: {}@{} -> version {}",
        ctx.n(),
        ctx.spec.model.name,
        ctx.spec.model.alias,
        ctx.spec.model.version
    );
    if let Some(url) = &status.app_url {
        msg.push_str(&format!("; app at {url}"));
    }
    msg
}

fn set_on(
    status: &mut AgentReleaseStatus,
    generation: i64,
    now: Timestamp,
    type_: &str,
    cs: ConditionStatus,
    reason: &str,
    message: String,
) {
    condition::set(
        &mut status.conditions,
        Condition::new(type_, cs, reason, message, Some(generation), now),
    );
}

/// Events for conditions whose status or reason changed to a definite value.
fn transition_events(old: &AgentReleaseStatus, new: &AgentReleaseStatus) -> Vec<Event> {
    let mut events = Vec::new();
    for c in &new.conditions {
        if c.type_ == types::RECONCILING || c.type_ == types::STALLED {
            continue;
        }
        if c.status == ConditionStatus::Unknown {
            continue;
        }
        let before = condition::find(&old.conditions, &c.type_);
        let changed = before.is_none_or(|b| b.status != c.status || b.reason != c.reason);
        if !changed {
            continue;
        }
        if c.type_ == types::READY && c.status == ConditionStatus::False {
            // The step that stopped reports it.
            continue;
        }
        if c.type_ == types::DRIFT_DETECTED {
            // Drift raises its own Events (every correction, the first report).
            continue;
        }
        let warning = (c.status == ConditionStatus::False
            && !WAITING_REASONS.contains(&c.reason.as_str()))
            || WARNING_REASONS.contains(&c.reason.as_str());
        events.push(Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: c.reason.clone(),
            message: c.message.clone(),
        });
    }
    events
}

#[cfg(test)]
mod tests {
    //! The kstatus rules as properties over every way a pass can end.

    use std::time::Duration;

    use agentrelease_api::{AgentReleaseSpec, ReleaseTargetSpec};

    use super::*;
    use crate::engine::context::{Identity, ReleaseContext};
    use crate::engine::pass::{Artifacts, Mode};

    struct FixedClock(Timestamp);
    impl Clock for FixedClock {
        fn now(&self) -> Timestamp {
            self.0
        }
    }

    fn spec() -> AgentReleaseSpec {
        serde_json::from_value(serde_json::json!({
            "targetRef": {"name": "prod"},
            "version": 7,
            "model": {"name": "main.agents.m", "version": 12, "loggedModelId": "m-0123456789abcdef0123456789abcdef"},
            "app": {"name": "my-app", "sourceCodePath": "/Workspace/app"},
            "servingEndpoint": {"name": "ep", "servedEntities": [{"name": "e"}]},
            "permissions": [{"principal": {"type": "Group", "name": "g"}, "object": {"type": "App"}, "level": "CAN_USE"}],
            "verification": {"path": "/"}
        }))
        .unwrap()
    }

    fn target() -> ReleaseTargetSpec {
        serde_json::from_value(serde_json::json!({
            "host": "https://x.example", "credentials": {"secretName": "s"},
            "catalog": "main", "schema": "agents", "experiments": {"deployment": "/Shared/d"}
        }))
        .unwrap()
    }

    fn results() -> Vec<StepResult> {
        vec![
            StepResult::done("Ok", "ok"),
            StepResult::waiting("Waiting", "w", Duration::from_secs(3)),
            StepResult::blocked("SignoffRejected", "b"),
            StepResult::Failed {
                reason: "TransientError",
                message: "f".into(),
            },
        ]
    }

    fn check(status: &AgentReleaseStatus, generation: i64) {
        let ready =
            condition::find(&status.conditions, types::READY).expect("Ready is always present");
        let reconciling = condition::find(&status.conditions, types::RECONCILING);
        let stalled = condition::find(&status.conditions, types::STALLED);
        assert!(
            !(reconciling.is_some_and(Condition::is_true)
                && stalled.is_some_and(Condition::is_true)),
            "Reconciling and Stalled are never both True"
        );
        assert_eq!(status.observed_generation, Some(generation));
        for c in &status.conditions {
            assert!(
                c.observed_generation.is_some_and(|g| g <= generation),
                "{} observedGeneration is never ahead",
                c.type_
            );
        }
        if ready.is_true() {
            assert_eq!(ready.observed_generation, Some(generation));
            for &step in PIPELINE {
                let c = condition::find(&status.conditions, step.condition())
                    .expect("every step reported");
                assert!(
                    c.is_true() && c.observed_generation == Some(generation),
                    "{} True for this generation",
                    step.condition()
                );
            }
        }
    }

    #[test]
    fn kstatus_rules_hold_for_every_ending() {
        let ctx = ReleaseContext::new(
            Identity {
                uid: "u".into(),
                generation: 3,
                namespace: "ns".into(),
                name: "r".into(),
            },
            &spec(),
            &target(),
        )
        .unwrap();
        let clock = FixedClock(Timestamp::from_second(1_800_000_000).unwrap());
        // Every position at which the pipeline can stop, with every kind of stop, and the run to
        // the end; starting from an empty status and from a Ready status of an older generation.
        let mut old_ready = AgentReleaseStatus::default();
        for t in [types::READY, types::RECONCILING, types::STALLED] {
            condition::set(
                &mut old_ready.conditions,
                Condition::new(
                    t,
                    if t == types::READY {
                        ConditionStatus::True
                    } else {
                        ConditionStatus::False
                    },
                    "Released",
                    "",
                    Some(2),
                    clock.0,
                ),
            );
        }
        for old in [AgentReleaseStatus::default(), old_ready] {
            for stop_at in 0..=PIPELINE.len() {
                for stop in results().into_iter().skip(1) {
                    let builder = StatusBuilder::new(&old, 3, clock.0);
                    let mut pass = Pass {
                        ws: &(),
                        app_ws: None,
                        clock: &clock,
                        effects: crate::engine::effects::Effects::new(
                            Mode::Apply,
                            agentrelease_api::release::DriftPolicy::Correct,
                        ),
                        ctx: &ctx,
                        old: &old,
                        status: builder.status.clone(),
                        artifacts: Artifacts::default(),
                        events: Vec::new(),
                        seen: Default::default(),
                        approvals: None,
                        superseded: Vec::new(),
                    };
                    let mut stopped = None;
                    for (i, &step) in PIPELINE.iter().enumerate() {
                        let result = if i == stop_at {
                            stop.clone()
                        } else {
                            StepResult::done("Ok", "ok")
                        };
                        builder.record(&mut pass.status, step, &result);
                        if !matches!(result, StepResult::Done { .. }) {
                            stopped = Some((step, result));
                            break;
                        }
                    }
                    let outcome =
                        builder.finish(pass, &ctx, stopped.clone(), Duration::from_secs(300));
                    check(&outcome.status, 3);
                    match stopped {
                        None => assert!(outcome.is_ready()),
                        Some((_, StepResult::Blocked { .. })) => {
                            assert!(outcome.is_stalled() && !outcome.is_ready())
                        }
                        Some(_) => assert!(!outcome.is_ready() && !outcome.is_stalled()),
                    }
                }
            }
        }
    }

    #[test]
    fn suspended_and_blocked_before_start_follow_the_rules() {
        let clock = Timestamp::from_second(1_800_000_000).unwrap();
        let old = AgentReleaseStatus::default();
        let s =
            StatusBuilder::new(&old, 4, clock).suspended("maintenance", Duration::from_secs(60));
        check(&s.status, 4);
        assert_eq!(s.status.phase, Some(Phase::Suspended));
        // Created suspended: nothing happened, no Event. Suspended after it ran: an Event.
        assert!(s.events.is_empty(), "{:?}", s.events);
        let ran = AgentReleaseStatus {
            observed_generation: Some(3),
            ..Default::default()
        };
        let later =
            StatusBuilder::new(&ran, 4, clock).suspended("maintenance", Duration::from_secs(60));
        assert!(
            later.events.iter().any(|e| e.reason == reasons::SUSPENDED),
            "{:?}",
            later.events
        );
        let b = StatusBuilder::new(&old, 4, clock).blocked_before_start(
            types::TARGET_RESOLVED,
            reasons::TARGET_NOT_FOUND,
            "no target",
            Duration::from_secs(60),
        );
        check(&b.status, 4);
        assert!(b.is_stalled());
        assert!(
            b.events
                .iter()
                .any(|e| e.reason == reasons::TARGET_NOT_FOUND && e.type_ == EventType::Warning)
        );
    }
}
