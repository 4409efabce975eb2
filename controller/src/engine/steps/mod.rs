//! The pipeline, in order. Each step owns one condition; the engine runs them until one is not
//! done:
//!
//! evaluation gate -> signoff gate -> version consistency -> deployment plan -> alias promotion

pub mod consistency;
pub mod evaluation;
pub mod plan;
pub mod promote;
pub mod signoff;

use agentrelease_api::conditions::{Phase, types};

use super::context::ReleaseContext;
use super::pass::{Clock, Pass, StepResult};
use super::workspace::Workspace;

/// A step of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `EvaluationPassed`.
    Evaluation,
    /// `SignoffApproved`.
    Signoff,
    /// `VersionsConsistent`.
    Consistency,
    /// `PlanRecorded`.
    Plan,
    /// `AliasPromoted`.
    Promote,
}

/// The steps in the order they run.
pub const PIPELINE: [Step; 5] = [
    Step::Evaluation,
    Step::Signoff,
    Step::Consistency,
    Step::Plan,
    Step::Promote,
];

impl Step {
    /// The condition the step owns.
    pub fn condition(self) -> &'static str {
        match self {
            Step::Evaluation => types::EVALUATION_PASSED,
            Step::Signoff => types::SIGNOFF_APPROVED,
            Step::Consistency => types::VERSIONS_CONSISTENT,
            Step::Plan => types::PLAN_RECORDED,
            Step::Promote => types::ALIAS_PROMOTED,
        }
    }

    /// A short name (plan output, metric labels).
    pub fn name(self) -> &'static str {
        match self {
            Step::Evaluation => "evaluation",
            Step::Signoff => "signoff",
            Step::Consistency => "consistency",
            Step::Plan => "plan",
            Step::Promote => "promote",
        }
    }

    /// The phase a release is in while this step is the one not done.
    pub fn phase(self) -> Phase {
        match self {
            Step::Evaluation | Step::Signoff | Step::Consistency => Phase::Gating,
            Step::Plan | Step::Promote => Phase::Promoting,
        }
    }

    /// Whether the step applies to the release.
    pub fn applies(self, _ctx: &ReleaseContext) -> bool {
        true
    }

    /// Runs the step.
    pub async fn run<W: Workspace, C: Clock>(self, pass: &mut Pass<'_, W, C>) -> StepResult {
        match self {
            Step::Evaluation => evaluation::run(pass).await,
            Step::Signoff => signoff::run(pass).await,
            Step::Consistency => consistency::run(pass).await,
            Step::Plan => plan::run(pass).await,
            Step::Promote => promote::run(pass).await,
        }
    }
}
