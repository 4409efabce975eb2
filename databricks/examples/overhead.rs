//! The client's overhead per call: sequential cheap GETs against the workspace simulator through
//! the typed client (auth, rate limiter, classification, decoding, observer) and through bare
//! reqwest on the same connection pool settings.
//!
//! `cargo run --release -p agentrelease-databricks --example overhead [-- CALLS]`

use std::time::{Duration, Instant};

use agentrelease_databricks::{Client, Credentials, SecretString};
use agentrelease_sim::{Seed, SimConfig, Simulator};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let calls: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5000);
    let seed = Seed::from_yaml_str(
        "catalogs:\n  - name: main\n    schemas:\n      - name: s\n        models:\n          - name: m\n            versions: [{version: 1}]\n            aliases: {champion: 1}\n",
        None,
    )?;
    let sim = Simulator::start(SimConfig {
        seed: Some(seed),
        ..SimConfig::default()
    })
    .await?;
    let client = Client::builder(sim.url())
        .credentials(Credentials::Pat(SecretString::new(sim.token())))
        .allow_insecure_http(true)
        .rate_limit(1_000_000)
        .build()?;
    let raw = reqwest::Client::new();
    let url = format!(
        "{}/api/2.1/unity-catalog/models/main.s.m/aliases/champion",
        sim.url()
    );

    // Warm both pools.
    client
        .get_model_version_by_alias("main.s.m", "champion")
        .await?;
    raw.get(&url)
        .bearer_auth(sim.token())
        .send()
        .await?
        .bytes()
        .await?;

    let t = Instant::now();
    for _ in 0..calls {
        let body = raw
            .get(&url)
            .bearer_auth(sim.token())
            .send()
            .await?
            .bytes()
            .await?;
        let _: serde_json::Value = serde_json::from_slice(&body)?;
    }
    let bare = t.elapsed();
    let t = Instant::now();
    for _ in 0..calls {
        client
            .get_model_version_by_alias("main.s.m", "champion")
            .await?;
    }
    let typed = t.elapsed();
    let per = |d: Duration| d / calls;
    println!(
        "{calls} sequential GETs: bare reqwest {:?}/call, typed client {:?}/call, overhead {:?}/call",
        per(bare),
        per(typed),
        per(typed).saturating_sub(per(bare))
    );
    sim.shutdown().await;
    Ok(())
}
