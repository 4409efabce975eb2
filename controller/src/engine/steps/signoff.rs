//! Signoff gate (`SignoffApproved`): the front matter of `decision.md` carries two approving
//! decisions, or a `state_override` that captures both decisions verbatim (see
//! [`signoff`] for the exact rules); a front matter naming a model (`model_version`,
//! `model_id`) must name the one released ([`super::binding`]).

use agentrelease_api::conditions::reasons;

use super::binding;
use crate::engine::artifacts::signoff::{self, MAX_SIGNOFF_BYTES, Verdict};
use crate::engine::fingerprint;
use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::workspace::{Workspace, WorkspaceErrorKind};
use crate::engine::steps::StepInfo;

/// Runs the gate.
/// The step's place in the pipeline.
pub const INFO: StepInfo = StepInfo {
    name: "signoff",
    condition: agentrelease_api::conditions::types::SIGNOFF_APPROVED,
    phase: agentrelease_api::conditions::Phase::Gating,
    ..StepInfo::DEFAULT
};

pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let path = pass.ctx.signoff_path.clone();
    let bytes = match pass.ws.read_file(&path, MAX_SIGNOFF_BYTES).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            pass.status.signoff = None;
            return StepResult::blocked(reasons::SIGNOFF_MISSING, format!("no signoff at {path}"));
        }
        Err(e) if e.kind == WorkspaceErrorKind::TooLarge => {
            return StepResult::blocked(
                reasons::SIGNOFF_UNPARSEABLE,
                format!("{path}: larger than {MAX_SIGNOFF_BYTES} bytes"),
            );
        }
        Err(e) => return StepResult::from_workspace(&e),
    };
    pass.artifacts.signoff_digest = Some(fingerprint::of_bytes(&bytes));
    let parsed = signoff::parse(&path, &bytes);
    pass.status.signoff = Some(parsed.record.clone());
    let verdict = parsed.verdict.clone();
    let summary = describe(&parsed.record);
    let claims = parsed.model.clone();
    pass.artifacts.signoff = Some(parsed);
    // A decision about another model is no decision about this one, whatever it decided.
    if !matches!(verdict, Verdict::Unparseable(_))
        && let Some(stop) = binding::signoff(pass, &claims, &path).await
    {
        return stop;
    }
    match verdict {
        Verdict::Approved => StepResult::done(reasons::SIGNOFF_APPROVED, summary),
        Verdict::Overridden => {
            let record = pass
                .status
                .signoff
                .as_ref()
                .and_then(|s| s.override_.clone());
            let mut message = format!("overridden by state_override: {summary}");
            if let Some(o) = record {
                if let Some(by) = o.approved_by {
                    message.push_str(&format!("; override approved by {by}"));
                }
                if let Some(reason) = o.reason {
                    message.push_str(&format!("; reason: {reason}"));
                }
            }
            StepResult::done(reasons::SIGNOFF_OVERRIDDEN, message)
        }
        Verdict::Rejected(why) => {
            StepResult::blocked(reasons::SIGNOFF_REJECTED, format!("{path}: {why}"))
        }
        Verdict::Incomplete(why) => {
            StepResult::blocked(reasons::SIGNOFF_INCOMPLETE, format!("{path}: {why}"))
        }
        Verdict::Unparseable(why) => {
            StepResult::blocked(reasons::SIGNOFF_UNPARSEABLE, format!("{path}: {why}"))
        }
    }
}

fn describe(record: &agentrelease_api::status::SignoffRecord) -> String {
    let one = |label: &str, d: &agentrelease_api::status::DecisionRecord| {
        let mut s = format!("{label} {}", d.decision.as_deref().unwrap_or("(missing)"));
        if let Some(by) = &d.approver {
            s.push_str(&format!(" by {by}"));
        }
        if let Some(c) = &d.conditions {
            s.push_str(&format!(" (conditions: {c})"));
        }
        s
    };
    format!(
        "{}; {}",
        one("engineering", &record.engineering),
        one("stakeholder", &record.stakeholder)
    )
}
