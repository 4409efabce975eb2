//! The CI recipe of docs/ci.md, in its shell form (`scripts/ci-recipe.sh`), against a workspace
//! simulator of the test's own: the pull-request stage validates and plans with a token, the
//! merge stage applies and waits as the OAuth M2M service principal, and a second merge run is
//! Ready again without deploying again (the release is converged).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

async fn own_simulator() -> agentrelease_sim::RunningSim {
    let seed =
        agentrelease_sim::Seed::from_yaml_file(&repo().join("config/samples/workspace-seed.yaml"))
            .expect("the sample seed");
    agentrelease_sim::Simulator::start(agentrelease_sim::SimConfig {
        seed: Some(seed),
        time_scale: 30.0,
        ..agentrelease_sim::SimConfig::default()
    })
    .await
    .expect("simulator")
}

fn recipe(stage: &str, url: &str, result: &Path) -> Command {
    let mut c = Command::new("sh");
    c.current_dir(repo())
        .arg("scripts/ci-recipe.sh")
        .arg(stage)
        .env("AGENTRELEASE", env!("CARGO_BIN_EXE_agentrelease"))
        .env("MANIFESTS", "config/samples")
        .env("DATABRICKS_HOST", url)
        // The samples' ReleaseTarget names the real workspace; the simulator stands in for it.
        .env(
            "AGENTRELEASE_FLAGS",
            "--override-host --allow-insecure-http",
        )
        .env("RESULT_FILE", result)
        .env_remove("DATABRICKS_OIDC_TOKEN_FILEPATH")
        .env_remove("DATABRICKS_OIDC_TOKEN_FILE");
    c
}

async fn run(mut command: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || command.output().expect("run the recipe"))
        .await
        .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shell_recipe_plans_on_a_pull_request_and_releases_on_merge() {
    let sim = own_simulator().await;
    let url = sim.url();
    let dir = tempfile::tempdir().unwrap();
    let result = dir.path().join("result.json");

    let mut pr = recipe("pr", &url, &result);
    pr.env("DATABRICKS_TOKEN", "dapi-sample-token")
        .env_remove("DATABRICKS_CLIENT_SECRET");
    let out = run(pr).await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("promote      move main.agents.skyloyalty@champion: 11 -> 12"),
        "{stdout}"
    );
    assert!(
        sim.control().writes().is_empty(),
        "the pull-request stage only reads: {:?}",
        sim.control().writes()
    );

    for round in ["first", "second"] {
        let mut merge = recipe("merge", &url, &result);
        merge
            .env_remove("DATABRICKS_TOKEN")
            .env(
                "DATABRICKS_CLIENT_ID",
                "5f0c2a8e-3b1d-4e6f-9a7c-2d4b6e8f0a1c",
            )
            .env("DATABRICKS_CLIENT_SECRET", "sample-oauth-secret");
        sim.control().clear_calls();
        let out = run(merge).await;
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{round}: stdout:\n{stdout}\nstderr:\n{stderr}"
        );
        assert!(
            stdout.contains("released: every release is Ready"),
            "{stdout}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&result).unwrap()).unwrap();
        assert!(json.to_string().contains("Ready"), "{json}");
        assert!(
            sim.control()
                .calls()
                .iter()
                .any(|r| r.path == "/oidc/v1/token"),
            "{round}: the merge stage authenticates as the service principal"
        );
        if round == "second" {
            // Converged: no new deployment and no alias move (the run still takes the release
            // lock and sends its smoke request).
            let changes: Vec<_> = sim
                .control()
                .writes()
                .into_iter()
                .filter(|r| r.route.contains("/deployments") || r.route.contains("alias"))
                .collect();
            assert!(
                changes.is_empty(),
                "a converged release is not deployed again: {changes:?}"
            );
        }
    }
    assert_eq!(
        sim.control()
            .model_alias("main.agents.skyloyalty", "champion"),
        Some(12)
    );
}
