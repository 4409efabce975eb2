//! One reconcile pass: what every step reads and writes besides the workspace — the context, the
//! status being built, the artifacts read earlier in the pass, Events, planned changes, drift.

use std::time::Duration;

use agentrelease_api::AgentReleaseStatus;
use agentrelease_api::condition::{self, Condition};
use jiff::Timestamp;

use super::artifacts::eval_summary::Summary;
use super::artifacts::signoff::Signoff;
use super::context::ReleaseContext;
use super::workspace::{AppInfo, EndpointInfo, WorkspaceError, WorkspaceErrorKind};

/// Where time comes from (tests and the simulator move it on their own terms).
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// Whether the pass may write to the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Drive the workspace toward the declared state.
    Apply,
    /// Read only; record what `Apply` would change.
    Plan,
}

/// Severity of an Event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum EventType {
    /// Progress.
    Normal,
    /// Something a human should look at.
    Warning,
}

/// An Event for the release (the controller records it; the CLI prints it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Event {
    /// Severity.
    #[serde(rename = "type")]
    pub type_: EventType,
    /// A stable PascalCase reason.
    pub reason: String,
    /// What happened.
    pub message: String,
}

/// A change `plan` found that `apply` would make.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlannedChange {
    /// The step that would make it.
    pub step: &'static str,
    /// One line.
    pub summary: String,
    /// Detail lines (e.g. an env diff).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// How a step ended in this pass.
#[derive(Debug, Clone, PartialEq)]
pub enum StepResult {
    /// The step's condition holds.
    Done {
        /// Condition reason.
        reason: &'static str,
        /// Condition message.
        message: String,
    },
    /// Waiting on a long-running workspace operation; look again after `after`.
    Waiting {
        /// Condition reason.
        reason: &'static str,
        /// Condition message.
        message: String,
        /// When to look again.
        after: Duration,
    },
    /// Needs a human or a new spec.
    Blocked {
        /// Condition reason.
        reason: &'static str,
        /// Condition message.
        message: String,
    },
    /// A transient failure, retried with backoff.
    Failed {
        /// Condition reason.
        reason: &'static str,
        /// Condition message.
        message: String,
    },
    /// The step does not apply to this release (its condition is removed).
    NotApplicable,
}

impl StepResult {
    /// A done result.
    pub fn done(reason: &'static str, message: impl Into<String>) -> Self {
        StepResult::Done {
            reason,
            message: message.into(),
        }
    }

    /// A blocked result.
    pub fn blocked(reason: &'static str, message: impl Into<String>) -> Self {
        StepResult::Blocked {
            reason,
            message: message.into(),
        }
    }

    /// A waiting result.
    pub fn waiting(reason: &'static str, message: impl Into<String>, after: Duration) -> Self {
        StepResult::Waiting {
            reason,
            message: message.into(),
            after,
        }
    }

    /// The result of a workspace call that failed: a human is needed for permission and
    /// validation problems; everything else is retried.
    pub fn from_workspace(err: &WorkspaceError) -> Self {
        use agentrelease_api::conditions::reasons;
        let message = err.to_string();
        match err.kind {
            WorkspaceErrorKind::PermissionDenied => StepResult::Blocked {
                reason: reasons::PERMISSION_DENIED,
                message,
            },
            WorkspaceErrorKind::Unauthenticated => StepResult::Blocked {
                reason: reasons::UNAUTHENTICATED,
                message,
            },
            WorkspaceErrorKind::InvalidInput
            | WorkspaceErrorKind::NotFound
            | WorkspaceErrorKind::AlreadyExists
            | WorkspaceErrorKind::TooLarge => StepResult::Blocked {
                reason: WORKSPACE_REJECTED,
                message,
            },
            WorkspaceErrorKind::RateLimited
            | WorkspaceErrorKind::Transient
            | WorkspaceErrorKind::Conflict
            | WorkspaceErrorKind::Other => StepResult::Failed {
                reason: agentrelease_api::conditions::reasons::TRANSIENT_ERROR,
                message,
            },
        }
    }
}

/// The workspace refused a request the release made (an invalid value, a missing object the
/// release refers to).
pub const WORKSPACE_REJECTED: &str = "WorkspaceRejected";

/// Artifacts read earlier in the pass, for later steps.
#[derive(Debug, Clone, Default)]
pub struct Artifacts {
    /// The eval summary, when read and parsed.
    pub summary: Option<Summary>,
    /// The signoff, when read and parsed.
    pub signoff: Option<Signoff>,
    /// The version the prompt candidate alias points at.
    pub prompt_version: Option<String>,
    /// Digest of the raw signoff bytes.
    pub signoff_digest: Option<String>,
    /// Digest of the raw summary bytes.
    pub summary_digest: Option<String>,
    /// The app as seen by the provisioning step.
    pub app: Option<AppInfo>,
    /// The serving endpoint as seen by the endpoint step.
    pub endpoint: Option<EndpointInfo>,
}

impl Artifacts {
    /// A digest of every gate input; a change re-runs the gates' consequences and lifts a
    /// rollback hold.
    pub fn fingerprint(&self) -> String {
        super::fingerprint::digest(&[
            self.signoff_digest.as_deref().unwrap_or("-"),
            self.summary_digest.as_deref().unwrap_or("-"),
            self.prompt_version.as_deref().unwrap_or("-"),
        ])
    }
}

/// State of one pass, shared by the steps.
pub struct Pass<'a, W, C> {
    /// The workspace.
    pub ws: &'a W,
    /// The clock.
    pub clock: &'a C,
    /// Apply or plan.
    pub mode: Mode,
    /// The release and target.
    pub ctx: &'a ReleaseContext,
    /// The status as it was before this pass.
    pub old: &'a AgentReleaseStatus,
    /// The status being built.
    pub status: AgentReleaseStatus,
    /// Artifacts read by earlier steps.
    pub artifacts: Artifacts,
    /// Events raised by steps (beyond condition transitions).
    pub events: Vec<Event>,
    /// Changes found in plan mode.
    pub changes: Vec<PlannedChange>,
    /// Drift found in this pass.
    pub drift: Vec<String>,
    /// Whether drift was corrected (policy Correct) in this pass.
    pub drift_corrected: bool,
}

impl<W, C: Clock> Pass<'_, W, C> {
    /// Now, by the pass's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Whether the pass writes.
    pub fn applying(&self) -> bool {
        self.mode == Mode::Apply
    }

    /// Records a change `apply` would make (plan mode).
    pub fn plan(&mut self, step: &'static str, summary: impl Into<String>, details: Vec<String>) {
        self.changes.push(PlannedChange {
            step,
            summary: summary.into(),
            details,
        });
    }

    /// Raises an Event.
    pub fn event(&mut self, type_: EventType, reason: &str, message: impl Into<String>) {
        self.events.push(Event {
            type_,
            reason: reason.to_string(),
            message: message.into(),
        });
    }

    /// The condition of `type_` before this pass, when it was computed for this generation.
    pub fn previous(&self, type_: &str) -> Option<&Condition> {
        condition::find(&self.old.conditions, type_)
            .filter(|c| c.observed_generation == Some(self.ctx.identity.generation))
    }

    /// Whether the step owning `type_` was already True for this generation: a change the step
    /// must make now is then drift, not progress.
    pub fn was_done(&self, type_: &str) -> bool {
        self.previous(type_).is_some_and(Condition::is_true)
    }
}
