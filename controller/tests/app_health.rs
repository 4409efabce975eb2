//! App health on the simulator: when a deployment fails, the condition message and a Warning
//! Event carry the app's compute and app status and the last lines of its logs, and the release
//! rolls back as any failed deployment does.

mod support;

use agentrelease::engine::EventType;
use agentrelease_api::conditions::{reasons, types};
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
