//! `policy.followUpstreamRollback` after the release was Ready: prod N=8 was released over
//! N=7; staging's N=8 is rolled back, so prod's app deployment, serving endpoint config and
//! alias go back to N=7 (the release before it, kept in the ledger), resuming after a write
//! that failed mid-restore, then held: a second pass and a fresh run write nothing.

mod support;

use agentrelease::engine::upstream::{StageRecord, StageState, record_path};
use agentrelease::engine::{self, Mode, Workspace};
use agentrelease_api::conditions::{Phase, reasons, types};
use agentrelease_api::release::{PromotionSpec, StageRequirement};
use agentrelease_sim::{FaultAction, FaultRule};
use serde_json::Value;
use support::*;

/// Staging's stage record of N=8 (model version 10) in the workspace.
async fn staging_is(h: &Harness, state: StageState) {
    let record = StageRecord {
        release: "agents/skyloyalty-v8-staging".into(),
        agent: MODEL.into(),
        n: 8,
        model_version: 10,
        state,
        at: "2026-01-02T00:00:00Z".into(),
        reason: (state == StageState::RolledBack).then(|| "verification failed".into()),
    };
    let path = record_path(engine::ledger::DEFAULT_ROOT, "agents", "staging", MODEL, 8);
    h.ws.write_workspace_file(&path.0, record.render().into(), true)
        .await
        .expect("record");
}

fn served(endpoint: &Value) -> Vec<String> {
    let config = if endpoint["pending_config"].is_object() {
        &endpoint["pending_config"]
    } else {
        &endpoint["config"]
    };
    config["served_entities"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["entity_version"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn prod_released_over_a_previous_release_goes_back_to_it_whole() {
    let mut h = harness().await;
    let c = h.control();
    assert!(
        h.run(200).await.0.is_ready(),
        "N=7 is the good release first"
    );

    // N=8 requires staging and follows its rollbacks; staging's N=8 is Verified.
    seed_v8_artifacts(&c);
    let (mut v8, id8) = other_release(&h, "skyloyalty-v8");
    as_v8(&mut v8);
    v8.spec.promotion = Some(PromotionSpec {
        requires: vec![StageRequirement {
            target_ref: "staging".into(),
            soak: "0s".into(),
        }],
    });
    v8.spec.policy.follow_upstream_rollback = true;
    staging_is(&h, StageState::Verified).await;
    let outcome = h.run_other(&mut v8, &id8, 300).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_eq!(c.model_alias(MODEL, "champion"), Some(10));

    // Staging's N=8 is rolled back; the endpoint update of the restore fails at first.
    staging_is(&h, StageState::RolledBack).await;
    c.add_fault(FaultRule {
        method: Some("PUT".into()),
        path: "/api/2.0/serving-endpoints/skyloyalty-endpoint/config".into(),
        probability: 1.0,
        times: None,
        after: None,
        action: FaultAction::Status {
            status: 503,
            error_code: None,
        },
    })
    .expect("fault");
    let outcome = h.pass_other(&mut v8, &id8, Mode::Apply).await;
    assert!(!outcome.needs_human(), "{:?}", outcome.steps);
    let record = outcome.status.rollback.clone().expect("rollback record");
    assert!(record.in_progress, "{record:?}");
    assert!(
        record
            .restored_release
            .as_deref()
            .is_some_and(|r| r.contains("agents/skyloyalty-v7 N=7 model version 12")),
        "{record:?}"
    );
    assert_eq!(
        c.model_alias(MODEL, "champion"),
        Some(10),
        "the alias goes last"
    );

    // The next pass resumes where it stopped.
    c.clear_faults();
    let mut outcome = h.pass_other(&mut v8, &id8, Mode::Apply).await;
    for _ in 0..20 {
        if outcome.needs_human() {
            break;
        }
        h.wait(&outcome);
        outcome = h.pass_other(&mut v8, &id8, Mode::Apply).await;
    }
    assert!(outcome.needs_human(), "{:?}", outcome.steps);
    assert_eq!(outcome.status.phase, Some(Phase::RolledBack));
    assert_eq!(reason(&outcome, types::READY), reasons::ROLLED_BACK);
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12));
    assert_eq!(
        served(&c.endpoint("skyloyalty-endpoint").expect("endpoint")),
        vec!["12".to_string()]
    );
    assert_eq!(
        deployed_model_id(&c.app("skyloyalty-agent").expect("app")).as_deref(),
        Some(V12_MODEL_ID)
    );
    let record = outcome.status.rollback.clone().expect("rollback record");
    assert!(!record.in_progress);
    assert_eq!(record.to_version, Some(12));

    // Held: a second pass, and a fresh run without status, write nothing and do not release.
    c.clear_calls();
    let again = h.pass_other(&mut v8, &id8, Mode::Apply).await;
    assert!(again.needs_human());
    assert_eq!(again.status.phase, Some(Phase::RolledBack));
    v8.status = None;
    let fresh = h.pass_other(&mut v8, &id8, Mode::Apply).await;
    assert!(fresh.needs_human(), "{:?}", fresh.steps);
    assert_eq!(
        reason(&fresh, types::PREFLIGHT_PASSED),
        reasons::ROLLED_BACK
    );
    assert!(c.writes().is_empty(), "{:?}", c.writes());
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12));
}
