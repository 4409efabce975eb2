//! The signoff corpus: every document of `tests/signoff-corpus/` through the signoff reader,
//! each with its expected verdict; plus inputs that cannot live in a text corpus.

use std::collections::BTreeMap;
use std::path::Path;

use agentrelease::engine::artifacts::signoff::{self, MAX_SIGNOFF_BYTES, Verdict};

#[derive(serde::Deserialize)]
struct Expected {
    verdict: String,
    why: String,
}

fn verdict_name(v: &Verdict) -> &'static str {
    match v {
        Verdict::Approved => "Approved",
        Verdict::Overridden => "Overridden",
        Verdict::Rejected(_) => "Rejected",
        Verdict::Incomplete(_) => "Incomplete",
        Verdict::Unparseable(_) => "Unparseable",
    }
}

#[test]
fn every_corpus_document_gets_its_expected_verdict() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/signoff-corpus");
    let expected: BTreeMap<String, Expected> =
        serde_saphyr::from_str(&std::fs::read_to_string(dir.join("expected.yaml")).unwrap())
            .unwrap();
    assert!(expected.len() >= 30, "the corpus covers every rule");
    let mut failures = Vec::new();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        seen += 1;
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(want) = expected.get(&name) else {
            failures.push(format!("{name}: not listed in expected.yaml"));
            continue;
        };
        let bytes = std::fs::read(&path).unwrap();
        let got = signoff::parse(&name, &bytes);
        if verdict_name(&got.verdict) != want.verdict {
            failures.push(format!(
                "{name}: expected {} ({}), got {:?}",
                want.verdict, want.why, got.verdict
            ));
        }
    }
    assert_eq!(seen, expected.len(), "every listed document exists");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn not_utf8_is_unparseable() {
    let mut bytes = b"---\nengineering_signoff:\n  decision: APPROVED\n".to_vec();
    bytes.extend([0xff, 0xfe, 0x00]);
    bytes.extend(b"\n---\n");
    assert!(matches!(
        signoff::parse("p", &bytes).verdict,
        Verdict::Unparseable(_)
    ));
}

#[test]
fn oversized_file_is_unparseable() {
    let mut text = String::from(
        "---\nengineering_signoff:\n  decision: APPROVED\nstakeholder_signoff:\n  decision: APPROVED\n---\n",
    );
    text.push_str(&"x".repeat(MAX_SIGNOFF_BYTES as usize));
    assert!(matches!(
        signoff::parse("p", text.as_bytes()).verdict,
        Verdict::Unparseable(_)
    ));
}

#[test]
fn records_decisions_conditions_and_override() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/signoff-corpus");
    let got = signoff::parse(
        "p",
        &std::fs::read(dir.join("override-rejected-and-approved-verbatim.md")).unwrap(),
    );
    assert_eq!(got.record.engineering.decision.as_deref(), Some("REJECTED"));
    assert_eq!(got.record.stakeholder.decision.as_deref(), Some("APPROVED"));
    let o = got.record.override_.expect("override recorded");
    assert_eq!(o.engineering_decision.as_deref(), Some("REJECTED"));
    assert_eq!(o.stakeholder_decision.as_deref(), Some("APPROVED"));
    assert_eq!(o.approved_by.as_deref(), Some("cto@skyloyalty.example"));

    let got = signoff::parse(
        "p",
        &std::fs::read(dir.join("approved-with-conditions.md")).unwrap(),
    );
    assert_eq!(
        got.record.stakeholder.conditions.as_deref(),
        Some("Monitor latency p95 for a week")
    );
}

#[test]
fn an_override_that_misses_a_decision_says_which_capture_is_at_fault() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/signoff-corpus");
    let cases = [
        (
            "override-engineering-verbatim.md",
            "state_override.stakeholder_signoff.decision is missing",
        ),
        (
            "override-stakeholder-only.md",
            "state_override.engineering_signoff.decision is missing",
        ),
        (
            "override-approved-case-differs.md",
            "state_override.stakeholder_signoff.decision is \"Approved\" but stakeholder_signoff.decision is \"APPROVED\"",
        ),
        (
            "override-conditions-shortened.md",
            "state_override.stakeholder_signoff.decision is \"APPROVED\" but stakeholder_signoff.decision is \"APPROVED_WITH_CONDITIONS\"",
        ),
        (
            "override-approved-flat-string.md",
            "state_override.stakeholder_signoff is \"APPROVED\", not a mapping with a decision",
        ),
    ];
    for (name, fault) in cases {
        let got = signoff::parse(name, &std::fs::read(dir.join(name)).unwrap());
        let Verdict::Rejected(why) = got.verdict else {
            panic!("{name}: expected Rejected, got {:?}", got.verdict);
        };
        assert!(why.contains(fault), "{name}: {why}");
        assert!(
            why.ends_with("an override must capture both decisions verbatim"),
            "{name}: {why}"
        );
        assert_eq!(got.record.override_, None, "{name}: nothing is recorded");
    }
}

#[test]
fn tags_anchors_and_unsigned_overrides_say_what_is_refused() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/signoff-corpus");
    const ANCHORS: &str = "anchors and aliases are not allowed in the front matter; a verbatim capture must be written out";
    let cases = [
        (
            "decision-binary-tag.md",
            "Unparseable",
            "the tag !!binary is not allowed in the front matter (line 4)",
        ),
        (
            "block-map-tag.md",
            "Unparseable",
            "the tag !!map is not allowed in the front matter (line 3)",
        ),
        ("alias-approved.md", "Unparseable", ANCHORS),
        ("anchor-unused.md", "Unparseable", "(line 5: &lead)"),
        ("override-capture-through-alias.md", "Unparseable", ANCHORS),
        ("alias-bomb.md", "Unparseable", ANCHORS),
        ("merge-key.md", "Unparseable", "merge"),
        (
            "override-without-approved-by.md",
            "Rejected",
            "state_override.approved_by is missing; an override must name who approved it (approved_by) and why (reason)",
        ),
        (
            "override-without-reason.md",
            "Rejected",
            "state_override.reason is missing; an override must name who approved it",
        ),
        (
            "override-empty-approved-by.md",
            "Rejected",
            "state_override.approved_by is empty",
        ),
        (
            "override-approver-synonym.md",
            "Rejected",
            "state_override.approved_by is missing; state_override.reason is missing",
        ),
    ];
    for (name, verdict, says) in cases {
        let got = signoff::parse(name, &std::fs::read(dir.join(name)).unwrap());
        assert_eq!(
            verdict_name(&got.verdict),
            verdict,
            "{name}: {:?}",
            got.verdict
        );
        let (Verdict::Unparseable(why) | Verdict::Rejected(why)) = &got.verdict else {
            unreachable!("{name}");
        };
        assert!(why.contains(says), "{name}: {why}");
        assert_eq!(got.record.override_, None, "{name}: nothing is recorded");
    }
}
