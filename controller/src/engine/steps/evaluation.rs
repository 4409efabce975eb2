//! Evaluation gate (`EvaluationPassed`): the eval summary of N meets every declared threshold,
//! and, when required, the evaluation run carries a dataset input tagged with the evaluation
//! context.

use agentrelease_api::conditions::reasons;

use crate::engine::artifacts::eval_summary::{self, MAX_SUMMARY_BYTES};
use crate::engine::fingerprint;
use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::workspace::{Workspace, WorkspaceErrorKind};

/// Runs the gate.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let path = pass.ctx.eval_summary_path.clone();
    let bytes = match pass.ws.read_file(&path, MAX_SUMMARY_BYTES).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            return StepResult::blocked(
                reasons::EVALUATION_MISSING,
                format!("no evaluation summary at {path}"),
            );
        }
        Err(e) if e.kind == WorkspaceErrorKind::TooLarge => {
            return StepResult::blocked(
                reasons::EVALUATION_UNPARSEABLE,
                format!("{path}: larger than {MAX_SUMMARY_BYTES} bytes"),
            );
        }
        Err(e) => return StepResult::from_workspace(&e),
    };
    pass.artifacts.summary_digest = Some(fingerprint::of_bytes(&bytes));
    let summary = match eval_summary::parse(&bytes) {
        Ok(summary) => summary,
        Err(e) => {
            pass.status.evaluation.clear();
            return StepResult::blocked(reasons::EVALUATION_UNPARSEABLE, format!("{path}: {e}"));
        }
    };
    let evaluation = pass.ctx.spec.evaluation.clone().unwrap_or_default();
    let results = eval_summary::compare(&summary, &evaluation.thresholds);
    pass.status.evaluation = results.clone();
    let run_id = summary.run_id.clone();
    pass.artifacts.summary = Some(summary);

    let failing: Vec<String> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| format!("{}: {}", r.metric, r.reason.as_deref().unwrap_or("failed")))
        .collect();
    if !failing.is_empty() {
        return StepResult::blocked(
            reasons::EVALUATION_FAILED,
            format!(
                "{} of {} thresholds not met: {}",
                failing.len(),
                results.len(),
                failing.join("; ")
            ),
        );
    }

    if evaluation.require_dataset_lineage {
        let context = evaluation.lineage_context.as_str();
        let Some(run_id) = run_id else {
            return StepResult::blocked(
                reasons::LINEAGE_MISSING,
                format!("{path} declares no run_id, so the evaluation dataset cannot be traced"),
            );
        };
        match pass.ws.get_run_inputs(&run_id).await {
            Ok(None) => {
                return StepResult::blocked(
                    reasons::LINEAGE_MISSING,
                    format!("the evaluation run {run_id} does not exist"),
                );
            }
            Ok(Some(inputs)) => {
                if !inputs.iter().any(|i| i.context.as_deref() == Some(context)) {
                    return StepResult::blocked(
                        reasons::LINEAGE_MISSING,
                        format!(
                            "the evaluation run {run_id} has no dataset input tagged mlflow.data.context={context}"
                        ),
                    );
                }
            }
            Err(e) => return StepResult::from_workspace(&e),
        }
    }

    let message = if results.is_empty() {
        "no thresholds declared; the summary is present".to_string()
    } else {
        let shown: Vec<String> = results
            .iter()
            .map(|r| match r.observed {
                Some(v) => format!("{}={v}", r.metric),
                None => r.metric.clone(),
            })
            .collect();
        format!(
            "all {} thresholds met ({})",
            results.len(),
            shown.join(", ")
        )
    };
    StepResult::done(reasons::EVALUATION_PASSED, message)
}
