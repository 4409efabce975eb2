//! The pipeline, in order. Each step is one file here that says what it is ([`StepInfo`]: its
//! name, the condition it owns, the phase a release is in while it is the step not done, and how
//! the runner treats it) and how it runs (`run`); [`pipeline!`] lists them once, and everything
//! else — the order of conditions in views and metrics, the phase, the dispatch — is derived
//! from that list. Adding a step is a new file and one line in the list below.
//!
//! evaluation gate -> signoff gate -> version consistency -> preflight -> upstream stages
//!   -> approval hold
//!   -> ownership claim
//!   -> deployment plan -> alias promotion -> app provisioning (its service principal)
//!   -> serving endpoint -> permissions and grants -> app deployment -> verification
//!   -> MCP tool check -> gateway check -> trace check -> audit
//!
//! Everything that can fail without writing (the gates, the preflight and the upstream stages a
//! release requires) runs before the first write (the ownership claim).
//!
//! Permissions come before the new deployment so the new version never starts without its
//! access; the endpoint comes before them because its ACL is keyed by the id it gets on creation.

pub mod approval_rule;
pub mod binding;
pub mod verify_task;

use agentrelease_api::conditions::{Phase, types};

use super::context::ReleaseContext;
use super::pass::{Clock, Pass, StepResult};
use super::workspace::Workspace;

/// When a step takes the release lock before it runs (once taken, it is held to the end of the
/// pass).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// It only reads (or writes under a lock an earlier step took).
    Never,
    /// It makes the pass's first write: the lock is taken before it reads what it decides on.
    Always,
    /// Only while a rollback of an earlier pass is resumed (the preflight finishes it).
    WhileRollingBack,
}

/// What a step is, as the runner and the views see it.
#[derive(Debug, Clone, Copy)]
pub struct StepInfo {
    /// A short name (plan output, metric labels, progress lines).
    pub name: &'static str,
    /// The condition the step owns.
    pub condition: &'static str,
    /// The phase a release is in while this step is the one not done.
    pub phase: Phase,
    /// When the step takes the release lock.
    pub lock: Lock,
    /// A person's approval hold: `plan` goes on past it, marking what follows.
    pub hold: bool,
    /// A wait of this step is a definite "not yet" (its condition False, not Unknown).
    pub waits_as_false: bool,
    /// The step decides ownership itself (a block elsewhere in the gates asks the ledger
    /// whether a newer release superseded this one).
    pub judges_ownership: bool,
    /// Whether the step applies to a release (its condition is removed when it does not).
    pub applies: fn(&ReleaseContext) -> bool,
}

impl StepInfo {
    /// A step that applies to every release, reads only, and has no special treatment.
    pub const DEFAULT: StepInfo = StepInfo {
        name: "",
        condition: "",
        phase: Phase::Gating,
        lock: Lock::Never,
        hold: false,
        waits_as_false: false,
        judges_ownership: false,
        applies: always,
    };
}

/// Applies to every release.
pub fn always(_: &ReleaseContext) -> bool {
    true
}

/// Declares the steps, in the order they run: `Variant => module`, the module holding the
/// step's `INFO` and `run`.
macro_rules! pipeline {
    ($($variant:ident => $module:ident),+ $(,)?) => {
        $(pub mod $module;)+

        /// A step of the pipeline.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Step {
            $(
                #[doc = concat!("See [`", stringify!($module), "`].")]
                $variant,
            )+
        }

        /// The steps in the order they run.
        pub const PIPELINE: &[Step] = &[$(Step::$variant),+];

        impl Step {
            /// What the step is.
            pub fn info(self) -> &'static StepInfo {
                match self {
                    $(Step::$variant => &$module::INFO,)+
                }
            }

            /// Runs the step.
            pub async fn run<W: Workspace, C: Clock>(self, pass: &mut Pass<'_, W, C>) -> StepResult {
                match self {
                    $(Step::$variant => $module::run(pass).await,)+
                }
            }
        }
    };
}

pipeline! {
    Evaluation => evaluation,
    Signoff => signoff,
    Consistency => consistency,
    Preflight => preflight,
    Upstream => upstream,
    Approved => approved,
    Claim => claim,
    Plan => plan,
    Promote => promote,
    App => app,
    Endpoint => endpoint,
    Permissions => permissions,
    Deploy => deploy,
    Verify => verify,
    Tools => tools,
    Gateway => gateway,
    Traces => traces,
    Audit => audit,
}

impl Step {
    /// The condition the step owns.
    pub fn condition(self) -> &'static str {
        self.info().condition
    }

    /// A short name (plan output, metric labels).
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The phase a release is in while this step is the one not done.
    pub fn phase(self) -> Phase {
        self.info().phase
    }

    /// Whether the step applies to the release.
    pub fn applies(self, ctx: &ReleaseContext) -> bool {
        (self.info().applies)(ctx)
    }
}

/// Every pipeline condition in the order the steps run, `TargetResolved` (the pass's start)
/// first: the order views (`kubectl agentrelease get`, the timeline) and the step duration
/// metric follow.
pub fn condition_order() -> &'static [&'static str] {
    static ORDER: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
        std::iter::once(types::TARGET_RESOLVED)
            .chain(PIPELINE.iter().map(|s| s.condition()))
            .collect()
    });
    &ORDER
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_has_its_own_name_and_condition() {
        let mut names: Vec<&str> = PIPELINE.iter().map(|s| s.name()).collect();
        let mut conditions: Vec<&str> = PIPELINE.iter().map(|s| s.condition()).collect();
        assert!(names.iter().all(|n| !n.is_empty()));
        names.sort_unstable();
        names.dedup();
        conditions.sort_unstable();
        conditions.dedup();
        assert_eq!(names.len(), PIPELINE.len());
        assert_eq!(conditions.len(), PIPELINE.len());
    }

    #[test]
    fn the_first_write_takes_the_lock_and_nothing_before_it_writes() {
        let claim = PIPELINE
            .iter()
            .position(|s| s.info().lock == Lock::Always)
            .expect("a step takes the lock");
        assert_eq!(PIPELINE[claim], Step::Claim);
        for s in &PIPELINE[..claim] {
            assert!(
                matches!(s.phase(), Phase::Gating | Phase::AwaitingApproval),
                "{s:?} runs before the first write"
            );
        }
    }

    #[test]
    fn the_condition_order_starts_with_the_target() {
        let order = condition_order();
        assert_eq!(order[0], types::TARGET_RESOLVED);
        assert_eq!(order[1], types::EVALUATION_PASSED);
        assert_eq!(order.last(), Some(&types::AUDITED));
    }
}
