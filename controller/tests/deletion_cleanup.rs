//! Deleting a release on the simulator, through the real client: the cleanup removes only what
//! the release owns in the ledger now (a superseded release leaves its successor's alias, app,
//! endpoint and records alone), gives its ledger records back so another release can claim the
//! objects, waits for the release lock held by another writer, and finishes after an
//! interruption without touching anything twice.

mod support;

use agentrelease::engine::cleanup::{self, CleanupError, Report};
use agentrelease::engine::ledger::Record;
use agentrelease::engine::{Identity, Mode, Workspace};
use agentrelease_api::AgentRelease;
use agentrelease_api::release::DeletionPolicy;
use agentrelease_sim::{FaultAction, FaultRule, SimControl};
use support::*;

const LEDGER: &str = "/Workspace/Shared/agentrelease/ledger";
const RECORDS: [&str; 3] = [
    "alias/main.agents.skyloyalty@champion.json",
    "app/skyloyalty-agent.json",
    "endpoint/skyloyalty-endpoint.json",
];
const LOCK: &str =
    "/Workspace/Shared/agentrelease/ledger/locks/alias/main.agents.skyloyalty@champion.json";

/// The three ledger records as stored (absent ones `None`).
async fn records(h: &Harness) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for p in RECORDS {
        let got =
            h.ws.read_workspace_file(&format!("{LEDGER}/{p}"), 64 * 1024)
                .await
                .expect("read a record");
        out.push(got.map(|b| String::from_utf8_lossy(&b).to_string()));
    }
    out
}

async fn record(h: &Harness, which: usize) -> Option<Record> {
    records(h).await[which]
        .as_ref()
        .map(|t| Record::parse(t.as_bytes()).expect("a record"))
}

async fn clean(h: &Harness, release: &AgentRelease, id: &Identity) -> Result<Report, CleanupError> {
    cleanup::run(
        release,
        &id.key(),
        &h.ws,
        "controller-cleanup",
        jiff::Timestamp::now(),
    )
    .await
}

/// Workspace writes, leaving out the MCP check's JSON-RPC calls (POSTs that change nothing).
fn writes(c: &SimControl) -> Vec<String> {
    c.writes()
        .into_iter()
        .filter(|r| r.route.starts_with("/api/") && !r.route.starts_with("/api/2.0/mcp/"))
        .map(|r| format!("{} {} {}", r.method, r.path, r.query.unwrap_or_default()))
        .collect()
}

fn app_is_active(c: &SimControl) -> bool {
    c.app("skyloyalty-agent")
        .is_some_and(|a| a["compute_status"]["state"] == "ACTIVE")
}

/// v7 (deletion `Delete`) Ready, then v8 — the same agent and model version, N=8 — Ready on
/// the same objects; v7 has seen it is superseded.
async fn superseded_v7() -> (Harness, AgentRelease, Identity) {
    let mut h = harness().await;
    h.release.spec.policy.deletion = DeletionPolicy::Delete;
    let c = h.control();
    assert!(h.run(200).await.0.is_ready(), "v7 reaches Ready first");
    seed_v8_artifacts_of_version_12(&c);
    let (mut v8, id8) = other_release(&h, "skyloyalty-v8");
    v8.spec.version = 8;
    v8.spec.policy.deletion = DeletionPolicy::Delete;
    let ready = h.run_other(&mut v8, &id8, 300).await;
    assert!(ready.is_ready(), "{:?}", ready.steps);
    let seen = h.pass(Mode::Apply).await;
    assert_eq!(reason(&seen, "Ready"), "Superseded");
    (h, v8, id8)
}

#[tokio::test]
async fn deleting_a_superseded_release_leaves_its_successor_s_objects_and_records() {
    let (h, mut v8, id8) = superseded_v7().await;
    let c = h.control();
    let before = records(&h).await;
    assert!(before.iter().all(|r| {
        r.as_deref()
            .is_some_and(|t| t.contains("agents/skyloyalty-v8"))
    }));
    c.clear_calls();

    let report = clean(&h, &h.release, &h.identity).await.expect("cleanup");
    let lines = report.lines();
    assert!(
        lines
            .iter()
            .any(|l| l
                .starts_with("kept app skyloyalty-agent: owned by release agents/skyloyalty-v8")),
        "{lines:?}"
    );
    assert_eq!(writes(&c), Vec::<String>::new(), "{lines:?}");
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12));
    assert!(app_is_active(&c));
    assert!(c.endpoint("skyloyalty-endpoint").is_some());
    assert_eq!(records(&h).await, before, "v8's ledger records are intact");

    // v8 stays Ready on its next pass, and on a full one, writing nothing.
    c.clear_calls();
    let next = h.pass_other(&mut v8, &id8, Mode::Apply).await;
    assert!(next.is_ready(), "{:?}", next.steps);
    v8.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(
            agentrelease_api::RECONCILE_REQUESTED_AT.into(),
            "2026-11-24T00:00:00Z".into(),
        );
    let full = h.pass_other(&mut v8, &id8, Mode::Apply).await;
    assert!(full.is_ready(), "{:?}", full.steps);
    assert_eq!(writes(&c), Vec::<String>::new());
}

#[tokio::test]
async fn deleting_the_owner_removes_what_it_owns_and_its_records_so_another_release_can_claim() {
    let mut h = harness().await;
    h.release.spec.policy.deletion = DeletionPolicy::Delete;
    let c = h.control();
    assert!(h.run(200).await.0.is_ready());

    let report = clean(&h, &h.release, &h.identity).await.expect("cleanup");
    let lines = report.lines();
    assert_eq!(c.model_alias(MODEL, "champion"), None, "{lines:?}");
    assert!(
        c.app("skyloyalty-agent")
            .is_none_or(|a| a["compute_status"]["state"] == "DELETING")
    );
    assert!(c.endpoint("skyloyalty-endpoint").is_none());
    assert_eq!(records(&h).await, vec![None, None, None], "{lines:?}");
    assert!(
        h.ws.read_workspace_file(LOCK, 16 * 1024)
            .await
            .expect("read")
            .is_none(),
        "the lock was given back"
    );

    // The same N under another name (a renamed release): it claims, nobody cleans by hand.
    let (mut again, id) = other_release(&h, "skyloyalty-v7-again");
    let outcome = h.run_other(&mut again, &id, 400).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12));
    let owner = record(&h, 1).await.and_then(|r| r.owner).expect("owner");
    assert_eq!(owner.release, "agents/skyloyalty-v7-again");
}

#[tokio::test]
async fn retain_keeps_the_objects_and_gives_the_records_back_with_the_last_good_release() {
    let mut h = harness().await;
    let c = h.control();
    assert!(h.run(200).await.0.is_ready());
    assert_eq!(h.release.spec.policy.deletion, DeletionPolicy::Retain);

    clean(&h, &h.release, &h.identity).await.expect("cleanup");
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12));
    assert!(app_is_active(&c));
    let alias = record(&h, 0).await.expect("the alias record stays");
    assert_eq!(alias.owner, None, "released");
    assert_eq!(
        alias.last_good.map(|l| l.claim.release).as_deref(),
        Some("agents/skyloyalty-v7"),
        "what the workspace still serves stays the last good release"
    );
    assert_eq!(record(&h, 1).await, None);
    assert_eq!(record(&h, 2).await, None);

    // Another release with the same N claims the objects, adopting them.
    let (mut again, id) = other_release(&h, "skyloyalty-v7-again");
    c.clear_calls();
    let outcome = h.run_other(&mut again, &id, 400).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    let alias = record(&h, 0).await.expect("record");
    assert_eq!(
        alias.owner.map(|o| o.release).as_deref(),
        Some("agents/skyloyalty-v7-again")
    );
}

#[tokio::test]
async fn a_lock_held_by_another_writer_makes_the_cleanup_wait_and_write_nothing() {
    let mut h = harness().await;
    h.release.spec.policy.deletion = DeletionPolicy::Delete;
    let c = h.control();
    assert!(h.run(200).await.0.is_ready());
    let ci = h.another_process();
    let lock = agentrelease::engine::ledger::LedgerPath(LOCK.into());
    agentrelease::engine::lock::take(
        &ci,
        &lock,
        "ci-run",
        "agents/skyloyalty-v7",
        jiff::Timestamp::now(),
    )
    .await
    .expect("CI takes the lock");
    let before = records(&h).await;
    c.clear_calls();

    for _ in 0..2 {
        let waiting = clean(&h, &h.release, &h.identity).await;
        match &waiting {
            Err(e @ CleanupError::Locked { .. }) => {
                assert!(e.to_string().contains("ci-run"), "{e}");
                assert_eq!(e.category(), "lock_held");
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(writes(&c), Vec::<String>::new());
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12));
    assert!(app_is_active(&c));
    assert_eq!(records(&h).await, before);

    agentrelease::engine::lock::give_back(&ci, &lock, "ci-run")
        .await
        .expect("CI gives it back");
    clean(&h, &h.release, &h.identity).await.expect("cleanup");
    assert_eq!(c.model_alias(MODEL, "champion"), None);
    assert_eq!(records(&h).await, vec![None, None, None]);
}

#[tokio::test]
async fn a_cleanup_stopped_by_a_failure_finishes_on_the_next_run_and_a_third_writes_nothing() {
    let mut h = harness().await;
    h.release.spec.policy.deletion = DeletionPolicy::Delete;
    let c = h.control();
    assert!(h.run(200).await.0.is_ready());
    c.add_fault(FaultRule {
        method: Some("DELETE".into()),
        path: "/api/2.0/serving-endpoints/*".into(),
        probability: 1.0,
        times: None,
        after: None,
        action: FaultAction::Status {
            status: 500,
            error_code: None,
        },
    })
    .expect("fault");

    let failed = clean(&h, &h.release, &h.identity).await;
    assert!(
        matches!(&failed, Err(CleanupError::Workspace(_))),
        "{failed:?}"
    );
    // What came before the failure is done; the endpoint and its record are still there.
    assert_eq!(c.model_alias(MODEL, "champion"), None);
    assert_eq!(record(&h, 0).await, None);
    assert_eq!(record(&h, 1).await, None);
    assert!(c.endpoint("skyloyalty-endpoint").is_some());
    assert!(record(&h, 2).await.is_some());

    c.clear_faults();
    c.clear_calls();
    let report = clean(&h, &h.release, &h.identity)
        .await
        .expect("second run");
    assert!(c.endpoint("skyloyalty-endpoint").is_none());
    assert_eq!(records(&h).await, vec![None, None, None]);
    let deletes: Vec<String> = writes(&c)
        .into_iter()
        .filter(|w| !w.contains("/locks/") && !w.contains("workspace/import"))
        .collect();
    assert!(
        deletes.iter().all(|w| !w.contains("/apps/")),
        "the app, already deleting, is not deleted twice: {deletes:?} {:?}",
        report.lines()
    );

    c.clear_calls();
    let third = clean(&h, &h.release, &h.identity).await.expect("third run");
    assert_eq!(writes(&c), Vec::<String>::new(), "{:?}", third.lines());
}

#[tokio::test]
async fn a_ledger_record_that_cannot_be_read_stops_the_cleanup_before_any_write() {
    let mut h = harness().await;
    h.release.spec.policy.deletion = DeletionPolicy::Delete;
    let c = h.control();
    assert!(h.run(200).await.0.is_ready());
    c.add_fault(FaultRule {
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
    c.clear_calls();
    let failed = clean(&h, &h.release, &h.identity).await;
    assert!(
        matches!(&failed, Err(CleanupError::Workspace(e)) if e.kind.is_transient()),
        "{failed:?}"
    );
    assert_eq!(
        writes(&c),
        Vec::<String>::new(),
        "nothing deleted on a guess"
    );
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12));
    assert!(app_is_active(&c));
    c.clear_faults();
    clean(&h, &h.release, &h.identity)
        .await
        .expect("tried again");
    assert_eq!(c.model_alias(MODEL, "champion"), None);
}

#[tokio::test]
async fn a_suspended_release_s_deletion_makes_no_call() {
    let mut h = harness().await;
    h.release.spec.policy.deletion = DeletionPolicy::Delete;
    let c = h.control();
    assert!(h.run(200).await.0.is_ready());
    h.release.spec.policy.suspend = true;
    let before = records(&h).await;
    c.clear_calls();
    let report = clean(&h, &h.release, &h.identity).await.expect("cleanup");
    assert!(c.calls().is_empty(), "{:?}", c.calls());
    assert!(report.lines().iter().all(|l| l.contains("suspended")));
    assert_eq!(records(&h).await, before, "its records stay");
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12));
}
