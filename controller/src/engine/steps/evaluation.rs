//! Evaluation gate (`EvaluationPassed`): at least one threshold is declared, the eval summary of
//! N is of the model version being released (its `model_version`, `model_id` or evaluation run
//! names it; [`super::binding`]), it meets every threshold, no metric regressed beyond its `maxRegression` against the release that
//! owns the alias, and, when required, the evaluation run is the right kind of run: in the
//! target's evaluation experiment, named `eval_pre_deploy_YYYYMMDD_HHMMSS`, with a dataset input
//! tagged with the evaluation context that comes from a Unity Catalog table.

use agentrelease_api::conditions::reasons;
use agentrelease_api::release::EvaluationSpec;

use super::binding;
use crate::engine::artifacts::eval_checks;
use crate::engine::artifacts::eval_summary::{self, MAX_SUMMARY_BYTES, Summary};
use crate::engine::fingerprint;
use crate::engine::ledger::{self, Owned, Record};
use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::workspace::{Workspace, WorkspaceErrorKind};
use crate::engine::steps::StepInfo;

/// Runs the gate.
/// The step's place in the pipeline.
pub const INFO: StepInfo = StepInfo {
    name: "evaluation",
    condition: agentrelease_api::conditions::types::EVALUATION_PASSED,
    phase: agentrelease_api::conditions::Phase::Gating,
    ..StepInfo::DEFAULT
};

pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let evaluation = pass.ctx.spec.evaluation.clone().unwrap_or_default();
    if evaluation.thresholds.is_empty() {
        pass.status.evaluation.clear();
        return StepResult::blocked(
            reasons::EVALUATION_UNDECLARED,
            "spec.evaluation.thresholds declares no threshold; at least one is required, a gate without one would pass any summary",
        );
    }
    let path = pass.ctx.eval_summary_path.clone();
    let summary = match read_summary(pass, &path).await {
        Ok(Some(summary)) => summary,
        Ok(None) => {
            return StepResult::blocked(
                reasons::EVALUATION_MISSING,
                format!("no evaluation summary at {path}"),
            );
        }
        Err(result) => return result,
    };
    pass.artifacts.summary_digest = Some(fingerprint::of_bytes(&summary.1));
    let summary = match summary.0 {
        Ok(summary) => summary,
        Err(e) => {
            pass.status.evaluation.clear();
            return StepResult::blocked(reasons::EVALUATION_UNPARSEABLE, format!("{path}: {e}"));
        }
    };
    let results = eval_summary::compare(&summary, &evaluation.thresholds);
    pass.status.evaluation = results.clone();
    let run_id = summary.run_id.clone();
    pass.artifacts.summary = Some(summary.clone());
    // Metrics of another model say nothing about this one: the binding is decided first.
    let bound = match binding::evaluation(pass, &summary, &path).await {
        Ok(how) => how,
        Err(stop) => return stop,
    };

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

    if let Some(result) = regression(pass, &summary, &evaluation).await {
        return result;
    }
    if let Some(result) = run_checks(pass, run_id.as_deref(), &path, &evaluation).await {
        return result;
    }

    let shown: Vec<String> = results
        .iter()
        .map(|r| match r.observed {
            Some(v) => format!("{}={v}", r.metric),
            None => r.metric.clone(),
        })
        .collect();
    StepResult::done(
        reasons::EVALUATION_PASSED,
        format!(
            "all {} thresholds met ({}); evaluated {} version {} ({})",
            results.len(),
            shown.join(", "),
            pass.ctx.model(),
            pass.ctx.spec.model.version,
            bound.join(", ")
        ),
    )
}

type Read = (Result<Summary, eval_summary::SummaryError>, Vec<u8>);

/// Reads and parses a summary; `Ok(None)` when absent, `Err` a result that stops the gate.
async fn read_summary<W: Workspace, C: Clock>(
    pass: &Pass<'_, W, C>,
    path: &str,
) -> Result<Option<Read>, StepResult> {
    match pass.ws.read_file(path, MAX_SUMMARY_BYTES).await {
        Ok(Some(bytes)) => {
            let bytes = bytes.to_vec();
            Ok(Some((eval_summary::parse(&bytes), bytes)))
        }
        Ok(None) => Ok(None),
        Err(e) if e.kind == WorkspaceErrorKind::TooLarge => Err(StepResult::blocked(
            reasons::EVALUATION_UNPARSEABLE,
            format!("{path}: larger than {MAX_SUMMARY_BYTES} bytes"),
        )),
        Err(e) => Err(StepResult::from_workspace(&e)),
    }
}

/// Compares with the summary of the release that owns the alias, when a threshold declares
/// `maxRegression` and another N owns it. Reads nothing otherwise.
async fn regression<W: Workspace, C: Clock>(
    pass: &Pass<'_, W, C>,
    summary: &Summary,
    evaluation: &EvaluationSpec,
) -> Option<StepResult> {
    if evaluation
        .thresholds
        .iter()
        .all(|t| t.max_regression.is_none())
    {
        return None;
    }
    let alias = Owned::Alias {
        model: pass.ctx.spec.model.name.clone(),
        alias: pass.ctx.spec.model.alias.clone(),
    };
    let record_path = alias.path(pass.ctx.ledger_root());
    let owner = match pass
        .ws
        .read_workspace_file(&record_path.0, ledger::MAX_RECORD_BYTES)
        .await
    {
        // A record whose owner was deleted compares with its last good release: deleting the
        // owner does not switch the regression check off.
        Ok(Some(bytes)) => {
            let record = Record::parse(&bytes)?;
            record.owner.or(record.last_good.map(|l| l.claim))?
        }
        Ok(None) => return None,
        Err(e) => return Some(StepResult::from_workspace(&e)),
    };
    if owner.n == pass.ctx.n() {
        return None;
    }
    let target = &pass.ctx.target;
    let before_path = format!(
        "{}{}/v{}/summary.json",
        pass.ctx.volume_root, target.volumes.eval_runs, owner.n
    );
    let before = match read_summary(pass, &before_path).await {
        Ok(Some((Ok(before), _))) => before,
        Ok(Some((Err(e), _))) => {
            return Some(StepResult::blocked(
                reasons::EVALUATION_UNPARSEABLE,
                format!(
                    "{before_path} (the summary of {}, compared for maxRegression): {e}",
                    owner.describe()
                ),
            ));
        }
        Ok(None) => return None,
        Err(result) => return Some(result),
    };
    let regressed = eval_checks::regressions(summary, &before, &evaluation.thresholds);
    if regressed.is_empty() {
        return None;
    }
    let shown: Vec<String> = regressed.iter().map(|r| r.describe()).collect();
    Some(StepResult::blocked(
        reasons::EVALUATION_REGRESSED,
        format!(
            "{} regressed against v{} ({}, {before_path}): {}",
            if regressed.len() == 1 {
                "1 metric".to_string()
            } else {
                format!("{} metrics", regressed.len())
            },
            owner.n,
            owner.release,
            shown.join("; ")
        ),
    ))
}

/// The lineage requirement and the checks on the evaluation run; reads the run once a pass
/// (the binding check may have read it already).
async fn run_checks<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    run_id: Option<&str>,
    path: &str,
    evaluation: &EvaluationSpec,
) -> Option<StepResult> {
    let checks = evaluation.run.clone().unwrap_or_default();
    let any_check = checks.require_evaluation_experiment
        || checks.require_run_name
        || checks.require_table_dataset;
    if !evaluation.require_dataset_lineage && !any_check {
        return None;
    }
    let context = evaluation.lineage_context.as_str();
    let missing_reason = if evaluation.require_dataset_lineage {
        reasons::LINEAGE_MISSING
    } else {
        reasons::EVALUATION_RUN_REFUSED
    };
    let Some(run_id) = run_id else {
        return Some(StepResult::blocked(
            missing_reason,
            format!("{path} declares no run_id, so the evaluation run cannot be checked"),
        ));
    };
    let run = match binding::eval_run(pass, run_id).await {
        Ok(Some(run)) => run,
        Ok(None) => {
            return Some(StepResult::blocked(
                missing_reason,
                format!("the evaluation run {run_id} does not exist"),
            ));
        }
        Err(e) => return Some(StepResult::from_workspace(&e)),
    };
    if evaluation.require_dataset_lineage
        && !run
            .inputs
            .iter()
            .any(|i| i.context.as_deref() == Some(context))
    {
        return Some(StepResult::blocked(
            reasons::LINEAGE_MISSING,
            format!(
                "the evaluation run {run_id} has no dataset input tagged mlflow.data.context={context}"
            ),
        ));
    }
    if !any_check {
        return None;
    }
    let mut experiment = None;
    if checks.require_evaluation_experiment {
        let Some(exp_path) = pass.ctx.target.experiments.evaluation.clone() else {
            return Some(StepResult::blocked(
                reasons::EVALUATION_RUN_REFUSED,
                "evaluation.run.requireEvaluationExperiment is set but the target declares no experiments.evaluation",
            ));
        };
        match pass.ws.get_experiment(&exp_path).await {
            Ok(Some(e)) if e.active => experiment = Some((exp_path, e.id)),
            Ok(_) => experiment = None,
            Err(e) => return Some(StepResult::from_workspace(&e)),
        }
    }
    let experiment = experiment.as_ref().map(|(p, id)| (p.as_str(), id.as_str()));
    eval_checks::check_run(run_id, &run, &checks, experiment, context)
        .err()
        .map(|message| StepResult::blocked(reasons::EVALUATION_RUN_REFUSED, message))
}
