//! The evaluation gate on the simulator: at least one threshold, `maxRegression` against the
//! release owning the alias, and the checks on the evaluation run (experiment, name, dataset
//! source). Each refusal names what was expected and what was seen, and writes nothing.

mod support;

use agentrelease::engine::Mode;
use agentrelease_api::conditions::{reasons, types};
use agentrelease_sim::Seed;
use support::*;

const V7_METRICS: &str = r#""metrics": {"answer_correctness": 0.91, "groundedness": 0.88, "safety": 0.99, "latency_p95_ms": 1800}"#;

fn message(outcome: &agentrelease::engine::Outcome, type_: &str) -> String {
    outcome
        .status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

/// Adds runs in a second experiment and points the v7 summary at `run_id`.
fn seed_run(c: &agentrelease_sim::SimControl, run_id: &str, run_yaml: &str) {
    c.apply_seed(
        &Seed::from_yaml_str(
            &format!(
                "experiments:\n  - name: /Shared/skyloyalty/elsewhere\n    runs:\n      - run_id: {run_id}\n{run_yaml}"
            ),
            None,
        )
        .expect("seed"),
    )
    .expect("apply seed");
    c.put_file(
        SUMMARY,
        format!(r#"{{"version": 7, "model_version": 12, "run_id": "{run_id}", {V7_METRICS}}}"#),
    )
    .expect("summary");
}

#[tokio::test]
async fn the_sample_passes_every_evaluation_check() {
    let mut h = harness().await;
    let outcome = h.pass(Mode::Apply).await;
    assert_eq!(
        reason(&outcome, types::EVALUATION_PASSED),
        reasons::EVALUATION_PASSED,
        "{}",
        message(&outcome, types::EVALUATION_PASSED)
    );
}

#[tokio::test]
async fn a_release_without_thresholds_is_refused() {
    let mut h = harness().await;
    if let Some(e) = h.release.spec.evaluation.as_mut() {
        e.thresholds.clear();
    }
    let c = h.control();
    let outcome = h.pass(Mode::Apply).await;
    assert_eq!(
        reason(&outcome, types::EVALUATION_PASSED),
        reasons::EVALUATION_UNDECLARED
    );
    assert!(message(&outcome, types::EVALUATION_PASSED).contains("at least one"));
    assert!(c.writes().is_empty());

    h.release.spec.evaluation = None;
    let outcome = h.pass(Mode::Apply).await;
    assert_eq!(
        reason(&outcome, types::EVALUATION_PASSED),
        reasons::EVALUATION_UNDECLARED
    );
}

#[tokio::test]
async fn a_metric_worse_than_the_alias_owner_beyond_max_regression_blocks() {
    let mut h = harness().await;
    assert!(h.run(200).await.0.is_ready(), "v7 owns the alias");
    let c = h.control();
    seed_v8_artifacts(&c);
    let (mut v8, id8) = other_release(&h, "skyloyalty-v8");
    as_v8(&mut v8);

    // Within the limit (0.91 -> 0.93 is an improvement): the gate passes.
    let outcome = h.pass_other(&mut v8, &id8, Mode::Plan).await;
    assert_eq!(
        reason(&outcome, types::EVALUATION_PASSED),
        reasons::EVALUATION_PASSED
    );

    // 0.91 -> 0.855: above the minimum 0.85 but 0.055 worse, over the limit 0.05.
    c.put_file(
        "/Volumes/main/agents/eval_runs/v8/summary.json",
        v8_summary(0.855),
    )
    .expect("summary v8");
    c.clear_calls();
    let outcome = h.pass_other(&mut v8, &id8, Mode::Apply).await;
    assert_eq!(
        reason(&outcome, types::EVALUATION_PASSED),
        reasons::EVALUATION_REGRESSED
    );
    let msg = message(&outcome, types::EVALUATION_PASSED);
    assert!(
        msg.contains("answer_correctness: now 0.855, before 0.91")
            && msg.contains("limit 0.05")
            && msg.contains("v7"),
        "{msg}"
    );
    assert!(c.writes().is_empty(), "{:?}", c.writes());
    assert_eq!(
        c.model_alias(MODEL, "champion"),
        Some(12),
        "alias untouched"
    );
}

#[tokio::test]
async fn an_evaluation_run_in_another_experiment_is_refused() {
    let mut h = harness().await;
    let c = h.control();
    seed_run(
        &c,
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1",
        "        run_name: eval_pre_deploy_20261201_093000\n        dataset_inputs:\n          - {name: main.agents.loyalty_eval_v7, digest: d1, context: evaluation, source_type: delta}\n",
    );
    let outcome = h.pass(Mode::Apply).await;
    assert_eq!(
        reason(&outcome, types::EVALUATION_PASSED),
        reasons::EVALUATION_RUN_REFUSED
    );
    let msg = message(&outcome, types::EVALUATION_PASSED);
    assert!(
        msg.contains("expected the target's evaluation experiment /Shared/skyloyalty/eval"),
        "{msg}"
    );
    assert!(c.writes().is_empty());
}

/// A pass with the experiment check off, which the run refuses; the condition's message.
async fn refused_without_the_experiment_check(h: &mut Harness) -> String {
    if let Some(run) = h
        .release
        .spec
        .evaluation
        .as_mut()
        .and_then(|e| e.run.as_mut())
    {
        run.require_evaluation_experiment = false;
    }
    let outcome = h.pass(Mode::Apply).await;
    assert_eq!(
        reason(&outcome, types::EVALUATION_PASSED),
        reasons::EVALUATION_RUN_REFUSED
    );
    message(&outcome, types::EVALUATION_PASSED)
}

#[tokio::test]
async fn an_evaluation_run_with_the_wrong_name_is_refused() {
    let mut h = harness().await;
    let c = h.control();
    seed_run(
        &c,
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2",
        "        run_name: my_eval\n        dataset_inputs:\n          - {name: main.agents.loyalty_eval_v7, digest: d1, context: evaluation, source_type: delta}\n",
    );
    let msg = refused_without_the_experiment_check(&mut h).await;
    assert!(
        msg.contains("named \"my_eval\", expected eval_pre_deploy_YYYYMMDD_HHMMSS"),
        "{msg}"
    );
}

#[tokio::test]
async fn an_evaluation_run_on_a_local_file_is_refused() {
    let mut h = harness().await;
    let c = h.control();
    seed_run(
        &c,
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3",
        "        run_name: eval_pre_deploy_20261201_093000\n        dataset_inputs:\n          - {name: eval.csv, digest: d1, context: evaluation, source_type: local, source: '{\"uri\": \"/tmp/eval.csv\"}'}\n",
    );
    let msg = refused_without_the_experiment_check(&mut h).await;
    assert!(
        msg.contains("eval.csv")
            && msg.contains("source_type local")
            && msg.contains("expected a Unity Catalog table"),
        "{msg}"
    );
    assert!(c.writes().is_empty());
}
