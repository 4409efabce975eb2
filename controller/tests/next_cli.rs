//! `agentrelease next` as a CI job runs it: on the embedded simulator with the sample seed there
//! is no newer READY version (exit 3, nothing on stdout); with version 13 registered it prints
//! the manifest of N=8 with model version 13 and its logged model id, which `validate` accepts.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_agentrelease"))
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/samples")
}

const V13_MODEL_ID: &str = "m-0123456789abcdef0123456789abcdef";

/// The samples with model version 13 (and, with `pending`, 14 still registering) in the seed.
fn samples_with_v13(pending: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in ["agentrelease.yaml", "releasetarget.yaml"] {
        std::fs::copy(samples().join(f), dir.path().join(f)).expect("copy");
    }
    let seed = std::fs::read_to_string(samples().join("workspace-seed.yaml")).expect("seed");
    let v12 = "                model_id: m-7f3c1a9e5b2d4c6f8a0b1c2d3e4f5a6b\n            aliases:";
    assert!(seed.contains(v12), "the sample seed lists version 12 last");
    let mut extra = format!(
        "                model_id: m-7f3c1a9e5b2d4c6f8a0b1c2d3e4f5a6b\n              - version: 13\n                model_id: {V13_MODEL_ID}\n"
    );
    if pending {
        extra.push_str(
            "              - version: 14\n                status: PENDING_REGISTRATION\n",
        );
    }
    extra.push_str("            aliases:");
    // The seed names the app source files relative to itself: they are copied alongside.
    let seed = seed.replacen(v12, &extra, 1);
    let seed_path = dir.path().join("seed.yaml");
    std::fs::write(&seed_path, seed).expect("write seed");
    std::fs::create_dir_all(dir.path().join("workspace")).expect("mkdir");
    copy_dir(&samples().join("workspace"), &dir.path().join("workspace"));
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[test]
fn no_newer_ready_version_exits_3_with_nothing_on_stdout() {
    let out = bin()
        .args(["next", "-f"])
        .arg(samples())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr:\n{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains("no READY version of main.agents.skyloyalty is newer than version 12"),
        "{stderr}"
    );
}

#[test]
fn the_next_manifest_names_the_newest_ready_version_and_validate_accepts_it() {
    let dir = samples_with_v13(true);
    let out = bin()
        .args(["next", "-f"])
        .arg(dir.path().join("agentrelease.yaml"))
        .arg(dir.path().join("releasetarget.yaml"))
        .arg("--seed")
        .arg(dir.path().join("seed.yaml"))
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_saphyr::from_str(&stdout).expect("YAML on stdout");
    assert_eq!(doc["metadata"]["name"], "skyloyalty-v8");
    assert_eq!(doc["spec"]["version"], 8);
    assert_eq!(doc["spec"]["model"]["version"], 13, "14 is not READY");
    assert_eq!(doc["spec"]["model"]["loggedModelId"], V13_MODEL_ID);
    assert!(
        stdout.contains("/Volumes/main/agents/signoffs/v8/decision.md"),
        "{stdout}"
    );

    let check = tempfile::tempdir().expect("tempdir");
    std::fs::write(check.path().join("next.yaml"), &stdout).expect("write");
    std::fs::copy(
        samples().join("releasetarget.yaml"),
        check.path().join("releasetarget.yaml"),
    )
    .expect("copy");
    let validated = bin()
        .args(["validate", "-f"])
        .arg(check.path())
        .output()
        .expect("validate");
    assert_eq!(
        validated.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&validated.stdout),
        String::from_utf8_lossy(&validated.stderr)
    );
}
