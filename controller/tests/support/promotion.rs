//! Passes with what the controller adds to them: the namespace's AgentReleaseApprovals and the
//! once-per-resync newer-versions poll.

use agentrelease::engine::steps::approved::KubeApproval;
use agentrelease::engine::{self, Inputs, Mode, Outcome, SystemClock};
use agentrelease_api::AgentReleaseApprovalSpec;

use super::Harness;

/// The release identity an outcome's status names (set once the gates read their inputs).
pub fn identity_of(outcome: &Outcome) -> String {
    outcome
        .status
        .identity
        .as_ref()
        .map(|i| i.digest.clone())
        .expect("status.identity")
}

/// An approval of the sample release's `identity` by `by`.
pub fn approval(name: &str, n: u32, model_version: &str, by: &str, identity: &str) -> KubeApproval {
    KubeApproval {
        name: name.into(),
        spec: AgentReleaseApprovalSpec {
            release: "skyloyalty-v7".into(),
            n,
            model_version: model_version.into(),
            approved_by: by.into(),
            comment: Some(format!("{by} checked staging")),
            identity: Some(identity.into()),
        },
        created_at: Some("2026-12-02T09:00:00Z".parse().expect("time")),
    }
}

impl Harness {
    /// One Apply pass as the controller runs it: with these approvals (`None`: as `apply`
    /// without a cluster) and, with `poll`, the newer-versions poll.
    pub async fn pass_with(&mut self, approvals: Option<&[KubeApproval]>, poll: bool) -> Outcome {
        let inputs = Inputs {
            approvals,
            poll_newer_versions: poll,
            ..Inputs::default()
        };
        let outcome = engine::reconcile_with(
            &self.release,
            &self.target.spec,
            self.identity.clone(),
            &self.ws,
            &SystemClock,
            Mode::Apply,
            &inputs,
        )
        .await;
        self.release.status = Some(outcome.status.clone());
        outcome
    }

    /// Passes like [`Harness::run`], with approvals.
    pub async fn run_with(
        &mut self,
        approvals: Option<&[KubeApproval]>,
        max: usize,
    ) -> (Outcome, Vec<engine::Event>) {
        let mut events = Vec::new();
        let mut outcome = self.pass_with(approvals, false).await;
        events.extend(outcome.events.clone());
        for _ in 0..max {
            if outcome.is_ready() || outcome.needs_human() {
                break;
            }
            self.wait(&outcome);
            outcome = self.pass_with(approvals, false).await;
            events.extend(outcome.events.clone());
        }
        (outcome, events)
    }
}
