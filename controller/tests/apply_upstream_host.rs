//! `apply` with staging and prod on two workspaces (two simulators): prod's run reads staging's
//! stage record in staging's workspace through `--upstream-host` (reads only), is blocked with
//! `UpstreamNotReleased` naming the option when that workspace is not given, and a second run
//! changes nothing.

mod support;

use std::path::Path;
use std::process::Command;

use support::cli::{bin, own_simulator, point_target, run, samples, samples_with_signoff};

fn files(verb: &str, dir: &Path, names: &[&str]) -> Command {
    let mut command = bin();
    command.args([verb, "--allow-insecure-http"]);
    for name in names {
        command.arg("-f").arg(dir.join(name));
    }
    command.env_remove("DATABRICKS_UPSTREAM_TOKEN");
    command
}

const PROD_FILES: [&str; 3] = [
    "agentrelease.yaml",
    "releasetarget.yaml",
    "releasetarget-staging.yaml",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prod_reads_staging_in_staging_s_own_workspace() {
    let prod = own_simulator().await;
    let staging = own_simulator().await;
    let dir = samples_with_signoff(
        &std::fs::read_to_string(samples().join("workspace/decision-v7.md")).expect("read"),
    );
    point_target(dir.path(), "releasetarget.yaml", &prod.url());
    point_target(dir.path(), "releasetarget-staging.yaml", &staging.url());

    // Staging is released on its own workspace.
    let mut command = files(
        "apply",
        dir.path(),
        &["agentrelease-staging.yaml", "releasetarget-staging.yaml"],
    );
    command.args(["--host", &staging.url()]);
    let out = run(command).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    staging.control().clear_calls();

    // Without --upstream-host, prod is blocked: staging's workspace is not read, and prod's is
    // not taken for it.
    for verb in ["apply", "plan"] {
        let mut command = files(verb, dir.path(), &PROD_FILES);
        command.args(["--host", &prod.url()]);
        let out = run(command).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{verb}: {stdout}");
        assert!(
            stdout.contains(&format!(
                "UpstreamNotReleased: the required ReleaseTarget default/staging is on workspace {} \
                 (its spec.host), which this run does not read (--host is {}); pass \
                 --upstream-host {}",
                staging.url(),
                prod.url(),
                staging.url()
            )) || stdout.contains(&format!(
                "Blocked (UpstreamNotReleased): the required ReleaseTarget default/staging is on \
                 workspace {}",
                staging.url()
            )),
            "{verb}: {stdout}"
        );
        assert!(prod.control().writes().is_empty(), "{verb}");
        assert!(staging.control().calls().is_empty(), "{verb}");
    }

    // With it, staging's record is read there (GET only) and prod is released.
    let mut command = files("apply", dir.path(), &PROD_FILES);
    command.args(["--host", &prod.url(), "--upstream-host", &staging.url()]);
    let out = run(command).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("skyloyalty-v7") && stdout.contains("Ready"),
        "{stdout}"
    );
    assert_eq!(
        prod.control()
            .model_alias("main.agents.skyloyalty", "champion"),
        Some(12)
    );
    assert!(
        !staging.control().calls().is_empty(),
        "staging's record was read in staging's workspace"
    );
    assert!(
        staging.control().writes().is_empty(),
        "{:?}",
        staging.control().writes()
    );
    assert_eq!(
        prod.control()
            .model_alias("main.agents.skyloyalty", "staging"),
        None,
        "staging was never released in prod's workspace"
    );

    // A second run changes nothing: `apply` keeps no status between runs, so it takes its
    // release lock (a workspace file) and sends the smoke and MCP checks again, and that is all.
    prod.control().clear_calls();
    let mut command = files("apply", dir.path(), &PROD_FILES);
    command.args(["--host", &prod.url(), "--upstream-host", &staging.url()]);
    let out = run(command).await;
    assert_eq!(out.status.code(), Some(0));
    let changes: Vec<_> = prod
        .control()
        .writes()
        .into_iter()
        .filter(|c| {
            !["/_apps/", "/api/2.0/mcp/", "/api/2.0/workspace/"]
                .iter()
                .any(|p| c.path.starts_with(p))
        })
        .collect();
    assert!(changes.is_empty(), "{changes:?}");
    assert!(staging.control().writes().is_empty());
}
