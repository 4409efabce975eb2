//! Plan numbering when many releases write into one plans volume: the releases of one process
//! hand the numbers out between themselves (no upload refused, no other release's plan read),
//! another process's plan is found out by the exclusive upload, and a plan noted in the ledger
//! whose upload never happened is written under the same number on the next pass.

mod support;

use agentrelease::databricks_adapter::ClientWorkspace;
use agentrelease::engine::{self, Identity, Mode, Outcome, SystemClock};
use agentrelease_api::AgentRelease;
use agentrelease_sim::{FaultAction, FaultRule, Seed};
use support::*;

const PLANS: &str = "/Volumes/main/agents/deployment_plans/";

fn seed_agents(h: &Harness, n: usize) {
    h.control()
        .apply_seed(&Seed::from_yaml_str(&fleet::seed_yaml(n), None).expect("seed"))
        .expect("agents");
}

/// The `v<M>` numbers of the plans in the volume, ascending.
fn plan_versions(h: &Harness) -> Vec<i64> {
    let mut v: Vec<i64> = plans(&h.control())
        .iter()
        .filter_map(|p| {
            p.trim_start_matches(PLANS)
                .strip_prefix('v')?
                .split('/')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn refused_uploads(h: &Harness) -> usize {
    h.control()
        .calls()
        .iter()
        .filter(|r| r.method == "PUT" && r.path.contains("/deployment_plans/") && r.status == 409)
        .count()
}

fn plan_reads(h: &Harness) -> Vec<String> {
    h.control()
        .calls()
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/deployment_plans/v"))
        .map(|r| r.path.clone())
        .collect()
}

/// Passes over `release` on `ws` until Ready or Stalled.
async fn drive_on(
    h: &Harness,
    ws: &ClientWorkspace,
    release: &mut AgentRelease,
    id: &Identity,
) -> Outcome {
    let mut outcome = None;
    for _ in 0..60 {
        let o = engine::reconcile(
            release,
            &h.target.spec,
            id.clone(),
            ws,
            &SystemClock,
            Mode::Apply,
        )
        .await;
        release.status = Some(o.status.clone());
        if o.is_ready() || o.needs_human() {
            return o;
        }
        h.wait(&o);
        outcome = Some(o);
    }
    outcome.expect("a pass")
}

#[tokio::test]
async fn releases_side_by_side_on_one_volume_take_consecutive_numbers_without_collisions() {
    const N: usize = 12;
    let h = harness().await;
    seed_agents(&h, N);
    let before = plan_versions(&h);
    let highest = before.last().copied().unwrap_or(0);
    h.control().clear_calls();

    let mut jobs: Vec<(AgentRelease, Identity)> =
        (0..N).map(|i| fleet::release_of(&h.release, i)).collect();
    let outcomes = futures::future::join_all(
        jobs.iter_mut()
            .map(|(r, id)| async { h.run_other(r, id, 60).await }),
    )
    .await;
    for (o, (r, _)) in outcomes.iter().zip(&jobs) {
        assert!(
            o.is_ready(),
            "{:?}: {:?}",
            r.metadata.name,
            o.status.conditions
        );
    }

    // One new plan each, numbered on from the highest, no gaps.
    let expected: Vec<i64> = before
        .iter()
        .copied()
        .chain((1..=N as i64).map(|k| highest + k))
        .collect();
    assert_eq!(plan_versions(&h), expected);
    let mut taken: Vec<i64> = jobs
        .iter()
        .map(|(r, _)| {
            r.status
                .as_ref()
                .and_then(|s| s.plan.as_ref())
                .expect("plan")
                .version
        })
        .collect();
    taken.sort_unstable();
    assert_eq!(
        taken,
        expected[before.len()..].to_vec(),
        "each its own plan"
    );
    // Nobody collided, and no release searched the plans for its own (noted in its ledger
    // record): the one plan read is the numbering's look into the top folder (is it empty?).
    assert_eq!(refused_uploads(&h), 0);
    assert_eq!(
        plan_reads(&h),
        vec![format!("/api/2.0/fs/files{PLANS}v{highest}/plan.md")]
    );
    let listings = h
        .control()
        .calls()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/deployment_plans"))
        .count();
    assert_eq!(listings, 1, "the volume is listed once for all of them");

    // A second pass over every release writes nothing.
    h.control().clear_calls();
    for (r, id) in &mut jobs {
        let o = h.pass_other(r, id, Mode::Apply).await;
        assert!(o.is_ready());
    }
    assert!(
        h.control().calls().iter().all(|c| !c.is_write()),
        "{:?}",
        h.control()
            .calls()
            .iter()
            .filter(|c| c.is_write())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_plan_another_process_wrote_is_found_out_by_the_upload_and_the_next_number_taken() {
    let h = harness().await;
    seed_agents(&h, 3);
    let (mut first, first_id) = fleet::release_of(&h.release, 0);
    assert!(h.run_other(&mut first, &first_id, 60).await.is_ready());
    let after_first = plan_versions(&h);
    let k = after_first.last().copied().expect("a plan");

    // Another process (CI's apply, say) writes the next plan: this process does not know.
    let other = h.another_process();
    let (mut second, second_id) = fleet::release_of(&h.release, 1);
    assert!(
        drive_on(&h, &other, &mut second, &second_id)
            .await
            .is_ready()
    );
    assert_eq!(
        second
            .status
            .as_ref()
            .and_then(|s| s.plan.as_ref())
            .map(|p| p.version),
        Some(k + 1)
    );

    // This process hands out k + 1 again; the exclusive upload refuses it, and the release
    // takes k + 2 after listing the volume again.
    h.control().clear_calls();
    let (mut third, third_id) = fleet::release_of(&h.release, 2);
    assert!(h.run_other(&mut third, &third_id, 60).await.is_ready());
    assert_eq!(
        third
            .status
            .as_ref()
            .and_then(|s| s.plan.as_ref())
            .map(|p| p.version),
        Some(k + 2)
    );
    assert_eq!(refused_uploads(&h), 1);
    // The refused plan was read once, to see it is not this release's.
    assert_eq!(
        plan_reads(&h),
        vec![format!("/api/2.0/fs/files{PLANS}v{}/plan.md", k + 1)]
    );
    assert_eq!(plan_versions(&h).len(), after_first.len() + 2);
}

#[tokio::test]
async fn a_noted_plan_whose_upload_never_happened_is_written_under_the_same_number() {
    let h = harness().await;
    let before = plan_versions(&h);
    let next = before.last().copied().unwrap_or(0) + 1;
    // The first upload of the plan is dropped before the workspace serves it (a connection
    // that closes), every retry of it too.
    h.control()
        .add_fault(FaultRule {
            method: Some("PUT".into()),
            path: format!("/api/2.0/fs/files{PLANS}**"),
            probability: 1.0,
            times: Some(3),
            after: None,
            action: FaultAction::Drop,
        })
        .expect("fault");
    let mut release = h.release.clone();
    let id = h.identity.clone();
    let first = h.pass_other(&mut release, &id, Mode::Apply).await;
    assert!(!first.is_ready());
    assert_eq!(plan_versions(&h), before, "nothing uploaded");

    // The note names v<next>; a fresh process (status lost) writes it there, not elsewhere.
    release.status = None;
    h.control().clear_calls();
    let fresh = h.another_process();
    let outcome = drive_on(&h, &fresh, &mut release, &id).await;
    assert!(outcome.is_ready(), "{:?}", outcome.status.conditions);
    assert_eq!(
        release
            .status
            .as_ref()
            .and_then(|s| s.plan.as_ref())
            .map(|p| p.version),
        Some(next)
    );
    let mut expected = before.clone();
    expected.push(next);
    assert_eq!(
        plan_versions(&h),
        expected,
        "one plan, under the noted number"
    );
    // Found from the note: only the noted plan was read (did its upload go out?), no other
    // plan was searched, the volume not even listed.
    assert_eq!(
        plan_reads(&h),
        vec![format!("/api/2.0/fs/files{PLANS}v{next}/plan.md")]
    );
    assert!(
        !h.control()
            .calls()
            .iter()
            .any(|r| r.path.ends_with("/deployment_plans")),
        "listed"
    );
}
