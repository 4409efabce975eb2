//! The `agentrelease apply` and `plan` commands as a user runs them: the README's run command
//! reaches Ready on the embedded simulator; a blocking gate exits 2; plan writes nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_agentrelease"))
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/samples")
}

/// A copy of the samples whose seed carries `signoff` as the v7 decision.
fn samples_with_signoff(signoff: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in [
        "agentrelease.yaml",
        "releasetarget.yaml",
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

#[test]
fn the_readme_run_command_releases_the_sample() {
    let out = bin()
        .args(["apply", "-f"])
        .arg(samples())
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("✓ AliasPromoted"), "{stdout}");
    assert!(
        stdout.contains("Ready: N=7: main.agents.skyloyalty@champion -> version 12"),
        "{stdout}"
    );
}

#[test]
fn json_output_reports_each_release() {
    let out = bin()
        .args(["apply", "-o", "json", "-f"])
        .arg(samples())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    assert_eq!(doc["releases"][0]["ready"], true);
    assert_eq!(doc["releases"][0]["status"]["promotedVersion"], 12);
}

#[test]
fn a_rejected_signoff_exits_2_with_the_reason() {
    let dir = samples_with_signoff(
        "---\nversion: 7\nengineering_signoff:\n  decision: REJECTED\nstakeholder_signoff:\n  decision: APPROVED\n---\n",
    );
    let out = bin()
        .args(["apply", "-f"])
        .arg(dir.path())
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("SignoffRejected"), "{stdout}");
}

#[test]
fn plan_lists_changes_and_exits_0() {
    let out = bin()
        .args(["plan", "-f"])
        .arg(samples())
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("move main.agents.skyloyalty@champion: 11 -> 12"),
        "{stdout}"
    );
}

#[test]
fn invalid_manifests_apply_nothing_and_exit_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("bad.yaml"),
        "apiVersion: agentops.dev/v1alpha1\nkind: AgentRelease\nmetadata:\n  name: x\nspec:\n  version: 0\n",
    )
    .expect("write");
    let out = bin()
        .args(["apply", "-f"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.yaml"), "{stderr}");
    assert!(stderr.contains("nothing was applied"), "{stderr}");
}
