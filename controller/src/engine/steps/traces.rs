//! Trace check (`TracesLinked`): the chat call's trace is in the tracing experiment and carries
//! the released logged model. The check itself is `engine::verification::traces`.

use agentrelease_api::conditions::{Phase, types};

use crate::engine::steps::StepInfo;

pub use crate::engine::verification::traces::run;

/// The step's place in the pipeline.
pub const INFO: StepInfo = StepInfo {
    name: "traces",
    condition: types::TRACES_LINKED,
    phase: Phase::Verifying,
    applies: crate::engine::verification::traces::applies,
    ..StepInfo::DEFAULT
};
