//! The gates' check that the evaluation and the signoff are about the model version being
//! released ([`model_binding`] has the rules), and the reads it shares with the other steps.
//!
//! The evaluation gate runs before the preflight, which checks the model version. A gate that
//! needs the release's logged model id (a summary or signoff naming a `model_id`, an evaluation
//! run with model inputs) reads the model version here, and the read is kept for the rest of the
//! pass: the signoff gate and the preflight use it instead of reading again. A summary bound by
//! `model_version` alone needs no read for the binding. The evaluation run is read once a pass
//! too, by whichever of the binding and the run checks asks first. Every read happens before the
//! first write, so a mismatch leaves the workspace untouched.

use agentrelease_api::conditions::reasons;

use crate::engine::artifacts::eval_summary::Summary;
use crate::engine::artifacts::model_binding::{self, Binding, ModelClaims, Released, RunEvidence};
use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::workspace::{ModelVersionInfo, RunFacts, Workspace, WsResult};

/// The release's model version (`None`: it does not exist), read once a pass.
pub async fn model_version<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
) -> WsResult<Option<ModelVersionInfo>> {
    if let Some(read) = &pass.artifacts.model_version {
        return Ok(read.clone());
    }
    let read = pass
        .ws
        .get_model_version(pass.ctx.model(), pass.ctx.spec.model.version)
        .await?;
    pass.artifacts.model_version = Some(read.clone());
    Ok(read)
}

/// The evaluation run `run_id` (`None`: it does not exist), read once a pass.
pub async fn eval_run<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    run_id: &str,
) -> WsResult<Option<RunFacts>> {
    if let Some((id, run)) = &pass.artifacts.eval_run
        && id == run_id
    {
        return Ok(run.clone());
    }
    let run = pass.ws.get_run(run_id).await?;
    pass.artifacts.eval_run = Some((run_id.to_string(), run.clone()));
    Ok(run)
}

/// The release's logged model id (the model version's own, else the declared one), read for
/// `what`; `Err` stops the gate (the version does not exist, or the read failed).
async fn released_model_id<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    what: &str,
) -> Result<Option<String>, StepResult> {
    match model_version(pass).await {
        Ok(Some(mv)) => Ok(mv
            .model_id
            .or_else(|| pass.ctx.spec.model.logged_model_id.clone())),
        Ok(None) => Err(StepResult::blocked(
            reasons::MODEL_VERSION_MISSING,
            format!(
                "{} has no version {}, so the logged model {what} names cannot be checked",
                pass.ctx.model(),
                pass.ctx.spec.model.version
            ),
        )),
        Err(e) => Err(StepResult::from_workspace(&e)),
    }
}

/// The eval summary at `path` must be bound to the released model: `Ok` with how it is bound
/// (for the gate's message), `Err` the result that stops the gate.
pub async fn evaluation<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    summary: &Summary,
    path: &str,
) -> Result<Vec<String>, StepResult> {
    let run = match summary.run_id.as_deref() {
        Some(run_id) => match eval_run(pass, run_id).await {
            Ok(run) => Some((run_id, run)),
            Err(e) => return Err(StepResult::from_workspace(&e)),
        },
        None => None,
    };
    let evidence = match &run {
        None => RunEvidence::NotNamed,
        Some((run_id, None)) => RunEvidence::Missing(run_id),
        Some((run_id, Some(facts))) => RunEvidence::Models(run_id, &facts.model_inputs),
    };
    // Read only when a binding compares logged models; otherwise the declared id (if any)
    // only helps an unbound summary's message say what to declare.
    let own = if model_binding::needs_model_id(&summary.model, &evidence) {
        released_model_id(pass, path).await?
    } else {
        pass.ctx.spec.model.logged_model_id.clone()
    };
    let released = Released {
        model: pass.ctx.model(),
        version: pass.ctx.spec.model.version,
        model_id: own.as_deref(),
    };
    match model_binding::summary(&summary.model, &evidence, &released) {
        Binding::Bound(how) => Ok(how),
        Binding::Mismatch(why) => Err(StepResult::blocked(
            reasons::EVALUATION_MODEL_MISMATCH,
            format!(
                "the evaluation is not of the model released: {path} {}",
                why.join("; ")
            ),
        )),
        Binding::Unbound(why) => Err(StepResult::blocked(
            reasons::EVALUATION_UNBOUND,
            format!("{path} {why}"),
        )),
    }
}

/// A signoff naming a model must name the released one; `Some` stops the gate. One naming
/// none passes (it is a decision about N) and reads nothing.
pub async fn signoff<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    claims: &ModelClaims,
    path: &str,
) -> Option<StepResult> {
    if claims.is_empty() {
        return None;
    }
    let own = match claims.model_id {
        Some(_) => match released_model_id(pass, path).await {
            Ok(id) => id,
            Err(stop) => return Some(stop),
        },
        None => None,
    };
    let released = Released {
        model: pass.ctx.model(),
        version: pass.ctx.spec.model.version,
        model_id: own.as_deref(),
    };
    model_binding::signoff(claims, &released).err().map(|why| {
        StepResult::blocked(
            reasons::SIGNOFF_MODEL_MISMATCH,
            format!(
                "the signoff is not about the model released: {path} {}",
                why.join("; ")
            ),
        )
    })
}
