//! The evaluation-summary corpus: every document of `tests/eval-corpus/` through the summary
//! reader and the sample's thresholds, each with its expected verdict and version reading.

use std::collections::BTreeMap;
use std::path::Path;

use agentrelease::engine::artifacts::eval_summary;
use agentrelease::engine::artifacts::signoff::VersionField;
use agentrelease_api::AgentRelease;

#[derive(serde::Deserialize)]
struct Expected {
    verdict: String,
    version_ok: bool,
    why: String,
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
        let (verdict, version_ok) = match eval_summary::parse(&bytes) {
            Err(_) => ("Unparseable", true),
            Ok(summary) => {
                let results = eval_summary::compare(&summary, &thresholds);
                let verdict = if results.iter().all(|r| r.passed) {
                    "Passed"
                } else {
                    "Failed"
                };
                (verdict, summary.version == VersionField::Int(7))
            }
        };
        if verdict != want.verdict || (verdict != "Unparseable" && version_ok != want.version_ok) {
            failures.push(format!(
                "{name}: expected {} / version_ok {} ({}), got {verdict} / version_ok {version_ok}",
                want.verdict, want.version_ok, want.why
            ));
        }
    }
    assert_eq!(seen, expected.len(), "every listed document exists");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
