//! One reconcile pass: what every step reads and writes besides the workspace — the context, the
//! status being built, the artifacts read earlier in the pass, Events, planned changes, drift.

use std::collections::BTreeMap;
use std::time::Duration;

use agentrelease_api::AgentReleaseStatus;
use agentrelease_api::condition::{self, Condition};
use jiff::Timestamp;

use super::artifacts::eval_summary::Summary;
use super::artifacts::signoff::Signoff;
use super::change::Change;
use super::context::ReleaseContext;
use super::effects::{Cause, Effect, Effects};
use super::ledger::{Owned, Record};
use super::workspace::{
    AclEntry, AclObject, AppInfo, EndpointInfo, ModelVersionInfo, PrivilegeAssignment, RunFacts,
    Workspace, WorkspaceError, WorkspaceErrorKind, WsResult,
};

/// Where time comes from (tests and the simulator move it on their own terms).
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;

    /// Pauses a pass that waits on a long operation inside itself ([`super::InlineWait`]); a
    /// simulated clock moves itself forward instead of sleeping.
    fn sleep(&self, d: Duration) -> impl std::future::Future<Output = ()> + Send {
        tokio::time::sleep(d)
    }
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

/// A change, as `plan` lists what `apply` would make and `apply` lists what it made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlannedChange {
    /// The step that would make it.
    pub step: &'static str,
    /// One line.
    pub summary: String,
    /// Detail lines (e.g. an env diff).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    /// `plan` only: the change follows an approval hold that is not approved yet, so `apply`
    /// makes it only after the approval.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub after_approval: bool,
    /// The alias moves to a lower model version than it points at now: a revert, gated like
    /// any release and not blocked, but called out (the summary says so too).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub downgrade: bool,
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
    /// A newer release of the same agent owns the release's objects: no further writes, no
    /// drift fights (phase `Superseded`; neither Ready nor Stalled).
    Superseded {
        /// Condition message (names the owner).
        message: String,
    },
    /// An advisory check failed: its condition is False (the message says what was expected
    /// and seen) and the pipeline goes on.
    Advisory {
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
            WorkspaceErrorKind::UntrustedOrigin => StepResult::Blocked {
                reason: reasons::UNTRUSTED_ORIGIN,
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
    /// The logged model id the app's `MLFLOW_ACTIVE_MODEL_ID` carries (the model version's own,
    /// checked against the declared one by the preflight).
    pub model_id: Option<String>,
    /// The ledger records of the objects the release owns, as read by the preflight (`None`:
    /// no record).
    pub ledger: Vec<(Owned, Option<Record>)>,
    /// Unity Catalog privileges read by the preflight, by securable type and name (the
    /// permissions step reuses them instead of reading again).
    pub grants: BTreeMap<(String, String), Vec<PrivilegeAssignment>>,
    /// Direct ACL entries read by the preflight, by object.
    pub acls: BTreeMap<AclObject, Vec<AclEntry>>,
    /// The ids of serving endpoints other than the release's own, by name, as the preflight
    /// read them (their ACLs are keyed by id).
    pub endpoint_ids: BTreeMap<String, String>,
    /// The deployment experiment's id, once read (or created) in this pass.
    pub deployment_experiment: Option<String>,
    /// The tags of the release's model version, as read by the preflight (an approval tag
    /// among them).
    pub model_version_tags: BTreeMap<String, String>,
    /// The version the alias points at after the promotion step (moved to the release's
    /// version, or left where drift policy `Report` found it); `None` until that step ran.
    pub alias_now: Option<Option<i64>>,
    /// The release's model version as read in this pass (`Some(None)`: it does not exist): read
    /// once, by the first step that needs it ([`super::steps::binding::model_version`]).
    pub model_version: Option<Option<ModelVersionInfo>>,
    /// The evaluation run the summary names, as read in this pass (`None` inside: it does not
    /// exist): read once, by the binding check or the run checks, whichever asks first.
    pub eval_run: Option<(String, Option<RunFacts>)>,
}

impl Artifacts {
    /// The ledger record of the release's alias, when there is one.
    pub fn alias_record(&self) -> Option<&Record> {
        self.ledger
            .iter()
            .find(|(o, _)| matches!(o, Owned::Alias { .. }))
            .and_then(|(_, r)| r.as_ref())
    }
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
    /// The same workspace as the app's service principal, when the target holds its
    /// credentials (the MCP tool check runs as it).
    pub app_ws: Option<&'a W>,
    /// The clock.
    pub clock: &'a C,
    /// What the pass changes (the only holder of the mode and the drift policy).
    pub effects: Effects,
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
    /// The alias, app and endpoint as the steps read them (for the full-check record).
    pub seen: super::full_check::Seen,
    /// The AgentReleaseApprovals of the release's namespace; `None` where the runner cannot
    /// read them (`apply` without a cluster).
    pub approvals: Option<&'a [super::steps::approved::KubeApproval]>,
    /// Releases (`namespace/name`) whose objects this pass took over.
    pub superseded: Vec<String>,
}

impl<W, C: Clock> Pass<'_, W, C> {
    /// Now, by the pass's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
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

    /// The digest of the release identity as the pass knows it so far (`None` until the gates
    /// read the signoff and the eval summary): what every recorded check result is bound to.
    pub fn identity_digest(&self) -> Option<String> {
        super::identity::of(self.ctx, &self.artifacts).map(|i| i.digest)
    }

    /// Whether the step owning `type_` was already True for this generation: a change the step
    /// must make now is then drift, not progress.
    pub fn was_done(&self, type_: &str) -> bool {
        self.previous(type_).is_some_and(Condition::is_true)
    }
}

impl<W: Workspace, C: Clock> Pass<'_, W, C> {
    /// Hands a change to the effect module: applied, listed (`plan`) or reported (drift under
    /// policy `Report`).
    pub async fn effect(&mut self, change: Change, cause: Cause) -> WsResult<Effect> {
        self.effects.make(self.ws, change, cause).await
    }

    /// The cause of a change the step owning `type_` must make: drift when the step was already
    /// done for this generation, progress otherwise.
    pub fn cause(&self, type_: &str, what: impl FnOnce() -> String) -> Cause {
        if self.was_done(type_) {
            Cause::Drift(what())
        } else {
            Cause::Progress
        }
    }
}
