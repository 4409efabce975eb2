//! Version consistency (`VersionsConsistent`): the eval summary and the signoff declare
//! `version: N`, and the prompt has the alias `candidate_v<N>`.

use agentrelease_api::conditions::reasons;
use agentrelease_api::status::GateRecord;

use crate::engine::artifacts::signoff::VersionField;
use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::workspace::Workspace;
use crate::engine::steps::StepInfo;

/// Runs the check.
/// The step's place in the pipeline.
pub const INFO: StepInfo = StepInfo {
    name: "consistency",
    condition: agentrelease_api::conditions::types::VERSIONS_CONSISTENT,
    phase: agentrelease_api::conditions::Phase::Gating,
    ..StepInfo::DEFAULT
};

pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let n = pass.ctx.n();
    let summary_version = pass
        .artifacts
        .summary
        .as_ref()
        .map(|s| s.version.clone())
        .unwrap_or(VersionField::Missing);
    let signoff_version = pass
        .artifacts
        .signoff
        .as_ref()
        .map(|s| s.version.clone())
        .unwrap_or(VersionField::Missing);
    let prompt = pass.ctx.prompt_name.clone();
    let alias = pass.ctx.prompt_alias.clone();
    let prompt_version = match pass.ws.get_prompt_alias(&prompt, &alias).await {
        Ok(v) => v,
        Err(e) => return StepResult::from_workspace(&e),
    };
    pass.artifacts.prompt_version = prompt_version.clone();

    let mut mismatches = Vec::new();
    if summary_version != VersionField::Int(n) {
        mismatches.push(format!("eval summary has {}", summary_version.describe()));
    }
    if signoff_version != VersionField::Int(n) {
        mismatches.push(format!("signoff has {}", signoff_version.describe()));
    }
    if prompt_version.is_none() {
        mismatches.push(format!("prompt {prompt} has no alias {alias}"));
    }
    if !mismatches.is_empty() {
        return StepResult::blocked(
            reasons::VERSION_MISMATCH,
            format!("release N={n}, but {}", mismatches.join("; ")),
        );
    }

    let fingerprint = pass.artifacts.fingerprint();
    let generation = pass.ctx.identity.generation;
    let passed_at = match &pass.old.gates {
        Some(g) if g.generation == generation && g.fingerprint == fingerprint => g.passed_at,
        _ => pass.now(),
    };
    pass.status.gates = Some(GateRecord {
        generation,
        fingerprint,
        passed_at: agentrelease_api::condition::truncate_to_seconds(passed_at),
    });
    StepResult::done(
        reasons::VERSIONS_CONSISTENT,
        format!(
            "eval summary, signoff and prompt {prompt}@{alias} (version {}) all belong to N={n}",
            prompt_version.unwrap_or_default()
        ),
    )
}
