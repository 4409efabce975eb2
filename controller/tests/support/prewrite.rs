//! Assertions for releases that must stop before their first write.

use agentrelease::engine::Outcome;
use agentrelease_api::conditions::types;

use super::{Harness, MODEL, reason};

/// The message of a condition.
pub fn message(outcome: &Outcome, type_: &str) -> String {
    agentrelease_api::condition::find(&outcome.status.conditions, type_)
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

/// Runs the release until it needs a human and asserts that the preflight stopped it with
/// `reason` before anything was written (no write call, the alias still on the seed's 11);
/// returns the preflight's message.
pub async fn blocked_before_any_write(h: &mut Harness, expected: &str) -> String {
    let (outcome, _) = h.run(20).await;
    assert!(outcome.needs_human(), "{:?}", outcome.steps);
    assert_eq!(reason(&outcome, types::PREFLIGHT_PASSED), expected);
    let c = h.control();
    assert!(c.writes().is_empty(), "{:?}", c.writes());
    assert_eq!(
        c.model_alias(MODEL, "champion"),
        Some(11),
        "the alias moved"
    );
    message(&outcome, types::PREFLIGHT_PASSED)
}

/// Asserts `message` names every one of `parts`.
pub fn names_all(message: &str, parts: &[&str]) {
    for p in parts {
        assert!(message.contains(p), "{p:?} not in {message}");
    }
}
