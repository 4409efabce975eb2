//! The pipeline, in order. Each step owns one condition; the engine runs them until one is not
//! done:
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

pub mod app;
pub mod approval_rule;
pub mod approved;
pub mod audit;
pub mod binding;
pub mod claim;
pub mod consistency;
pub mod deploy;
pub mod endpoint;
pub mod evaluation;
pub mod permissions;
pub mod plan;
pub mod preflight;
pub mod promote;
pub mod signoff;
pub mod upstream;
pub mod verify;
pub mod verify_task;

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
    /// `PreflightPassed`.
    Preflight,
    /// `UpstreamVerified` (only with `spec.promotion.requires`).
    Upstream,
    /// `Approved` (only with `spec.policy.approval: Required`).
    Approved,
    /// `OwnershipClaimed`.
    Claim,
    /// `PlanRecorded`.
    Plan,
    /// `AliasPromoted`.
    Promote,
    /// `AppProvisioned`.
    App,
    /// `EndpointReady`.
    Endpoint,
    /// `PermissionsApplied`.
    Permissions,
    /// `AppDeployed`.
    Deploy,
    /// `Verified`.
    Verify,
    /// `ToolsReachable` (in `engine::verification::mcp`).
    Tools,
    /// `GatewayVerified` (in `engine::verification::gateway`).
    Gateway,
    /// `TracesLinked` (in `engine::verification::traces`).
    Traces,
    /// `Audited`.
    Audit,
}

/// The steps in the order they run.
pub const PIPELINE: [Step; 18] = [
    Step::Evaluation,
    Step::Signoff,
    Step::Consistency,
    Step::Preflight,
    Step::Upstream,
    Step::Approved,
    Step::Claim,
    Step::Plan,
    Step::Promote,
    Step::App,
    Step::Endpoint,
    Step::Permissions,
    Step::Deploy,
    Step::Verify,
    Step::Tools,
    Step::Gateway,
    Step::Traces,
    Step::Audit,
];

impl Step {
    /// The condition the step owns.
    pub fn condition(self) -> &'static str {
        match self {
            Step::Evaluation => types::EVALUATION_PASSED,
            Step::Signoff => types::SIGNOFF_APPROVED,
            Step::Consistency => types::VERSIONS_CONSISTENT,
            Step::Preflight => types::PREFLIGHT_PASSED,
            Step::Upstream => types::UPSTREAM_VERIFIED,
            Step::Approved => types::APPROVED,
            Step::Claim => types::OWNERSHIP_CLAIMED,
            Step::Plan => types::PLAN_RECORDED,
            Step::Promote => types::ALIAS_PROMOTED,
            Step::App => types::APP_PROVISIONED,
            Step::Endpoint => types::ENDPOINT_READY,
            Step::Permissions => types::PERMISSIONS_APPLIED,
            Step::Deploy => types::APP_DEPLOYED,
            Step::Verify => types::VERIFIED,
            Step::Tools => types::TOOLS_REACHABLE,
            Step::Gateway => types::GATEWAY_VERIFIED,
            Step::Traces => types::TRACES_LINKED,
            Step::Audit => types::AUDITED,
        }
    }

    /// A short name (plan output, metric labels).
    pub fn name(self) -> &'static str {
        match self {
            Step::Evaluation => "evaluation",
            Step::Signoff => "signoff",
            Step::Consistency => "consistency",
            Step::Preflight => "preflight",
            Step::Upstream => "upstream",
            Step::Approved => "approval",
            Step::Claim => "ownership",
            Step::Plan => "plan",
            Step::Promote => "promote",
            Step::App => "app",
            Step::Endpoint => "endpoint",
            Step::Permissions => "permissions",
            Step::Deploy => "deploy",
            Step::Verify => "verify",
            Step::Tools => "tools",
            Step::Gateway => "gateway",
            Step::Traces => "traces",
            Step::Audit => "audit",
        }
    }

    /// The phase a release is in while this step is the one not done.
    pub fn phase(self) -> Phase {
        match self {
            Step::Evaluation
            | Step::Signoff
            | Step::Consistency
            | Step::Preflight
            | Step::Upstream => Phase::Gating,
            Step::Approved => Phase::AwaitingApproval,
            Step::Claim | Step::Plan | Step::Promote => Phase::Promoting,
            Step::App | Step::Endpoint | Step::Permissions | Step::Deploy => Phase::Deploying,
            Step::Verify | Step::Tools | Step::Gateway | Step::Traces | Step::Audit => {
                Phase::Verifying
            }
        }
    }

    /// Whether the step applies to the release.
    pub fn applies(self, ctx: &ReleaseContext) -> bool {
        let spec = &ctx.spec;
        match self {
            Step::Approved => approval_rule::required_by(ctx).is_some(),
            Step::App | Step::Deploy => spec.app.is_some(),
            Step::Endpoint => spec.serving_endpoint.is_some(),
            Step::Upstream => !spec.requirements().is_empty(),
            // With an app: its access to the tracing experiment and to the endpoints it uses.
            Step::Permissions => {
                !spec.permissions.is_empty() || !spec.grants.is_empty() || spec.app.is_some()
            }
            Step::Verify => spec.app.is_some() && spec.verification.is_some(),
            Step::Gateway => crate::engine::verification::gateway::applies(ctx),
            Step::Traces => crate::engine::verification::traces::applies(ctx),
            Step::Tools => {
                spec.app.is_some()
                    && spec
                        .verification
                        .as_ref()
                        .is_some_and(|v| !v.mcp_servers.is_empty())
            }
            _ => true,
        }
    }

    /// Runs the step.
    pub async fn run<W: Workspace, C: Clock>(self, pass: &mut Pass<'_, W, C>) -> StepResult {
        match self {
            Step::Evaluation => evaluation::run(pass).await,
            Step::Signoff => signoff::run(pass).await,
            Step::Consistency => consistency::run(pass).await,
            Step::Preflight => preflight::run(pass).await,
            Step::Upstream => upstream::run(pass).await,
            Step::Approved => approved::run(pass).await,
            Step::Claim => claim::run(pass).await,
            Step::Plan => plan::run(pass).await,
            Step::Promote => promote::run(pass).await,
            Step::App => app::run(pass).await,
            Step::Endpoint => endpoint::run(pass).await,
            Step::Permissions => permissions::run(pass).await,
            Step::Deploy => deploy::run(pass).await,
            Step::Verify => verify::run(pass).await,
            Step::Tools => crate::engine::verification::mcp::run(pass).await,
            Step::Gateway => crate::engine::verification::gateway::run(pass).await,
            Step::Traces => crate::engine::verification::traces::run(pass).await,
            Step::Audit => audit::run(pass).await,
        }
    }
}
