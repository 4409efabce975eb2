//! Snapshot tests of what `kubectl agentrelease get` and `why` print for a Ready, a blocked, an
//! overridden and a rolled-back release (fixtures in `tests/fixtures/releases/`, snapshots in
//! `tests/snapshots/`; `UPDATE_SNAPSHOTS=1` rewrites them after a deliberate change).

use std::path::{Path, PathBuf};

use agentrelease::plugin::style::Style;
use agentrelease::plugin::{history, tree, why};
use agentrelease_api::AgentRelease;

const CASES: &[&str] = &["ready", "blocked", "overridden", "rolled-back"];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn fixture(name: &str) -> AgentRelease {
    let path = dir().join(format!("fixtures/releases/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read fixture")).expect("fixture")
}

fn now() -> jiff::Timestamp {
    "2026-12-02T06:40:00Z".parse().expect("time")
}

fn check(snapshot: &str, actual: &str) {
    let path = dir().join("snapshots").join(snapshot);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{} differs (UPDATE_SNAPSHOTS=1 rewrites it):\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

#[test]
fn the_tree_of_each_kind_of_release() {
    for case in CASES {
        check(
            &format!("{case}.tree.txt"),
            &tree::render(&fixture(case), now(), Style::default()),
        );
    }
}

#[test]
fn why_names_the_condition_its_meaning_and_what_to_do() {
    for case in CASES {
        check(
            &format!("{case}.why.txt"),
            &why::render(&fixture(case), Style::default()),
        );
    }
}

#[test]
fn history_lists_every_release_of_the_agent_oldest_first() {
    let mut all: Vec<AgentRelease> = CASES.iter().map(|c| fixture(c)).collect();
    for (i, r) in all.iter_mut().enumerate() {
        r.metadata.name = Some(format!("skyloyalty-v{}", 4 + i));
    }
    let selected =
        history::select(&all, &history::Scope::SameAgentAs("skyloyalty-v5".into())).expect("found");
    check("history.txt", &history::render(&history::rows(&selected)));
}

#[test]
fn the_blocking_reason_is_the_step_at_fault_with_its_table_row() {
    match why::verdict(&fixture("blocked")) {
        why::Verdict::Held {
            condition, entry, ..
        } => {
            assert_eq!(condition.type_, "SignoffApproved");
            assert_eq!(condition.reason, "SignoffRejected");
            assert!(entry.expect("a row").action.contains("state_override"));
        }
        other => panic!("not held: {other:?}"),
    }
    match why::verdict(&fixture("rolled-back")) {
        why::Verdict::Held { condition, .. } => assert_eq!(condition.type_, "AliasPromoted"),
        other => panic!("not held: {other:?}"),
    }
    assert!(matches!(
        why::verdict(&fixture("overridden")),
        why::Verdict::Ready { .. }
    ));
}

#[test]
fn watch_stops_at_ready_or_blocked_only() {
    assert!(tree::settled(&fixture("ready")));
    assert!(tree::settled(&fixture("blocked")));
    assert!(tree::settled(&fixture("rolled-back")));
    let mut waiting = fixture("ready");
    let status = waiting.status.as_mut().expect("status");
    status.phase = Some(agentrelease_api::Phase::Deploying);
    for c in &mut status.conditions {
        if c.type_ == "Ready" {
            c.status = agentrelease_api::ConditionStatus::False;
            c.reason = "Waiting".into();
        }
    }
    assert!(!tree::settled(&waiting));
}

#[test]
fn a_condition_this_version_does_not_know_still_shows() {
    let mut r = fixture("ready");
    let status = r.status.as_mut().expect("status");
    status.conditions.push(agentrelease_api::Condition::new(
        "CanaryAnalysed",
        agentrelease_api::ConditionStatus::False,
        "CanaryFailed",
        "error rate 4% above 1%",
        Some(1),
        now(),
    ));
    let text = tree::render(&r, now(), Style::default());
    assert!(text.contains("✗ CanaryAnalysed"), "{text}");
    assert!(text.contains("error rate 4% above 1%"), "{text}");
}
