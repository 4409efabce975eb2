//! The documents' common mistake, caught: the sample app's `app.yaml` sets the same `command` as
//! the release and a different `LOG_LEVEL`. `validate` warns (exit code unchanged), `plan` shows
//! it under the deployment (read from the workspace), and `apply` puts it in the AppDeployed
//! condition message; the release's values are the ones deployed.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_agentrelease"))
        .current_dir(repo())
        .args(args)
        .env_remove("DATABRICKS_TOKEN")
        .output()
        .expect("run agentrelease");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const CONTRADICTION: &str =
    "env LOG_LEVEL=WARNING contradicts the release's LOG_LEVEL=INFO; the release's value is used";
const DUPLICATE: &str = "command is also set by the release (same value); remove it from app.yaml";

#[test]
fn validate_warns_about_the_samples_app_yaml_and_still_exits_zero() {
    let (code, stdout, stderr) = run(&["validate", "-f", "config/samples"]);
    assert_eq!(code, 0, "warnings do not fail validate: {stderr}");
    assert!(stdout.is_empty(), "problems only on stdout: {stdout}");
    assert!(
        stderr.contains(&format!(
            "warning: config/samples/agentrelease.yaml:45: AgentRelease/skyloyalty-v7: spec.app.env[0]: config/samples/workspace/app/app.yaml: {CONTRADICTION}"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "spec.app.command: config/samples/workspace/app/app.yaml: {DUPLICATE}"
        )),
        "{stderr}"
    );
    // The same two for the staging release, which deploys the same source.
    assert!(
        stderr.contains(&format!(
            "AgentRelease/skyloyalty-v7-staging: spec.app.env[0]: config/samples/workspace/app/app.yaml: {CONTRADICTION}"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("0 problem(s), 4 warning(s)"), "{stderr}");

    let (code, stdout, _) = run(&["validate", "-f", "config/samples", "-o", "json"]);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["problems"], serde_json::json!([]));
    assert_eq!(
        report["warnings"].as_array().map(Vec::len),
        Some(4),
        "{report}"
    );
}

#[test]
fn plan_reads_the_app_yaml_from_the_workspace_and_shows_the_conflict() {
    // The staging release's plan (prod waits for staging, so its plan lists no deployment yet).
    let (code, stdout, stderr) = run(&["plan", "-f", "config/samples"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!(
            "! /Workspace/Shared/skyloyalty/app/app.yaml: {CONTRADICTION}"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "! /Workspace/Shared/skyloyalty/app/app.yaml: {DUPLICATE}"
        )),
        "{stdout}"
    );
}

#[test]
fn apply_reports_it_in_the_deployment_message_and_deploys_the_releases_values() {
    let (code, stdout, stderr) = run(&["apply", "-f", "config/samples"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(
            "the release's command and env override /Workspace/Shared/skyloyalty/app/app.yaml"
        ) || stderr.contains(
            "the release's command and env override /Workspace/Shared/skyloyalty/app/app.yaml"
        ),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
}
