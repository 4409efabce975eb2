//! App health on the simulator: when a deployment fails, the condition message and a Warning
//! Event carry the app's compute and app status and the last lines of its logs, and the release
//! rolls back as any failed deployment does.

mod support;

use agentrelease::engine::EventType;
use agentrelease_api::conditions::{reasons, types};
use support::Harness;
use support::*;

#[tokio::test]
async fn a_failed_deployment_reports_the_app_status_and_its_last_log_lines() {
    let mut h = harness().await;
    if let Some(app) = h.release.spec.app.as_mut() {
        app.source_code_path = "/Workspace/Shared/skyloyalty/missing".into();
    }
    let c = h.control();
    let (outcome, events) = h.run(200).await;
    assert!(!outcome.is_ready());
    let event = events
        .iter()
        .find(|e| e.reason == reasons::DEPLOYMENT_FAILED && e.type_ == EventType::Warning)
        .unwrap_or_else(|| panic!("no DeploymentFailed Warning in {events:?}"));
    for want in [
        "app compute ACTIVE, app status",
        "last log lines:",
        "ERROR: Source code path /Workspace/Shared/skyloyalty/missing does not exist",
    ] {
        assert!(
            event.message.contains(want),
            "{want:?} in {}",
            event.message
        );
    }
    let condition =
        agentrelease_api::condition::find(&outcome.status.conditions, types::APP_DEPLOYED)
            .cloned()
            .expect("AppDeployed");
    assert!(
        condition.message.contains("last log lines:"),
        "{}",
        condition.message
    );
    assert_eq!(c.model_alias(MODEL, "champion"), Some(11), "rolled back");
}

/// Runs passes until the release's new deployment has succeeded in the workspace, then makes
/// the app crash before the next pass verifies it.
async fn crash_after_deploy(h: &mut Harness, compute_error: bool) {
    let c = h.control();
    for _ in 0..200 {
        let outcome = h.pass(agentrelease::engine::Mode::Apply).await;
        assert!(
            !outcome.is_ready() && !outcome.needs_human(),
            "{:?}",
            outcome.steps
        );
        h.wait(&outcome);
        let ours = h
            .release
            .status
            .as_ref()
            .and_then(|s| s.deployment_id.clone());
        let active = c.app(APP).and_then(|a| {
            a["active_deployment"]["deployment_id"]
                .as_str()
                .map(str::to_string)
        });
        if ours.is_some() && ours == active {
            c.crash_app(
                APP,
                "ModuleNotFoundError: No module named 'loyalty_tools'",
                compute_error,
            )
            .expect("crash");
            return;
        }
    }
    panic!("the deployment never succeeded");
}

const APP: &str = "skyloyalty-agent";

#[tokio::test]
async fn an_app_that_crashes_after_its_deployment_fails_verification_with_states_and_logs() {
    let mut h = harness().await;
    crash_after_deploy(&mut h, false).await;
    let (outcome, events) = h.run(200).await;
    assert!(outcome.needs_human(), "{:?}", outcome.steps);
    let event = events
        .iter()
        .find(|e| e.reason == reasons::APP_UNHEALTHY && e.type_ == EventType::Warning)
        .unwrap_or_else(|| panic!("no AppUnhealthy Warning in {events:?}"));
    for want in [
        "expected app status RUNNING on ACTIVE compute",
        "app compute ACTIVE, app status CRASHED",
        "last log lines:",
        "ERROR: ModuleNotFoundError: No module named 'loyalty_tools'",
    ] {
        assert!(
            event.message.contains(want),
            "{want:?} in {}",
            event.message
        );
    }
    assert_eq!(reason(&outcome, types::VERIFIED), reasons::ROLLED_BACK);
    let m = agentrelease_api::condition::find(&outcome.status.conditions, types::VERIFIED)
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert!(
        m.contains("app status CRASHED") && m.contains("loyalty_tools"),
        "{m}"
    );
    assert_eq!(
        h.control().model_alias(MODEL, "champion"),
        Some(11),
        "rolled back"
    );
}

#[tokio::test]
async fn failed_compute_after_the_deployment_is_restarted_and_then_verified() {
    let mut h = harness().await;
    crash_after_deploy(&mut h, true).await;
    let c = h.control();
    assert_eq!(
        c.app(APP).map(|a| a["compute_status"]["state"].clone()),
        Some(serde_json::json!("ERROR"))
    );
    let (outcome, events) = h.run(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert!(
        c.calls()
            .iter()
            .any(|r| r.method == "POST" && r.path == format!("/api/2.0/apps/{APP}/start")),
        "the provisioning step restarts failed compute"
    );
    assert!(!events.iter().any(|e| e.reason == reasons::APP_UNHEALTHY));
}

#[tokio::test]
async fn without_rollback_a_crashed_app_blocks_with_app_unhealthy() {
    let mut h = harness().await;
    h.release.spec.policy.rollback_on_failure = false;
    crash_after_deploy(&mut h, false).await;
    let (outcome, _) = h.run(200).await;
    assert!(outcome.needs_human(), "{:?}", outcome.steps);
    assert_eq!(reason(&outcome, types::VERIFIED), reasons::APP_UNHEALTHY);
    let m = agentrelease_api::condition::find(&outcome.status.conditions, types::VERIFIED)
        .map(|c| c.message.clone())
        .unwrap_or_default();
    assert!(
        m.contains("app compute ACTIVE, app status CRASHED") && m.contains("loyalty_tools"),
        "{m}"
    );
}

#[tokio::test]
async fn a_healthy_app_passes_and_a_converged_pass_reads_no_logs() {
    let mut h = harness().await;
    let (outcome, events) = h.run(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert!(!events.iter().any(|e| e.reason == reasons::APP_UNHEALTHY));
    let c = h.control();
    c.clear_calls();
    assert!(h.pass(agentrelease::engine::Mode::Apply).await.is_ready());
    assert!(!c.calls().iter().any(|r| r.path.ends_with("/logz")));
}
