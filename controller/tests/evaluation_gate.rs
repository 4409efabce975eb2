//! The evaluation gate on the simulator: at least one threshold, the evaluation bound to the
//! model version released (and a signoff naming a model naming that one), `maxRegression`
//! against the release owning the alias, and the checks on the evaluation run (experiment,
//! name, dataset source). Each refusal names what was expected and what was seen, and writes
//! nothing.

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

/// Adds an evaluation run to the target's evaluation experiment that passes every run check,
/// with `model_inputs` (the logged models it evaluated).
fn seed_eval_run(c: &agentrelease_sim::SimControl, run_id: &str, model_inputs: &[&str]) {
    c.apply_seed(
        &Seed::from_yaml_str(
            &format!(
                "experiments:\n  - name: /Shared/skyloyalty/eval\n    runs:\n      - run_id: {run_id}\n        run_name: eval_pre_deploy_20261201_093000\n        dataset_inputs:\n          - {{name: main.agents.loyalty_eval_v7, digest: d1, context: evaluation, source_type: delta}}\n        model_inputs: [{}]\n",
                model_inputs.join(", ")
            ),
            None,
        )
        .expect("seed"),
    )
    .expect("apply seed");
}

/// Writes the v7 summary with `binding` (JSON members, e.g. `"model_version": 12, `).
fn put_summary(c: &agentrelease_sim::SimControl, binding: &str) {
    c.put_file(
        SUMMARY,
        format!(r#"{{"version": 7, {binding}{V7_METRICS}}}"#),
    )
    .expect("summary");
}

/// The sample release made a release of model version 10 (N=7, the artifacts of N=7).
fn as_version_10(h: &mut Harness) {
    let spec = &mut h.release.spec;
    spec.model.version = 10;
    spec.model.logged_model_id = Some(V10_MODEL_ID.into());
    if let Some(v) = spec.verification.as_mut() {
        v.expect_substring = Some(V10_MODEL_ID.into());
    }
    if let Some(first) = spec
        .serving_endpoint
        .as_mut()
        .and_then(|e| e.served_entities.first_mut())
    {
        first.name = "skyloyalty-10".into();
    }
}

#[tokio::test]
async fn the_n7_evaluation_of_version_12_does_not_release_version_10() {
    let mut h = harness().await;
    let c = h.control();
    as_version_10(&mut h);
    let (outcome, _) = h.run(20).await;
    assert!(!outcome.is_ready());
    assert!(outcome.needs_human());
    assert_eq!(
        reason(&outcome, types::EVALUATION_PASSED),
        reasons::EVALUATION_MODEL_MISMATCH
    );
    let msg = message(&outcome, types::EVALUATION_PASSED);
    assert!(
        msg.contains(SUMMARY)
            && msg.contains("names model_version 12")
            && msg.contains("the release is main.agents.skyloyalty version 10"),
        "{msg}"
    );
    assert!(c.writes().is_empty(), "{:?}", c.writes());
    assert_eq!(c.model_alias(MODEL, "champion"), Some(11), "untouched");
}

#[tokio::test]
async fn a_summary_bound_by_model_id_passes_and_one_naming_another_logged_model_blocks() {
    let mut h = harness().await;
    let c = h.control();
    let run = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab1";
    seed_eval_run(&c, run, &[]);
    put_summary(
        &c,
        &format!(r#""model_id": "{V12_MODEL_ID}", "run_id": "{run}", "#),
    );
    c.clear_calls();
    let outcome = h.pass(Mode::Apply).await;
    assert_eq!(
        reason(&outcome, types::EVALUATION_PASSED),
        reasons::EVALUATION_PASSED,
        "{}",
        message(&outcome, types::EVALUATION_PASSED)
    );
    assert!(
        message(&outcome, types::EVALUATION_PASSED).contains(&format!("model_id {V12_MODEL_ID}"))
    );
    // The gate read the model version; the preflight used that read.
    let version_reads = c
        .calls()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/versions/12"))
        .count();
    assert_eq!(version_reads, 1, "{:?}", c.calls());
    assert_eq!(
        reason(&outcome, types::PREFLIGHT_PASSED),
        reasons::PREFLIGHT_PASSED
    );

    let mut h = harness().await;
    let c = h.control();
    seed_eval_run(&c, run, &[]);
    put_summary(
        &c,
        &format!(r#""model_id": "{V10_MODEL_ID}", "run_id": "{run}", "#),
    );
    let outcome = h.pass(Mode::Apply).await;
    assert_eq!(
        reason(&outcome, types::EVALUATION_PASSED),
        reasons::EVALUATION_MODEL_MISMATCH
    );
    let msg = message(&outcome, types::EVALUATION_PASSED);
    assert!(
        msg.contains(&format!(
            "names model_id {V10_MODEL_ID}, but the release's logged model is {V12_MODEL_ID}"
        )),
        "{msg}"
    );
    assert!(c.writes().is_empty(), "{:?}", c.writes());
}

#[tokio::test]
async fn a_summary_bound_by_its_runs_model_inputs_passes_and_a_run_of_another_model_blocks() {
    let mut h = harness().await;
    let c = h.control();
    let of_12 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab2";
    seed_eval_run(&c, of_12, &[V12_MODEL_ID]);
    put_summary(&c, &format!(r#""run_id": "{of_12}", "#));
    c.clear_calls();
    let outcome = h.pass(Mode::Apply).await;
    assert_eq!(
        reason(&outcome, types::EVALUATION_PASSED),
        reasons::EVALUATION_PASSED,
        "{}",
        message(&outcome, types::EVALUATION_PASSED)
    );
    // One read of the run serves the binding and the run checks.
    let run_reads = c
        .calls()
        .iter()
        .filter(|r| r.route == "/api/2.0/mlflow/runs/get")
        .count();
    assert_eq!(run_reads, 1, "{:?}", c.calls());

    let mut h = harness().await;
    let c = h.control();
    let of_10 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab3";
    seed_eval_run(&c, of_10, &[V10_MODEL_ID]);
    put_summary(&c, &format!(r#""run_id": "{of_10}", "#));
    let outcome = h.pass(Mode::Apply).await;
    assert_eq!(
        reason(&outcome, types::EVALUATION_PASSED),
        reasons::EVALUATION_MODEL_MISMATCH
    );
    let msg = message(&outcome, types::EVALUATION_PASSED);
    assert!(
        msg.contains(&format!(
            "names run_id {of_10}, whose run evaluated logged model {V10_MODEL_ID}, not the release's {V12_MODEL_ID}"
        )),
        "{msg}"
    );
    assert!(c.writes().is_empty(), "{:?}", c.writes());

    // A summary naming version 12 whose run evaluated version 10's model is not bound either.
    put_summary(
        &c,
        &format!(r#""model_version": 12, "run_id": "{of_10}", "#),
    );
    let outcome = h.pass(Mode::Apply).await;
    assert_eq!(
        reason(&outcome, types::EVALUATION_PASSED),
        reasons::EVALUATION_MODEL_MISMATCH
    );
}

#[tokio::test]
async fn a_summary_naming_no_model_blocks() {
    let mut h = harness().await;
    let c = h.control();
    let run = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab4";
    seed_eval_run(&c, run, &[]);
    put_summary(&c, &format!(r#""run_id": "{run}", "#));
    let outcome = h.pass(Mode::Apply).await;
    assert!(outcome.needs_human());
    assert_eq!(
        reason(&outcome, types::EVALUATION_PASSED),
        reasons::EVALUATION_UNBOUND
    );
    let msg = message(&outcome, types::EVALUATION_PASSED);
    assert!(
        msg.contains("names no model it evaluated")
            && msg.contains("\"model_version\": 12")
            && msg.contains(&format!("its run {run} logged no model input")),
        "{msg}"
    );
    assert!(c.writes().is_empty(), "{:?}", c.writes());
}

#[tokio::test]
async fn a_signoff_naming_another_model_version_blocks_and_one_naming_none_passes() {
    let mut h = harness().await;
    let c = h.control();
    c.put_file(
        SIGNOFF,
        "---\nversion: 7\nmodel_version: 11\nengineering_signoff:\n  decision: APPROVED\nstakeholder_signoff:\n  decision: APPROVED\n---\n",
    )
    .expect("signoff");
    let outcome = h.pass(Mode::Apply).await;
    assert_eq!(
        reason(&outcome, types::SIGNOFF_APPROVED),
        reasons::SIGNOFF_MODEL_MISMATCH
    );
    let msg = message(&outcome, types::SIGNOFF_APPROVED);
    assert!(
        msg.contains(SIGNOFF)
            && msg.contains("names model_version 11")
            && msg.contains("the release is main.agents.skyloyalty version 12"),
        "{msg}"
    );
    assert!(c.writes().is_empty(), "{:?}", c.writes());

    c.put_file(
        SIGNOFF,
        format!("---\nversion: 7\nmodel_id: {V10_MODEL_ID}\nengineering_signoff:\n  decision: APPROVED\nstakeholder_signoff:\n  decision: APPROVED\n---\n"),
    )
    .expect("signoff");
    let outcome = h.pass(Mode::Apply).await;
    assert_eq!(
        reason(&outcome, types::SIGNOFF_APPROVED),
        reasons::SIGNOFF_MODEL_MISMATCH
    );

    // A signoff is a decision about N: naming no model is allowed.
    c.put_file(
        SIGNOFF,
        "---\nversion: 7\nengineering_signoff:\n  decision: APPROVED\nstakeholder_signoff:\n  decision: APPROVED\n---\n",
    )
    .expect("signoff");
    let outcome = h.pass(Mode::Apply).await;
    assert_eq!(
        reason(&outcome, types::SIGNOFF_APPROVED),
        reasons::SIGNOFF_APPROVED
    );
}
