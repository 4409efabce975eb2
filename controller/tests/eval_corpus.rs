//! The evaluation-summary corpus: every document of `tests/eval-corpus/` through the summary
//! reader, the sample's thresholds and the model binding, each with its expected verdict,
//! version reading and binding.

use std::collections::BTreeMap;
use std::path::Path;

use agentrelease::engine::artifacts::eval_summary;
use agentrelease::engine::artifacts::model_binding::{self, Binding, Released, RunEvidence};
use agentrelease::engine::artifacts::signoff::VersionField;
use agentrelease_api::AgentRelease;

#[derive(serde::Deserialize)]
struct Expected {
    verdict: String,
    version_ok: bool,
    /// `Bound`, `Mismatch` or `Unbound`, for a summary that parses.
    #[serde(default)]
    binding: Option<String>,
    why: String,
}

const V12_MODEL_ID: &str = "m-7f3c1a9e5b2d4c6f8a0b1c2d3e4f5a6b";
const V10_MODEL_ID: &str = "m-1d2e3f4a5b6c4d7e8f9a0b1c2d3e4f5a";

/// The binding of `summary` to the sample's release (model version 12), with the corpus's
/// runs: `r1` evaluated version 12's logged model, `r-of-10` version 10's, `r-no-models` none.
fn binding(summary: &eval_summary::Summary) -> &'static str {
    let r1 = vec![V12_MODEL_ID.to_string()];
    let of_10 = vec![V10_MODEL_ID.to_string()];
    let evidence = match summary.run_id.as_deref() {
        None => RunEvidence::NotNamed,
        Some(id @ "r1") => RunEvidence::Models(id, &r1),
        Some(id @ "r-of-10") => RunEvidence::Models(id, &of_10),
        Some(id @ "r-no-models") => RunEvidence::Models(id, &[]),
        Some(id) => RunEvidence::Missing(id),
    };
    let released = Released {
        model: "main.agents.skyloyalty",
        version: 12,
        model_id: Some(V12_MODEL_ID),
    };
    match model_binding::summary(&summary.model, &evidence, &released) {
        Binding::Bound(_) => "Bound",
        Binding::Mismatch(_) => "Mismatch",
        Binding::Unbound(_) => "Unbound",
    }
}

#[test]
fn every_corpus_summary_gets_its_expected_verdict() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = root.join("tests/eval-corpus");
    let expected: BTreeMap<String, Expected> = serde_saphyr::from_str(
        &std::fs::read_to_string(dir.join("expected.yaml")).expect("expected"),
    )
    .expect("yaml");
    assert!(expected.len() >= 25, "the corpus covers every rule");
    let release: AgentRelease = serde_saphyr::from_str(
        &std::fs::read_to_string(root.join("config/samples/agentrelease.yaml")).expect("sample"),
    )
    .expect("release");
    let thresholds = release
        .spec
        .evaluation
        .as_ref()
        .map(|e| e.thresholds.clone())
        .unwrap_or_default();
    let mut failures = Vec::new();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        seen += 1;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(want) = expected.get(&name) else {
            failures.push(format!("{name}: not listed in expected.yaml"));
            continue;
        };
        let bytes = std::fs::read(&path).expect("read");
        let (verdict, version_ok, bound) = match eval_summary::parse(&bytes) {
            Err(_) => ("Unparseable", true, None),
            Ok(summary) => {
                let results = eval_summary::compare(&summary, &thresholds);
                let verdict = if results.iter().all(|r| r.passed) {
                    "Passed"
                } else {
                    "Failed"
                };
                (
                    verdict,
                    summary.version == VersionField::Int(7),
                    Some(binding(&summary)),
                )
            }
        };
        if verdict != want.verdict
            || (verdict != "Unparseable"
                && (version_ok != want.version_ok || bound != want.binding.as_deref()))
        {
            failures.push(format!(
                "{name}: expected {} / version_ok {} / binding {:?} ({}), got {verdict} / version_ok {version_ok} / binding {bound:?}",
                want.verdict, want.version_ok, want.binding, want.why
            ));
        }
    }
    assert_eq!(seen, expected.len(), "every listed document exists");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
