//! The simulator's HTTP contract over a real socket: the error shape for unknown routes and bad
//! bodies, auth, the call log, reset, the control plane, and seed errors that name the field.

use agentrelease_sim::{Seed, SeedError, SimConfig, Simulator};

const SEED: &str = "catalogs:\n  - name: main\n    schemas:\n      - name: s\n        models:\n          - name: m\n            versions: [{version: 1}]\n            aliases: {champion: 1}\n";

async fn start() -> agentrelease_sim::RunningSim {
    let seed = Seed::from_yaml_str(SEED, None).expect("seed");
    Simulator::start(SimConfig {
        seed: Some(seed),
        ..SimConfig::default()
    })
    .await
    .expect("start")
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

#[tokio::test]
async fn unknown_routes_bad_bodies_and_missing_tokens_answer_in_the_api_error_shape() {
    let sim = start().await;
    let c = http();
    let r = c
        .get(format!("{}/api/2.0/nothing/here", sim.url()))
        .bearer_auth(sim.token())
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error_code"], "ENDPOINT_NOT_FOUND");

    let r = c
        .put(format!(
            "{}/api/2.1/unity-catalog/models/main.s.m/aliases/champion",
            sim.url()
        ))
        .bearer_auth(sim.token())
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("Malformed")),
        "{body}"
    );

    let r = c
        .get(format!(
            "{}/api/2.1/unity-catalog/models/main.s.m",
            sim.url()
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error_code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn the_call_log_names_routes_and_excludes_the_control_plane() {
    let sim = start().await;
    let c = http();
    c.get(format!(
        "{}/api/2.1/unity-catalog/models/main.s.m/aliases/champion",
        sim.url()
    ))
    .bearer_auth(sim.token())
    .send()
    .await
    .expect("send");
    c.get(format!("{}/_sim/calls", sim.url()))
        .send()
        .await
        .expect("control");
    let calls = sim.control().calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        calls[0].route,
        "/api/2.1/unity-catalog/models/{full_name}/aliases/{alias}"
    );
    assert_eq!((calls[0].method.as_str(), calls[0].status), ("GET", 200));
    assert_eq!(calls[0].principal.as_deref(), Some("admin@sim.local"));
    let counters = sim.control().counters();
    assert_eq!(
        counters["GET /api/2.1/unity-catalog/models/{full_name}/aliases/{alias}"].total,
        1
    );
}

#[tokio::test]
async fn reset_returns_to_the_seed_and_the_clock_control_answers() {
    let sim = start().await;
    let control = sim.control();
    control
        .set_model_alias("main.s.m", "champion", 1)
        .expect("alias");
    assert!(control.delete_model_alias("main.s.m", "champion"));
    control.reset().expect("reset");
    assert_eq!(control.model_alias("main.s.m", "champion"), Some(1));
    let c = http();
    let r = c
        .post(format!("{}/_sim/clock", sim.url()))
        .body(r#"{"advance_seconds": 60}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let r = c
        .post(format!("{}/_sim/faults", sim.url()))
        .body(r#"{"path": "^(", "action": {"kind": "drop"}}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400, "a bad fault pattern is refused");
}

#[test]
fn seed_errors_name_the_file_and_the_field() {
    let e = Seed::from_yaml_str(
        "catalogs:\n  - name: main\n    schemas:\n      - name: s\n        modles: []\n",
        None,
    )
    .expect_err("unknown key");
    assert!(matches!(e, SeedError::Parse { .. }));
    assert!(e.to_string().contains("modles"), "{e}");
    let seed = Seed::from_yaml_str(
        "catalogs:\n  - name: main\n    schemas:\n      - name: s\n        models:\n          - name: m\n            aliases: {champion: 3}\n",
        None,
    )
    .expect("parses");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let e = rt
        .block_on(Simulator::start(SimConfig {
            seed: Some(seed),
            ..SimConfig::default()
        }))
        .expect_err("alias to a missing version");
    let text = e.to_string();
    assert!(
        text.contains("catalogs[0].schemas[0].models[0].aliases.champion"),
        "{text}"
    );
    assert!(text.contains("version 3 is not seeded"), "{text}");
}

#[tokio::test]
async fn volume_uploads_larger_than_a_few_megabytes_are_accepted() {
    let seed = Seed::from_yaml_str(
        "catalogs:\n  - name: main\n    schemas:\n      - name: s\n        volumes:\n          - name: v\n",
        None,
    )
    .expect("seed");
    let sim = Simulator::start(SimConfig {
        seed: Some(seed),
        ..SimConfig::default()
    })
    .await
    .expect("start");
    let big = vec![b'x'; 8 * 1024 * 1024];
    let r = http()
        .put(format!(
            "{}/api/2.0/fs/files/Volumes/main/s/v/big.bin?overwrite=false",
            sim.url()
        ))
        .bearer_auth(sim.token())
        .body(big)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 204);
    assert_eq!(
        sim.control()
            .read_file("/Volumes/main/s/v/big.bin")
            .map(|b| b.len()),
        Some(8 * 1024 * 1024)
    );
}

#[tokio::test]
async fn absurd_control_values_are_refused_not_fatal() {
    let sim = start().await;
    let c = http();
    for body in [
        r#"{"advance_seconds": 1e300}"#,
        r#"{"advance_seconds": -1}"#,
    ] {
        let r = c
            .post(format!("{}/_sim/clock", sim.url()))
            .body(body)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 400, "{body}");
    }
    let r = c
        .post(format!("{}/_sim/faults", sim.url()))
        .body(r#"{"path": "/**", "action": {"kind": "latency", "min_ms": 99999999999}}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    let r = c
        .get(format!(
            "{}/api/2.1/unity-catalog/models/main.s.m",
            sim.url()
        ))
        .bearer_auth(sim.token())
        .send()
        .await
        .expect("alive");
    assert_eq!(r.status(), 200, "the simulator still answers");
}
