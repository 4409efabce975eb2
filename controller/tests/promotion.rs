//! Staging before prod on the simulator, as `apply` decides it (from the stage records in the
//! workspace): the prod sample waits while the staging sample is not Verified and writes nothing,
//! proceeds once staging has soaked on the simulated clock, and after an upstream rollback raises
//! the Warning `UpstreamRolledBack` (rolling back too under `policy.followUpstreamRollback`).

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use agentrelease::engine::upstream::{StageRecord, StageState, UpstreamSource, record_path};
use agentrelease::engine::{self, Clock, Identity, Mode, Outcome, Requeue, Workspace};
use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::release::{PromotionSpec, StageRequirement};
use agentrelease_api::{AgentRelease, ReleaseTarget};
use agentrelease_sim::SimControl;
use support::{Harness, harness, reason, samples};

/// The simulator's clock as the engine's: tests move time by advancing the simulator.
struct SimTime(SimControl);

impl Clock for SimTime {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(self.0.now_ms()).unwrap_or_default()
    }
}

struct Stage {
    release: AgentRelease,
    target: ReleaseTarget,
    identity: Identity,
}

fn staging() -> Stage {
    let read = |f: &str| std::fs::read_to_string(samples().join(f)).expect("read");
    Stage {
        release: serde_saphyr::from_str(&read("agentrelease-staging.yaml")).expect("release"),
        target: serde_saphyr::from_str(&read("releasetarget-staging.yaml")).expect("target"),
        identity: Identity {
            uid: "uid-skyloyalty-v7-staging".into(),
            generation: 1,
            namespace: "agents".into(),
            name: "skyloyalty-v7-staging".into(),
        },
    }
}

fn requiring_staging(h: &mut Harness, soak: &str) {
    h.release.spec.promotion = Some(PromotionSpec {
        requires: vec![StageRequirement {
            target_ref: "staging".into(),
            soak: soak.into(),
        }],
    });
}

async fn pass(
    h: &Harness,
    release: &mut AgentRelease,
    target: &ReleaseTarget,
    identity: &Identity,
    upstream: UpstreamSource,
) -> Outcome {
    let outcome = engine::reconcile_with(
        release,
        &target.spec,
        identity.clone(),
        &h.ws,
        &SimTime(h.control()),
        Mode::Apply,
        &engine::Inputs {
            upstream,
            ..Default::default()
        },
    )
    .await;
    release.status = Some(outcome.status.clone());
    outcome
}

fn pending() -> UpstreamSource {
    UpstreamSource::Workspace {
        pending: BTreeSet::from(["staging".to_string()]),
        elsewhere: Default::default(),
    }
}

/// Passes until Ready or Stalled, moving the simulated clock by what the engine asked for.
async fn run(
    h: &Harness,
    release: &mut AgentRelease,
    target: &ReleaseTarget,
    identity: &Identity,
) -> (Outcome, Vec<engine::Event>) {
    let mut events = Vec::new();
    for _ in 0..80 {
        let outcome = pass(h, release, target, identity, pending()).await;
        events.extend(outcome.events.clone());
        if outcome.is_ready() || outcome.needs_human() {
            return (outcome, events);
        }
        h.wait(&outcome);
    }
    panic!("not Ready after 80 passes: {:?}", release.status);
}

async fn prod_pass(h: &mut Harness, upstream: UpstreamSource) -> Outcome {
    let (mut release, target, identity) = (h.release.clone(), h.target.clone(), h.identity.clone());
    let outcome = pass(h, &mut release, &target, &identity, upstream).await;
    h.release = release;
    outcome
}

#[tokio::test]
async fn prod_waits_while_staging_is_not_verified_and_writes_nothing() {
    let mut h = harness().await;
    requiring_staging(&mut h, "1h");
    let outcome = prod_pass(&mut h, pending()).await;
    assert_eq!(
        reason(&outcome, types::UPSTREAM_VERIFIED),
        reasons::UPSTREAM_NOT_RELEASED
    );
    assert!(
        !outcome.needs_human(),
        "staging is still running in this run: wait"
    );
    assert_eq!(outcome.requeue, Requeue::After(Duration::from_secs(30)));
    assert!(
        h.control().writes().is_empty(),
        "{:?}",
        h.control().writes()
    );

    // Nothing in this run releases staging: blocked, with the same reason.
    let outcome = prod_pass(&mut h, UpstreamSource::default()).await;
    assert!(outcome.needs_human());
    assert_eq!(
        reason(&outcome, types::UPSTREAM_VERIFIED),
        reasons::UPSTREAM_NOT_RELEASED
    );
    assert!(h.control().writes().is_empty());
    assert_eq!(
        h.control().model_alias(support::MODEL, "champion"),
        Some(11)
    );
}

#[tokio::test]
async fn prod_proceeds_after_staging_soaked_on_the_simulated_clock() {
    let mut h = harness().await;
    requiring_staging(&mut h, "1h");
    let mut s = staging();
    let (outcome, _) = run(&h, &mut s.release, &s.target, &s.identity).await;
    assert!(outcome.is_ready(), "{:?}", outcome.status.conditions);
    assert_eq!(h.control().model_alias(support::MODEL, "staging"), Some(12));

    h.control().clear_calls();
    let outcome = prod_pass(&mut h, UpstreamSource::default()).await;
    assert_eq!(
        reason(&outcome, types::UPSTREAM_VERIFIED),
        reasons::UPSTREAM_SOAKING
    );
    let message =
        agentrelease_api::condition::find(&outcome.status.conditions, types::UPSTREAM_VERIFIED)
            .map(|c| c.message.clone())
            .unwrap_or_default();
    assert!(message.contains("1h0m0s left"), "{message}");
    // Looked at again when the soak ends (the record keeps whole seconds).
    assert!(
        matches!(outcome.requeue, Requeue::After(d) if d > Duration::from_secs(3598) && d <= Duration::from_secs(3600)),
        "{:?}",
        outcome.requeue
    );
    assert!(
        h.control().writes().is_empty(),
        "nothing written while soaking"
    );

    h.control().advance_clock(Duration::from_secs(1800));
    let outcome = prod_pass(&mut h, UpstreamSource::default()).await;
    assert_eq!(
        reason(&outcome, types::UPSTREAM_VERIFIED),
        reasons::UPSTREAM_SOAKING
    );
    assert!(
        matches!(outcome.requeue, Requeue::After(d) if d > Duration::from_secs(1798) && d <= Duration::from_secs(1800)),
        "{:?}",
        outcome.requeue
    );
    h.wait(&outcome);

    let (mut release, target, identity) = (h.release.clone(), h.target.clone(), h.identity.clone());
    let (outcome, _) = run(&h, &mut release, &target, &identity).await;
    assert!(outcome.is_ready(), "{:?}", outcome.status.conditions);
    assert_eq!(
        reason(&outcome, types::UPSTREAM_VERIFIED),
        reasons::UPSTREAM_VERIFIED
    );
    assert_eq!(
        h.control().model_alias(support::MODEL, "champion"),
        Some(12)
    );
    h.release = release;

    // A second pass makes no writes.
    h.control().clear_calls();
    let outcome = prod_pass(&mut h, UpstreamSource::default()).await;
    assert!(outcome.is_ready());
    assert!(
        h.control().writes().is_empty(),
        "{:?}",
        h.control().writes()
    );
}

/// Staging's stage record as a rollback of it leaves it.
async fn staging_rolled_back(h: &Harness) {
    let record = StageRecord {
        release: "agents/skyloyalty-v7-staging".into(),
        agent: support::MODEL.into(),
        n: 7,
        model_version: 12,
        state: StageState::RolledBack,
        at: "2026-01-02T00:00:00Z".into(),
        reason: Some("verification failed".into()),
    };
    let path = record_path(
        engine::ledger::DEFAULT_ROOT,
        "agents",
        "staging",
        support::MODEL,
        7,
    );
    h.ws.write_workspace_file(&path.0, record.render().into(), true)
        .await
        .expect("record");
}

async fn both_ready(h: &mut Harness) {
    requiring_staging(h, "0s");
    let mut s = staging();
    let (outcome, _) = run(h, &mut s.release, &s.target, &s.identity).await;
    assert!(outcome.is_ready());
    let (mut release, target, identity) = (h.release.clone(), h.target.clone(), h.identity.clone());
    let (outcome, _) = run(h, &mut release, &target, &identity).await;
    assert!(outcome.is_ready(), "{:?}", outcome.status.conditions);
    h.release = release;
}

#[tokio::test]
async fn a_staging_rollback_after_prod_was_released_raises_a_warning_and_changes_nothing() {
    let mut h = harness().await;
    both_ready(&mut h).await;
    staging_rolled_back(&h).await;
    h.control().clear_calls();
    let outcome = prod_pass(&mut h, UpstreamSource::default()).await;
    let warnings: Vec<_> = outcome
        .events
        .iter()
        .filter(|e| e.reason == reasons::UPSTREAM_ROLLED_BACK)
        .collect();
    assert_eq!(warnings.len(), 1, "{:?}", outcome.events);
    assert_eq!(warnings[0].type_, engine::EventType::Warning);
    assert!(warnings[0].message.contains("verification failed"));
    assert!(outcome.is_ready());
    assert_eq!(
        h.control().model_alias(support::MODEL, "champion"),
        Some(12)
    );
    assert!(
        h.control().writes().is_empty(),
        "{:?}",
        h.control().writes()
    );
    // Raised once, not on every pass.
    let outcome = prod_pass(&mut h, UpstreamSource::default()).await;
    assert!(
        outcome
            .events
            .iter()
            .all(|e| e.reason != reasons::UPSTREAM_ROLLED_BACK)
    );
}

#[tokio::test]
async fn with_follow_upstream_rollback_prod_rolls_back_too() {
    let mut h = harness().await;
    both_ready(&mut h).await;
    h.release.spec.policy.follow_upstream_rollback = true;
    staging_rolled_back(&h).await;
    let outcome = prod_pass(&mut h, UpstreamSource::default()).await;
    assert!(
        outcome
            .events
            .iter()
            .any(|e| e.reason == reasons::UPSTREAM_ROLLED_BACK),
        "{:?}",
        outcome.events
    );
    assert_eq!(
        reason(&outcome, types::UPSTREAM_VERIFIED),
        reasons::ROLLED_BACK,
        "{:?}",
        outcome.status.conditions
    );
    let rollback = outcome.status.rollback.clone().expect("rollback record");
    assert!(
        rollback.reason.contains("upstream rolled back"),
        "{rollback:?}"
    );
    assert_eq!(
        h.control().model_alias(support::MODEL, "champion"),
        Some(11)
    );
    // Held on the next pass, as any rollback.
    let outcome = prod_pass(&mut h, UpstreamSource::default()).await;
    assert!(outcome.needs_human());
    assert_eq!(outcome.status.phase.map(|p| p.as_str()), Some("RolledBack"));
}

#[tokio::test]
async fn a_rolled_back_staging_blocks_prod_before_it_writes_anything() {
    let mut h = harness().await;
    requiring_staging(&mut h, "0s");
    staging_rolled_back(&h).await;
    h.control().clear_calls();
    let outcome = prod_pass(&mut h, pending()).await;
    assert!(outcome.needs_human());
    assert_eq!(
        reason(&outcome, types::UPSTREAM_VERIFIED),
        reasons::UPSTREAM_FAILED
    );
    assert!(
        h.control().writes().is_empty(),
        "{:?}",
        h.control().writes()
    );
}

#[tokio::test]
async fn a_transient_failure_reading_the_stage_record_is_retried() {
    use agentrelease_sim::{FaultAction, FaultRule};
    let mut h = harness().await;
    requiring_staging(&mut h, "0s");
    let mut s = staging();
    let (outcome, _) = run(&h, &mut s.release, &s.target, &s.identity).await;
    assert!(outcome.is_ready());
    // The evaluation gate reads the alias's ledger record and the preflight the three records
    // of the objects; the fifth workspace file read is the stage record.
    h.control()
        .add_fault(FaultRule {
            method: Some("GET".into()),
            path: "/api/2.0/workspace/export".into(),
            probability: 1.0,
            times: None,
            after: Some(4),
            action: FaultAction::Status {
                status: 503,
                error_code: None,
            },
        })
        .expect("fault");
    let outcome = prod_pass(&mut h, UpstreamSource::default()).await;
    assert_eq!(
        reason(&outcome, types::UPSTREAM_VERIFIED),
        reasons::TRANSIENT_ERROR,
        "{:?}",
        outcome.status.conditions
    );
    assert_eq!(outcome.requeue, Requeue::Backoff);
    assert!(!outcome.needs_human());
    h.control().clear_faults();
    let (mut release, target, identity) = (h.release.clone(), h.target.clone(), h.identity.clone());
    let (outcome, _) = run(&h, &mut release, &target, &identity).await;
    assert!(outcome.is_ready(), "{:?}", outcome.status.conditions);
}

/// Staging's stage record as `apply` reads it in staging's own workspace (`h`'s simulator).
async fn read_in(staging_ws: &Harness) -> UpstreamSource {
    let host = staging_ws.sim.url();
    let seen = engine::upstream_remote::read(
        &staging_ws.ws,
        &host,
        "agents",
        "staging",
        support::MODEL,
        7,
    )
    .await;
    UpstreamSource::Workspace {
        pending: BTreeSet::new(),
        elsewhere: [("staging".to_string(), seen)].into(),
    }
}

#[tokio::test]
async fn staging_on_another_workspace_is_read_there_and_only_there() {
    use agentrelease_sim::{FaultAction, FaultRule};
    let mut h = harness().await;
    let other = harness().await;
    requiring_staging(&mut h, "0s");
    // Staging is released in its own workspace; prod's has no record of it.
    let mut s = staging();
    let (outcome, _) = run(&other, &mut s.release, &s.target, &s.identity).await;
    assert!(outcome.is_ready());
    assert_eq!(h.control().model_alias(support::MODEL, "staging"), None);

    // A transient failure reading staging's workspace is retried, and nothing is written.
    other
        .control()
        .add_fault(FaultRule {
            method: Some("GET".into()),
            path: "/api/2.0/workspace/export".into(),
            probability: 1.0,
            times: None,
            after: None,
            action: FaultAction::Status {
                status: 503,
                error_code: None,
            },
        })
        .expect("fault");
    other.control().clear_calls();
    let failing = read_in(&other).await;
    let outcome = prod_pass(&mut h, failing).await;
    assert_eq!(
        reason(&outcome, types::UPSTREAM_VERIFIED),
        reasons::TRANSIENT_ERROR,
        "{:?}",
        outcome.status.conditions
    );
    assert_eq!(outcome.requeue, Requeue::Backoff);
    assert!(h.control().writes().is_empty());
    other.control().clear_faults();

    // Read in staging's workspace, the requirement holds and prod is released in its own.
    for _ in 0..80 {
        let upstream = read_in(&other).await;
        let outcome = prod_pass(&mut h, upstream).await;
        if outcome.is_ready() || outcome.needs_human() {
            break;
        }
        h.wait(&outcome);
    }
    let condition = agentrelease_api::condition::find(
        &h.release.status.clone().unwrap_or_default().conditions,
        types::UPSTREAM_VERIFIED,
    )
    .cloned()
    .expect("condition");
    assert_eq!(condition.reason, reasons::UPSTREAM_VERIFIED);
    assert!(
        condition
            .message
            .contains(&format!("read in workspace {}", other.sim.url())),
        "{}",
        condition.message
    );
    assert_eq!(
        h.control().model_alias(support::MODEL, "champion"),
        Some(12)
    );
    assert!(
        other.control().writes().is_empty(),
        "staging's workspace is only read: {:?}",
        other.control().writes()
    );

    // A second pass makes no writes in either workspace.
    h.control().clear_calls();
    let upstream = read_in(&other).await;
    let outcome = prod_pass(&mut h, upstream).await;
    assert!(outcome.is_ready());
    assert!(
        h.control().writes().is_empty(),
        "{:?}",
        h.control().writes()
    );
    assert!(other.control().writes().is_empty());
}
