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
use agentrelease_sim::{
    CALL_LOG_CAPACITY, FaultAction, FaultRule, READ_ONLY_POSTS, Seed, SimConfig, SimControl,
    Simulator,
};

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
        let outcome = engine::reconcile_with(
            release,
            &target.spec,
            identity.clone(),
            ws,
            &SystemClock,
            Mode::Apply,
            &engine::Inputs {
                waiting: Some(engine::Waiting {
                    wait: agentrelease::cli::pacing::inline_wait(true),
                    observe: &|_| {},
                }),
                ..Default::default()
            },
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

/// All calls and the writes among them, from the simulator's per-route counters (the call log
/// keeps only the newest calls; the counters are never truncated).
fn calls(c: &SimControl) -> (usize, usize) {
    let mut all = 0;
    let mut writes = 0;
    for (key, counter) in c.counters() {
        let total = usize::try_from(counter.total).unwrap_or(usize::MAX);
        all += total;
        let (method, route) = key.split_once(' ').unwrap_or((key.as_str(), ""));
        if !matches!(method, "GET" | "HEAD") && !READ_ONLY_POSTS.contains(&route) {
            writes += total;
        }
    }
    (all, writes)
}

/// The fewest calls that could do what the run did: every call that is not a plain read, and
/// each object read once (a poll of a long operation, a read-back, a second read of the same
/// object in one pass all count as extra).
/// `None` when the run made more calls than the call log keeps.
fn minimum_calls(c: &SimControl, made: usize) -> Option<usize> {
    let log = c.calls();
    if log.len() < made {
        return None;
    }
    let mut read = std::collections::HashSet::new();
    Some(
        log.iter()
            .filter(|r| r.method != "GET" || read.insert((r.path.clone(), r.query.clone())))
            .count(),
    )
}

/// Every call of the run in order (`BENCH_CALLS=1`): method, route and status, to see where a
/// release's calls go.
fn print_calls(c: &SimControl) {
    for r in c.calls() {
        let query = r.query.as_deref().unwrap_or("");
        println!(
            "  {:<6} {} {} {} {query}",
            r.method, r.route, r.status, r.path
        );
    }
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
        .rate_limit(u32::try_from(target.spec.requests_per_second.max(1)).unwrap_or(15))
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
    // Why the others stopped, by the Ready condition's reason and the first words of its message.
    let mut stopped = std::collections::BTreeMap::<String, usize>::new();
    for o in outcomes.iter().filter(|o| !o.is_ready()) {
        let why = agentrelease_api::condition::find(&o.status.conditions, "Ready")
            .map(|c| {
                let head: String = c.message.chars().take(160).collect();
                format!("{}: {head}", c.reason)
            })
            .unwrap_or_default();
        *stopped.entry(why).or_default() += 1;
    }
    for (why, count) in &stopped {
        println!("not ready: {count} x {why}");
    }
    let (fresh_calls, fresh_writes) = calls(&c);
    let minimum = minimum_calls(&c, fresh_calls);
    if std::env::var_os("BENCH_CALLS").is_some() {
        print_calls(&c);
    }

    // The first pass after Ready checks everything and records what it saw; the passes after
    // it (the resyncs) are quick checks until `policy.fullCheckInterval` asks for a full one.
    let mut converged = Vec::new();
    for _ in 0..2 {
        c.clear_calls();
        // Side by side, as the controller's resyncs come.
        futures::future::join_all(jobs.iter_mut().map(|(r, id)| async {
            let outcome =
                engine::reconcile(r, &target.spec, id.clone(), &*ws, &SystemClock, Mode::Apply)
                    .await;
            r.status = Some(outcome.status);
        }))
        .await;
        converged.push(calls(&c));
    }
    let per = |x: usize| x as f64 / n as f64;
    println!(
        "releases={n} latency={latency_ms}ms ready={ready} wall={:.1}s per_release_calls={:.1} (writes {:.1}; each object read once: {}) full_check={:.1} (writes {}) quick_check={:.1} (writes {}) peak_rss={:.0}MiB",
        wall.as_secs_f64(),
        per(fresh_calls),
        per(fresh_writes),
        minimum
            .map(|m| format!("{:.1}", per(m)))
            .unwrap_or_else(|| format!("n/a, over the call log's {CALL_LOG_CAPACITY}")),
        per(converged[0].0),
        converged[0].1,
        per(converged[1].0),
        converged[1].1,
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
    let mut target: ReleaseTarget = serde_saphyr::from_str(&std::fs::read_to_string(
        samples().join("releasetarget.yaml"),
    )?)?;
    // The sample target allows 15 requests a second; the benchmark's workspace allows the most a
    // ReleaseTarget can declare, so the engine, not the limit, is what is measured.
    target.spec.requests_per_second = 1000;
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
