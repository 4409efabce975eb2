//! The approval hold on the simulator: with `policy.approval: Required` a release whose gates and
//! checks pass writes nothing until an approval of exactly its N and model version exists — an
//! AgentReleaseApproval or the tag `approval_prod=Approved` on the model version — and then the
//! approver is in status, in the plan document and in the audit run.

mod support;

use agentrelease::engine::Mode;
use agentrelease_api::Phase;
use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::promotion_status::ApprovalSource;
use agentrelease_api::release::ApprovalPolicy;
use agentrelease_sim::{FaultAction, FaultRule};
use support::promotion::{approval, identity_of};
use support::{MODEL, harness, plans, reason};

fn message(outcome: &agentrelease::engine::Outcome, type_: &str) -> String {
    agentrelease_api::condition::find(&outcome.status.conditions, type_)
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

async fn required() -> support::Harness {
    let mut h = harness().await;
    h.release.spec.policy.approval = ApprovalPolicy::Required;
    h
}

#[tokio::test]
async fn nothing_is_written_until_an_approval_of_exactly_this_n_and_model_version_exists() {
    let mut h = required().await;
    let c = h.control();
    let plans_before = plans(&c).len();
    c.clear_calls();

    // No approval; then approvals of another N, another model version and another identity:
    // still waiting.
    let id = identity_of(&h.pass_with(Some(&[]), false).await);
    let others = [
        approval("approve-n6", 6, "12", "alice@example.com", &id),
        approval("approve-mv11", 7, "11", "alice@example.com", &id),
        approval(
            "approve-other",
            7,
            "12",
            "alice@example.com",
            "fedcba9876543210",
        ),
    ];
    for approvals in [&[][..], &others[..]] {
        let (outcome, _) = h.run_with(Some(approvals), 5).await;
        assert_eq!(outcome.status.phase, Some(Phase::AwaitingApproval));
        assert_eq!(
            reason(&outcome, types::APPROVED),
            reasons::AWAITING_APPROVAL
        );
        assert_eq!(
            reason(&outcome, types::PREFLIGHT_PASSED),
            reasons::PREFLIGHT_PASSED
        );
        assert!(outcome.status.approval.is_none());
        assert!(c.writes().is_empty(), "{:?}", c.writes());
    }
    let waiting = h.pass_with(Some(&others), false).await;
    let m = message(&waiting, types::APPROVED);
    assert!(
        m.contains("approve-n6 approves N=6 model version 12"),
        "{m}"
    );
    assert!(
        m.contains("approve-mv11 approves N=7 model version 11"),
        "{m}"
    );
    assert!(
        m.contains(&format!(
            "approve-other approves identity fedcba9876543210, not {id}"
        )),
        "{m}"
    );
    assert_eq!(c.model_alias(MODEL, "champion"), Some(11));
    assert_eq!(plans(&c).len(), plans_before);

    // The approval of N=7 and model version 12: released, the approver recorded everywhere.
    let mut approvals = others.to_vec();
    approvals.push(approval("approve-v7", 7, "12", "alice@example.com", &id));
    let (outcome, _) = h.run_with(Some(&approvals), 200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.status.conditions);
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12));
    let record = outcome.status.approval.clone().expect("status.approval");
    assert_eq!(record.source, ApprovalSource::AgentReleaseApproval);
    assert_eq!(record.approved_by.as_deref(), Some("alice@example.com"));
    assert_eq!(record.reference, "approve-v7");
    assert_eq!(record.approved_at.to_string(), "2026-12-02T09:00:00Z");
    assert_eq!(
        record.comment.as_deref(),
        Some("alice@example.com checked staging")
    );
    assert_eq!(record.identity.as_deref(), Some(id.as_str()));

    let plan_path = outcome.status.plan.as_ref().expect("plan").path.clone();
    let plan = String::from_utf8_lossy(&c.read_file(&plan_path).expect("plan file")).to_string();
    assert!(plan.contains("## Approval"), "{plan}");
    assert!(
        plan.contains("approved by alice@example.com at 2026-12-02T09:00:00Z via AgentReleaseApproval approve-v7"),
        "{plan}"
    );
    let runs = c.runs_of("/Shared/skyloyalty/deploy");
    assert_eq!(runs.len(), 1);
    let run = runs[0].to_string();
    assert!(run.contains("agentrelease.approval.approved_by"), "{run}");
    assert!(run.contains("alice@example.com"), "{run}");
    assert!(run.contains("alice@example.com checked staging"), "{run}");

    // Idempotent: another pass writes nothing and keeps the record.
    c.clear_calls();
    let again = h.pass_with(Some(&approvals), false).await;
    assert!(again.is_ready());
    assert!(c.writes().is_empty(), "{:?}", c.writes());
    assert_eq!(again.status.approval, Some(record));
}

#[tokio::test]
async fn the_model_version_tag_approves_in_a_run_without_a_cluster() {
    let mut h = required().await;
    let c = h.control();
    c.clear_calls();
    // `apply` reads no AgentReleaseApproval: it says so, and waits for the tag.
    let (outcome, _) = h.run_with(None, 5).await;
    assert_eq!(outcome.status.phase, Some(Phase::AwaitingApproval));
    let m = message(&outcome, types::APPROVED);
    let id = identity_of(&outcome);
    assert!(
        m.contains(&format!(
            "approval_prod=Approved and approval_prod_identity={id}"
        )),
        "{m}"
    );
    assert!(m.contains("read by the controller"), "{m}");
    // A tag of another value, or on another model version, does not count.
    c.set_model_version_tag(MODEL, 12, "approval_prod", "Pending")
        .expect("tag");
    c.set_model_version_tag(MODEL, 11, "approval_prod", "Approved")
        .expect("tag");
    let outcome = h.pass_with(None, false).await;
    assert_eq!(
        reason(&outcome, types::APPROVED),
        reasons::AWAITING_APPROVAL
    );
    assert!(message(&outcome, types::APPROVED).contains("approval_prod is \"Pending\""));
    assert!(c.writes().is_empty(), "{:?}", c.writes());

    // Approved without naming the identity does not count either.
    c.set_model_version_tag(MODEL, 12, "approval_prod", "Approved")
        .expect("tag");
    let outcome = h.pass_with(None, false).await;
    assert_eq!(outcome.status.phase, Some(Phase::AwaitingApproval));
    assert!(c.writes().is_empty(), "{:?}", c.writes());
    c.set_model_version_tag(MODEL, 12, "approval_prod_identity", &id)
        .expect("tag");
    c.set_model_version_tag(MODEL, 12, "approval_prod_by", "ml-lead@skyloyalty.example")
        .expect("tag");
    let (outcome, _) = h.run_with(None, 200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.status.conditions);
    let record = outcome.status.approval.clone().expect("status.approval");
    assert_eq!(record.source, ApprovalSource::ModelVersionTag);
    assert_eq!(record.reference, "approval_prod");
    assert_eq!(
        record.approved_by.as_deref(),
        Some("ml-lead@skyloyalty.example")
    );
    let run = c.runs_of("/Shared/skyloyalty/deploy")[0].to_string();
    assert!(run.contains("ModelVersionTag"), "{run}");
}

#[tokio::test]
async fn a_transient_failure_before_the_hold_is_retried_and_the_hold_still_writes_nothing() {
    let mut h = required().await;
    let c = h.control();
    // The model version read (the one the hold's tag comes from) fails for a whole pass.
    c.add_fault(FaultRule {
        method: Some("GET".into()),
        path: "/api/2.1/unity-catalog/models/*/versions/*".into(),
        probability: 1.0,
        times: Some(4),
        after: None,
        action: FaultAction::Status {
            status: 503,
            error_code: None,
        },
    })
    .expect("fault");
    c.clear_calls();
    let first = h.pass_with(Some(&[]), false).await;
    assert_eq!(
        first.status.phase,
        Some(Phase::Failed),
        "{:?}",
        first.status.conditions
    );
    let (outcome, _) = h.run_with(Some(&[]), 5).await;
    assert_eq!(outcome.status.phase, Some(Phase::AwaitingApproval));
    assert!(c.writes().is_empty(), "{:?}", c.writes());
}

#[tokio::test]
async fn without_the_policy_no_approval_is_asked_for() {
    let mut h = harness().await;
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_ready());
    assert!(
        agentrelease_api::condition::find(&outcome.status.conditions, types::APPROVED).is_none()
    );
    assert!(outcome.status.approval.is_none());
}

#[tokio::test]
async fn plan_stops_at_the_hold_and_lists_what_would_follow_the_approval() {
    let mut h = required().await;
    let c = h.control();
    c.clear_calls();
    let outcome = h.pass(Mode::Plan).await;
    assert_eq!(outcome.status.phase, Some(Phase::AwaitingApproval));
    assert_eq!(
        reason(&outcome, types::APPROVED),
        reasons::AWAITING_APPROVAL
    );
    assert!(c.writes().is_empty());
    // Every change is after the hold (the claim is the first write), and marked so.
    let planned: Vec<(&str, String)> = outcome
        .changes
        .iter()
        .map(|p| (p.step, p.summary.clone()))
        .collect();
    assert!(!planned.is_empty());
    assert!(
        outcome.changes.iter().all(|p| p.after_approval),
        "{planned:?}"
    );
    for step in ["ownership", "plan", "promote", "deploy"] {
        assert!(
            planned.iter().any(|(s, _)| *s == step),
            "{step}: {planned:?}"
        );
    }

    // `apply` writes nothing before the approval...
    let outcome = h.pass(Mode::Apply).await;
    assert_eq!(outcome.status.phase, Some(Phase::AwaitingApproval));
    assert!(outcome.changes.is_empty());
    assert!(c.writes().is_empty(), "{:?}", c.writes());

    // ...and, once approved, starts with the changes plan listed after the hold.
    let id = identity_of(&outcome);
    c.set_model_version_tag(MODEL, 12, "approval_prod", "Approved")
        .expect("tag");
    c.set_model_version_tag(MODEL, 12, "approval_prod_identity", &id)
        .expect("tag");
    let outcome = h.pass(Mode::Apply).await;
    assert!(!outcome.changes.is_empty());
    assert!(outcome.changes.iter().all(|p| !p.after_approval));
    for change in &outcome.changes {
        assert!(
            planned.iter().any(|(s, _)| *s == change.step),
            "{} was not planned: {planned:?}",
            change.step
        );
    }
}

/// `agentrelease apply` on a copy of the samples with `policy.approval: Required`; `tag` adds
/// `approval_prod=Approved` for that identity to model version 12 in the seed.
fn apply_with_approval(tag: Option<&str>) -> std::process::Output {
    let dir = samples_requiring_approval(tag);
    std::process::Command::new(env!("CARGO_BIN_EXE_agentrelease"))
        .args(["apply", "--no-progress", "-o", "json", "-f"])
        .arg(dir.path())
        .output()
        .expect("run")
}

/// A copy of the samples (prod alone) with `policy.approval: Required`; `tag` adds
/// `approval_prod=Approved` for that identity to model version 12 in the seed.
fn samples_requiring_approval(tag: Option<&str>) -> tempfile::TempDir {
    let samples = support::samples();
    let dir = tempfile::tempdir().expect("tempdir");
    let release = std::fs::read_to_string(samples.join("agentrelease.yaml"))
        .expect("release")
        .replacen(
            "    deletion: Retain",
            "    deletion: Retain\n    approval: Required",
            1,
        )
        // Prod on its own here: no staging stage to wait for.
        .replacen(
            "  promotion:\n    requires:\n      - targetRef: staging\n        soak: 0s\n",
            "",
            1,
        );
    assert!(
        !release.contains("promotion:"),
        "the sample's promotion block moved"
    );
    std::fs::write(dir.path().join("agentrelease.yaml"), release).expect("write");
    std::fs::copy(
        samples.join("releasetarget.yaml"),
        dir.path().join("releasetarget.yaml"),
    )
    .expect("copy");
    let mut seed = std::fs::read_to_string(samples.join("workspace-seed.yaml")).expect("seed");
    let v12 = "                model_id: m-7f3c1a9e5b2d4c6f8a0b1c2d3e4f5a6b\n";
    assert!(seed.contains(v12));
    if let Some(identity) = tag {
        seed = seed.replacen(
            v12,
            &format!("{v12}                tags: {{approval_prod: Approved, approval_prod_identity: \"{identity}\", approval_prod_by: ml-lead@skyloyalty.example}}\n"),
            1,
        );
    }
    std::fs::write(dir.path().join("workspace-seed.yaml"), seed).expect("seed");
    copy_dir(&samples.join("workspace"), &dir.path().join("workspace"));
    dir
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn apply_from_ci_waits_for_the_tag_and_releases_with_it() {
    let out = apply_with_approval(None);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["releases"][0]["phase"], "AwaitingApproval");
    let identity = doc["releases"][0]["status"]["identity"]["digest"]
        .as_str()
        .expect("the identity to approve")
        .to_string();

    // Tagged for another identity (the release as it was before an edit): still waiting.
    let out = apply_with_approval(Some("fedcba9876543210"));
    assert_eq!(out.status.code(), Some(2));

    let out = apply_with_approval(Some(&identity));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let approval = &doc["releases"][0]["status"]["approval"];
    assert_eq!(approval["source"], "ModelVersionTag");
    assert_eq!(approval["approvedBy"], "ml-lead@skyloyalty.example");
    assert_eq!(approval["identity"], serde_json::json!(identity));
}

#[test]
fn plan_from_ci_marks_the_changes_that_wait_for_the_approval() {
    let dir = samples_requiring_approval(None);
    let plan = |json: bool| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_agentrelease"));
        command.arg("plan");
        if json {
            command.args(["-o", "json"]);
        }
        command.arg("-f").arg(dir.path()).output().expect("run")
    };
    let out = plan(false);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("waits for approval (apply writes nothing before it)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("move main.agents.skyloyalty@champion: 11 -> 12 (after approval)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("blocked, nothing would change"),
        "{stdout}"
    );

    let out = plan(true);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let release = &doc["releases"][0];
    assert!(
        release["awaiting_approval"]
            .as_str()
            .is_some_and(|m| m.contains("approval_prod")),
        "{release}"
    );
    assert_eq!(release["blocked"], serde_json::Value::Null);
    let changes = release["changes"].as_array().expect("changes");
    assert!(!changes.is_empty());
    assert!(
        changes.iter().all(|c| c["after_approval"] == true),
        "{changes:?}"
    );
}

/// The sample release approved and Ready; returns the identity it was approved for.
async fn approved_and_ready(h: &mut support::Harness) -> String {
    let id = identity_of(&h.pass_with(Some(&[]), false).await);
    let approvals = [approval("approve-v7", 7, "12", "alice@example.com", &id)];
    let (outcome, _) = h.run_with(Some(&approvals), 200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.status.conditions);
    id
}

#[tokio::test]
async fn an_edit_after_the_approval_holds_the_release_until_its_new_identity_is_approved() {
    let mut h = required().await;
    let c = h.control();
    let old_id = approved_and_ready(&mut h).await;
    let old = [approval(
        "approve-v7",
        7,
        "12",
        "alice@example.com",
        &old_id,
    )];

    // An editor changes the app's environment and adds a grant, keeping N and model version.
    h.release
        .spec
        .app
        .as_mut()
        .expect("app")
        .env
        .push(agentrelease_api::release::EnvVar {
            name: "FEATURE_FLAGS".into(),
            value: Some("all-on".into()),
            value_from: None,
        });
    let mut grant = h.release.spec.grants[0].clone();
    grant.privileges = vec![agentrelease_api::release::Privilege::BROWSE];
    h.release.spec.grants.push(grant);
    h.identity.generation = 2;
    c.clear_calls();

    let outcome = h.pass_with(Some(&old), false).await;
    assert_eq!(outcome.status.phase, Some(Phase::AwaitingApproval));
    let new_id = identity_of(&outcome);
    assert_ne!(new_id, old_id);
    let m = message(&outcome, types::APPROVED);
    assert!(
        m.contains(&format!(
            "approve-v7 approves identity {old_id}, not {new_id}"
        )),
        "{m}"
    );
    assert!(
        m.contains(&format!(
            "was for identity {old_id}: the release changed since"
        )),
        "{m}"
    );
    assert!(outcome.status.approval.is_none());
    assert!(c.writes().is_empty(), "{:?}", c.writes());

    // The new identity approved: the change goes out, under that approval.
    let mut approvals = old.to_vec();
    approvals.push(approval(
        "approve-v7-edit",
        7,
        "12",
        "bob@example.com",
        &new_id,
    ));
    let (outcome, _) = h.run_with(Some(&approvals), 200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.status.conditions);
    let record = outcome.status.approval.clone().expect("status.approval");
    assert_eq!(record.reference, "approve-v7-edit");
    assert_eq!(record.identity.as_deref(), Some(new_id.as_str()));
    assert!(
        c.writes().iter().any(|w| w.path.ends_with("/deployments")),
        "{:?}",
        c.writes()
    );
}

#[tokio::test]
async fn a_target_that_requires_approval_holds_a_release_that_turned_it_off() {
    let mut h = harness().await;
    h.release.spec.policy.approval = ApprovalPolicy::NotRequired;
    h.target.spec.approval = ApprovalPolicy::Required;
    let c = h.control();
    c.clear_calls();
    let (outcome, _) = h.run_with(Some(&[]), 5).await;
    assert_eq!(outcome.status.phase, Some(Phase::AwaitingApproval));
    let m = message(&outcome, types::APPROVED);
    assert!(
        m.contains("required by the ReleaseTarget's spec.approval"),
        "{m}"
    );
    assert!(c.writes().is_empty(), "{:?}", c.writes());

    let id = identity_of(&outcome);
    let approvals = [approval("approve-v7", 7, "12", "alice@example.com", &id)];
    let (outcome, _) = h.run_with(Some(&approvals), 200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.status.conditions);
}

#[tokio::test]
async fn the_identity_is_in_status_and_names_what_it_is_made_of() {
    let mut h = harness().await;
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_ready());
    let id = outcome.status.identity.clone().expect("status.identity");
    assert!(agentrelease_api::identity::is_digest(&id.digest), "{id:?}");
    assert_eq!((id.n, id.model_version), (7, 12));
    assert_eq!(id.model, MODEL);
    assert_eq!(
        id.logged_model_id.as_deref(),
        Some("m-7f3c1a9e5b2d4c6f8a0b1c2d3e4f5a6b")
    );
    assert!(id.prompt_version.is_some());
}
