//! The engine's benchmark: N agents released on one simulated workspace, as `apply` drives them
//! (side by side, each with its own pacing), with a fixed latency on every API call; then one
//! converged pass over all of them. Prints wall time, calls per release (fresh and converged,
//! writes separately), the time of one release alone (the sequential script's shape is that
//! times N), and the peak resident memory.
//!
//! `cargo run --release -p agentrelease --example apply_bench -- RELEASES LATENCY_MS`

use std::sync::Arc;
use std::time::Instant;

#[path = "../tests/support/fleet.rs"]
mod fleet;

use agentrelease::cli::pacing::{Pacing, Progress};
use agentrelease::databricks_adapter::ClientWorkspace;
use agentrelease::engine::{self, Identity, Mode, Outcome, SystemClock};
use agentrelease_api::{AgentRelease, ReleaseTarget};
use agentrelease_sim::{FaultAction, FaultRule, Seed, SimConfig, SimControl, Simulator};

fn samples() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/samples")
}

/// The sample seed and the fragment that adds `n` agents.
fn seed(n: usize) -> Result<(Seed, String), Box<dyn std::error::Error>> {
    let base = Seed::from_yaml_file(&samples().join("workspace-seed.yaml"))?;
    Ok((base, fleet::seed_yaml(n)))
}

/// Drives one release to Ready (or blocked) as `apply` does.
async fn drive(
    ws: &ClientWorkspace,
    target: &ReleaseTarget,
    release: &mut AgentRelease,
    identity: &Identity,
) -> Outcome {
    let mut pacing = Pacing::new(true);
    loop {
        let outcome = engine::reconcile(
            release,
            &target.spec,
            identity.clone(),
            ws,
            &SystemClock,
            Mode::Apply,
        )
        .await;
        release.status = Some(outcome.status.clone());
        if outcome.is_ready() || outcome.is_stalled() {
            return outcome;
        }
        let wait = pacing.next(Progress::of(&outcome), outcome.requeue);
        tokio::time::sleep(wait).await;
    }
}

fn calls(c: &SimControl) -> (usize, usize) {
    let all = c.calls();
    let writes = all.iter().filter(|r| r.is_write()).count();
    (all.len(), writes)
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

async fn run(
    n: usize,
    latency_ms: u64,
    sample: &AgentRelease,
    target: &ReleaseTarget,
) -> Result<(), Box<dyn std::error::Error>> {
    let (base, extra) = seed(n)?;
    let sim = Simulator::start(SimConfig {
        seed: Some(base),
        time_scale: 30.0,
        ..SimConfig::default()
    })
    .await?;
    let c = sim.control();
    c.apply_seed(&Seed::from_yaml_str(&extra, None)?)?;
    if latency_ms > 0 {
        c.add_fault(FaultRule {
            method: None,
            path: "/api/**".into(),
            probability: 1.0,
            times: None,
            after: None,
            action: FaultAction::Latency {
                min_ms: latency_ms,
                max_ms: None,
            },
        })?;
    }
    let client = agentrelease_databricks::Client::builder(sim.url())
        .credentials(agentrelease_databricks::Credentials::Pat(
            agentrelease_databricks::SecretString::new("dapi-sample-token"),
        ))
        .allow_insecure_http(true)
        .rate_limit(u32::try_from(target.spec.requests_per_second.max(1)).unwrap_or(15) * 100)
        .build()?;
    let ws = Arc::new(ClientWorkspace::new(client));
    let mut jobs: Vec<(AgentRelease, Identity)> =
        (0..n).map(|i| fleet::release_of(sample, i)).collect();

    c.clear_calls();
    let started = Instant::now();
    let outcomes =
        futures::future::join_all(jobs.iter_mut().map(|(r, id)| drive(&ws, target, r, id))).await;
    let wall = started.elapsed();
    let ready = outcomes.iter().filter(|o| o.is_ready()).count();
    let (fresh_calls, fresh_writes) = calls(&c);

    c.clear_calls();
    for (r, id) in &jobs {
        let _ =
            engine::reconcile(r, &target.spec, id.clone(), &*ws, &SystemClock, Mode::Apply).await;
    }
    let (converged_calls, converged_writes) = calls(&c);
    println!(
        "releases={n} latency={latency_ms}ms ready={ready} wall={:.1}s per_release_calls={:.1} (writes {:.1}) converged_calls={:.1} (writes {}) peak_rss={:.0}MiB",
        wall.as_secs_f64(),
        fresh_calls as f64 / n as f64,
        fresh_writes as f64 / n as f64,
        converged_calls as f64 / n as f64,
        converged_writes,
        peak_rss_mib().unwrap_or(0.0)
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let latency_ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let mut sample: AgentRelease = serde_saphyr::from_str(&std::fs::read_to_string(
        samples().join("agentrelease.yaml"),
    )?)?;
    // Each release stands alone here (no staging stage to wait for).
    sample.spec.promotion = None;
    let target: ReleaseTarget = serde_saphyr::from_str(&std::fs::read_to_string(
        samples().join("releasetarget.yaml"),
    )?)?;
    // One release alone: the sequential script's shape is this times N.
    let alone = Instant::now();
    run(1, latency_ms, &sample, &target).await?;
    let one = alone.elapsed();
    println!(
        "one release alone: {:.1}s; the sequential shape for {n}: {:.1}s",
        one.as_secs_f64(),
        one.as_secs_f64() * n as f64
    );
    run(n, latency_ms, &sample, &target).await?;
    Ok(())
}
