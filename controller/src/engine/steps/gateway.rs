//! Gateway check (`GatewayVerified`): after the chat call, the AI gateway's payload table has the
//! call's row and its usage table grew. The check itself is `engine::verification::gateway`.

use agentrelease_api::conditions::{Phase, types};

use crate::engine::steps::StepInfo;

pub use crate::engine::verification::gateway::run;

/// The step's place in the pipeline.
pub const INFO: StepInfo = StepInfo {
    name: "gateway",
    condition: types::GATEWAY_VERIFIED,
    phase: Phase::Verifying,
    applies: crate::engine::verification::gateway::applies,
    ..StepInfo::DEFAULT
};
