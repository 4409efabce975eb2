//! The controller on a real Kubernetes API server: how long it takes to write the first status
//! of N AgentReleases, and how much memory it holds while watching them.
//!
//!     E2E_KUBECONFIG=... cargo run --release -p agentrelease --example controller_bench -- \
//!         [RELEASES] [TARGETS] [CONTROLLER_BINARY] [-- CONTROLLER_FLAGS...]
//!
//! Defaults: 10,000 releases, 100 targets, `target/release/agentrelease`. The releases are
//! suspended (the sample release with `policy.suspend: true`), so the figure is the controller's
//! own cost — watch, cache, reconcile, status write — and not a workspace's. The benchmark
//! installs the CRDs, creates the objects in namespaces `ar-bench-<i>` (1,000 releases each),
//! lists them in its own watch, starts the controller binary as a separate process, watches
//! until every release has a status for its generation, samples the controller's resident
//! memory from `/proc`, reports the CPU time of the controller and (when they run on this
//! machine) of the API server and etcd, waits 20 s more to see the steady state, then stops
//! the controller and deletes the namespaces. It prints one line per figure. See docs/benchmarks.md for the figures on the reference machine.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use agentrelease_api::AgentRelease;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use kube::{Client, Config, ResourceExt};
use serde_json::{Value, json};

const PER_NAMESPACE: usize = 1000;
const MANAGER: &str = "agentrelease-bench";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let controller_flags: Vec<String> = match args.iter().position(|a| a == "--") {
        Some(i) => {
            let rest = args.split_off(i);
            rest.into_iter().skip(1).collect()
        }
        None => Vec::new(),
    };
    let releases: usize = args
        .first()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000);
    let targets: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(100);
    let binary = args
        .get(2)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/release/agentrelease"));
    let kubeconfig = std::env::var("E2E_KUBECONFIG")
        .map_err(|_| anyhow::anyhow!("set E2E_KUBECONFIG to a cluster's kubeconfig"))?;
    anyhow::ensure!(
        binary.exists(),
        "no controller binary at {}",
        binary.display()
    );

    let kc = Kubeconfig::read_from(&kubeconfig)?;
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    let client = Client::try_from(config)?;

    install_crds(&client).await?;
    let namespaces = releases.div_ceil(PER_NAMESPACE).max(1);
    let started = Instant::now();
    create_world(&client, namespaces, releases, targets).await?;
    println!(
        "created {releases} releases and {targets} targets in {namespaces} namespaces in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The benchmark's own watch lists every release before the controller starts, so its
    // initial list is not counted against the controller.
    let all: Api<AgentRelease> = Api::all(client.clone());
    let cfg = watcher::Config::default().labels("agentrelease-bench=true");
    let mut stream = watcher::watcher(all, cfg).boxed();
    let mut done: HashSet<String> = HashSet::new();
    let mut listed = 0usize;
    loop {
        match stream.try_next().await? {
            Some(watcher::Event::InitApply(_)) => listed += 1,
            Some(watcher::Event::InitDone) => break,
            Some(_) => {}
            None => anyhow::bail!("the watch ended before its initial list"),
        }
    }
    println!("the benchmark's watch listed {listed} releases");

    // CPU time of the API server and etcd, when they run on this machine (the loopback kit).
    let servers: Vec<(String, u32)> = ["kube-apiserver", "etcd"]
        .iter()
        .filter_map(|name| pid_of(name).map(|pid| (name.to_string(), pid)))
        .collect();
    let servers_before: Vec<f64> = servers
        .iter()
        .map(|(_, pid)| cpu_seconds(*pid).unwrap_or(0.0))
        .collect();

    let mut child = std::process::Command::new(&binary)
        .arg("controller")
        .args(["--metrics-addr", "127.0.0.1:0"])
        .args(&controller_flags)
        .env("KUBECONFIG", &kubeconfig)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let pid = child.id();
    let started = Instant::now();
    println!(
        "controller started: {} controller {}",
        binary.display(),
        controller_flags.join(" ")
    );

    let mut peak_rss = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut last_report = Instant::now();
    let deadline = Duration::from_secs(600);
    while done.len() < releases {
        tokio::select! {
            item = stream.try_next() => {
                let Some(event) = item? else { break };
                let (watcher::Event::Apply(r) | watcher::Event::InitApply(r)) = event else {
                    continue;
                };
                let generation = r.metadata.generation;
                let has_status = r.status.as_ref().is_some_and(|s| s.observed_generation.is_some()
                    && s.observed_generation == generation);
                if has_status {
                    done.insert(r.uid().unwrap_or_default());
                }
            }
            _ = tick.tick() => {
                peak_rss = peak_rss.max(rss_kib(pid).unwrap_or(0));
                if last_report.elapsed() > Duration::from_secs(10) {
                    println!("  {:>5.1} s: {} of {releases} have a status, RSS {} MiB",
                        started.elapsed().as_secs_f64(), done.len(), rss_kib(pid).unwrap_or(0) / 1024);
                    last_report = Instant::now();
                }
                anyhow::ensure!(started.elapsed() < deadline, "not every release had a status after {deadline:?}");
            }
        }
    }
    let first_status = started.elapsed();
    println!(
        "first status of all {releases} releases: {:.1} s ({:.0} releases/s)",
        first_status.as_secs_f64(),
        releases as f64 / first_status.as_secs_f64()
    );
    println!(
        "peak RSS while writing them: {} MiB",
        peak_rss.max(rss_kib(pid).unwrap_or(0)) / 1024
    );
    let mut cpu = vec![format!(
        "controller {:.1} s",
        cpu_seconds(pid).unwrap_or(0.0)
    )];
    for ((name, server), before) in servers.iter().zip(&servers_before) {
        let used = cpu_seconds(*server).unwrap_or(0.0) - before;
        cpu.push(format!(
            "{name} {used:.1} s ({:.1} ms per release)",
            used * 1000.0 / releases as f64
        ));
    }
    println!(
        "CPU time until then ({:.1} s of wall time on {} cores): {}",
        first_status.as_secs_f64(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu.join(", ")
    );
    let settle = Instant::now();
    while settle.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        peak_rss = peak_rss.max(rss_kib(pid).unwrap_or(0));
    }
    println!(
        "after 20 s more: RSS {} MiB, peak {} MiB (VmHWM {} MiB)",
        rss_kib(pid).unwrap_or(0) / 1024,
        peak_rss / 1024,
        hwm_kib(pid).unwrap_or(0) / 1024
    );
    let _ = child.kill();
    let _ = child.wait();

    if std::env::var("BENCH_KEEP").is_err() {
        let ns_api: Api<Namespace> = Api::all(client.clone());
        for i in 0..namespaces {
            let _ = ns_api
                .delete(&format!("ar-bench-{i}"), &DeleteParams::default())
                .await;
        }
        println!("deleted the bench namespaces (set BENCH_KEEP=1 to keep them)");
    }
    Ok(())
}

async fn install_crds(client: &Client) -> anyhow::Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in agentrelease_api::crds() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        api.patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&crd),
        )
        .await?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = api.get(&name).await?;
            let established = got.status.and_then(|s| s.conditions).is_some_and(|c| {
                c.iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            });
            if established {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "CRD {name} not Established");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

fn sample(name: &str) -> anyhow::Result<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../config/samples")
        .join(name);
    Ok(serde_saphyr::from_str(&std::fs::read_to_string(path)?)?)
}

async fn create_world(
    client: &Client,
    namespaces: usize,
    releases: usize,
    targets: usize,
) -> anyhow::Result<()> {
    let ns_api: Api<Namespace> = Api::all(client.clone());
    let target_template = sample("releasetarget.yaml")?;
    let mut release_template = sample("agentrelease.yaml")?;
    // Each release stands alone here (no staging stage to wait for).
    if let Some(spec) = release_template["spec"].as_object_mut() {
        spec.remove("promotion");
    }
    let targets_per_ns = targets.div_ceil(namespaces).max(1);
    for i in 0..namespaces {
        let ns = format!("ar-bench-{i}");
        let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}}))?;
        match ns_api.create(&PostParams::default(), &namespace).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
        let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": "prod-databricks"},
            "stringData": {"token": "dapi-bench"},
        }))?;
        secrets
            .patch(
                "prod-databricks",
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(&secret),
            )
            .await?;
        let target_api: Api<agentrelease_api::ReleaseTarget> = Api::namespaced(client.clone(), &ns);
        for t in 0..targets_per_ns {
            let mut target = target_template.clone();
            target["metadata"] = json!({"name": format!("prod-{t}")});
            target_api
                .patch(
                    &format!("prod-{t}"),
                    &PatchParams::apply(MANAGER).force(),
                    &Patch::Apply(&target),
                )
                .await?;
        }
    }
    let jobs = (0..releases).map(|i| {
        let client = client.clone();
        let mut release = release_template.clone();
        let ns = format!("ar-bench-{}", i / PER_NAMESPACE);
        let name = format!("agent-{i}");
        release["metadata"] = json!({
            "name": name,
            "labels": {"agentrelease-bench": "true"},
        });
        release["spec"]["targetRef"]["name"] = json!(format!("prod-{}", i % targets_per_ns));
        release["spec"]["policy"]["suspend"] = json!(true);
        release["spec"]["policy"]["suspendReason"] = json!("benchmark");
        async move {
            let api: Api<AgentRelease> = Api::namespaced(client, &ns);
            api.patch(
                &name,
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(&release),
            )
            .await
        }
    });
    let mut stream = futures::stream::iter(jobs).buffer_unordered(32);
    while let Some(result) = stream.next().await {
        result?;
    }
    Ok(())
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn rss_kib(pid: u32) -> Option<u64> {
    proc_status_kib(pid, "VmRSS:")
}

fn hwm_kib(pid: u32) -> Option<u64> {
    proc_status_kib(pid, "VmHWM:")
}

/// The pid of a process of this machine named `name` (its `comm`), if there is one.
fn pid_of(name: &str) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            (comm.trim() == name).then_some(pid)
        })
}

/// User plus system CPU seconds a process has used (`/proc/PID/stat`, clock ticks of 1/100 s,
/// the Linux default).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}
