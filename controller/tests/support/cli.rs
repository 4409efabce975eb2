//! What the CLI tests share: the binary, copies of the samples, and workspace simulators of the
//! test's own standing in for the workspace `--host` names.

use std::process::Command;

pub use super::samples;

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_agentrelease"))
}

/// A copy of the samples whose seed carries `signoff` as the v7 decision.
pub fn samples_with_signoff(signoff: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in [
        "agentrelease.yaml",
        "releasetarget.yaml",
        "agentrelease-staging.yaml",
        "releasetarget-staging.yaml",
        "credentials-secret.yaml",
        "workspace-seed.yaml",
    ] {
        std::fs::copy(samples().join(f), dir.path().join(f)).expect("copy");
    }
    let ws = dir.path().join("workspace");
    std::fs::create_dir_all(ws.join("app")).expect("mkdir");
    std::fs::write(ws.join("decision-v7.md"), signoff).expect("write");
    for f in ["app.yaml", "app.py"] {
        std::fs::copy(
            samples().join("workspace/app").join(f),
            ws.join("app").join(f),
        )
        .expect("copy");
    }
    dir
}

/// The sample target's workspace.
pub const SAMPLE_HOST: &str = "https://adb-1234567890123456.7.azuredatabricks.net";

/// A workspace simulator of the test's own, seeded like the samples, standing in for the
/// workspace `--host` names.
pub async fn own_simulator() -> agentrelease_sim::RunningSim {
    let seed = agentrelease_sim::Seed::from_yaml_file(&samples().join("workspace-seed.yaml"))
        .expect("the sample seed");
    agentrelease_sim::Simulator::start(agentrelease_sim::SimConfig {
        seed: Some(seed),
        time_scale: 30.0,
        ..agentrelease_sim::SimConfig::default()
    })
    .await
    .expect("simulator")
}

/// Runs the binary off the runtime, so that the simulator keeps answering.
pub async fn run(mut command: Command) -> std::process::Output {
    command.env("DATABRICKS_TOKEN", "dapi-sample-token");
    tokio::task::spawn_blocking(move || command.output().expect("run"))
        .await
        .expect("join")
}

/// Points the ReleaseTarget in `file` of `dir` at `host` (a simulator: insecure http allowed).
pub fn point_target(dir: &std::path::Path, file: &str, host: &str) {
    let target = dir.join(file);
    let text = std::fs::read_to_string(&target).expect("read");
    std::fs::write(
        &target,
        text.replace(
            &format!("host: {SAMPLE_HOST}"),
            &format!("host: {host}\n  allowInsecureHttp: true"),
        ),
    )
    .expect("write");
}
