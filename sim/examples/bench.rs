//! Requests per second of cheap GETs against the simulator on loopback.
//!
//! `cargo run --release -p agentrelease-sim --example bench [-- SECONDS CONNECTIONS]`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use agentrelease_sim::{Seed, SimConfig, Simulator};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let connections: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    let seed = Seed::from_yaml_file(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/samples/workspace-seed.yaml"
    )))?;
    let sim = Simulator::start(SimConfig {
        seed: Some(seed),
        ..SimConfig::default()
    })
    .await?;
    let url = format!(
        "{}/api/2.1/unity-catalog/models/main.agents.skyloyalty/aliases/champion",
        sim.url()
    );
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (url, token, stop, done) = (url.clone(), sim.token(), stop.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("client");
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let ok = client
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false);
                if ok {
                    latencies.push(t.elapsed());
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "{} requests in {elapsed:.1} s with {connections} connections: {:.0} req/s; p50 {:?}, p99 {:?}",
        done.load(Ordering::Relaxed),
        done.load(Ordering::Relaxed) as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
    sim.shutdown().await;
    Ok(())
}
