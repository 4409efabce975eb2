//! MCP tool check (`ToolsReachable`): every declared MCP server answers `initialize` and
//! `tools/list` with the required tools (and the optional call), as the app's service principal
//! where the target holds its credentials. The check itself is `engine::verification::mcp`.

use agentrelease_api::conditions::{Phase, types};

use crate::engine::steps::StepInfo;

pub use crate::engine::verification::mcp::run;

/// The step's place in the pipeline.
pub const INFO: StepInfo = StepInfo {
    name: "tools",
    condition: types::TOOLS_REACHABLE,
    phase: Phase::Verifying,
    applies: |ctx| {
        ctx.spec.app.is_some()
            && ctx
                .spec
                .verification
                .as_ref()
                .is_some_and(|v| !v.mcp_servers.is_empty())
    },
    ..StepInfo::DEFAULT
};
