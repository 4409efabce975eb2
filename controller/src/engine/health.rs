//! The one writer of the kstatus trio (`Ready`, `Reconciling`, `Stalled`) and the phase: what a
//! pass came to ([`Standing`]) decides all four, so GitOps tools read the release's health right.
//!
//! The mapping, by the kstatus rules (sigs.k8s.io/cli-utils `pkg/kstatus/status`, which Flux's
//! health checks use: an unobserved generation is InProgress, `Reconciling=True` is InProgress,
//! `Stalled=True` is Failed, anything else is Current):
//!
//! | standing            | Ready | Reconciling | Stalled | kstatus    |
//! |---------------------|-------|-------------|---------|------------|
//! | released            | True  | False       | False   | Current    |
//! | progressing         | False | True        | False   | InProgress |
//! | awaiting approval   | False | True        | False   | InProgress (a wait, not a failure) |
//! | blocked, rolled back| False | False       | True    | Failed     |
//! | superseded          | False | False       | False   | Current (done; the newer release owns the objects) |
//! | suspended           | the trio it had, untouched  || the health it had |
//!
//! A suspended release keeps the trio and `observedGeneration` of its last reconcile, as Flux
//! keeps its own objects' `Ready` while suspended: a spec edited while suspended reads as not
//! observed (InProgress) until it is resumed and reconciled. A release created suspended has no
//! trio to keep and gets `Ready=False` (reason `Suspended`), Current.

use agentrelease_api::AgentReleaseStatus;
use agentrelease_api::condition::{self, Condition, ConditionStatus};
use agentrelease_api::conditions::{Phase, reasons, types};
use jiff::Timestamp;

/// What a pass came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Every applicable step holds for this generation.
    Released {
        /// The Ready message.
        message: String,
    },
    /// Work goes on by itself: a step waits on the workspace, or a transient failure is retried.
    Progressing {
        /// Where the release is.
        phase: Phase,
        /// The reason of the step that is not done.
        reason: String,
        /// Its message.
        message: String,
    },
    /// A person's approval is awaited before the first write.
    AwaitingApproval {
        /// What approves it.
        message: String,
    },
    /// A human or a new spec is needed (a gate blocked, a bad reference, a rollback).
    Blocked {
        /// `Blocked` or `RolledBack`.
        phase: Phase,
        /// The reason.
        reason: String,
        /// The message.
        message: String,
    },
    /// A newer release of the same agent owns the release's objects.
    Superseded {
        /// Names the owner.
        message: String,
    },
    /// `spec.policy.suspend`: nothing is read or written.
    Suspended {
        /// Why.
        message: String,
    },
}

/// How tools read a status: the kstatus result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kstatus {
    /// Reconciled and healthy (or deliberately done).
    Current,
    /// Work in progress, or a generation not observed yet.
    InProgress,
    /// Needs a human.
    Failed,
}

/// Writes the trio and the phase of `standing` on `status` (computed for `generation` at `now`;
/// `old` is the status before the pass, whose trio a suspended release keeps).
pub fn summarize(
    status: &mut AgentReleaseStatus,
    old: &AgentReleaseStatus,
    generation: i64,
    now: Timestamp,
    standing: &Standing,
) {
    let (ready, reconciling, stalled, reason, message, phase) = match standing {
        Standing::Released { message } => (
            ConditionStatus::True,
            false,
            false,
            reasons::RELEASED,
            message,
            Phase::Ready,
        ),
        Standing::Progressing {
            phase,
            reason,
            message,
        } => (
            ConditionStatus::False,
            true,
            false,
            reason.as_str(),
            message,
            *phase,
        ),
        Standing::AwaitingApproval { message } => (
            ConditionStatus::False,
            true,
            false,
            reasons::AWAITING_APPROVAL,
            message,
            Phase::AwaitingApproval,
        ),
        Standing::Blocked {
            phase,
            reason,
            message,
        } => (
            ConditionStatus::False,
            false,
            true,
            reason.as_str(),
            message,
            *phase,
        ),
        Standing::Superseded { message } => (
            ConditionStatus::False,
            false,
            false,
            reasons::SUPERSEDED,
            message,
            Phase::Superseded,
        ),
        Standing::Suspended { message } => {
            suspend(status, old, generation, now, message);
            return;
        }
    };
    status.observed_generation = Some(generation);
    // Reconciling and Stalled of a release that waits say it is progressing; a transient
    // failure says so on all three.
    let trio_reason = match standing {
        Standing::Progressing { reason, .. } if reason != reasons::TRANSIENT_ERROR => {
            reasons::PROGRESSING
        }
        _ => reason,
    };
    let flag = |on: bool| {
        if on {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        }
    };
    for (type_, cs, reason) in [
        (types::READY, ready, reason),
        (types::RECONCILING, flag(reconciling), trio_reason),
        (types::STALLED, flag(stalled), trio_reason),
    ] {
        condition::set(
            &mut status.conditions,
            Condition::new(type_, cs, reason, message.clone(), Some(generation), now),
        );
    }
    status.phase = Some(phase);
}

/// A suspended release: the trio and observed generation of its last reconcile stay; one never
/// reconciled is not Ready and not in progress.
fn suspend(
    status: &mut AgentReleaseStatus,
    old: &AgentReleaseStatus,
    generation: i64,
    now: Timestamp,
    message: &str,
) {
    let had_trio = condition::find(&old.conditions, types::READY).is_some();
    condition::set(
        &mut status.conditions,
        Condition::new(
            types::SUSPENDED,
            ConditionStatus::True,
            reasons::SUSPENDED,
            message.to_string(),
            Some(generation),
            now,
        ),
    );
    status.phase = Some(Phase::Suspended);
    if had_trio && old.observed_generation.is_some() {
        status.observed_generation = old.observed_generation;
        for type_ in [types::READY, types::RECONCILING, types::STALLED] {
            status.conditions.retain(|c| c.type_ != type_);
            if let Some(c) = condition::find(&old.conditions, type_) {
                status.conditions.push(c.clone());
            }
        }
        return;
    }
    status.observed_generation = Some(generation);
    for type_ in [types::READY, types::RECONCILING, types::STALLED] {
        condition::set(
            &mut status.conditions,
            Condition::new(
                type_,
                ConditionStatus::False,
                reasons::SUSPENDED,
                message.to_string(),
                Some(generation),
                now,
            ),
        );
    }
}

/// The kstatus result of a release with `generation` and `status`, by the kstatus rules
/// themselves (the generic rules of `pkg/kstatus/status`: deletion aside, an unobserved
/// generation is InProgress, then `Reconciling=True`, then `Stalled=True`, else Current).
pub fn kstatus(generation: Option<i64>, status: Option<&AgentReleaseStatus>) -> Kstatus {
    let Some(status) = status else {
        return Kstatus::Current;
    };
    if let (Some(g), Some(observed)) = (generation, status.observed_generation)
        && g != observed
    {
        return Kstatus::InProgress;
    }
    for c in &status.conditions {
        if c.type_ == types::RECONCILING && c.is_true() {
            return Kstatus::InProgress;
        }
        if c.type_ == types::STALLED && c.is_true() {
            return Kstatus::Failed;
        }
    }
    Kstatus::Current
}

#[cfg(test)]
mod tests;
