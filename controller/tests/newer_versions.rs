//! New model versions noticed on the simulator: a READY version newer than the declared one
//! appears in `status.newerVersions` with one Event `NewModelVersion` and no write; the spec is
//! not touched; a converged release's quick check stays a handful of reads.

mod support;

use agentrelease_api::conditions::reasons;
use support::{MODEL, harness, seed_v8_artifacts};

const V13_MODEL_ID: &str = "m-0123456789abcdef0123456789abcdef";

fn newer_events(outcome: &agentrelease::engine::Outcome) -> usize {
    outcome
        .events
        .iter()
        .filter(|e| e.reason == reasons::NEW_MODEL_VERSION)
        .count()
}

#[tokio::test]
async fn a_new_ready_version_is_reported_once_and_nothing_is_written() {
    let mut h = harness().await;
    assert!(h.run(200).await.0.is_ready());
    // Converged, with a full check recorded: the next passes are quick checks.
    assert!(h.pass_with(None, true).await.is_ready());
    let c = h.control();
    let spec_before = h.release.spec.clone();

    c.register_model_version(MODEL, 13, Some(V13_MODEL_ID), "READY")
        .expect("v13");
    c.register_model_version(MODEL, 14, None, "PENDING_REGISTRATION")
        .expect("v14");
    c.clear_calls();
    let outcome = h.pass_with(None, true).await;
    assert!(outcome.is_ready());
    assert!(c.writes().is_empty(), "{:?}", c.writes());
    let newer = &outcome.status.newer_versions;
    assert_eq!(newer.len(), 1, "only READY versions: {newer:?}");
    assert_eq!(newer[0].version, 13);
    assert_eq!(newer[0].logged_model_id.as_deref(), Some(V13_MODEL_ID));
    assert!(newer[0].created_at.is_some());
    assert!(!newer[0].next_signoff_found && !newer[0].next_eval_summary_found);
    assert_eq!(newer_events(&outcome), 1, "{:?}", outcome.events);
    assert_eq!(h.release.spec, spec_before, "the spec is never edited");
    // The quick check (4 reads) plus the poll: one list and two folder reads.
    assert!(c.calls().len() <= 7, "{:?}", c.calls());

    // The next poll: the same version, no second Event, an unchanged status.
    let status_before = h.release.status.clone();
    c.clear_calls();
    let again = h.pass_with(None, true).await;
    assert_eq!(newer_events(&again), 0, "{:?}", again.events);
    assert_eq!(
        Some(again.status.clone()),
        status_before,
        "no status change to write"
    );

    // Between polls nothing about versions is read.
    c.clear_calls();
    let quiet = h.pass_with(None, false).await;
    assert!(
        c.calls()
            .iter()
            .all(|r| r.route != "/api/2.1/unity-catalog/models/{full_name}/versions"),
        "{:?}",
        c.calls()
    );
    assert_eq!(quiet.status.newer_versions.len(), 1, "kept between polls");

    // The next N's artifacts show up; version 14 finishes registering: one Event, for 14.
    seed_v8_artifacts(&c);
    c.register_model_version(MODEL, 14, None, "READY")
        .expect("v14 ready");
    let later = h.pass_with(None, true).await;
    let versions: Vec<i64> = later
        .status
        .newer_versions
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(versions, vec![13, 14]);
    assert!(
        later
            .status
            .newer_versions
            .iter()
            .all(|v| v.next_signoff_found && v.next_eval_summary_found)
    );
    assert_eq!(newer_events(&later), 1, "{:?}", later.events);
    assert!(
        later
            .events
            .iter()
            .any(|e| e.message.contains("version 14"))
    );
}

#[tokio::test]
async fn a_failed_poll_keeps_what_was_reported() {
    let mut h = harness().await;
    assert!(h.run(200).await.0.is_ready());
    let c = h.control();
    c.register_model_version(MODEL, 13, Some(V13_MODEL_ID), "READY")
        .expect("v13");
    assert_eq!(h.pass_with(None, true).await.status.newer_versions.len(), 1);
    c.add_fault(agentrelease_sim::FaultRule {
        method: Some("GET".into()),
        path: "/api/2.1/unity-catalog/models/*/versions".into(),
        probability: 1.0,
        times: None,
        after: None,
        action: agentrelease_sim::FaultAction::Status {
            status: 503,
            error_code: None,
        },
    })
    .expect("fault");
    let outcome = h.pass_with(None, true).await;
    assert!(
        outcome.is_ready(),
        "a failed poll does not fail the release"
    );
    assert_eq!(outcome.status.newer_versions.len(), 1);
    assert_eq!(newer_events(&outcome), 0);
}

#[tokio::test]
async fn releasing_the_newer_version_clears_it_from_the_list() {
    let mut h = harness().await;
    assert!(h.run(200).await.0.is_ready());
    h.control()
        .register_model_version(MODEL, 13, Some(V13_MODEL_ID), "READY")
        .expect("v13");
    assert_eq!(h.pass_with(None, true).await.status.newer_versions.len(), 1);
    // Git moves the declared version on (as `agentrelease next` would print it).
    h.release.spec.model.version = 13;
    let outcome = h.pass_with(None, false).await;
    assert!(outcome.status.newer_versions.is_empty());
}
