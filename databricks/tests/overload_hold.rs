//! A workspace that answers 429 with `Retry-After` holds back every request of its own client
//! (every release on that workspace waits) and no other workspace's client.

use std::time::Duration;

use agentrelease_databricks::*;
use agentrelease_sim::{FaultAction, FaultRule, RunningSim, Seed, SimConfig, Simulator};

const SEED: &str = r#"
users: [dev@example.com]
tokens:
  - {token: dapi-dev, principal: dev@example.com}
"#;

async fn workspace() -> RunningSim {
    Simulator::start(SimConfig {
        seed: Some(Seed::from_yaml_str(SEED, None).expect("seed")),
        ..SimConfig::default()
    })
    .await
    .expect("sim")
}

fn client(sim: &RunningSim) -> Client {
    Client::builder(sim.url())
        .credentials(Credentials::Pat(SecretString::new("dapi-dev")))
        .allow_insecure_http(true)
        .retry(RetryPolicy::none())
        .build()
        .expect("client")
}

fn calls_to(sim: &RunningSim, path: &str) -> usize {
    sim.control()
        .calls()
        .iter()
        .filter(|c| c.path == path)
        .count()
}

#[tokio::test]
async fn a_throttling_workspace_holds_its_own_requests_and_no_one_elses() {
    let (noisy, quiet) = (workspace().await, workspace().await);
    noisy
        .control()
        .add_fault(FaultRule {
            method: None,
            path: "/api/2.0/apps".into(),
            probability: 1.0,
            times: Some(1),
            after: None,
            action: FaultAction::RateLimit {
                retry_after_secs: 30,
            },
        })
        .expect("fault");
    let (noisy_client, quiet_client) = (client(&noisy), client(&quiet));

    let throttled = noisy_client.list_apps().await.expect_err("429");
    assert_eq!(throttled.status, Some(429));
    // Another request on the throttling workspace (another release's read) is held for the
    // thirty seconds the workspace asked for: it does not reach the workspace meanwhile.
    let held = tokio::spawn({
        let c = noisy_client.clone();
        async move { c.current_user().await }
    });
    // The other workspace is served at once, many times over.
    for _ in 0..20 {
        assert_eq!(
            quiet_client.current_user().await.expect("quiet").user_name,
            "dev@example.com"
        );
    }
    assert_eq!(calls_to(&quiet, "/api/2.0/preview/scim/v2/Me"), 20);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!held.is_finished(), "the held request went out");
    assert_eq!(
        calls_to(&noisy, "/api/2.0/preview/scim/v2/Me"),
        0,
        "the throttling workspace got a request inside its Retry-After"
    );
    held.abort();
}
