//! The soak: six releases of six agents on one workspace, side by side, with about 20% of the
//! API calls failing (500, 503, 429, dropped connections, lost answers). Every release ends
//! Ready, each with its own alias moved, one app deployment, one FINISHED audit run — and the
//! plans volume holds one new plan per release.

mod support;

use agentrelease::engine::{self, Mode, Outcome};
use agentrelease_api::AgentRelease;
use agentrelease_sim::{FaultAction, FaultRule, Seed};
use support::*;

const AGENTS: usize = 6;

/// Registers the fleet's agents.
fn seed_agents(h: &Harness) {
    h.control()
        .apply_seed(&Seed::from_yaml_str(&fleet::seed_yaml(AGENTS), None).expect("seed"))
        .expect("agents");
}

async fn drive(h: &Harness, mut release: AgentRelease, id: engine::Identity) -> Outcome {
    let mut last = None;
    for _ in 0..1500 {
        let outcome = h.pass_other(&mut release, &id, Mode::Apply).await;
        if outcome.is_ready() || outcome.needs_human() {
            return outcome;
        }
        h.wait(&outcome);
        last = Some(outcome);
    }
    last.expect("a pass")
}

#[tokio::test]
async fn six_releases_under_twenty_percent_faults_all_converge_once() {
    let h = harness().await;
    let c = h.control();
    seed_agents(&h);
    for (probability, action) in [
        (
            0.05,
            FaultAction::Status {
                status: 500,
                error_code: None,
            },
        ),
        (
            0.05,
            FaultAction::Status {
                status: 503,
                error_code: None,
            },
        ),
        (
            0.04,
            FaultAction::RateLimit {
                retry_after_secs: 0,
            },
        ),
        (0.03, FaultAction::Drop),
        (0.03, FaultAction::LoseAnswer),
    ] {
        c.add_fault(FaultRule {
            method: None,
            path: "/api/**".into(),
            probability,
            times: None,
            after: None,
            action,
        })
        .expect("fault");
    }
    let drives = (0..AGENTS).map(|i| {
        let (r, id) = fleet::release_of(&h.release, i);
        drive(&h, r, id)
    });
    let outcomes = futures::future::join_all(drives).await;
    c.clear_faults();
    for (i, o) in outcomes.iter().enumerate() {
        assert!(o.is_ready(), "agent{i}: {:?}", o.steps);
        assert_eq!(
            c.model_alias(&format!("main.agents.agent{i}"), "champion"),
            Some(12)
        );
    }
    assert_eq!(
        plans(&c).len(),
        2 + AGENTS,
        "one plan each: {:?}",
        plans(&c)
    );
    let runs = c.runs_of("/Shared/skyloyalty/deploy");
    assert_eq!(runs.len(), AGENTS, "one audit run each");
    assert!(
        runs.iter().all(|r| r["info"]["status"] == "FINISHED"),
        "{runs:?}"
    );
    for i in 0..AGENTS {
        let deployments = c
            .calls()
            .iter()
            .filter(|r| {
                r.method == "POST"
                    && r.path == format!("/api/2.0/apps/agent{i}-app/deployments")
                    && r.status == 200
            })
            .count();
        assert_eq!(deployments, 1, "agent{i}: one deployment");
    }
    assert!(c.calls().iter().any(|r| r.faulted), "faults were injected");
}
