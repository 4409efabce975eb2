//! Workload identity federation through the real client against the simulator: the OIDC token in
//! a file is exchanged at the workspace's `/oidc/v1/token` (RFC 8693), the workspace token is
//! cached, and the file is read again at the next exchange (a rotated token is used; a token the
//! policy does not accept is refused as Unauthenticated).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentrelease_databricks::*;
use agentrelease_sim::api::token_exchange::unsigned_jwt;
use agentrelease_sim::{RunningSim, Seed, SimConfig, Simulator};

const SP: &str = "5f0c2a8e-3b1d-4e6f-9a7c-2d4b6e8f0a1c";
const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
const SUBJECT: &str = "system:serviceaccount:agentrelease-system:agentrelease";

async fn sim() -> RunningSim {
    let seed = format!(
        "service_principals:\n  - application_id: {SP}\n    display_name: agentrelease\n    federation_policies:\n      - issuer: {ISSUER}\n        audiences: [databricks]\n        subject: {SUBJECT}\n"
    );
    Simulator::start(SimConfig {
        seed: Some(Seed::from_yaml_str(&seed, None).expect("seed")),
        ..SimConfig::default()
    })
    .await
    .expect("sim")
}

fn jwt(sub: &str, aud: &str) -> String {
    let in_a_year = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 365 * 24 * 3600;
    unsigned_jwt(&serde_json::json!({"iss": ISSUER, "aud": aud, "sub": sub, "exp": in_a_year}))
}

fn client(sim: &RunningSim, token_file: &std::path::Path, client_id: Option<&str>) -> Client {
    Client::builder(sim.url())
        .credentials(Credentials::WorkloadIdentity {
            client_id: client_id.map(str::to_string),
            subject: SubjectToken::file(token_file),
        })
        .allow_insecure_http(true)
        .build()
        .expect("client")
}

#[tokio::test]
async fn an_oidc_token_is_exchanged_for_a_workspace_token_and_reread_on_refresh() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, jwt(SUBJECT, "databricks")).unwrap();
    let c = client(&sim, &file, Some(SP));
    assert_eq!(c.current_user().await.expect("me").user_name, SP);
    assert_eq!(c.current_user().await.expect("cached").user_name, SP);
    let exchanges = || {
        sim.control()
            .calls()
            .iter()
            .filter(|r| r.path == "/oidc/v1/token")
            .count()
    };
    assert_eq!(exchanges(), 1, "the workspace token is cached");

    // The file is rotated to a token the policy does not accept; the next exchange reads it.
    std::fs::write(&file, jwt("system:serviceaccount:other:sa", "databricks")).unwrap();
    sim.control().advance_clock(Duration::from_secs(7200));
    let e = c
        .current_user()
        .await
        .expect_err("the rotated token is refused");
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(e.to_string().contains("invalid_grant"), "{e}");
    assert_eq!(exchanges(), 2, "the file was read again for a new exchange");

    std::fs::write(&file, jwt(SUBJECT, "databricks")).unwrap();
    assert_eq!(c.current_user().await.expect("again").user_name, SP);
}

#[tokio::test]
async fn a_token_for_another_audience_or_without_a_client_id_is_refused() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, jwt(SUBJECT, "someone-else")).unwrap();
    let e = client(&sim, &file, Some(SP))
        .current_user()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    std::fs::write(&file, jwt(SUBJECT, "databricks")).unwrap();
    let e = client(&sim, &file, None).current_user().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    let e = client(&sim, &dir.path().join("missing"), Some(SP))
        .current_user()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("the OIDC token file"), "{e}");
}
