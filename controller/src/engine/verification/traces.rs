//! The trace check (`TracesLinked`): after the chat call, the tracing experiment (the target's
//! `tracing.experimentId`, else the deployment experiment the app's `MLFLOW_EXPERIMENT_ID`
//! names) must hold the call's trace, and the trace must carry the released logged model id
//! (`mlflow.modelId`), which is how MLflow links production traces to the model.

use agentrelease_api::conditions::reasons;
use agentrelease_api::target::CheckMode;

use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::queries::TraceSummary;
use crate::engine::verification::post_check::{self, Check, Look};
use crate::engine::workspace::Workspace;

/// Whether the check applies to the release: an app, a chat check, a declared tracing block.
pub fn applies(ctx: &crate::engine::context::ReleaseContext) -> bool {
    ctx.spec.app.is_some()
        && ctx
            .spec
            .verification
            .as_ref()
            .is_some_and(|v| v.chat.is_some())
        && ctx.target.tracing.is_some()
}

/// The experiment the trace must be logged to: the declared one, else the deployment
/// experiment (known once the deployment step resolved it).
pub fn experiment<W, C>(pass: &Pass<'_, W, C>) -> Option<String> {
    pass.ctx
        .target
        .tracing
        .as_ref()
        .and_then(|t| t.experiment_id.clone())
        .or_else(|| pass.status.experiment_id.clone())
}

/// Judges the trace as read by its request id (pure): it must be logged to `experiment` and
/// carry the released logged model.
pub fn judge(found: Option<&TraceSummary>, trace: &str, experiment: &str, model_id: &str) -> Look {
    match found {
        None => Look::Missing(format!(
            "expected trace {trace} in experiment {experiment}, but it is not logged"
        )),
        Some(t) if t.experiment_id != experiment => Look::Wrong(format!(
            "trace {trace} was logged to experiment {}, not the tracing experiment {experiment}",
            t.experiment_id
        )),
        Some(t) if t.model_id.as_deref() == Some(model_id) => Look::Found(format!(
            "trace {trace} in experiment {experiment} carries mlflow.modelId {model_id}"
        )),
        Some(t) => Look::Wrong(format!(
            "expected trace {trace} to carry mlflow.modelId {model_id}, saw {}",
            t.model_id.as_deref().unwrap_or("none")
        )),
    }
}

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    if !applies(pass.ctx) {
        return StepResult::NotApplicable;
    }
    let mode = pass
        .ctx
        .target
        .tracing
        .as_ref()
        .map(|t| t.mode)
        .unwrap_or(CheckMode::Required);
    let Some(experiment) = experiment(pass).filter(|_| !pass.effects.planning()) else {
        return StepResult::done(
            reasons::TRACES_LINKED,
            "would look for the chat call's trace in the tracing experiment",
        );
    };
    let deployment_id = pass.status.deployment_id.clone().unwrap_or_default();
    let identity = pass.identity_digest();
    let trace = pass
        .status
        .verification
        .as_ref()
        .filter(|v| v.is_for(&deployment_id, identity.as_deref()) && v.passed)
        .and_then(|v| v.chat.as_ref())
        .and_then(|c| c.trace_request_id.clone());
    let mut record = post_check::record(pass, Check::Traces, &deployment_id, trace.as_deref());
    record.usage_before = None;
    if let Some(done) = post_check::concluded(Check::Traces, mode, &record) {
        return done;
    }
    let model_id = pass
        .artifacts
        .model_id
        .clone()
        .or_else(|| pass.ctx.spec.model.logged_model_id.clone());
    let look = match (trace.as_deref(), model_id.as_deref()) {
        (None, _) => Look::Wrong(
            "the chat call returned no trace request id, so its trace cannot be found".into(),
        ),
        (_, None) => Look::Wrong("the released logged model id is not known".into()),
        (Some(trace), Some(model_id)) => match pass.ws.get_trace(trace).await {
            Ok(found) => judge(found.as_ref(), trace, &experiment, model_id),
            Err(e) if e.kind.is_transient() => return StepResult::from_workspace(&e),
            Err(e) => Look::Wrong(format!("reading trace {trace} failed: {e}")),
        },
    };
    let verdict = post_check::decide(look, post_check::elapsed(&record, pass.now()));
    post_check::conclude(pass, Check::Traces, mode, record, verdict).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(id: &str, model: Option<&str>) -> TraceSummary {
        TraceSummary {
            request_id: id.into(),
            experiment_id: "1".into(),
            model_id: model.map(Into::into),
        }
    }

    #[test]
    fn the_trace_must_be_there_in_the_experiment_and_carry_the_model() {
        let m = "m-1";
        assert!(matches!(
            judge(Some(&t("tr-1", Some(m))), "tr-1", "1", m),
            Look::Found(_)
        ));
        match judge(Some(&t("tr-1", None)), "tr-1", "1", m) {
            Look::Wrong(w) => assert!(w.contains("carry mlflow.modelId m-1, saw none"), "{w}"),
            other => panic!("{other:?}"),
        }
        match judge(Some(&t("tr-1", Some(m))), "tr-1", "2", m) {
            Look::Wrong(w) => assert!(w.contains("logged to experiment 1, not"), "{w}"),
            other => panic!("{other:?}"),
        }
        match judge(None, "tr-1", "1", m) {
            Look::Missing(w) => assert!(
                w.contains("expected trace tr-1") && w.contains("not logged"),
                "{w}"
            ),
            other => panic!("{other:?}"),
        }
    }
}
